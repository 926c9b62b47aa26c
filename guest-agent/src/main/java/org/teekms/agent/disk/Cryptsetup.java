package org.teekms.agent.disk;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.teekms.keys.InsecureSecretAccess;
import org.teekms.keys.SecretBytes;

/**
 * Opens and formats the CVM's LUKS2 data disk with the disk key from the KMS. The key (its LUKS2
 * passphrase form, docs/key-derivation.md §5) is written to cryptsetup's standard input ({@code
 * --key-file=-}); it never appears in the argument list (visible in /proc) or in a file.
 */
public final class Cryptsetup {
  private final Path binary;
  private final Duration timeout;

  public Cryptsetup(Path binary, Duration timeout) {
    this.binary = Objects.requireNonNull(binary);
    this.timeout = Objects.requireNonNull(timeout);
  }

  /**
   * {@code cryptsetup luksFormat --type luks2 --batch-mode --cipher aes-xts-plain64 --key-size 512
   * --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file=- DEVICE}: the cipher and key size are
   * explicit (not cryptsetup's build-time default) because {@link Luks2HeaderCheck} accepts exactly
   * them.
   */
  public void format(Path device, SecretBytes passphrase) throws IOException {
    run(
        List.of(
            "luksFormat",
            "--type",
            "luks2",
            "--batch-mode",
            "--cipher",
            Luks2HeaderCheck.CIPHER,
            "--key-size",
            String.valueOf(Luks2HeaderCheck.KEY_BYTES * 8),
            "--pbkdf",
            "pbkdf2",
            "--pbkdf-force-iterations",
            "1000",
            "--key-file=-",
            device.toString()),
        passphrase);
  }

  /** Whether {@code device} already carries a LUKS header ({@code cryptsetup isLuks}, exit 0). */
  public boolean isLuks(Path device) throws IOException {
    Process p =
        new ProcessBuilder(binary.toString(), "isLuks", device.toString())
            .redirectErrorStream(true)
            .start();
    p.getOutputStream().close();
    try {
      p.getInputStream().readNBytes(64 * 1024);
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        throw new IOException("cryptsetup isLuks timed out");
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
    return p.exitValue() == 0;
  }

  /**
   * {@code cryptsetup open --type luks2 --header HEADER --key-file=- DEVICE NAME}: {@code header}
   * is the detached copy of the header that {@link Luks2HeaderCheck#checkAndCopy} checked, so
   * cryptsetup never re-reads metadata from the host's disk.
   */
  public void open(Path device, Path header, String mapperName, SecretBytes passphrase)
      throws IOException {
    if (!mapperName.matches("[A-Za-z0-9_.-]{1,64}")) {
      throw new IllegalArgumentException("mapper name must be 1..64 of [A-Za-z0-9_.-]");
    }
    run(
        List.of(
            "open",
            "--type",
            "luks2",
            "--header",
            header.toString(),
            "--key-file=-",
            device.toString(),
            mapperName),
        passphrase);
  }

  private void run(List<String> args, SecretBytes passphrase) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(binary.toString());
    cmd.addAll(args);
    Process p =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.PIPE)
            .start();
    byte[] key = passphrase.toByteArray(InsecureSecretAccess.get());
    try (OutputStream in = p.getOutputStream()) {
      in.write(key);
    } finally {
      java.util.Arrays.fill(key, (byte) 0);
    }
    byte[] output;
    try {
      output = p.getInputStream().readNBytes(64 * 1024);
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        throw new IOException("cryptsetup " + args.get(0) + " timed out after " + timeout);
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while running cryptsetup", e);
    }
    if (p.exitValue() != 0) {
      throw new IOException(
          "cryptsetup "
              + args.get(0)
              + " failed with exit code "
              + p.exitValue()
              + ": "
              + new String(output, StandardCharsets.UTF_8).strip());
    }
  }
}
