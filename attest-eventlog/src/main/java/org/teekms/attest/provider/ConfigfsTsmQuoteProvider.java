package org.teekms.attest.provider;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;

/**
 * Quotes through the Linux configfs TSM report interface (mainline since 6.7; TDX backend {@code
 * tdx_guest}): {@code mkdir <base>/<entry>}, write REPORTDATA to {@code inblob}, read the quote
 * from {@code outblob}, and check that {@code generation} advanced by exactly one (otherwise
 * another writer raced us and the quote may not be ours). The base path ({@code
 * /sys/kernel/config/tsm/report} by default) is configurable so tests can use a directory tree.
 */
public final class ConfigfsTsmQuoteProvider implements QuoteProvider {
  public static final Path DEFAULT_BASE = Path.of("/sys/kernel/config/tsm/report");

  /** A quote larger than this is not a TDX quote we accept (real ones are 5-8 KiB). */
  public static final int MAX_QUOTE_BYTES = 32 * 1024;

  private final Path base;
  private final String expectedProvider;
  private final Io io;

  /**
   * @param expectedProvider the {@code provider} file's content to insist on, e.g. {@code
   *     tdx_guest}; null: any
   */
  public ConfigfsTsmQuoteProvider(Path base, String expectedProvider) {
    this(base, expectedProvider, Io.FILES);
  }

  /**
   * With the file operations given: tests wrap {@link Io#FILES} to play the kernel's part in a
   * directory tree.
   */
  public ConfigfsTsmQuoteProvider(Path base, String expectedProvider, Io io) {
    this.base = base;
    this.expectedProvider = expectedProvider;
    this.io = io;
  }

  /** The four file operations the TSM interface needs. */
  public interface Io {
    void mkdir(Path dir) throws IOException;

    byte[] read(Path file, int maxBytes) throws IOException;

    void write(Path file, byte[] content) throws IOException;

    void rmdir(Path dir) throws IOException;

    Io FILES =
        new Io() {
          @Override
          public void mkdir(Path dir) throws IOException {
            Files.createDirectory(dir);
          }

          @Override
          public byte[] read(Path file, int maxBytes) throws IOException {
            try (var in = Files.newInputStream(file)) {
              return in.readNBytes(maxBytes);
            }
          }

          @Override
          public void write(Path file, byte[] content) throws IOException {
            Files.write(file, content);
          }

          @Override
          public void rmdir(Path dir) throws IOException {
            Files.deleteIfExists(dir);
          }
        };
  }

  public static ConfigfsTsmQuoteProvider tdx() {
    return new ConfigfsTsmQuoteProvider(DEFAULT_BASE, "tdx_guest");
  }

  @Override
  public synchronized byte[] quote(byte[] reportData) throws QuoteProviderException {
    if (reportData.length != 64) {
      throw new IllegalArgumentException("REPORTDATA is 64 bytes");
    }
    if (!Files.isDirectory(base)) {
      throw new QuoteProviderException(
          "no configfs TSM report interface at "
              + base
              + " (needs Linux >= 6.7 with configfs mounted, inside a TD)");
    }
    Path entry = base.resolve("teekms-" + UUID.randomUUID());
    try {
      io.mkdir(entry);
      try {
        if (expectedProvider != null) {
          String provider = read(entry.resolve("provider")).trim();
          if (!provider.equals(expectedProvider)) {
            throw new QuoteProviderException(
                "TSM provider is '" + provider + "', expected '" + expectedProvider + "'");
          }
        }
        long before = generation(entry);
        io.write(entry.resolve("inblob"), reportData);
        byte[] quote = readBounded(entry.resolve("outblob"));
        long after = generation(entry);
        if (after != before + 1) {
          throw new QuoteProviderException(
              "TSM report generation went from "
                  + before
                  + " to "
                  + after
                  + ": a concurrent writer used the entry, quote discarded");
        }
        if (quote.length == 0) {
          throw new QuoteProviderException("TSM outblob is empty");
        }
        return quote;
      } finally {
        // configfs removes the entry's attribute files with the directory itself
        io.rmdir(entry);
      }
    } catch (IOException e) {
      throw new QuoteProviderException("TSM report via " + entry + " failed: " + e.getMessage(), e);
    }
  }

  private long generation(Path entry) throws IOException, QuoteProviderException {
    String g = read(entry.resolve("generation")).trim();
    try {
      return Long.parseLong(g);
    } catch (NumberFormatException e) {
      throw new QuoteProviderException("TSM generation is not a number: '" + g + "'");
    }
  }

  private String read(Path p) throws IOException {
    return new String(io.read(p, 64), StandardCharsets.US_ASCII);
  }

  private byte[] readBounded(Path p) throws IOException, QuoteProviderException {
    byte[] b = io.read(p, MAX_QUOTE_BYTES + 1);
    if (b.length > MAX_QUOTE_BYTES) {
      throw new QuoteProviderException("TSM outblob larger than " + MAX_QUOTE_BYTES + " bytes");
    }
    return b;
  }
}
