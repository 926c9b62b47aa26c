package org.teekms.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.Provider;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.teekms.attest.gpu.GpuAttestationException;
import org.teekms.attest.gpu.GpuEvidence;
import org.teekms.attest.gpu.GpuNonce;
import org.teekms.attest.gpu.HopperReportParser;
import org.teekms.attest.ratls.RaTlsCertificateParser;
import org.teekms.attest.ratls.RaTlsEvidence;
import org.teekms.attest.ratls.RaTlsException;
import org.teekms.attest.ratls.ReportDataBinding;
import org.teekms.attest.tdx.Pem;
import org.teekms.attest.tdx.QuoteParseException;
import org.teekms.attest.tdx.QuoteVerificationResult;
import org.teekms.attest.tdx.TdReport;
import org.teekms.attest.tdx.TdxQuote;
import org.teekms.crypto.BouncyCastle;
import org.teekms.crypto.Bytes;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code teekms verify ratls}: verifies an RA-TLS certificate end to end — its self-signature and
 * validity, the binding of its key into the quote's REPORTDATA, the quote (DCAP), the event log
 * replay, and, when it carries GPU evidence, that the evidence is measured into RTMR3 and its
 * nonces are bound to the key. Prints the {@code verify quote} JSON plus {@code "keyBound"}, {@code
 * "certificate"}, {@code "gpuEvidence"} and {@code "osMeasurement"}: valid only when the quote's
 * mrSystem is one of the {@code --mr-system} values the user trusts ({@link MrSystemOptions}),
 * since everything in RTMR3 is written by that OS. Exit 0 valid, 1 invalid, 2 usage error.
 */
@Command(
    name = "ratls",
    mixinStandardHelpOptions = true,
    description =
        "Verify an RA-TLS certificate (quote, key binding, event log) and print one JSON object.")
public final class VerifyRatlsCommand implements Callable<Integer> {
  private static final Provider BC = BouncyCastle.PROVIDER;

  @Spec CommandSpec spec;

  @Option(
      names = "--cert",
      required = true,
      paramLabel = "FILE.pem",
      description = "RA-TLS certificate, PEM or DER.")
  Path cert;

  @Mixin QuoteVerificationOptions options;

  @Mixin MrSystemOptions mrSystem;

  @Override
  public Integer call() throws Exception {
    options.requireOneCollateralSource();
    java.util.Set<org.teekms.crypto.Bytes> golden = mrSystem.golden(spec);
    Instant time = options.time();
    X509Certificate certificate = certificate(options.read(cert, "--cert"));
    ObjectNode out;
    RaTlsEvidence evidence;
    try {
      evidence = RaTlsCertificateParser.parse(certificate);
    } catch (RaTlsException e) {
      out = failed(e.reason().name(), e.getMessage());
      out.put("keyBound", false);
      return print(out, false);
    }

    QuoteVerificationResult result = null;
    TdxQuote quote = null;
    try {
      quote = TdxQuote.parse(evidence.quote().toByteArray());
      result = options.verifier().verify(quote, options.source(), time);
      out = VerifyQuoteCommand.toJson(result);
    } catch (QuoteParseException e) {
      out = failed("MALFORMED_QUOTE", e.getMessage());
    } catch (QuoteVerificationOptions.CollateralLoadException e) {
      out = failed("COLLATERAL_UNAVAILABLE", e.getMessage());
    }
    TdReport td = quote == null ? null : quote.tdReport();
    boolean keyBound =
        td != null
            && ReportDataBinding.binds(
                td.reportData().toByteArray(), evidence.spki().toByteArray());
    out.put("keyBound", keyBound);

    ObjectNode c = out.putObject("certificate");
    c.put("subject", certificate.getSubjectX500Principal().getName());
    c.put("notBefore", certificate.getNotBefore().toInstant().toString());
    c.put("notAfter", certificate.getNotAfter().toInstant().toString());
    boolean signatureValid = selfSignatureValid(certificate);
    boolean validAt =
        !time.isBefore(certificate.getNotBefore().toInstant())
            && !time.isAfter(certificate.getNotAfter().toInstant());
    c.put("signatureValid", signatureValid);
    c.put("validAt", validAt);
    c.put("formatVersion", evidence.formatVersion());

    boolean replayed = false;
    if (td != null) {
      replayed =
          EventLogJson.put(
              out,
              new String(
                  evidence.eventLogJson().toByteArray(), java.nio.charset.StandardCharsets.UTF_8),
              td,
              null);
    } else {
      ObjectNode e = out.putObject("eventLog");
      e.put("replayed", false);
      e.put("error", "no TD report to replay the event log against");
    }
    Optional<String[]> launchProblem =
        replayed ? EventLogJson.mrConfigId(out, td) : Optional.empty();
    Optional<String> gpuProblem = gpu(out, evidence);
    Optional<String[]> osProblem =
        td == null
            ? Optional.empty()
            : MrSystemOptions.put(
                out, td, out.path("eventLog").path("osImageHash").asText(null), golden, true);

    boolean quoteValid = result != null && result.valid();
    List<String[]> problems = new java.util.ArrayList<>();
    if (!signatureValid) {
      problems.add(
          new String[] {
            "CERTIFICATE_SIGNATURE", "the certificate's self-signature does not verify"
          });
    }
    if (!validAt && time.isBefore(certificate.getNotBefore().toInstant())) {
      problems.add(
          new String[] {
            "CERTIFICATE_NOT_YET_VALID",
            "the certificate is not valid until "
                + certificate.getNotBefore().toInstant()
                + ", after "
                + time
                + ": the clock that made it is ahead of this one, or this one is behind"
          });
    } else if (!validAt) {
      problems.add(new String[] {"CERTIFICATE_EXPIRED", "the certificate is not valid at " + time});
    }
    if (td != null && !keyBound) {
      problems.add(
          new String[] {
            "KEY_NOT_BOUND",
            "quote REPORTDATA is not SHA-512(\"ratls-cert:\" || SPKI) of this certificate's key"
          });
    }
    if (quoteValid && !replayed) {
      problems.add(
          new String[] {
            "EVENT_LOG_INVALID", "event log: " + out.get("eventLog").get("error").asText()
          });
    }
    launchProblem.ifPresent(problems::add);
    gpuProblem.ifPresent(p -> problems.add(new String[] {"GPU_EVIDENCE_INVALID", p}));
    osProblem.ifPresent(problems::add);
    boolean valid =
        quoteValid
            && keyBound
            && replayed
            && signatureValid
            && validAt
            && gpuProblem.isEmpty()
            && td != null
            && osProblem.isEmpty()
            && launchProblem.isEmpty();
    if (!valid && !problems.isEmpty() && (quoteValid || !out.has("error"))) {
      out.put("valid", false);
      out.put("failure", problems.get(0)[0]);
      out.put("error", problems.get(0)[1]);
    }
    return print(out, valid);
  }

  /**
   * GPU evidence: present, measured into RTMR3, nonces bound to this key. Returns the first
   * problem, if any.
   */
  private static Optional<String> gpu(ObjectNode out, RaTlsEvidence evidence) {
    ObjectNode g = out.putObject("gpuEvidence");
    Optional<byte[]> encoded = evidence.gpuEvidence().map(Bytes::toByteArray);
    g.put("present", encoded.isPresent());
    if (encoded.isEmpty()) {
      return Optional.empty();
    }
    GpuEvidence decoded;
    try {
      decoded = GpuEvidence.decode(encoded.get());
    } catch (GpuAttestationException e) {
      g.put("error", e.getMessage());
      return Optional.of("GPU evidence: " + e.getMessage());
    }
    g.put("gpus", decoded.gpus().size());
    g.put("sha384", java.util.HexFormat.of().formatHex(decoded.sha384()));
    String measured = out.path("eventLog").path("gpuEvidenceHash").asText(null);
    boolean isMeasured =
        measured != null && measured.equals(java.util.HexFormat.of().formatHex(decoded.sha384()));
    g.put("measuredInRtmr3", isMeasured);
    byte[] nonce = GpuNonce.forSpki(evidence.spki().toByteArray());
    boolean bound = true;
    for (GpuEvidence.Device d : decoded.gpus()) {
      try {
        bound &=
            MessageDigest.isEqual(
                nonce,
                HopperReportParser.parse(d.report().toByteArray()).requestNonce().toByteArray());
      } catch (GpuAttestationException e) {
        bound = false;
      }
    }
    g.put("nonceBound", bound);
    g.put("note", "report signatures, device chains and RIMs are checked by `teekms verify gpu`");
    if (!isMeasured) {
      return Optional.of("the certificate's GPU evidence is not the one last measured into RTMR3");
    }
    return bound
        ? Optional.empty()
        : Optional.of("a GPU report's nonce is not bound to this certificate's key");
  }

  private X509Certificate certificate(byte[] bytes) {
    try {
      String text = new String(bytes, java.nio.charset.StandardCharsets.US_ASCII);
      if (text.contains("-----BEGIN CERTIFICATE-----")) {
        List<X509Certificate> certs = Pem.certificates(bytes);
        if (certs.size() != 1) {
          throw new ParameterException(
              spec.commandLine(), "--cert must hold one certificate, found " + certs.size());
        }
        return certs.get(0);
      }
      return Pem.certificate(bytes);
    } catch (CertificateException e) {
      throw new ParameterException(
          spec.commandLine(), "--cert " + cert + " is not an X.509 certificate: " + e.getMessage());
    }
  }

  private static boolean selfSignatureValid(X509Certificate c) {
    try {
      c.verify(c.getPublicKey(), BC);
      return true;
    } catch (GeneralSecurityException | RuntimeException e) {
      return false;
    }
  }

  private static ObjectNode failed(String failure, String error) {
    ObjectNode o = VerifyQuoteCommand.JSON.createObjectNode();
    o.put("valid", false);
    o.putNull("status");
    o.putArray("advisoryIds");
    o.put("failure", failure);
    o.put("error", error);
    return o;
  }

  private int print(ObjectNode out, boolean valid) throws Exception {
    spec.commandLine()
        .getOut()
        .println(VerifyQuoteCommand.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(out));
    spec.commandLine().getOut().flush();
    return valid ? 0 : 1;
  }
}
