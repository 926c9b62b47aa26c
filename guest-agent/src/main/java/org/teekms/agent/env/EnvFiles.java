package org.teekms.agent.env;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import org.teekms.agent.env.EnvSecretException.Reason;

/**
 * Hands the decrypted environment to the app as dstack does, through two files in a directory only
 * the agent's user (root) can enter (0700, files 0600): {@code .decrypted-env} (shell assignments,
 * dstack's quoting) and {@code .decrypted-env.json} (a JSON object, names sorted). Each file is
 * written under a temporary name created 0600 and renamed into place, so it is never readable with
 * looser permissions. Never the agent's environment, command line or logs. With {@code
 * requireTmpfs} the directory must be on tmpfs (memory), so values never reach a disk.
 */
public final class EnvFiles {
  public static final String SHELL_FILE = ".decrypted-env";
  public static final String JSON_FILE = ".decrypted-env.json";
  private static final Set<PosixFilePermission> DIR = PosixFilePermissions.fromString("rwx------");
  private static final Set<PosixFilePermission> FILE = PosixFilePermissions.fromString("rw-------");

  private EnvFiles() {}

  public static void write(Path dir, DecryptedEnv env, boolean requireTmpfs)
      throws EnvSecretException {
    try {
      if (Files.isSymbolicLink(dir)) {
        throw new EnvSecretException(
            Reason.ENV_UNAVAILABLE, "env output directory " + dir + " is a symbolic link");
      }
      if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
        Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(DIR));
      }
      Files.setPosixFilePermissions(dir, DIR);
      if (requireTmpfs && !"tmpfs".equals(Files.getFileStore(dir).type())) {
        throw new EnvSecretException(
            Reason.ENV_UNAVAILABLE,
            "env output directory "
                + dir
                + " is on "
                + Files.getFileStore(dir).type()
                + ", not tmpfs (set env.require-tmpfs=false only for tests)");
      }
      List<EnvVar> sorted = env.vars().stream().sorted(Comparator.comparing(EnvVar::name)).toList();
      StringBuilder shell = new StringBuilder();
      for (EnvVar v : sorted) {
        shell.append(v.name()).append('=').append(shellValue(v.value())).append('\n');
      }
      place(dir, SHELL_FILE, shell.toString().getBytes(StandardCharsets.UTF_8));
      place(dir, JSON_FILE, json(sorted));
    } catch (IOException e) {
      throw new EnvSecretException(
          Reason.ENV_UNAVAILABLE,
          "writing the decrypted environment to "
              + dir
              + " failed: "
              + e.getClass().getSimpleName());
    }
  }

  /**
   * dstack's quoting (parse_env_file.rs): quoted when the value has a blank or shell metacharacter.
   */
  static String shellValue(String v) {
    boolean quote = false;
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < v.length(); i++) {
      char c = v.charAt(i);
      if (" \t|&;<>()$`\\\"'\n".indexOf(c) >= 0) {
        quote = true;
      }
      switch (c) {
        case '\n' -> out.append("\\n");
        case '"' -> out.append("\\\"");
        case '$' -> out.append("\\$");
        case '`' -> out.append("\\`");
        default -> out.append(c);
      }
    }
    return quote ? "\"" + out + "\"" : out.toString();
  }

  private static byte[] json(List<EnvVar> sorted) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (JsonGenerator g = new JsonFactory().createGenerator(out)) {
      g.writeStartObject();
      for (EnvVar v : sorted) {
        g.writeStringField(v.name(), v.value());
      }
      g.writeEndObject();
    }
    return out.toByteArray();
  }

  private static void place(Path dir, String name, byte[] content) throws IOException {
    Path tmp = dir.resolve(name + ".tmp");
    Files.deleteIfExists(tmp);
    try {
      Files.createFile(tmp, PosixFilePermissions.asFileAttribute(FILE));
    } catch (FileAlreadyExistsException e) {
      throw new IOException("temporary file exists");
    }
    try (OutputStream o =
        Files.newOutputStream(
            tmp,
            StandardOpenOption.WRITE,
            StandardOpenOption.TRUNCATE_EXISTING,
            LinkOption.NOFOLLOW_LINKS)) {
      o.write(content);
    } finally {
      java.util.Arrays.fill(content, (byte) 0);
    }
    Files.setPosixFilePermissions(tmp, FILE);
    Files.move(
        tmp,
        dir.resolve(name),
        StandardCopyOption.ATOMIC_MOVE,
        StandardCopyOption.REPLACE_EXISTING);
  }
}
