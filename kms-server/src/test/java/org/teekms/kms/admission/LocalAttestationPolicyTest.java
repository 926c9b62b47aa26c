package org.teekms.kms.admission;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.teekms.attest.tdx.TcbStatus;
import org.teekms.attest.tdx.TdReport;
import org.teekms.crypto.Bytes;

/** The KMS's quote policy, applied in admission to the facts the handshake proved. */
class LocalAttestationPolicyTest {

  private static final LocalAttestationPolicy POLICY =
      new LocalAttestationPolicy(
          Set.of("UpToDate"), Set.of("INTEL-SA-00615"), Optional.of("kms-a"));

  private static AttestedPeer peer(
      TcbStatus tcb, List<String> advisories, TdReport td, Optional<String> keyProvider) {
    byte[] z32 = new byte[32];
    return TestPeers.peer()
        .app(new byte[20])
        .compose(z32)
        .instance(new byte[20])
        .device(z32)
        .mrAggregated(z32)
        .osImage(z32)
        .tcb(tcb)
        .advisories(advisories)
        .td(td)
        .keyProvider(keyProvider)
        .os(new MeasuredOs(Bytes.copyOf(z32), false, "MRTD 00000000…", "no measurement document"))
        .build();
  }

  private static AdmissionDenied refused(AttestedPeer p) {
    return assertThrows(AdmissionDenied.class, () -> POLICY.checkPeer(p));
  }

  @Test
  void acceptedPeerPasses() {
    assertDoesNotThrow(
        () ->
            POLICY.checkPeer(
                peer(
                    TcbStatus.UpToDate,
                    List.of("INTEL-SA-00615"),
                    TestTd.report(false),
                    Optional.of("kms-a"))));
  }

  @Test
  void debugIsTheReasonBeforeTheTcbAndTheDetailNamesEveryBrokenRule() {
    AdmissionDenied d =
        refused(
            peer(
                TcbStatus.OutOfDate,
                List.of("INTEL-SA-00837"),
                TestTd.report(true),
                Optional.of("kms-a")));
    assertEquals(DenyCode.DEBUG_TD, d.code());
    assertTrue(
        d.detail().contains("OutOfDate") && d.detail().contains("INTEL-SA-00837"), d.detail());
  }

  @Test
  void tcbStatusThenAdvisoriesAreTcbNotAccepted() {
    assertEquals(
        DenyCode.TCB_NOT_ACCEPTED,
        refused(
                peer(
                    TcbStatus.SWHardeningNeeded,
                    List.of(),
                    TestTd.report(false),
                    Optional.of("kms-a")))
            .code());
    AdmissionDenied advisory =
        refused(
            peer(
                TcbStatus.UpToDate,
                List.of("INTEL-SA-00837"),
                TestTd.report(false),
                Optional.of("kms-a")));
    assertEquals(DenyCode.TCB_NOT_ACCEPTED, advisory.code());
    assertTrue(advisory.detail().contains("INTEL-SA-00837"), advisory.detail());
  }

  @Test
  void migratableOrSeptVeEnabledTdIsTdNotAccepted() {
    byte[] migratable = new byte[8];
    migratable[3] = 0x30; // SEPT_VE_DISABLE (bit 28) and MIGRATABLE (bit 29)
    AdmissionDenied m =
        refused(
            peer(
                TcbStatus.UpToDate,
                List.of(),
                TestTd.withAttributes(migratable),
                Optional.of("kms-a")));
    assertEquals(DenyCode.TD_NOT_ACCEPTED, m.code());
    assertTrue(m.detail().contains("MIGRATABLE"), m.detail());
    assertEquals(
        DenyCode.TD_NOT_ACCEPTED,
        refused(
                peer(
                    TcbStatus.UpToDate,
                    List.of(),
                    TestTd.withAttributes(new byte[8]),
                    Optional.of("kms-a")))
            .code());
  }

  @Test
  void aTdLaunchedForAnotherComposeIsMrConfigIdMismatch() {
    // the peer measured compose hash 00…00; its host launched it naming compose hash ff…ff
    byte[] other = new byte[32];
    java.util.Arrays.fill(other, (byte) 0xff);
    AdmissionDenied d =
        refused(
            peer(
                TcbStatus.UpToDate,
                List.of(),
                TestTd.withMrConfigId(org.teekms.attest.eventlog.MrConfigId.v1(other)),
                Optional.of("kms-a")));
    assertEquals(DenyCode.MR_CONFIG_ID_MISMATCH, d.code());
    assertTrue(
        d.detail().contains("ff".repeat(32)) && d.detail().contains("00".repeat(32)), d.detail());
    // checked after the quote policy, before the key provider
    assertEquals(
        DenyCode.MR_CONFIG_ID_MISMATCH,
        refused(
                peer(
                    TcbStatus.UpToDate,
                    List.of(),
                    TestTd.withMrConfigId(org.teekms.attest.eventlog.MrConfigId.v1(other)),
                    Optional.of("kms-b")))
            .code());
  }

  @Test
  void aTdLaunchedForItsOwnComposeOrWithoutMrConfigIdPasses() {
    assertDoesNotThrow(
        () ->
            POLICY.checkPeer(
                peer(
                    TcbStatus.UpToDate,
                    List.of(),
                    TestTd.withMrConfigId(org.teekms.attest.eventlog.MrConfigId.v1(new byte[32])),
                    Optional.of("kms-a"))));
    assertDoesNotThrow(
        () ->
            POLICY.checkPeer(
                peer(
                    TcbStatus.UpToDate,
                    List.of(),
                    TestTd.withMrConfigId(new byte[48]),
                    Optional.of("kms-a"))));
  }

  @Test
  void keyProviderIsCheckedAfterTheQuote() {
    assertEquals(
        DenyCode.KMS_KEY_PROVIDER_MISMATCH,
        refused(peer(TcbStatus.UpToDate, List.of(), TestTd.report(false), Optional.of("kms-b")))
            .code());
    assertEquals(
        DenyCode.DEBUG_TD,
        refused(peer(TcbStatus.UpToDate, List.of(), TestTd.report(true), Optional.of("kms-b")))
            .code());
  }

  @Test
  void configurationFailsClosed() {
    assertThrows(
        IllegalArgumentException.class,
        () -> LocalAttestationPolicy.quotePolicy(Set.of(), Set.of()));
    assertThrows(
        IllegalArgumentException.class,
        () -> LocalAttestationPolicy.quotePolicy(Set.of("Revoked"), Set.of()));
    assertThrows(
        IllegalArgumentException.class,
        () -> LocalAttestationPolicy.quotePolicy(Set.of("uptodate"), Set.of()));
    // exactly the configured statuses (nothing implied)
    assertEquals(
        Set.of(TcbStatus.OutOfDate),
        LocalAttestationPolicy.quotePolicy(Set.of("OutOfDate"), Set.of()).allowedStatuses());
  }
}
