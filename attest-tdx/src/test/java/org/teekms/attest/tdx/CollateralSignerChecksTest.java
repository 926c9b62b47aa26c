package org.teekms.attest.tdx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.teekms.attest.tdx.collateral.Collateral;

/**
 * Each collateral document names its own issuer chain, and each chain is checked on its own: the QE
 * identity's and the PCK CRL's issuers must be valid at the verification time and not revoked even
 * when the TCB info's issuer is fine (found by PIT: dropping either check left every other test
 * green, because in the fixtures all documents share one signer; docs/reliability.md §5).
 */
class CollateralSignerChecksTest {
  private static final Instant BEFORE_NOW = Instant.parse("2030-01-10T00:00:00Z");
  private static final Instant LATER = Instant.parse("2040-01-01T00:00:00Z");

  @Test
  void anExpiredQeIdentityIssuerMakesTheCollateralExpiredThoughTheTcbInfoIssuerIsValid()
      throws Exception {
    SyntheticDcap w = new SyntheticDcap();
    X509Certificate expired = w.tcbSigningCopy(BEFORE_NOW);
    QuoteVerificationResult r = verify(w, expired, null);
    assertEquals(VerificationFailure.COLLATERAL_EXPIRED, r.failure(), r::error);
    assertTrue(r.error().contains("QE identity issuer"), r.error());
    assertTrue(verify(w, w.tcbSigningCopy(LATER), null).valid(), "the same chain, not expired");
  }

  @Test
  void anExpiredPckCrlIssuerMakesTheCollateralExpiredThoughThePckChainIsValid() throws Exception {
    SyntheticDcap w = new SyntheticDcap();
    QuoteVerificationResult r = verify(w, null, w.pckCaCopy(BEFORE_NOW));
    assertEquals(VerificationFailure.COLLATERAL_EXPIRED, r.failure(), r::error);
    assertTrue(r.error().contains("PCK CRL issuer"), r.error());
    assertTrue(verify(w, null, w.pckCaCopy(LATER)).valid(), "the same chain, not expired");
  }

  @Test
  void aRevokedQeIdentityIssuerIsRejectedThoughTheTcbInfoIssuerIsNotRevoked() throws Exception {
    SyntheticDcap w = new SyntheticDcap();
    X509Certificate revoked = w.tcbSigningCopy(LATER);
    w.revokedByRoot = Set.of(revoked.getSerialNumber());
    QuoteVerificationResult r = verify(w, revoked, null);
    assertEquals(VerificationFailure.CERTIFICATE_REVOKED, r.failure(), r::error);
    assertTrue(r.error().contains("QE identity issuer"), r.error());
  }

  @Test
  void aRevokedPckCrlIssuerIsRejectedThoughThePckChainIsNotRevoked() throws Exception {
    SyntheticDcap w = new SyntheticDcap();
    X509Certificate revoked = w.pckCaCopy(LATER);
    w.revokedByRoot = Set.of(revoked.getSerialNumber());
    QuoteVerificationResult r = verify(w, null, revoked);
    assertEquals(VerificationFailure.CERTIFICATE_REVOKED, r.failure(), r::error);
    assertTrue(r.error().contains("PCK CRL issuer"), r.error());
  }

  /**
   * The world's quote against its collateral with the QE identity issued by {@code qeIssuer} and/or
   * the PCK CRL issued by {@code pckCrlIssuer} (null: the world's own).
   */
  private static QuoteVerificationResult verify(
      SyntheticDcap w, X509Certificate qeIssuer, X509Certificate pckCrlIssuer) throws Exception {
    byte[] quote = w.quote();
    Collateral c = w.collateral();
    Collateral mixed =
        new Collateral(
            c.tcbInfo(),
            c.tcbInfoIssuerChain(),
            c.qeIdentity(),
            qeIssuer == null ? c.qeIdentityIssuerChain() : List.of(qeIssuer),
            c.pckCrl(),
            pckCrlIssuer == null ? c.pckCrlIssuerChain() : List.of(pckCrlIssuer, w.root),
            c.rootCaCrl());
    return new DcapQuoteVerifier(w.root).verify(quote, mixed, SyntheticDcap.NOW);
  }
}
