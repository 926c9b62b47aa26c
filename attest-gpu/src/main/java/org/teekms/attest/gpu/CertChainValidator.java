package org.teekms.attest.gpu;

import static org.teekms.attest.gpu.GpuAttestationException.Reason.CERT_CHAIN_INVALID;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.Provider;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.teekms.crypto.BouncyCastle;
import org.teekms.crypto.Digests;

/**
 * Validates a leaf-first X.509 chain against one configured trust anchor: issuer/subject linkage,
 * signatures (BouncyCastle, passed explicitly: ~10x faster than SunEC for P-384), CA flags, unknown
 * critical extensions, and validity at an explicit instant. Deliberately smaller than PKIX:
 * NVIDIA's chains are short, fixed and have no policies or name constraints, and revocation is
 * checked separately by {@link OcspChecker}.
 */
public final class CertChainValidator {
  /** The provider every signature check in this package uses. Not registered globally. */
  public static final Provider BC = BouncyCastle.PROVIDER;

  public static final int MAX_CHAIN_LENGTH = 8;
  public static final int MAX_CERT_BYTES = 16 * 1024;

  private static final Set<String> UNDERSTOOD_CRITICAL =
      Set.of(
          "2.5.29.15", // keyUsage
          "2.5.29.19", // basicConstraints
          "2.5.29.37", // extendedKeyUsage
          "2.5.29.17", // subjectAltName
          "2.23.133.5.4.1", // TCG DICE TcbInfo (FWID)
          "2.23.133.5.4.1.1",
          "2.23.133.5.4.4", // TCG DICE Ueid
          "2.23.133.5.4.5"); // TCG DICE MultiTcbInfo
  private static final Pattern PEM =
      Pattern.compile("-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\\s]+?)-----END CERTIFICATE-----");

  private static final VerifiedSignatures VERIFIED = new VerifiedSignatures(4096);

  private CertChainValidator() {}

  /**
   * Remembers (certificate, issuer key) pairs whose signature verified, keyed by SHA-256 over the
   * certificate's DER and the issuer's encoded key: the intermediates shared by every GPU are then
   * checked once, not per report. A pure memo of a deterministic check (the exact bytes are the
   * key), bounded; validity times are never cached.
   */
  private static final class VerifiedSignatures {
    private final Cache<String, Boolean> verified;

    VerifiedSignatures(int capacity) {
      this.verified = Caffeine.newBuilder().maximumSize(capacity).build();
    }

    void verify(X509Certificate cert, X509Certificate issuer) throws GeneralSecurityException {
      String key =
          java.util.HexFormat.of()
              .formatHex(Digests.sha256(cert.getEncoded(), issuer.getPublicKey().getEncoded()));
      if (verified.getIfPresent(key) != null) {
        return;
      }
      cert.verify(issuer.getPublicKey(), BC);
      verified.put(key, Boolean.TRUE);
    }
  }

  /**
   * A chain whose linkage and signatures were checked; what remains time-dependent is its validity
   * window.
   */
  public record VerifiedChain(
      List<X509Certificate> certificates, Instant notBefore, Instant notAfter) {
    public VerifiedChain {
      certificates = List.copyOf(certificates);
    }

    /** Throws unless every certificate of the chain (anchor included) is valid at {@code at}. */
    public void checkValidAt(Instant at, String what) throws GpuAttestationException {
      if (at.isBefore(notBefore) || at.isAfter(notAfter)) {
        for (int i = 0; i < certificates.size(); i++) {
          X509Certificate c = certificates.get(i);
          if (at.isBefore(c.getNotBefore().toInstant())
              || at.isAfter(c.getNotAfter().toInstant())) {
            throw new GpuAttestationException(
                CERT_CHAIN_INVALID,
                what
                    + " certificate "
                    + i
                    + " ("
                    + c.getSubjectX500Principal().getName()
                    + ") is not valid at "
                    + at
                    + " (valid "
                    + c.getNotBefore().toInstant()
                    + " .. "
                    + c.getNotAfter().toInstant()
                    + ")");
          }
        }
      }
    }
  }

  /** Checks linkage and signatures up to the anchor and validity at {@code at}. */
  public static VerifiedChain validate(
      List<X509Certificate> chain, X509Certificate anchor, Instant at, String what)
      throws GpuAttestationException {
    VerifiedChain verified = verifySignatures(chain, anchor, what);
    verified.checkValidAt(at, what);
    return verified;
  }

  /**
   * Checks that {@code chain} (leaf first) links up to {@code anchor}: either its last certificate
   * is the anchor itself (byte for byte) or is signed by it. The returned chain always ends with
   * the anchor.
   */
  public static VerifiedChain verifySignatures(
      List<X509Certificate> chain, X509Certificate anchor, String what)
      throws GpuAttestationException {
    if (chain.isEmpty() || chain.size() > MAX_CHAIN_LENGTH) {
      throw new GpuAttestationException(
          CERT_CHAIN_INVALID,
          what
              + " chain has "
              + chain.size()
              + " certificates (allowed 1.."
              + MAX_CHAIN_LENGTH
              + ")");
    }
    List<X509Certificate> full = new ArrayList<>(chain);
    boolean anchorAppended = !sameCertificate(full.get(full.size() - 1), anchor);
    if (anchorAppended) {
      full.add(anchor);
    }
    for (int i = 0; i < full.size(); i++) {
      X509Certificate cert = full.get(i);
      Set<String> critical = cert.getCriticalExtensionOIDs();
      if (critical != null) {
        for (String oid : critical) {
          if (!UNDERSTOOD_CRITICAL.contains(oid)) {
            throw new GpuAttestationException(
                CERT_CHAIN_INVALID,
                what
                    + " certificate "
                    + i
                    + " ("
                    + subject(cert)
                    + ") has an unknown critical extension "
                    + oid);
          }
        }
      }
      boolean last = i == full.size() - 1;
      X509Certificate issuer = last ? anchor : full.get(i + 1);
      boolean issuerIsAnchor = last || (anchorAppended && i + 1 == full.size() - 1);
      if (!cert.getIssuerX500Principal().equals(issuer.getSubjectX500Principal())) {
        throw new GpuAttestationException(
            CERT_CHAIN_INVALID,
            what
                + " certificate "
                + i
                + " ("
                + subject(cert)
                + ") is issued by "
                + cert.getIssuerX500Principal().getName()
                + ", not by "
                + (issuerIsAnchor ? "the trust anchor " : "certificate " + (i + 1) + " ")
                + "("
                + subject(issuer)
                + "): wrong order or foreign root?");
      }
      requireCa(issuer, what, issuerIsAnchor ? "trust anchor" : "certificate " + (i + 1));
      try {
        VERIFIED.verify(cert, issuer);
      } catch (GeneralSecurityException e) {
        throw new GpuAttestationException(
            CERT_CHAIN_INVALID,
            what
                + " certificate "
                + i
                + " ("
                + subject(cert)
                + ") signature does not verify with "
                + subject(issuer)
                + ": "
                + e.getMessage());
      }
    }
    Instant notBefore = Instant.MIN;
    Instant notAfter = Instant.MAX;
    for (X509Certificate c : full) {
      Instant nb = c.getNotBefore().toInstant();
      Instant na = c.getNotAfter().toInstant();
      notBefore = nb.isAfter(notBefore) ? nb : notBefore;
      notAfter = na.isBefore(notAfter) ? na : notAfter;
    }
    return new VerifiedChain(full, notBefore, notAfter);
  }

  private static void requireCa(X509Certificate ca, String what, String name)
      throws GpuAttestationException {
    boolean[] ku = ca.getKeyUsage();
    int bc = ca.getBasicConstraints();
    boolean hasBasicConstraints = ca.getExtensionValue("2.5.29.19") != null;
    if (hasBasicConstraints && bc < 0) {
      throw new GpuAttestationException(
          CERT_CHAIN_INVALID,
          what
              + " "
              + name
              + " ("
              + subject(ca)
              + ") issues certificates but is not a CA (basicConstraints cA=false)");
    }
    if (ku != null && (ku.length <= 5 || !ku[5])) {
      throw new GpuAttestationException(
          CERT_CHAIN_INVALID,
          what
              + " "
              + name
              + " ("
              + subject(ca)
              + ") issues certificates but its keyUsage lacks keyCertSign");
    }
    if (!hasBasicConstraints && ku == null) {
      throw new GpuAttestationException(
          CERT_CHAIN_INVALID,
          what
              + " "
              + name
              + " ("
              + subject(ca)
              + ") issues certificates but has neither basicConstraints nor keyUsage");
    }
  }

  static boolean sameCertificate(X509Certificate a, X509Certificate b) {
    try {
      return Arrays.equals(a.getEncoded(), b.getEncoded());
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  static String subject(X509Certificate c) {
    return c.getSubjectX500Principal().getName();
  }

  /** Parses concatenated PEM certificates (leaf first), at most {@link #MAX_CHAIN_LENGTH}. */
  public static List<X509Certificate> parsePem(String pem) throws GpuAttestationException {
    List<byte[]> ders = new ArrayList<>();
    Matcher m = PEM.matcher(pem);
    while (m.find()) {
      if (ders.size() == MAX_CHAIN_LENGTH) {
        throw new GpuAttestationException(
            CERT_CHAIN_INVALID, "more than " + MAX_CHAIN_LENGTH + " certificates");
      }
      try {
        ders.add(Base64.getMimeDecoder().decode(m.group(1).getBytes(StandardCharsets.US_ASCII)));
      } catch (IllegalArgumentException e) {
        throw new GpuAttestationException(
            CERT_CHAIN_INVALID, "certificate " + ders.size() + " is not valid base64");
      }
    }
    if (ders.isEmpty()) {
      throw new GpuAttestationException(CERT_CHAIN_INVALID, "no PEM certificate found");
    }
    return parseDer(ders);
  }

  /** Parses DER certificates (leaf first). */
  public static List<X509Certificate> parseDer(List<byte[]> ders) throws GpuAttestationException {
    if (ders.isEmpty() || ders.size() > MAX_CHAIN_LENGTH) {
      throw new GpuAttestationException(
          CERT_CHAIN_INVALID,
          "chain has " + ders.size() + " certificates (allowed 1.." + MAX_CHAIN_LENGTH + ")");
    }
    List<X509Certificate> out = new ArrayList<>(ders.size());
    for (byte[] der : ders) {
      out.add(parseCertificate(der, "certificate " + out.size()));
    }
    return out;
  }

  public static X509Certificate parseCertificate(byte[] der, String what)
      throws GpuAttestationException {
    if (der.length > MAX_CERT_BYTES) {
      throw new GpuAttestationException(
          CERT_CHAIN_INVALID, what + " is " + der.length + " bytes (limit " + MAX_CERT_BYTES + ")");
    }
    try {
      // Parsed by BouncyCastle so keys are BC keys on BC's named curves: BC then verifies with
      // cached precomputation
      // instead of converting a SunEC key (and rebuilding the curve) on every verification.
      X509Certificate c =
          (X509Certificate)
              CertificateFactory.getInstance("X.509", BC)
                  .generateCertificate(new ByteArrayInputStream(der));
      if (!Arrays.equals(c.getEncoded(), der)) {
        throw new GpuAttestationException(
            CERT_CHAIN_INVALID, what + " has trailing or non-DER bytes");
      }
      // BouncyCastle decodes the key lazily (unchecked exceptions, or null for an unknown
      // algorithm): do it here.
      if (c.getPublicKey() == null) {
        throw new GpuAttestationException(
            CERT_CHAIN_INVALID, what + " has an unsupported public key algorithm");
      }
      return c;
    } catch (GeneralSecurityException | RuntimeException e) {
      throw new GpuAttestationException(
          CERT_CHAIN_INVALID, what + " is not a valid X.509 certificate: " + e.getMessage());
    }
  }
}
