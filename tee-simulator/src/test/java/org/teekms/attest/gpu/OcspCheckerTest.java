package org.teekms.attest.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.net.URI;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x509.CRLReason;
import org.bouncycastle.cert.ocsp.OCSPRespBuilder;
import org.bouncycastle.cert.ocsp.RevokedStatus;
import org.bouncycastle.cert.ocsp.UnknownStatus;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The OCSP client against a real local responder (JDK HttpServer + BouncyCastle responses). */
class OcspCheckerTest {
  private static final Instant AT = Instant.parse("2024-01-01T00:00:00Z");
  private static final GpuSimulator SIM = GpuSimulator.create(1, new SecureRandom());

  private final List<X509Certificate> chain = SIM.chain(0);
  private LocalOcspResponder responder;

  @BeforeEach
  void start() throws Exception {
    responder =
        new LocalOcspResponder(
            this::issuerOf, AT.minus(Duration.ofHours(1)), AT.plus(Duration.ofDays(7)));
  }

  @AfterEach
  void stop() {
    responder.close();
  }

  /** By default each certificate's issuer answers for it. */
  private LocalOcspResponder.Signer issuerOf(BigInteger serial) {
    for (int i = 0; i + 1 < chain.size(); i++) {
      if (chain.get(i).getSerialNumber().equals(serial)) {
        X509Certificate issuer = chain.get(i + 1);
        return new LocalOcspResponder.Signer(issuer, SIM.caKey(issuer));
      }
    }
    throw new IllegalArgumentException("unknown serial " + serial);
  }

  private OcspChecker checker(OcspChecker.Mode mode) {
    return new OcspChecker(
        OcspChecker.Config.defaults().withResponder(responder.uri()).withMode(mode));
  }

  private OcspResult checkDeviceChain(OcspChecker checker) {
    return checker.check(chain, 1, chain.size() - 1, AT);
  }

  @Test
  void goodForEveryIntermediate() {
    OcspResult r = checkDeviceChain(checker(OcspChecker.Mode.FAIL_CLOSED));
    assertEquals(3, r.certificates().size());
    assertTrue(r.ok());
    assertTrue(r.allGood());
    assertEquals("good", r.summary());
    assertEquals(3, responder.requests.get());
  }

  @Test
  void revokedFails() {
    responder.statuses.put(
        chain.get(2).getSerialNumber(),
        new RevokedStatus(Date.from(AT.minus(Duration.ofDays(3))), CRLReason.keyCompromise));
    OcspResult r = checkDeviceChain(checker(OcspChecker.Mode.GRACE));
    assertFalse(r.ok(), "revocation is never excused, not even in grace mode");
    assertEquals(OcspResult.Status.REVOKED, r.certificates().get(1).status());
    assertTrue(
        r.certificates().get(1).detail().contains("reason 1"), r.certificates().get(1).detail());
    assertEquals("revoked", r.summary());
  }

  @Test
  void unknownFails() {
    responder.statuses.put(chain.get(1).getSerialNumber(), new UnknownStatus());
    OcspResult r = checkDeviceChain(checker(OcspChecker.Mode.FAIL_CLOSED));
    assertFalse(r.ok());
    assertEquals(OcspResult.Status.UNKNOWN, r.certificates().get(0).status());
  }

  @Test
  void staleResponseFails() {
    responder.thisUpdate = AT.minus(Duration.ofDays(10));
    responder.nextUpdate = AT.minus(Duration.ofDays(3));
    OcspResult r = checkDeviceChain(checker(OcspChecker.Mode.GRACE));
    assertFalse(r.ok());
    assertEquals(OcspResult.Status.INVALID_RESPONSE, r.certificates().get(0).status());
    assertTrue(
        r.certificates().get(0).detail().startsWith("stale response"),
        r.certificates().get(0).detail());
  }

  @Test
  void responseWithoutNextUpdateIsStaleAfterMaxAge() {
    responder.thisUpdate = AT.minus(Duration.ofDays(2));
    responder.nextUpdate = null;
    OcspResult r = checkDeviceChain(checker(OcspChecker.Mode.FAIL_CLOSED));
    assertTrue(
        r.certificates().get(0).detail().contains("max age"), r.certificates().get(0).detail());
    assertFalse(r.ok());
  }

  @Test
  void responseFromTheFutureFails() {
    responder.thisUpdate = AT.plus(Duration.ofHours(2));
    OcspResult r = checkDeviceChain(checker(OcspChecker.Mode.FAIL_CLOSED));
    assertFalse(r.ok());
    assertTrue(r.certificates().get(0).detail().contains("after the verification time"));
  }

  @Test
  void wrongSignerFails() throws Exception {
    KeyPair rogueKey = TestCerts.key();
    X509Certificate rogue =
        TestCerts.issue(
            "CN=Rogue OCSP",
            rogueKey,
            null,
            null,
            false,
            true,
            AT.minus(Duration.ofDays(1)),
            AT.plus(Duration.ofDays(1)));
    responder.signerFor = serial -> new LocalOcspResponder.Signer(rogue, rogueKey);
    OcspResult r = checkDeviceChain(checker(OcspChecker.Mode.GRACE));
    assertFalse(r.ok());
    assertEquals(OcspResult.Status.INVALID_RESPONSE, r.certificates().get(0).status());
    assertTrue(
        r.certificates().get(0).detail().contains("wrong signer"),
        r.certificates().get(0).detail());
  }

  @Test
  void issuerCertificateWithAnotherKeyFails() throws Exception {
    KeyPair other = TestCerts.key();
    responder.signerFor = serial -> new LocalOcspResponder.Signer(issuerOf(serial).cert(), other);
    OcspResult r = checkDeviceChain(checker(OcspChecker.Mode.FAIL_CLOSED));
    assertFalse(r.ok());
    assertTrue(
        r.certificates().get(0).detail().contains("signature does not verify"),
        r.certificates().get(0).detail());
  }

  @Test
  void delegatedResponderNeedsOcspSigningEku() throws Exception {
    X509Certificate issuer = chain.get(2);
    KeyPair delegateKey = TestCerts.key();
    X509Certificate withEku =
        TestCerts.issue(
            "CN=Delegated OCSP",
            delegateKey,
            issuer,
            SIM.caKey(issuer),
            false,
            true,
            AT.minus(Duration.ofDays(1)),
            AT.plus(Duration.ofDays(30)));
    responder.signerFor = serial -> new LocalOcspResponder.Signer(withEku, delegateKey);
    OcspResult ok = checker(OcspChecker.Mode.FAIL_CLOSED).check(chain, 1, 2, AT);
    assertTrue(ok.ok(), ok::firstProblem);

    X509Certificate withoutEku =
        TestCerts.issue(
            "CN=Delegated OCSP",
            delegateKey,
            issuer,
            SIM.caKey(issuer),
            false,
            false,
            AT.minus(Duration.ofDays(1)),
            AT.plus(Duration.ofDays(30)));
    responder.signerFor = serial -> new LocalOcspResponder.Signer(withoutEku, delegateKey);
    OcspResult bad = checker(OcspChecker.Mode.FAIL_CLOSED).check(chain, 1, 2, AT);
    assertFalse(bad.ok());
    assertTrue(bad.firstProblem().contains("lacks id-kp-OCSPSigning"), bad.firstProblem());
  }

  @Test
  void missingNonceEchoFails() {
    responder.echoNonce = false;
    OcspResult r = checkDeviceChain(checker(OcspChecker.Mode.GRACE));
    assertFalse(r.ok());
    assertTrue(r.firstProblem().contains("does not echo the request nonce"), r.firstProblem());
  }

  @Test
  void unreachableResponderFailsClosedButPassesInGraceMode() {
    URI dead = URI.create("http://127.0.0.1:9/");
    OcspResult closed =
        new OcspChecker(OcspChecker.Config.defaults().withResponder(dead)).check(chain, 1, 4, AT);
    assertFalse(closed.ok());
    assertEquals(OcspResult.Status.UNAVAILABLE, closed.certificates().get(0).status());

    OcspResult grace =
        new OcspChecker(
                OcspChecker.Config.defaults().withResponder(dead).withMode(OcspChecker.Mode.GRACE))
            .check(chain, 1, 4, AT);
    assertTrue(grace.ok());
    assertFalse(grace.allGood(), "grace never counts as confirmed good");
    assertEquals("unavailable", grace.summary());
  }

  @Test
  void tryLaterIsUnavailable() {
    responder.responseStatus = OCSPRespBuilder.TRY_LATER;
    OcspResult r = checkDeviceChain(checker(OcspChecker.Mode.FAIL_CLOSED));
    assertEquals(OcspResult.Status.UNAVAILABLE, r.certificates().get(0).status());
    assertFalse(r.ok());
    responder.responseStatus = OCSPRespBuilder.UNAUTHORIZED;
    OcspResult u = checkDeviceChain(checker(OcspChecker.Mode.GRACE));
    assertEquals(OcspResult.Status.INVALID_RESPONSE, u.certificates().get(0).status());
  }

  @Test
  void definitiveAnswersAreCachedUntilStale() {
    OcspChecker checker = checker(OcspChecker.Mode.FAIL_CLOSED);
    checkDeviceChain(checker);
    assertEquals(3, responder.requests.get());
    OcspResult again = checkDeviceChain(checker);
    assertTrue(again.allGood());
    assertEquals(3, responder.requests.get(), "served from the cache");
    assertTrue(again.certificates().get(0).detail().endsWith("(cached)"));
    // After nextUpdate the cached answer is no longer used.
    OcspResult later = checker.check(chain, 1, 4, AT.plus(Duration.ofDays(8)));
    assertEquals(6, responder.requests.get());
    assertFalse(later.ok(), "the responder's answer is now stale too");
  }

  @Test
  void disabledChecksNothing() {
    OcspResult r = checkDeviceChain(checker(OcspChecker.Mode.DISABLED));
    assertTrue(r.ok());
    assertFalse(r.allGood());
    assertEquals(0, responder.requests.get());
  }
}
