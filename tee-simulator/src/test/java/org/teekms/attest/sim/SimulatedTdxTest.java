package org.teekms.attest.sim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.teekms.attest.eventlog.DstackEventLogCodec;
import org.teekms.attest.eventlog.EventLogVerifier;
import org.teekms.attest.eventlog.MrConfigId;
import org.teekms.attest.eventlog.QuotedMeasurements;
import org.teekms.attest.eventlog.VerifiedEventLog;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.QuotePolicy;
import org.teekms.attest.tdx.QuoteVerificationResult;
import org.teekms.attest.tdx.TcbStatus;
import org.teekms.attest.tdx.TdReport;
import org.teekms.attest.tdx.TdxQuote;
import org.teekms.attest.tdx.VerificationFailure;
import org.teekms.attest.tdx.collateral.Collateral;
import org.teekms.attest.tdx.collateral.CollateralDirectory;

class SimulatedTdxTest {
  static final Instant NOW = Instant.parse("2026-11-24T02:00:00Z");
  static final SimulatedTdx TDX =
      SimulatedTdx.enable("unit test", Clock.fixed(NOW, ZoneOffset.UTC));

  static SimulatedCvm bootedCvm(boolean debug) throws Exception {
    return TDX.newCvm(new byte[48], debug)
        .boot(SimulatedCvm.App.ofCompose("services: {}", new byte[20]));
  }

  @Test
  void simulatedQuoteVerifiesUnderTheSimulatedRootOnly() throws Exception {
    SimulatedCvm cvm = bootedCvm(false);
    byte[] reportData = new byte[64];
    reportData[63] = 7;
    byte[] quote = cvm.quote(reportData);
    Collateral collateral = TDX.collateral().toCollateral();

    QuoteVerificationResult ok =
        new DcapQuoteVerifier(TDX.rootCertificate()).verify(quote, collateral, NOW);
    assertTrue(ok.valid(), () -> ok.failure() + ": " + ok.error());
    assertEquals(TcbStatus.UpToDate, ok.status());
    assertEquals(SimulatedTdx.FMSPC, ok.fmspc().hex());
    TdReport td = ok.td();
    assertArrayEquals(reportData, td.reportData().toByteArray());
    assertArrayEquals(cvm.rtmr(3), td.rtmr(3).toByteArray());
    assertTrue(QuotePolicy.builder().build().evaluate(ok).allowed());

    QuoteVerificationResult intel =
        DcapQuoteVerifier.withIntelRoot().verify(quote, collateral, NOW);
    assertFalse(intel.valid(), "simulated evidence must never verify against the Intel root");
    // With the Intel root, the simulated collateral and PCK chain do not chain to the anchor.
    assertTrue(
        intel.failure() == VerificationFailure.COLLATERAL_INVALID
            || intel.failure() == VerificationFailure.PCK_CHAIN_INVALID,
        intel.failure() + ": " + intel.error());
  }

  @Test
  void aBootedCvmIsLaunchedWithDstacksMrConfigIdOfItsCompose() throws Exception {
    SimulatedCvm cvm = bootedCvm(false);
    TdReport td = TdxQuote.parse(cvm.quote(new byte[64])).tdReport();
    byte[] composeHash =
        org.teekms.crypto.Digests.sha256(
            "services: {}".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    assertEquals(
        "01" + java.util.HexFormat.of().formatHex(composeHash) + "00".repeat(15),
        td.mrConfigId().hex());
    VerifiedEventLog v =
        EventLogVerifier.verify(
            DstackEventLogCodec.parse(cvm.eventLog().quote(cvm, new byte[64]).eventLogJson()),
            QuotedMeasurements.of(td));
    assertTrue(MrConfigId.mismatch(td.mrConfigId(), v.identity().composeHash()).isEmpty());
  }

  @Test
  void aHostMayLaunchWithoutMrConfigIdOrNameAnotherCompose() throws Exception {
    SimulatedCvm unset =
        TDX.newCvm(new byte[48], false)
            .launchWithMrConfigId(new byte[48])
            .boot(SimulatedCvm.App.ofCompose("services: {}", new byte[20]));
    assertTrue(TdxQuote.parse(unset.quote(new byte[64])).tdReport().mrConfigId().isAllZero());
    byte[] other = MrConfigId.v1(new byte[32]);
    SimulatedCvm lying =
        TDX.newCvm(new byte[48], false)
            .launchWithMrConfigId(other)
            .boot(SimulatedCvm.App.ofCompose("services: {}", new byte[20]));
    assertArrayEquals(
        other, TdxQuote.parse(lying.quote(new byte[64])).tdReport().mrConfigId().toByteArray());
    org.junit.jupiter.api.Assertions.assertThrows(
        IllegalStateException.class,
        () -> lying.launchWithMrConfigId(new byte[48]),
        "a launch parameter cannot change after boot");
  }

  @Test
  void collateralDirectoryRoundTripAndEventLogReplay(@TempDir Path dir) throws Exception {
    SimulatedCvm cvm = bootedCvm(false);
    var q = cvm.eventLog().quote(cvm, new byte[64]);
    Collateral fromDir = CollateralDirectory.read(TDX.collateral().writeTo(dir));
    QuoteVerificationResult r =
        new DcapQuoteVerifier(TDX.rootCertificate()).verify(q.quote().toByteArray(), fromDir, NOW);
    assertTrue(r.valid(), () -> r.failure() + ": " + r.error());
    TdReport td = TdxQuote.parse(q.quote().toByteArray()).tdReport();
    VerifiedEventLog v =
        EventLogVerifier.verify(
            DstackEventLogCodec.parse(q.eventLogJson()),
            QuotedMeasurements.of(
                td.mrTd().toByteArray(),
                td.rtmr(0).toByteArray(),
                td.rtmr(1).toByteArray(),
                td.rtmr(2).toByteArray(),
                td.rtmr(3).toByteArray(),
                td.mrConfigId().toByteArray(),
                td.mrOwner().toByteArray(),
                td.mrOwnerConfig().toByteArray()));
    assertEquals(List.of(0, 1, 2, 3), v.replayedRegisters());
    assertTrue(v.identity().systemReady());
  }

  @Test
  void expiredCollateralAndDebugTdAreRejected() throws Exception {
    byte[] quote = bootedCvm(true).quote(new byte[64]);
    DcapQuoteVerifier verifier = new DcapQuoteVerifier(TDX.rootCertificate());
    Collateral collateral = TDX.collateral().toCollateral();

    QuoteVerificationResult late =
        verifier.verify(quote, collateral, NOW.plus(Duration.ofDays(31)));
    assertFalse(late.valid());
    assertEquals(VerificationFailure.COLLATERAL_EXPIRED, late.failure(), late.error());

    QuoteVerificationResult debug = verifier.verify(quote, collateral, NOW);
    assertTrue(debug.valid(), () -> debug.failure() + ": " + debug.error());
    QuotePolicy.Decision production = QuotePolicy.builder().build().evaluate(debug);
    assertFalse(production.allowed());
    assertTrue(
        production.violations().get(0).contains("debug TD"), production.violations().toString());
    assertTrue(QuotePolicy.builder().allowDebugForTesting().build().evaluate(debug).allowed());
  }

  @Test
  void seededSimulatorsInSeparateProcessesShareOneRoot() throws Exception {
    byte[] seed = "dev deployment".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    SimulatedTdx agentSide =
        SimulatedTdx.enableSeeded("guest agent", Clock.fixed(NOW, ZoneOffset.UTC), seed);
    SimulatedTdx kmsSide =
        SimulatedTdx.enableSeeded("KMS", Clock.fixed(NOW.plusSeconds(3600), ZoneOffset.UTC), seed);
    assertArrayEquals(
        agentSide.rootCertificate().getEncoded(), kmsSide.rootCertificate().getEncoded());
    assertArrayEquals(
        agentSide.pckCertificate().getEncoded(), kmsSide.pckCertificate().getEncoded());
    assertFalse(
        java.util.Arrays.equals(
            TDX.rootCertificate().getEncoded(), agentSide.rootCertificate().getEncoded()));
    SimulatedCvm cvm =
        agentSide.newCvm(new byte[48], false).boot(SimulatedCvm.App.ofCompose("x", new byte[20]));
    byte[] quote = cvm.quote(new byte[64]);
    QuoteVerificationResult r =
        new DcapQuoteVerifier(kmsSide.rootCertificate())
            .verify(TdxQuote.parse(quote), kmsSide.collateralSource(), NOW.plusSeconds(3600));
    assertTrue(r.valid(), () -> r.failure() + ": " + r.error());
    assertFalse(
        new DcapQuoteVerifier(TDX.rootCertificate())
            .verify(TdxQuote.parse(quote), kmsSide.collateralSource(), NOW.plusSeconds(3600))
            .valid());
  }

  @Test
  void configuredTcbStatusAndAdvisoriesComeThrough() throws Exception {
    byte[] quote = bootedCvm(false).quote(new byte[64]);
    Collateral outOfDate =
        TDX.collateral(
                NOW.minus(Duration.ofDays(1)),
                NOW.plus(Duration.ofDays(1)),
                "OutOfDate",
                List.of("INTEL-SA-00837"))
            .toCollateral();
    QuoteVerificationResult r =
        new DcapQuoteVerifier(TDX.rootCertificate()).verify(quote, outOfDate, NOW);
    assertTrue(r.valid(), () -> r.failure() + ": " + r.error());
    assertEquals(TcbStatus.OutOfDate, r.status());
    assertEquals(List.of("INTEL-SA-00837"), r.advisoryIds());
  }

  @Test
  void sgxQuoteVerifiesWithSgxCollateralAndSharesTheTdQuotesQeId() throws Exception {
    byte[] mrEnclave = new byte[32];
    mrEnclave[0] = 0x11;
    byte[] mrSigner = new byte[32];
    mrSigner[0] = 0x22;
    byte[] reportData = new byte[64];
    reportData[5] = 9;
    byte[] sgx = TDX.sgxQuote(mrEnclave, mrSigner, reportData);

    TdxQuote parsed = TdxQuote.parse(sgx);
    QuoteVerificationResult ok =
        new DcapQuoteVerifier(TDX.rootCertificate()).verify(parsed, TDX.collateralSource(), NOW);
    assertTrue(ok.valid(), () -> ok.failure() + ": " + ok.error());
    assertEquals(TcbStatus.UpToDate, ok.status());
    assertArrayEquals(mrEnclave, parsed.enclaveReport().mrEnclave().toByteArray());
    assertArrayEquals(mrSigner, parsed.enclaveReport().mrSigner().toByteArray());
    assertArrayEquals(reportData, parsed.enclaveReport().reportData().toByteArray());
    assertFalse(parsed.enclaveReport().debug());

    TdxQuote td = TdxQuote.parse(bootedCvm(false).quote(new byte[64]));
    assertEquals(
        td.header().qeId(),
        parsed.header().qeId(),
        "one simulated platform, one QE: same QE id in SGX and TDX quotes");
    // TDX collateral does not verify an SGX quote (TCB info id and QE identity id differ).
    QuoteVerificationResult wrong =
        new DcapQuoteVerifier(TDX.rootCertificate())
            .verify(parsed, TDX.collateral().toCollateral(), NOW);
    assertFalse(wrong.valid());
    assertEquals(VerificationFailure.COLLATERAL_MISMATCH, wrong.failure(), wrong.error());
  }
}
