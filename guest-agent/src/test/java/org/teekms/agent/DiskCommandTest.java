package org.teekms.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.teekms.agent.api.GuestApiServer;
import org.teekms.agent.disk.Cryptsetup;
import org.teekms.agent.disk.DiskAdminApi;
import org.teekms.keys.DerivedKey;
import org.teekms.keys.InsecureSecretAccess;
import org.teekms.keys.KeyRequest;
import org.teekms.keys.KeyVersionPolicy;
import picocli.CommandLine;

/**
 * {@code teekms-agent disk format|open} through the admin socket, with a fake cryptsetup that records its argv and
 * stdin: the disk key travels on stdin only, in its LUKS2 passphrase form.
 */
class DiskCommandTest {
  @TempDir Path dir;

  @Test
  void theDiskKeyGoesToCryptsetupOnStdinNeverInArgv() throws Exception {
    Path fake = dir.resolve("cryptsetup");
    Files.writeString(fake, "#!/bin/sh\n"
        + "printf '%s\\n' \"$@\" > '" + dir + "/argv-'\"$1\"\n"
        + "cat > '" + dir + "/stdin-'\"$1\"\n"
        + "case \"$1\" in\n"
        + "  isLuks) [ -f '" + dir + "/luks' ] && exit 0; exit 1 ;;\n"
        + "  luksFormat) touch '" + dir + "/luks' ;;\n"
        + "  open) [ -f '" + dir + "/luks' ] || { echo 'Device is not a valid LUKS device.' >&2; exit 1; } ;;\n"
        + "esac\n");
    Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwx------"));
    Path device = dir.resolve("vdb");
    Files.createFile(device);
    try (TestKms kms = new TestKms("{\"name\":\"kms\"}"); RunningAgent agent = AgentFixture.boot(kms)) {
      Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true));
      Path socket = dir.resolve("admin.sock");
      GuestApiServer admin = GuestApiServer.start(vertx,
          new DiskAdminApi(agent.keys(), new Cryptsetup(fake, Duration.ofSeconds(30))),
          new GuestApiServer.Settings(socket, "rw-------", Optional.empty(), Optional.empty(), 4096));
      try {
        String expected;
        try (DerivedKey disk = kms.deriver.derive(KeyRequest.disk(1, AgentFixture.APP, 1, AgentFixture.INSTANCE, ""),
            KeyVersionPolicy.initial())) {
          expected = HexFormat.of().formatHex(disk.privateKeyBytes(InsecureSecretAccess.get()));
        }
        assertEquals(1, disk("open", device, socket), "opening an unformatted device fails with cryptsetup's error");
        assertEquals(0, disk("format", device, socket));
        assertEquals(expected, Files.readString(dir.resolve("stdin-luksFormat"), StandardCharsets.US_ASCII),
            "stdin carries exactly the 64 hex characters, no newline");
        String argv = Files.readString(dir.resolve("argv-luksFormat"));
        assertEquals("luksFormat\n--type\nluks2\n--batch-mode\n--pbkdf\npbkdf2\n--pbkdf-force-iterations\n1000\n"
            + "--key-file=-\n" + device + "\n", argv);
        assertEquals(1, disk("format", device, socket), "an existing LUKS header is not overwritten");
        assertEquals(0, disk("open", device, socket));
        assertEquals("open\n--type\nluks2\n--key-file=-\n" + device + "\nteekms-data\n",
            Files.readString(dir.resolve("argv-open")));
        assertEquals(expected, Files.readString(dir.resolve("stdin-open")));
        for (String f : new String[] {"argv-open", "argv-luksFormat", "argv-isLuks"}) {
          assertFalse(Files.readString(dir.resolve(f)).contains(expected.substring(0, 16)), f);
        }
        assertTrue(Files.readString(dir.resolve("stdin-isLuks")).isEmpty());
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
      } finally {
        admin.close();
        vertx.close().toCompletionStage().toCompletableFuture().get();
      }
    }
  }

  static int disk(String action, Path device, Path socket) {
    return new CommandLine(new AgentMain()).execute("disk", action, "--device", device.toString(), "--admin-socket",
        socket.toString());
  }
}
