package org.teekms.attest.provider;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.teekms.attest.eventlog.DstackEventLogCodec;
import org.teekms.attest.eventlog.EventLogEntry;
import org.teekms.attest.ratls.RaTlsCertificateFactory;
import org.teekms.attest.ratls.RaTlsCredentials;
import org.teekms.attest.ratls.RaTlsIdentity;
import org.teekms.attest.ratls.RaTlsVerifier;
import org.teekms.attest.sim.SimulatedCvm;
import org.teekms.attest.sim.SimulatedTdx;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.QuotePolicy;

/**
 * The production evidence path (CCEL + dstack runtime events + configfs-tsm) over a fake TD
 * directory tree.
 */
class TdEventLogTest {
  private static final SimulatedTdx TDX = SimulatedTdx.enable("TdEventLogTest", Clock.systemUTC());
  @TempDir Path dir;

  private static SimulatedCvm.App app() {
    return SimulatedCvm.App.ofCompose("services: {kms: {image: kms}}\n", new byte[20]);
  }

  @Test
  void certificateFromTheTdsOwnLogVerifies() throws Exception {
    FakeTd td = new FakeTd(dir, TDX).boot(app());
    List<EventLogEntry> log = td.eventLog().read();
    assertEquals(7, log.stream().filter(e -> e.imr() == 3).count());
    assertTrue(log.stream().filter(e -> e.imr() < 3).count() > 30, "CCEL events first");
    RaTlsCredentials creds =
        new RaTlsCertificateFactory(td.eventLog(), Clock.systemUTC(), Duration.ofHours(1))
            .create("kms");
    RaTlsIdentity id =
        RaTlsVerifier.builder(new DcapQuoteVerifier(TDX.rootCertificate()), TDX.collateralSource())
            .quotePolicy(QuotePolicy.builder().build())
            .build()
            .verify(creds.certificate());
    assertArrayEquals(app().composeHash().toByteArray(), id.composeHash().toByteArray());
    assertEquals(
        HexFormat.of().formatHex(app().appId().toByteArray()),
        HexFormat.of().formatHex(id.appId().toByteArray()));
  }

  @Test
  void aLogThatDoesNotReplayIsRefusedWithTheRegister() throws Exception {
    FakeTd td = new FakeTd(dir, TDX).boot(app());
    td.appendUnmeasured("app-event", new byte[] {1});
    QuoteProviderException e =
        assertThrows(QuoteProviderException.class, () -> td.eventLog().quote(new byte[64]));
    assertTrue(
        e.getMessage().contains("does not verify against its own quote: RTMR3 mismatch"),
        e.getMessage());
  }

  @Test
  void anEventAppendedWhileQuotingIsPickedUpOnTheNextAttempt() throws Exception {
    FakeTd td = new FakeTd(dir, TDX).boot(app());
    boolean[] raced = {false};
    QuoteProvider racing =
        reportData -> {
          if (!raced[0]) {
            raced[0] = true;
            try {
              td.measure(
                  "app-event",
                  new byte[] {2}); // dstack's guest measures between our read and our quote
            } catch (java.io.IOException ex) {
              throw new QuoteProviderException(ex.getMessage());
            }
          }
          return td.quoteNow(reportData);
        };
    RuntimeEventLog.QuoteWithLog q =
        new TdEventLog(racing, td.ccelTable, td.ccelData, td.runtimeEvents).quote(new byte[64]);
    List<EventLogEntry> log = DstackEventLogCodec.parse(q.eventLogJson());
    assertEquals("app-event", log.get(log.size() - 1).name());
  }

  @Test
  void missingOrBrokenInterfacesAreNamed() throws Exception {
    FakeTd td = new FakeTd(dir, TDX).boot(app());
    Files.delete(td.ccelTable);
    assertTrue(
        assertThrows(QuoteProviderException.class, () -> td.eventLog().read())
            .getMessage()
            .contains("no ACPI CCEL table at " + td.ccelTable));
    FakeTd td2 = new FakeTd(dir.resolve("b"), TDX).boot(app());
    Files.writeString(td2.runtimeEvents, "{\"event\":\"x\",\"payload\":\"\",\"version\":2}\n");
    assertTrue(
        assertThrows(QuoteProviderException.class, () -> td2.eventLog().read())
            .getMessage()
            .contains("version-2"));
    FakeTd td3 = new FakeTd(dir.resolve("c"), TDX);
    assertTrue(
        assertThrows(QuoteProviderException.class, () -> td3.eventLog().quote(new byte[64]))
            .getMessage()
            .contains("boot-mr-done"),
        "no dstack boot sequence measured: clients would refuse this TD");
  }
}
