package org.teekms.kms.seal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Arrays;

/**
 * SIMULATOR: the sealing key is 32 random bytes in a file (created with mode 0600 on first use).
 * Anyone who can read the file can unseal the root secrets, so this exists for development and
 * tests only; the server enables it only with {@code teekms.simulator.enabled=true}, logs a warning
 * at startup and refuses it in the prod profile.
 */
public final class FileSealingKeyProvider implements SealingKeyProvider {

  private final Path keyFile;

  public FileSealingKeyProvider(Path keyFile) {
    this.keyFile = keyFile;
  }

  @Override
  public SealingKey sealingKey() {
    byte[] raw = null;
    try {
      if (!Files.exists(keyFile)) {
        createKeyFile();
      }
      raw = Files.readAllBytes(keyFile);
      if (raw.length != SealingKey.KEY_LENGTH) {
        throw new IllegalStateException(
            "sealing key file " + keyFile + " must hold exactly 32 bytes, has " + raw.length);
      }
      return new SealingKey(raw);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read sealing key file " + keyFile, e);
    } finally {
      if (raw != null) {
        Arrays.fill(raw, (byte) 0);
      }
    }
  }

  private void createKeyFile() throws IOException {
    byte[] fresh = new byte[SealingKey.KEY_LENGTH];
    new SecureRandom().nextBytes(fresh);
    try {
      Path parent = keyFile.toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
      try {
        Files.createFile(
            keyFile,
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      } catch (UnsupportedOperationException notPosix) {
        Files.createFile(keyFile);
      }
      Files.write(keyFile, fresh, StandardOpenOption.TRUNCATE_EXISTING);
    } catch (FileAlreadyExistsException raced) {
      // Another replica created it first: use theirs.
    } finally {
      Arrays.fill(fresh, (byte) 0);
    }
  }

  @Override
  public boolean simulated() {
    return true;
  }

  @Override
  public String describe() {
    return "SIMULATED sealing key from file " + keyFile + " (NOT protected by a TEE)";
  }
}
