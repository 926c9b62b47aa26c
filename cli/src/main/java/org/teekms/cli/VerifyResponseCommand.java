package org.teekms.cli;

import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.teekms.verifier.SignedResponseVerifier;
import org.teekms.verifier.SignedText;
import org.teekms.attest.gpu.GpuEvidenceVerifier;
import org.teekms.attest.gpu.OcspChecker;
import org.teekms.attest.gpu.RevocationChecker;
import org.teekms.attest.gpu.RimStore;
import org.teekms.attest.tdx.Pem;
import org.teekms.attest.tdx.QuotePolicy;
import org.teekms.crypto.Digests;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code teekms verify response}: checks a signed inference response from the guest agent's signing proxy offline
 * (logic: {@link SignedResponseVerifier}): the signature recovers the signing address; the quote verifies and binds
 * that address and the nonce; the event log replays and the compose hash matches; the quote's mrSystem is one of the
 * user's {@code --mr-system} golden values (without one nothing is valid); GPU evidence verifies with the nonce. Exit 0 valid, 1 invalid, 2 usage error.
 */
@Command(
    name = "response",
    mixinStandardHelpOptions = true,
    description = "Verify a signed inference response against its attestation report and print one JSON object.")
public final class VerifyResponseCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--report", required = true, paramLabel = "report.json",
      description = "The proxy's /v1/attestation/report answer.")
  Path report;

  @Option(names = "--signature", required = true, paramLabel = "sig.json",
      description = "The proxy's /v1/signature/{chat_id} answer.")
  Path signature;

  @Option(names = "--request", required = true, paramLabel = "req.json", description = "The exact request body sent.")
  Path request;

  @Option(names = "--response", required = true, paramLabel = "resp.json",
      description = "The exact response body received (for streams: every byte of the event stream).")
  Path response;

  @Option(names = "--method", defaultValue = "POST", paramLabel = "METHOD",
      description = "The HTTP method of the request (default: POST); a v2 signature covers it.")
  String method;

  @Option(names = "--path", defaultValue = "/v1/chat/completions", paramLabel = "TARGET",
      description = "The request-target you sent, path and query exactly (default: /v1/chat/completions); a v2 "
          + "signature covers it.")
  String path;

  @Option(names = "--accept-near-text",
      description = "Also accept the NEAR-compatible signed text sha256(request):sha256(response), which binds no "
          + "method, path or query.")
  boolean acceptNearText;

  static final class ComposeChoice {
    @Option(names = "--compose", paramLabel = "app-compose.json",
        description = "The app-compose file you expect the CVM to run (its SHA-256 is the compose hash).")
    Path compose;

    @Option(names = "--compose-hash", paramLabel = "HEX", description = "The compose hash you expect (32 bytes).")
    String composeHash;
  }

  @ArgGroup(exclusive = true, multiplicity = "0..1") ComposeChoice composeChoice;

  @Option(names = "--nonce", paramLabel = "HEX", description = "The nonce you asked the report for (32 bytes).")
  String nonce;

  @Option(names = "--gpu-root", paramLabel = "PEM",
      description = "GPU device identity root (default: NVIDIA's Device Identity CA).")
  Path gpuRoot;

  @Option(names = "--rims", paramLabel = "DIR", description = "RIM store to compare GPU measurements with.")
  Path rims;

  @Option(names = "--rim-root", paramLabel = "PEM", description = "RIM signing root for --rims.")
  Path rimRoot;

  @Option(names = "--no-ocsp", description = "Skip OCSP revocation checks of the GPU chains.")
  boolean noOcsp;

  @Option(names = "--require-gpu", description = "Fail when the report carries no GPU evidence.")
  boolean requireGpu;

  @Mixin QuoteVerificationOptions options;

  @Mixin MrSystemOptions mrSystem;

  @Override
  public Integer call() throws Exception {
    options.requireOneCollateralSource();
    Optional<byte[]> composeHash = Optional.empty();
    if (composeChoice != null && composeChoice.compose != null) {
      composeHash = Optional.of(Digests.sha256(options.read(composeChoice.compose, "--compose")));
    } else if (composeChoice != null) {
      composeHash = Optional.of(hex("--compose-hash", composeChoice.composeHash));
    }
    Optional<byte[]> expectedNonce = nonce == null ? Optional.empty() : Optional.of(hex("--nonce", nonce));
    SignedText.Endpoint endpoint;
    try {
      endpoint = new SignedText.Endpoint(method, path);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), "--method/--path: " + e.getMessage());
    }
    SignedResponseVerifier.Verdict v;
    try {
      v = new SignedResponseVerifier(new SignedResponseVerifier.Settings(options.verifier(), options.source(),
          QuotePolicy.builder().build(), options.time(), composeHash, expectedNonce, gpuVerifier(), requireGpu,
          mrSystem.golden(spec), endpoint, acceptNearText))
          .verify(options.read(report, "--report"), options.read(signature, "--signature"),
              options.read(request, "--request"), options.read(response, "--response"));
    } catch (QuoteVerificationOptions.CollateralLoadException e) {
      var o = VerifyQuoteCommand.JSON.createObjectNode();
      o.put("valid", false);
      o.put("failure", "COLLATERAL_UNAVAILABLE");
      o.put("error", e.getMessage());
      return print(o, false);
    }
    return print(v.details(), v.valid());
  }

  private GpuEvidenceVerifier gpuVerifier() throws Exception {
    GpuEvidenceVerifier.Builder b = gpuRoot == null ? GpuEvidenceVerifier.nvidia()
        : GpuEvidenceVerifier.builder(certificate(gpuRoot, "--gpu-root"));
    b.revocation(noOcsp ? RevocationChecker.disabled() : new OcspChecker(OcspChecker.Config.defaults()));
    if (rims != null) {
      if (rimRoot == null) {
        throw new ParameterException(spec.commandLine(), "--rims needs --rim-root");
      }
      b.rimStore(RimStore.load(rims, certificate(rimRoot, "--rim-root")));
    }
    return b.build();
  }

  private X509Certificate certificate(Path file, String option) {
    try {
      return Pem.certificates(options.read(file, option)).get(0);
    } catch (CertificateException | RuntimeException e) {
      throw new ParameterException(spec.commandLine(), option + " " + file + ": not a PEM certificate");
    }
  }

  private byte[] hex(String option, String value) {
    try {
      byte[] b = HexFormat.of().parseHex(value.startsWith("0x") ? value.substring(2) : value);
      if (b.length != 32) {
        throw new IllegalArgumentException();
      }
      return b;
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), option + " must be 32 bytes of hex");
    }
  }

  private int print(com.fasterxml.jackson.databind.JsonNode out, boolean valid) throws Exception {
    spec.commandLine().getOut().println(VerifyQuoteCommand.JSON.writerWithDefaultPrettyPrinter()
        .writeValueAsString(out));
    spec.commandLine().getOut().flush();
    return valid ? 0 : 1;
  }
}
