package org.teekms.agent.env;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import org.teekms.agent.env.EnvSecretException.Reason;

/**
 * Where the encrypted environment comes from and where the decrypted one goes (agent keys {@code
 * env.*}).
 *
 * @param encryptedFile the host-provided blob (dstack: {@code
 *     /dstack/.host-shared/.encrypted-env}); empty = none
 * @param required an absent or empty file fails the boot ({@code ENV_UNAVAILABLE}) instead of
 *     meaning "no variables"
 * @param outputDir where {@link EnvFiles} writes; empty = the variables stay in the agent's memory
 *     only
 * @param requireTmpfs the output directory must be on tmpfs
 */
public record EnvSettings(
    Optional<Path> encryptedFile,
    boolean required,
    Optional<Path> outputDir,
    boolean requireTmpfs) {
  public static final EnvSettings NONE =
      new EnvSettings(Optional.empty(), false, Optional.empty(), true);

  public EnvSettings {
    Objects.requireNonNull(encryptedFile, "encryptedFile");
    Objects.requireNonNull(outputDir, "outputDir");
    if (required && encryptedFile.isEmpty()) {
      throw new IllegalArgumentException("env.required=true needs env.encrypted-file");
    }
  }

  /**
   * The blob's bytes; empty when there is none (and none is required). Reads at most {@link
   * EnvBlob#MAX_BYTES} + 1.
   */
  public Optional<byte[]> readBlob() throws EnvSecretException {
    if (encryptedFile.isEmpty()) {
      return Optional.empty();
    }
    Path p = encryptedFile.get();
    byte[] blob;
    try (InputStream in = Files.newInputStream(p, LinkOption.NOFOLLOW_LINKS)) {
      blob = in.readNBytes(EnvBlob.MAX_BYTES + 1);
    } catch (NoSuchFileException e) {
      blob = new byte[0];
    } catch (IOException e) {
      throw new EnvSecretException(
          Reason.ENV_UNAVAILABLE,
          "cannot read the encrypted environment " + p + ": " + e.getClass().getSimpleName());
    }
    if (blob.length == 0) {
      if (required) {
        throw new EnvSecretException(
            Reason.ENV_UNAVAILABLE,
            "the encrypted environment " + p + " is absent or empty and env.required=true");
      }
      return Optional.empty();
    }
    return Optional.of(blob);
  }
}
