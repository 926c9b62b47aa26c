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
import org.teekms.keys.VersionRef;
import picocli.CommandLine;

/**
 * {@code teekms-agent disk format|open} through the admin socket, with a fake cryptsetup that
 * records its argv and stdin: the disk key travels on stdin only, in its LUKS2 passphrase form.
 */
class DiskCommandTest {
  @TempDir Path dir;

  @Test
  void theDiskKeyGoesToCryptsetupOnStdinNeverInArgv() throws Exception {
    Path hdr = dir.resolve("real.hdr");
    byte[] real;
    try (java.io.InputStream in =
        DiskCommandTest.class.getResourceAsStream("/luks2/aes-xts-512.hdr")) {
      real = in.readAllBytes();
    }
    // what a detached copy of the real header holds: both copies, the keyslot area (zeros here), up
    // to 16 MiB
    try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(hdr.toFile(), "rw")) {
      f.setLength(16L << 20);
      f.write(real);
    }
    Path fake = dir.resolve("cryptsetup");
    Files.writeString(
        fake,
        "#!/bin/sh\n"
            + "printf '%s\\n' \"$@\" > '"
            + dir
            + "/argv-'\"$1\"\n"
            + "cat > '"
            + dir
            + "/stdin-'\"$1\"\n"
            + "case \"$1\" in\n"
            + "  isLuks) [ -f '"
            + dir
            + "/luks' ] && exit 0; exit 1 ;;\n"
            + "  luksFormat) touch '"
            + dir
            + "/luks'; for a; do dev=\"$a\"; done; cat '"
            + hdr
            + "' > \"$dev\" ;;\n"
            + "  open) [ -f '"
            + dir
            + "/luks' ] || { echo 'Device is not a valid LUKS device.' >&2; exit 1; }\n"
            + "    cmp -s \"$5\" '"
            + hdr
            + "' || { echo 'detached header differs' >&2; exit 1; } ;;\n"
            + "esac\n");
    Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwx------"));
    Path device = dir.resolve("vdb");
    Files.createFile(device);
    try (TestKms kms = new TestKms("{\"name\":\"kms\"}");
        RunningAgent agent = AgentFixture.boot(kms)) {
      Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true));
      Path socket = dir.resolve("admin.sock");
      GuestApiServer admin =
          GuestApiServer.start(
              vertx,
              new DiskAdminApi(agent.keys(), new Cryptsetup(fake, Duration.ofSeconds(30))),
              new GuestApiServer.Settings(
                  socket, "rw-------", Optional.empty(), Optional.empty(), 4096));
      try {
        String expected;
        try (DerivedKey disk =
            kms.deriver.derive(
                KeyRequest.disk(new VersionRef(1, AgentFixture.APP, 1), AgentFixture.INSTANCE, ""),
                KeyVersionPolicy.initial())) {
          expected = HexFormat.of().formatHex(disk.privateKeyBytes(InsecureSecretAccess.get()));
        }
        assertEquals(
            1, disk("open", device, socket), "an unformatted device has no LUKS2 header to check");
        assertEquals(0, disk("format", device, socket));
        assertEquals(
            expected,
            Files.readString(dir.resolve("stdin-luksFormat"), StandardCharsets.US_ASCII),
            "stdin carries exactly the 64 hex characters, no newline");
        String argv = Files.readString(dir.resolve("argv-luksFormat"));
        assertEquals(
            "luksFormat\n--type\nluks2\n--batch-mode\n--cipher\naes-xts-plain64\n--key-size\n512\n"
                + "--pbkdf\npbkdf2\n--pbkdf-force-iterations\n1000\n--key-file=-\n"
                + device
                + "\n",
            argv);
        assertEquals(
            1, disk("format", device, socket), "an existing LUKS header is not overwritten");
        assertEquals(0, disk("open", device, socket));
        String openArgv = Files.readString(dir.resolve("argv-open"));
        assertTrue(
            openArgv.matches(
                "open\n--type\nluks2\n--header\n[^\n]*teekms-luks-header[^\n]*\\.img\n"
                    + "--key-file=-\n"
                    + java.util.regex.Pattern.quote(device.toString())
                    + "\nteekms-data\n"),
            openArgv);
        assertFalse(
            Files.exists(Path.of(openArgv.split("\n")[4])), "the detached header copy is deleted");
        assertEquals(expected, Files.readString(dir.resolve("stdin-open")));
        for (String f : new String[] {"argv-open", "argv-luksFormat", "argv-isLuks"}) {
          assertFalse(Files.readString(dir.resolve(f)).contains(expected.substring(0, 16)), f);
        }
        assertTrue(Files.readString(dir.resolve("stdin-isLuks")).isEmpty());

        // the host plants a null-cipher header: refused before cryptsetup sees the key, with the
        // reason
        Files.delete(dir.resolve("argv-open"));
        Files.write(
            device,
            org.teekms.agent.disk.Luks2HeaderCheckTest.planted(
                org.teekms.agent.disk.Luks2HeaderCheckTest.NULL_CIPHER));
        java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
        java.io.PrintStream stdout = System.out;
        System.setOut(new java.io.PrintStream(captured, true, StandardCharsets.UTF_8));
        int rc;
        try {
          rc = disk("open", device, socket);
        } finally {
          System.setOut(stdout);
        }
        assertEquals(1, rc);
        assertTrue(
            captured
                .toString(StandardCharsets.UTF_8)
                .contains(
                    "refusing to open "
                        + device
                        + ": LUKS2 header "
                        + "segment 0: encryption 'cipher_null-ecb', expected 'aes-xts-plain64'"),
            captured.toString());
        assertFalse(Files.exists(dir.resolve("argv-open")), "cryptsetup open never ran");
        assertEquals(
            "rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
      } finally {
        admin.close();
        vertx.close().toCompletionStage().toCompletableFuture().get();
      }
    }
  }

  static int disk(String action, Path device, Path socket) {
    return new CommandLine(new AgentMain())
        .execute(
            "disk", action, "--device", device.toString(), "--admin-socket", socket.toString());
  }
}
