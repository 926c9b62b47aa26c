package org.teekms.attest.provider;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.teekms.attest.eventlog.RuntimeEventDigest;

class ConfigfsTsmQuoteProviderTest {
  @TempDir Path base;

  /**
   * Plays the kernel in a plain directory tree: populates new entries and answers inblob writes.
   */
  static final class FakeKernel implements ConfigfsTsmQuoteProvider.Io {
    String provider = "tdx_guest\n";
    int generationStep = 1;
    int quoteBytes = 5006;

    @Override
    public void mkdir(Path dir) throws IOException {
      Files.createDirectory(dir);
      Files.writeString(dir.resolve("provider"), provider);
      Files.writeString(dir.resolve("generation"), "0\n");
    }

    @Override
    public byte[] read(Path file, int maxBytes) throws IOException {
      return FILES.read(file, maxBytes);
    }

    @Override
    public void write(Path file, byte[] content) throws IOException {
      FILES.write(file, content);
      if (file.getFileName().toString().equals("inblob")) {
        byte[] quote = new byte[quoteBytes];
        System.arraycopy(content, 0, quote, 568 + 48, 64); // REPORTDATA at its TD 1.0 offset
        Files.write(file.resolveSibling("outblob"), quote);
        long g = Long.parseLong(Files.readString(file.resolveSibling("generation")).trim());
        Files.writeString(file.resolveSibling("generation"), (g + generationStep) + "\n");
      }
    }

    @Override
    public void rmdir(Path dir) throws IOException {
      try (Stream<Path> files = Files.walk(dir)) {
        for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
          Files.delete(p);
        }
      }
    }
  }

  @Test
  void quotesThroughTheReportEntryAndRemovesIt() throws Exception {
    byte[] reportData = new byte[64];
    reportData[0] = 0x42;
    byte[] quote =
        new ConfigfsTsmQuoteProvider(base, "tdx_guest", new FakeKernel()).quote(reportData);
    assertEquals(5006, quote.length);
    assertArrayEquals(reportData, java.util.Arrays.copyOfRange(quote, 616, 680));
    try (Stream<Path> left = Files.list(base)) {
      assertEquals(0, left.count(), "entry directory removed");
    }
  }

  @Test
  void refusesRacesWrongProviderOversizedQuotesAndMissingInterface() {
    FakeKernel raced = new FakeKernel();
    raced.generationStep = 2;
    assertTrue(
        assertThrows(
                QuoteProviderException.class,
                () -> new ConfigfsTsmQuoteProvider(base, "tdx_guest", raced).quote(new byte[64]))
            .getMessage()
            .contains("concurrent writer"));

    FakeKernel sev = new FakeKernel();
    sev.provider = "sev_guest\n";
    assertTrue(
        assertThrows(
                QuoteProviderException.class,
                () -> new ConfigfsTsmQuoteProvider(base, "tdx_guest", sev).quote(new byte[64]))
            .getMessage()
            .contains("expected 'tdx_guest'"));

    FakeKernel huge = new FakeKernel();
    huge.quoteBytes = ConfigfsTsmQuoteProvider.MAX_QUOTE_BYTES + 1;
    assertTrue(
        assertThrows(
                QuoteProviderException.class,
                () -> new ConfigfsTsmQuoteProvider(base, "tdx_guest", huge).quote(new byte[64]))
            .getMessage()
            .contains("larger than"));

    assertTrue(
        assertThrows(
                QuoteProviderException.class,
                () ->
                    new ConfigfsTsmQuoteProvider(base.resolve("absent"), "tdx_guest")
                        .quote(new byte[64]))
            .getMessage()
            .contains("Linux >= 6.7"));
    assertThrows(
        IllegalArgumentException.class,
        () -> new ConfigfsTsmQuoteProvider(base, null, new FakeKernel()).quote(new byte[63]));
  }

  @Test
  void sysfsExtenderWritesDigestsAndExplainsOldKernels(@TempDir Path measurements)
      throws Exception {
    SysfsRtmrExtender absent = new SysfsRtmrExtender(measurements.resolve("none"));
    assertTrue(
        assertThrows(QuoteProviderException.class, () -> absent.extend(3, new byte[48]))
            .getMessage()
            .contains("Linux >= 6.16"));

    Path rtmr3 = measurements.resolve("rtmr3:sha384");
    Files.write(rtmr3, new byte[48]);
    SysfsRtmrExtender extender = new SysfsRtmrExtender(measurements);
    byte[] digest = RuntimeEventDigest.v1("app-event", "x".getBytes(StandardCharsets.UTF_8));
    extender.extend(3, digest);
    assertArrayEquals(digest, Files.readAllBytes(rtmr3), "exactly the 48 digest bytes are written");
    assertArrayEquals(digest, extender.read(3));
    assertThrows(IllegalArgumentException.class, () -> extender.extend(1, digest));
    assertThrows(IllegalArgumentException.class, () -> extender.extend(3, new byte[32]));
  }
}
