package org.teekms.attest.gpu;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.ocsp.OCSPObjectIdentifiers;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.ocsp.BasicOCSPResp;
import org.bouncycastle.cert.ocsp.CertificateID;
import org.bouncycastle.cert.ocsp.CertificateStatus;
import org.bouncycastle.cert.ocsp.OCSPReqBuilder;
import org.bouncycastle.cert.ocsp.OCSPResp;
import org.bouncycastle.cert.ocsp.RevokedStatus;
import org.bouncycastle.cert.ocsp.SingleResp;
import org.bouncycastle.cert.ocsp.UnknownStatus;
import org.bouncycastle.operator.DigestCalculator;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;

/**
 * OCSP client (BouncyCastle) for the GPU device chain and the RIM signer chains, the way nvtrust
 * checks them: one request per certificate with a SHA-384 CertID and a fresh 32-byte nonce, POSTed
 * as {@code application/ocsp-request} to the configured responder (default {@value #NVIDIA_OCSP}).
 *
 * <p>A response counts only if: its status is successful; it is signed by the issuer itself or by a
 * responder certificate issued by the issuer (or a CA above it) that carries id-kp-OCSPSigning and
 * is valid at the verification time; it echoes the nonce; it answers for the same CertID; and it is
 * fresh at the verification time (thisUpdate not in the future beyond the skew, nextUpdate not
 * passed, or thisUpdate within {@code maxAge} when there is no nextUpdate). Definitive answers are
 * cached by CertID until they go stale.
 *
 * <p>Modes: {@link Mode#FAIL_CLOSED} (default) accepts only GOOD; {@link Mode#GRACE} also accepts
 * UNAVAILABLE (the responder could not be reached or answered tryLater/internalError) and still
 * rejects revoked, unknown and every bad response; {@link Mode#DISABLED} checks nothing.
 */
public final class OcspChecker implements RevocationChecker {
  public static final String NVIDIA_OCSP = "https://ocsp.ndis.nvidia.com/";
  public static final int MAX_RESPONSE_BYTES = 64 * 1024;

  public enum Mode {
    FAIL_CLOSED,
    GRACE,
    DISABLED
  }

  /** How the client reaches a responder: POST the DER request, return the DER response. */
  @FunctionalInterface
  public interface Transport {
    byte[] post(URI responder, byte[] request) throws IOException;
  }

  /**
   * @param responder the responder URL every request goes to
   * @param mode fail-closed, grace or disabled
   * @param maxAge how old a response without nextUpdate may be
   * @param clockSkew tolerance for thisUpdate/nextUpdate
   * @param cacheSize how many CertIDs to remember (0 = no cache)
   */
  public record Config(
      URI responder,
      Mode mode,
      Duration maxAge,
      Duration clockSkew,
      Duration timeout,
      int cacheSize) {
    public Config {
      Objects.requireNonNull(responder, "responder");
      Objects.requireNonNull(mode, "mode");
      if (maxAge.isNegative() || clockSkew.isNegative() || timeout.isNegative() || cacheSize < 0) {
        throw new IllegalArgumentException("negative OCSP durations or cache size");
      }
    }

    /**
     * NVIDIA's responder, fail-closed, 1 day max age without nextUpdate, 5 min skew, 10 s timeout,
     * 10k cache entries.
     */
    public static Config defaults() {
      return new Config(
          URI.create(NVIDIA_OCSP),
          Mode.FAIL_CLOSED,
          Duration.ofDays(1),
          Duration.ofMinutes(5),
          Duration.ofSeconds(10),
          10_000);
    }

    public Config withResponder(URI uri) {
      return new Config(uri, mode, maxAge, clockSkew, timeout, cacheSize);
    }

    public Config withMode(Mode m) {
      return new Config(responder, m, maxAge, clockSkew, timeout, cacheSize);
    }
  }

  private record Cached(
      OcspResult.Status status, String detail, Instant thisUpdate, Instant staleAfter) {}

  private final Config config;
  private final Transport transport;
  private final SecureRandom random = new SecureRandom();
  private final Cache<String, Cached> cache;

  public OcspChecker(Config config) {
    this(config, httpTransport(config.timeout()));
  }

  public OcspChecker(Config config, Transport transport) {
    this.config = config;
    this.transport = transport;
    this.cache = Caffeine.newBuilder().maximumSize(config.cacheSize()).build();
  }

  public Config config() {
    return config;
  }

  @Override
  public OcspResult check(List<X509Certificate> chain, int from, int to, Instant at) {
    if (config.mode() == Mode.DISABLED) {
      return OcspResult.skipped();
    }
    List<OcspResult.CertStatus> out = new ArrayList<>();
    for (int i = from; i < to && i + 1 < chain.size(); i++) {
      out.add(checkOne(chain, i, at));
    }
    return new OcspResult(config.mode(), out);
  }

  private OcspResult.CertStatus checkOne(List<X509Certificate> chain, int index, Instant at) {
    X509Certificate cert = chain.get(index);
    X509Certificate issuer = chain.get(index + 1);
    String subject = cert.getSubjectX500Principal().getName();
    String serial = cert.getSerialNumber().toString(16);
    CertificateID id;
    try {
      id =
          new CertificateID(sha384(), new JcaX509CertificateHolder(issuer), cert.getSerialNumber());
    } catch (Exception e) {
      return new OcspResult.CertStatus(
          subject,
          serial,
          OcspResult.Status.INVALID_RESPONSE,
          "cannot build a CertID: " + e.getMessage());
    }
    String key = cacheKey(id);
    Cached c = config.cacheSize() > 0 ? cache.getIfPresent(key) : null;
    if (c != null
        && !at.isBefore(c.thisUpdate().minus(config.clockSkew()))
        && !at.isAfter(c.staleAfter())) {
      return new OcspResult.CertStatus(subject, serial, c.status(), c.detail() + " (cached)");
    }
    byte[] nonce = new byte[32];
    random.nextBytes(nonce);
    byte[] request;
    try {
      OCSPReqBuilder builder = new OCSPReqBuilder().addRequest(id);
      builder.setRequestExtensions(
          new Extensions(
              new Extension(
                  OCSPObjectIdentifiers.id_pkix_ocsp_nonce,
                  false,
                  new DEROctetString(new DEROctetString(nonce)))));
      request = builder.build().getEncoded();
    } catch (Exception e) {
      return new OcspResult.CertStatus(
          subject,
          serial,
          OcspResult.Status.INVALID_RESPONSE,
          "cannot build the request: " + e.getMessage());
    }
    byte[] response;
    try {
      response = transport.post(config.responder(), request);
    } catch (IOException | RuntimeException e) {
      return new OcspResult.CertStatus(
          subject,
          serial,
          OcspResult.Status.UNAVAILABLE,
          "responder "
              + config.responder()
              + " unreachable: "
              + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
    }
    Evaluation e = evaluate(response, id, nonce, chain, index, at);
    if (e.cacheUntil != null && config.cacheSize() > 0) {
      cache.put(key, new Cached(e.status, e.detail, e.thisUpdate, e.cacheUntil));
    }
    return new OcspResult.CertStatus(subject, serial, e.status, e.detail);
  }

  private record Evaluation(
      OcspResult.Status status, String detail, Instant thisUpdate, Instant cacheUntil) {
    static Evaluation bad(String detail) {
      return new Evaluation(OcspResult.Status.INVALID_RESPONSE, detail, null, null);
    }
  }

  private Evaluation evaluate(
      byte[] der,
      CertificateID id,
      byte[] nonce,
      List<X509Certificate> chain,
      int index,
      Instant at) {
    try {
      if (der.length > MAX_RESPONSE_BYTES) {
        return Evaluation.bad(
            "response is " + der.length + " bytes (limit " + MAX_RESPONSE_BYTES + ")");
      }
      OCSPResp resp = new OCSPResp(der);
      switch (resp.getStatus()) {
        case OCSPResp.SUCCESSFUL:
          break;
        case OCSPResp.TRY_LATER:
        case OCSPResp.INTERNAL_ERROR:
          return new Evaluation(
              OcspResult.Status.UNAVAILABLE,
              "responder answered status "
                  + resp.getStatus()
                  + (resp.getStatus() == OCSPResp.TRY_LATER ? " (tryLater)" : " (internalError)"),
              null,
              null);
        default:
          return Evaluation.bad("responder answered error status " + resp.getStatus());
      }
      if (!(resp.getResponseObject() instanceof BasicOCSPResp basic)) {
        return Evaluation.bad("response is not a basic OCSP response");
      }
      X509Certificate issuer = chain.get(index + 1);
      String signerProblem = checkSigner(basic, chain, index, at);
      if (signerProblem != null) {
        return Evaluation.bad(signerProblem);
      }
      Extension echoed = basic.getExtension(OCSPObjectIdentifiers.id_pkix_ocsp_nonce);
      if (echoed == null) {
        return Evaluation.bad("response does not echo the request nonce");
      }
      if (!Arrays.equals(
          echoed.getExtnValue().getOctets(), new DEROctetString(nonce).getEncoded())) {
        return Evaluation.bad("response nonce differs from the request nonce (replayed response?)");
      }
      SingleResp match = null;
      for (SingleResp single : basic.getResponses()) {
        if (single.getCertID().equals(id)) {
          match = single;
        }
      }
      if (match == null) {
        return Evaluation.bad(
            "response has no answer for serial "
                + id.getSerialNumber().toString(16)
                + " issued by "
                + issuer.getSubjectX500Principal().getName());
      }
      Instant thisUpdate = match.getThisUpdate().toInstant();
      Instant nextUpdate = match.getNextUpdate() == null ? null : match.getNextUpdate().toInstant();
      if (thisUpdate.isAfter(at.plus(config.clockSkew()))) {
        return Evaluation.bad(
            "response thisUpdate " + thisUpdate + " is after the verification time " + at);
      }
      Instant staleAfter =
          nextUpdate != null
              ? nextUpdate.plus(config.clockSkew())
              : thisUpdate.plus(config.maxAge());
      if (at.isAfter(staleAfter)) {
        return Evaluation.bad(
            "stale response: thisUpdate "
                + thisUpdate
                + ", nextUpdate "
                + (nextUpdate == null ? "absent (max age " + config.maxAge() + ")" : nextUpdate)
                + ", verification time "
                + at);
      }
      CertificateStatus status = match.getCertStatus();
      if (status == CertificateStatus.GOOD) {
        return new Evaluation(
            OcspResult.Status.GOOD, "good at " + thisUpdate, thisUpdate, staleAfter);
      }
      if (status instanceof RevokedStatus revoked) {
        String reason =
            revoked.hasRevocationReason() ? " reason " + revoked.getRevocationReason() : "";
        return new Evaluation(
            OcspResult.Status.REVOKED,
            "revoked at " + revoked.getRevocationTime().toInstant() + reason,
            thisUpdate,
            staleAfter);
      }
      if (status instanceof UnknownStatus) {
        return new Evaluation(
            OcspResult.Status.UNKNOWN,
            "responder does not know this certificate",
            thisUpdate,
            staleAfter);
      }
      return Evaluation.bad("unrecognised certificate status");
    } catch (Exception e) {
      return Evaluation.bad("malformed response: " + e.getMessage());
    }
  }

  /**
   * Returns null when the response is signed by the issuer or an authorized responder; else why
   * not.
   */
  private static String checkSigner(
      BasicOCSPResp basic, List<X509Certificate> chain, int index, Instant at) throws Exception {
    X509Certificate issuer = chain.get(index + 1);
    X509CertificateHolder[] certs = basic.getCerts();
    X509Certificate signer =
        certs.length == 0 ? issuer : new JcaX509CertificateConverter().getCertificate(certs[0]);
    boolean delegated = !CertChainValidator.sameCertificate(signer, issuer);
    if (delegated) {
      X509Certificate authority = null;
      for (int j = index + 1; j < chain.size(); j++) {
        X509Certificate ca = chain.get(j);
        if (signer.getIssuerX500Principal().equals(ca.getSubjectX500Principal())) {
          try {
            signer.verify(ca.getPublicKey(), CertChainValidator.BC);
            authority = ca;
            break;
          } catch (Exception ignored) {
            // try the next CA up
          }
        }
      }
      if (authority == null) {
        return "responder certificate "
            + signer.getSubjectX500Principal().getName()
            + " is not issued by the certificate's issuer chain (wrong signer)";
      }
      List<String> eku;
      try {
        eku = signer.getExtendedKeyUsage();
      } catch (CertificateException e) {
        eku = null;
      }
      if (eku == null || !eku.contains(KeyPurposeId.id_kp_OCSPSigning.getId())) {
        return "responder certificate "
            + signer.getSubjectX500Principal().getName()
            + " lacks id-kp-OCSPSigning";
      }
      if (at.isBefore(signer.getNotBefore().toInstant())
          || at.isAfter(signer.getNotAfter().toInstant())) {
        return "responder certificate "
            + signer.getSubjectX500Principal().getName()
            + " is not valid at "
            + at;
      }
    }
    boolean valid =
        basic.isSignatureValid(
            new JcaContentVerifierProviderBuilder()
                .setProvider(CertChainValidator.BC)
                .build(signer.getPublicKey()));
    if (!valid) {
      return "response signature does not verify with "
          + (delegated ? "responder certificate " : "issuer ")
          + signer.getSubjectX500Principal().getName()
          + " (wrong signer)";
    }
    return null;
  }

  private static DigestCalculator sha384() throws Exception {
    return new JcaDigestCalculatorProviderBuilder()
        .setProvider(CertChainValidator.BC)
        .build()
        .get(new AlgorithmIdentifier(NISTObjectIdentifiers.id_sha384));
  }

  private static String cacheKey(CertificateID id) {
    return java.util.HexFormat.of().formatHex(id.getIssuerNameHash())
        + ":"
        + java.util.HexFormat.of().formatHex(id.getIssuerKeyHash())
        + ":"
        + id.getSerialNumber().toString(16);
  }

  /**
   * POST over {@link HttpClient}; non-200 answers and oversized bodies are I/O errors (responder
   * unavailable).
   */
  public static Transport httpTransport(Duration timeout) {
    HttpClient client =
        HttpClient.newBuilder()
            .connectTimeout(timeout)
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();
    return (uri, body) -> {
      HttpRequest req =
          HttpRequest.newBuilder(uri)
              .timeout(timeout)
              .header("Content-Type", "application/ocsp-request")
              .header("Accept", "application/ocsp-response")
              .POST(HttpRequest.BodyPublishers.ofByteArray(body))
              .build();
      HttpResponse<InputStream> resp;
      try {
        resp = client.send(req, HttpResponse.BodyHandlers.ofInputStream());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted", e);
      }
      try (InputStream in = resp.body()) {
        if (resp.statusCode() != 200) {
          throw new IOException("HTTP " + resp.statusCode());
        }
        byte[] bytes = in.readNBytes(MAX_RESPONSE_BYTES + 1);
        if (bytes.length > MAX_RESPONSE_BYTES) {
          throw new IOException("response larger than " + MAX_RESPONSE_BYTES + " bytes");
        }
        return bytes;
      }
    };
  }
}
