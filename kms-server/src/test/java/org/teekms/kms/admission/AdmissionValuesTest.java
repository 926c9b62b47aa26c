package org.teekms.kms.admission;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.teekms.crypto.Bytes;

/**
 * Admission's small values and the refusal paths that never reach the database, each edge on both
 * sides (mutation testing found these untested by the database-backed admission tests,
 * docs/reliability.md §5).
 */
class AdmissionValuesTest {

  @Test
  void aClientNonceOf64BytesIsEchoedAndOneOf65IsRequestInvalid() {
    byte[] max = new byte[64];
    max[0] = (byte) 0xab;
    assertEquals(Optional.of("ab" + "00".repeat(63)), ClientNonce.of(max).hex());
    assertEquals(ClientNonce.of(max), ClientNonce.of(max.clone()));
    assertEquals(Optional.empty(), ClientNonce.of(new byte[0]).hex());
    AdmissionDenied d = assertThrows(AdmissionDenied.class, () -> ClientNonce.of(new byte[65]));
    assertEquals(DenyCode.REQUEST_INVALID, d.code());
    assertEquals("client_nonce longer than 64 bytes (65)", d.detail());
  }

  @Test
  void onlyUnavailabilityCodesSayTheFaultIsTheKmsOrItsDependencies() {
    assertTrue(DenyCode.CHAIN_UNAVAILABLE.unavailable());
    assertTrue(DenyCode.KMS_UNAVAILABLE.unavailable());
    assertFalse(DenyCode.DEBUG_TD.unavailable());
    assertFalse(DenyCode.REQUEST_INVALID.unavailable());
  }

  @Test
  void rateLimitedAndCertificatelessRefusalsAreNeitherCountedNorParsed() {
    AtomicInteger parsed = new AtomicInteger();
    ClaimedRefusals claimed = new ClaimedRefusals(null, source -> true, Duration.ofSeconds(1));
    for (DenyCode code : List.of(DenyCode.RATE_LIMITED, DenyCode.NO_CLIENT_CERTIFICATE)) {
      claimed
          .record(
              "DENY_APP_KEYS",
              "10.0.0.1",
              () -> {
                parsed.incrementAndGet();
                return Optional.of(org.teekms.keys.AppId.of(new byte[20]));
              },
              new AdmissionDenied(code, "x"))
          .await()
          .atMost(Duration.ofSeconds(5));
    }
    assertEquals(0, parsed.get());
    assertEquals(0, claimed.written() + claimed.dropped() + claimed.unnamed());
  }

  @Test
  void aSourceOverBudgetIsCountedAsDroppedWithoutParsingItsCertificate() {
    AtomicInteger parsed = new AtomicInteger();
    ClaimedRefusals claimed = new ClaimedRefusals(null, source -> false, Duration.ofSeconds(1));
    claimed
        .record(
            "DENY_APP_KEYS",
            "10.0.0.1",
            () -> {
              parsed.incrementAndGet();
              return Optional.of(org.teekms.keys.AppId.of(new byte[20]));
            },
            new AdmissionDenied(DenyCode.ATTESTATION_INVALID, "forged"))
        .await()
        .atMost(Duration.ofSeconds(5));
    assertEquals(0, parsed.get());
    assertEquals(1, claimed.dropped());
    assertEquals(0, claimed.unnamed());
  }

  @Test
  void aCertificateNamingNoAppIsCountedAsUnnamed() {
    ClaimedRefusals claimed = new ClaimedRefusals(null, source -> true, Duration.ofSeconds(1));
    claimed
        .record(
            "DENY_SIGN_CERT",
            "10.0.0.1",
            Optional::empty,
            new AdmissionDenied(DenyCode.ATTESTATION_INVALID, "forged"))
        .await()
        .atMost(Duration.ofSeconds(5));
    assertEquals(1, claimed.unnamed());
    assertEquals(0, claimed.dropped());
    assertEquals(0, claimed.written());
  }

  @Test
  void unverifiedGpuFactsCannotListGpusAndOnlyVerifiedGpusAreValid() {
    GpuFacts.Gpu ok = new GpuFacts.Gpu(Optional.empty(), "", "aa".repeat(32), "HOPPER", "", "");
    GpuFacts.Gpu bad =
        new GpuFacts.Gpu(
            Optional.of(DenyCode.GPU_REVOKED), "revoked", "bb".repeat(32), "HOPPER", "", "");
    assertThrows(IllegalArgumentException.class, () -> new GpuFacts(false, List.of(ok)));
    assertEquals(List.of(ok), new GpuFacts(true, List.of(ok, bad)).valid());
    assertFalse(bad.valid());
    assertTrue(ok.valid());
  }

  @Test
  void theOsMismatchNamesTheImageTheTdsMrSystemAndTheProofAttempt() {
    byte[] mr = new byte[32];
    mr[31] = 7;
    MeasuredOs os = new MeasuredOs(Bytes.copyOf(mr), false, "MRTD 01…", "no measurement document");
    assertEquals("00".repeat(31) + "07", os.mrSystemHex());
    assertEquals(
        "OS image 0x"
            + "11".repeat(32)
            + " is not proven by the hardware measurements: no golden measurement "
            + "registered for it equals this TD's mrSystem 0x"
            + "00".repeat(31)
            + "07 (MRTD 01…), and no measurement "
            + "document proved it (no measurement document)",
        os.mismatch(Bytes.copyOf(filled(32, 0x11))));
    assertEquals(
        os, new MeasuredOs(Bytes.copyOf(mr.clone()), false, "MRTD 01…", "no measurement document"));
    assertFalse(
        os.equals(new MeasuredOs(Bytes.copyOf(mr), true, "MRTD 01…", "no measurement document")));
  }

  @Test
  void anInstanceIdOfUpTo64BytesIsAcceptedAndTheDebugFactComesFromTheTdAttributes() {
    assertDoesNotThrow(() -> TestPeers.peer().instance(new byte[64]).build());
    assertThrows(
        IllegalArgumentException.class, () -> TestPeers.peer().instance(new byte[65]).build());
    assertTrue(TestPeers.peer().td(TestTd.report(true)).build().debug());
    assertFalse(TestPeers.peer().td(TestTd.report(false)).build().debug());
  }

  @Test
  void twoPeersAreEqualExactlyWhenEveryAttestedFactIsEqualByContent() {
    AttestedPeer base = TestPeers.peer().build();
    AttestedPeer same = TestPeers.from(base).build();
    assertEquals(base, same);
    assertEquals(base.hashCode(), same.hashCode());
    List<AttestedPeer> different =
        List.of(
            TestPeers.from(base).app(filled(20, 0x02)).build(),
            TestPeers.from(base).compose(filled(32, 0x02)).build(),
            TestPeers.from(base).instance(filled(20, 0x02)).build(),
            TestPeers.from(base).device(filled(32, 0x02)).build(),
            TestPeers.from(base).mrAggregated(filled(32, 0x02)).build(),
            TestPeers.from(base).osImage(filled(32, 0x02)).build(),
            TestPeers.from(base).tcb("OutOfDate").build(),
            TestPeers.from(base).advisories(List.of("INTEL-SA-00615")).build(),
            TestPeers.from(base).td(TestTd.report(true)).build(),
            TestPeers.from(base).gpus(1, "", 0).build(),
            TestPeers.from(base).gpus(0, "HOPPER", 0).build(),
            TestPeers.from(base).gpus(0, "", 1).build(),
            TestPeers.from(base).keyProvider(Optional.of("kms-a")).build(),
            TestPeers.from(base)
                .os(
                    new MeasuredOs(
                        Bytes.copyOf(filled(32, 0x02)),
                        false,
                        "MRTD 00000000…",
                        "no measurement document"))
                .build(),
            TestPeers.from(base).gpuFacts(GpuFacts.NOT_VERIFIED).build());
    for (AttestedPeer other : different) {
      assertFalse(base.equals(other), other.toString());
    }
    assertFalse(base.equals("not a peer"));
    assertFalse(
        base.hashCode() == different.get(0).hashCode()
            && base.hashCode() == different.get(2).hashCode());
  }

  @Test
  void aPeerPrintsItsIdentityButNoSecretAndItsArraysAreCopies() {
    AttestedPeer p = TestPeers.peer().build();
    assertEquals(
        "AttestedPeer[app="
            + "a1".repeat(20)
            + ", compose="
            + "c1".repeat(32)
            + ", instance="
            + "01".repeat(20)
            + ", tcb=UpToDate, debug=false, gpus=0, mrSystem="
            + "5e".repeat(32)
            + "]",
        p.toString());
    assertEquals("a1".repeat(20), p.appHex());
    assertEquals(TestPeers.peer().build(), p);
    assertEquals(TestPeers.peer().build().hashCode(), p.hashCode());
    assertEquals(0xd0, p.deviceId().get(0));
    assertEquals(0xa9, p.mrAggregated().get(0));
    assertEquals(0x05, p.osImageHash().get(0));
    assertEquals(0xc1, p.composeHash().get(0));
    assertEquals(0x01, p.instanceId().get(0));
  }

  @Test
  void aClientNonceAndAMeasuredOsHashAndPrintByContent() {
    assertEquals(
        ClientNonce.of(new byte[] {1}).hashCode(), ClientNonce.of(new byte[] {1}).hashCode());
    assertFalse(ClientNonce.of(new byte[] {1}).equals(ClientNonce.of(new byte[] {2})));
    assertEquals("ClientNonce[0102]", ClientNonce.of(new byte[] {1, 2}).toString());
    MeasuredOs a = new MeasuredOs(Bytes.copyOf(filled(32, 1)), false, "r", "p");
    assertEquals(
        a.hashCode(), new MeasuredOs(Bytes.copyOf(filled(32, 1)), false, "r", "p").hashCode());
    assertFalse(
        a.hashCode() == new MeasuredOs(Bytes.copyOf(filled(32, 2)), false, "r", "p").hashCode());
    assertEquals(1, a.mrSystem().get(0));
    a.mrSystem().toByteArray()[0] = 9;
    assertEquals(1, a.mrSystem().get(0));
  }

  private static byte[] filled(int n, int fill) {
    byte[] b = new byte[n];
    java.util.Arrays.fill(b, (byte) fill);
    return b;
  }
}
