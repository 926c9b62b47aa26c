package org.teekms.attest.ratls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.teekms.attest.ratls.RaTlsException.Reason;
import org.teekms.attest.sim.SimulatedCvm;

/**
 * Clocks that disagree: a certificate made on a clock ahead of the verifier's is "not yet valid",
 * never "expired"; a bounded allowance accepts a skew up to it on both ends of the validity period
 * and refuses beyond it; back-dating is bounded the same way.
 */
class RaTlsClockSkewTest {
  static final String APP = "services:\n  web: {image: nginx}\n";

  /** A certificate made by a CVM whose clock is {@code skew} off the verifier's (true) clock. */
  private static X509Certificate madeAt(Duration skew, Duration validity, Duration backdate)
      throws Exception {
    SimulatedCvm cvm = SimulatedRaTls.cvm(APP, false);
    return new RaTlsCertificateFactory(
            reportData -> cvm.eventLog().quote(cvm, reportData),
            Clock.offset(SimulatedRaTls.CLOCK, skew),
            validity,
            backdate)
        .create("skewed")
        .certificate();
  }

  @Test
  void aCertificateFromAClockTenMinutesAheadIsNotYetValidNotExpired() throws Exception {
    X509Certificate ahead = madeAt(Duration.ofMinutes(10), Duration.ofHours(1), Duration.ZERO);
    RaTlsException e = RaTlsVerifierTest.reject(ahead);
    assertEquals(Reason.CERTIFICATE_NOT_YET_VALID, e.reason());
    assertTrue(e.detail().contains("not yet valid"), e.detail());
    assertTrue(e.detail().contains("the peer's clock is ahead, or this one is behind"), e.detail());
  }

  @Test
  void theAllowanceAcceptsSkewUpToItOnBothEndsAndRefusesBeyond() throws Exception {
    RaTlsVerifier tenMinutes =
        SimulatedRaTls.verifier().clockSkewAllowance(Duration.ofMinutes(10)).build();
    // notBefore 8 minutes in the verifier's future: accepted; 12 minutes: refused
    tenMinutes.verify(madeAt(Duration.ofMinutes(8), Duration.ofHours(1), Duration.ZERO));
    RaTlsException early =
        RaTlsVerifierTest.reject(
            tenMinutes, madeAt(Duration.ofMinutes(12), Duration.ofHours(1), Duration.ZERO));
    assertEquals(Reason.CERTIFICATE_NOT_YET_VALID, early.reason());
    assertTrue(early.detail().contains("clock-skew allowance PT10M"), early.detail());

    // notAfter 8 minutes in the verifier's past: accepted; 12 minutes: expired
    tenMinutes.verify(
        madeAt(Duration.ofMinutes(-68), Duration.ofHours(1), Duration.ZERO)); // ended 8 min ago
    RaTlsException late =
        RaTlsVerifierTest.reject(
            tenMinutes, madeAt(Duration.ofMinutes(-72), Duration.ofHours(1), Duration.ZERO));
    assertEquals(Reason.CERTIFICATE_EXPIRED, late.reason());

    // without an allowance the 8-minute cases are refused
    assertEquals(
        Reason.CERTIFICATE_NOT_YET_VALID,
        RaTlsVerifierTest.reject(madeAt(Duration.ofMinutes(8), Duration.ofHours(1), Duration.ZERO))
            .reason());
    assertEquals(
        Reason.CERTIFICATE_EXPIRED,
        RaTlsVerifierTest.reject(
                madeAt(Duration.ofMinutes(-68), Duration.ofHours(1), Duration.ZERO))
            .reason());
  }

  @Test
  void backDatingCoversAVerifierWhoseClockIsBehindByUpToIt() throws Exception {
    // the maker's clock is 10 minutes ahead; back-dated by 10 minutes, its notBefore is the
    // verifier's now
    X509Certificate backdated =
        madeAt(Duration.ofMinutes(10).minusSeconds(5), Duration.ofHours(1), Duration.ofMinutes(10));
    SimulatedRaTls.verifier().build().verify(backdated);
    assertEquals(
        Duration.ofHours(1),
        Duration.between(backdated.getNotBefore().toInstant(), backdated.getNotAfter().toInstant()),
        "back-dating is part of the validity period, not added to it");
  }

  @Test
  void theVerifierReportsTheClockAllowanceAndLifetimeCapItWasBuiltWith() {
    Clock clock = Clock.offset(SimulatedRaTls.CLOCK, Duration.ofSeconds(7));
    RaTlsVerifier v =
        SimulatedRaTls.verifier()
            .clock(clock)
            .clockSkewAllowance(Duration.ofMinutes(3))
            .maxCertificateLifetime(Duration.ofHours(2))
            .build();
    assertEquals(clock, v.clock());
    assertEquals(Duration.ofMinutes(3), v.clockSkewAllowance());
    assertEquals(Duration.ofHours(2), v.maxCertificateLifetime());
  }

  @Test
  void theAllowanceAndTheBackDatingAreBoundedAtOneHour() throws Exception {
    assertThrows(
        IllegalArgumentException.class,
        () -> SimulatedRaTls.verifier().clockSkewAllowance(Duration.ofMinutes(61)));
    assertThrows(
        IllegalArgumentException.class,
        () -> SimulatedRaTls.verifier().clockSkewAllowance(Duration.ofSeconds(-1)));
    SimulatedRaTls.verifier().clockSkewAllowance(Duration.ofHours(1)).build();
    SimulatedCvm cvm = SimulatedRaTls.cvm(APP, false);
    IllegalArgumentException tooFar =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                new RaTlsCertificateFactory(
                    reportData -> cvm.eventLog().quote(cvm, reportData),
                    SimulatedRaTls.CLOCK,
                    Duration.ofHours(24),
                    Duration.ofMinutes(61)));
    assertTrue(tooFar.getMessage().contains("outside 0..PT1H"), tooFar.getMessage());
  }

  @Test
  void aConnectionsCertificateIsJudgedWithTheSameAllowanceAtEveryCall() throws Exception {
    RaTlsVerifier tenMinutes =
        SimulatedRaTls.verifier().clockSkewAllowance(Duration.ofMinutes(10)).build();
    X509Certificate ahead = madeAt(Duration.ofMinutes(8), Duration.ofHours(1), Duration.ZERO);
    RaTlsIdentity id = tenMinutes.verify(ahead);
    assertEquals(id, tenMinutes.current(ahead, id));
    RaTlsException e =
        assertThrows(
            RaTlsException.class,
            () ->
                SimulatedRaTls.verifier()
                    .build()
                    .current(ahead, null)); // no allowance: refused at the call too
    assertEquals(Reason.CERTIFICATE_NOT_YET_VALID, e.reason());
  }
}
