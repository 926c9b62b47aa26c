package org.teekms.cli;

import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.teekms.attest.tdx.QuotePolicy;
import org.teekms.crypto.Bytes;
import org.teekms.crypto.Digests;
import org.teekms.governance.ChainPolicyReader;
import org.teekms.governance.PolicyReaderConfig;
import org.teekms.verifier.ExpectedIdentity;
import org.teekms.verifier.GpuRequirement;
import org.teekms.verifier.ResponseVerification;
import org.teekms.verifier.SignedText;
import org.teekms.verifier.service.ChainIdentity;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code teekms verify response}: judges a signed inference response from the guest agent's signing
 * proxy against an expected identity (logic: {@link ResponseVerification}, the same code path as
 * the verifier service). The identity is either the app's on-chain policy read at one pinned block
 * ({@code --rpc-url --chain-id --registry --app}) or the user's own ({@code
 * --compose-hash|--compose} and {@code --os-image} with its golden {@code --mr-system} values);
 * without one it is a usage error (exit 2), since a valid signature alone proves only that some TDX
 * VM running some code signed the response. Prints every check as a row; exit 0 valid, 1 invalid, 2
 * usage error.
 */
@Command(
    name = "response",
    mixinStandardHelpOptions = true,
    description = {
      "Judge a signed inference response: signature -> signing address -> quote REPORTDATA -> TCB status "
          + "-> OS image measurements -> compose hash (on chain) -> GPUs, against the app's on-chain policy "
          + "(--rpc-url/--chain-id/--registry/--app) or an explicit identity (--compose-hash + --os-image + "
          + "--mr-system). Prints one JSON object with every check."
    })
public final class VerifyResponseCommand implements Callable<Integer> {
  static final String NO_IDENTITY =
      "no expected identity: give --rpc-url, --chain-id, --registry and --app (the "
          + "app's on-chain policy) or --compose-hash (or --compose) and --os-image with --mr-system; without one a valid "
          + "signature only proves that some TDX VM running some code signed the response";

  @Spec CommandSpec spec;

  @Option(
      names = "--report",
      required = true,
      paramLabel = "report.json",
      description = "The proxy's /v1/attestation/report answer.")
  Path report;

  @Option(
      names = "--signature",
      required = true,
      paramLabel = "sig.json",
      description = "The proxy's /v1/signature/{chat_id} answer.")
  Path signature;

  @Option(
      names = "--request",
      required = true,
      paramLabel = "req.json",
      description = "The exact request body sent.")
  Path request;

  @Option(
      names = "--response",
      required = true,
      paramLabel = "resp.json",
      description =
          "The exact response body received (for streams: every byte of the event stream).")
  Path response;

  @Option(
      names = "--method",
      defaultValue = "POST",
      paramLabel = "METHOD",
      description = "The HTTP method of the request (default: POST); a v2 signature covers it.")
  String method;

  @Option(
      names = "--path",
      defaultValue = "/v1/chat/completions",
      paramLabel = "TARGET",
      description =
          "The request-target you sent, path and query exactly (default: /v1/chat/completions); a v2 "
              + "signature covers it.")
  String path;

  @Option(
      names = "--accept-near-text",
      description =
          "Also accept the NEAR-compatible signed texts sha256(request):sha256(response) and "
              + "model:sha256(request):sha256(response) (its model must be the request's model), which bind no method, "
              + "path or query.")
  boolean acceptNearText;

  @Option(
      names = "--rpc-url",
      paramLabel = "URL",
      description =
          "JSON-RPC endpoint of the chain holding the registry: the expected identity is the app's "
              + "on-chain policy, read at one pinned block (needs --chain-id, --registry, --app).")
  String rpcUrl;

  @Option(
      names = "--chain-id",
      paramLabel = "ID",
      description = "The chain id the registry lives on.")
  Long chainId;

  @Option(names = "--registry", paramLabel = "ADDRESS", description = "The KmsRegistry contract.")
  String registry;

  @Option(
      names = "--app",
      paramLabel = "APP_ID",
      description =
          "The app (its AppPolicy address) the CVM must belong to; with --rpc-url its policy is read.")
  String app;

  @Option(
      names = "--confirmations",
      defaultValue = "0",
      paramLabel = "N",
      description = "Read the policy at head - N (default 0: the newest block).")
  int confirmations;

  static final class ComposeChoice {
    @Option(
        names = "--compose",
        paramLabel = "app-compose.json",
        description =
            "The app-compose file you expect the CVM to run (its SHA-256 is the compose hash).")
    Path compose;

    @Option(
        names = "--compose-hash",
        paramLabel = "HEX",
        description = "The compose hash you expect (32 bytes).")
    String composeHash;
  }

  @ArgGroup(exclusive = true, multiplicity = "0..1")
  ComposeChoice composeChoice;

  @Option(
      names = "--os-image",
      paramLabel = "HEX",
      description =
          "The OS image hash you expect (32 bytes; with --compose-hash): the quote's mrSystem must be one of "
              + "the --mr-system golden values.")
  String osImage;

  @Option(
      names = "--nonce",
      paramLabel = "HEX",
      description = "The nonce you asked the report for (32 bytes).")
  String nonce;

  @Option(
      names = "--require-gpu",
      description =
          "With an explicit identity: require GPU evidence, its measurements matched with --rims. (With "
              + "--rpc-url the app's GPU policy decides.)")
  boolean requireGpu;

  @Mixin QuoteVerificationOptions options;

  @Mixin GpuVerifierOptions gpu;

  @Mixin MrSystemOptions mrSystem;

  @Override
  public Integer call() throws Exception {
    options.requireOneCollateralSource();
    Optional<Bytes> expectedNonce =
        nonce == null ? Optional.empty() : Optional.of(Bytes.copyOf(hex("--nonce", nonce)));
    SignedText.Endpoint endpoint;
    try {
      endpoint = new SignedText.Endpoint(method, path);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), "--method/--path: " + e.getMessage());
    }
    ExpectedIdentity identity = identity();
    ResponseVerification.Result result;
    try {
      result =
          new ResponseVerification(
                  new ResponseVerification.Settings(
                      options.verifier(),
                      options.source(),
                      options.time(),
                      gpu.verifier(spec, options),
                      endpoint,
                      acceptNearText,
                      expectedNonce))
              .verify(
                  identity,
                  options.read(report, "--report"),
                  options.read(signature, "--signature"),
                  options.read(request, "--request"),
                  options.read(response, "--response"));
    } catch (QuoteVerificationOptions.CollateralLoadException e) {
      var o = VerifyQuoteCommand.JSON.createObjectNode();
      o.put("valid", false);
      o.put("failure", "COLLATERAL_UNAVAILABLE");
      o.put("error", e.getMessage());
      return print(o, false);
    }
    return print(result.toJson(), result.valid());
  }

  /**
   * The expected identity: the on-chain policy, or the explicit one; neither (or a mix) is a usage
   * error.
   */
  private ExpectedIdentity identity() {
    boolean chain = rpcUrl != null || registry != null || chainId != null;
    boolean explicit = composeChoice != null || osImage != null;
    if (chain && explicit) {
      throw new ParameterException(
          spec.commandLine(),
          "give either the on-chain identity (--rpc-url, --chain-id, "
              + "--registry, --app) or an explicit one (--compose-hash, --os-image), not both");
    }
    if (chain) {
      if (rpcUrl == null || registry == null || chainId == null || app == null) {
        throw new ParameterException(
            spec.commandLine(),
            "the on-chain identity needs --rpc-url, --chain-id, " + "--registry and --app");
      }
      if (!mrSystem.mrSystems.isEmpty() || requireGpu) {
        throw new ParameterException(
            spec.commandLine(),
            "--mr-system and --require-gpu come from the chain with "
                + "--rpc-url (the registry's golden measurements and the app's GPU policy)");
      }
      address("--registry", registry);
      address("--app", app);
      PolicyReaderConfig config;
      try {
        config =
            PolicyReaderConfig.defaults(rpcUrl, chainId, registry)
                .withConfirmations(confirmations, false)
                .withCache(java.time.Duration.ZERO, 0);
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), e.getMessage());
      }
      try (ChainPolicyReader reader = new ChainPolicyReader(config)) {
        return ChainIdentity.of(reader.appPolicy(app));
      }
    }
    if (composeChoice == null || osImage == null) {
      throw new ParameterException(
          spec.commandLine(),
          composeChoice == null && osImage == null
              ? NO_IDENTITY
              : "an explicit identity needs both --compose-hash (or --compose) and --os-image");
    }
    Bytes composeHash =
        composeChoice.compose != null
            ? Bytes.copyOf(Digests.sha256(options.read(composeChoice.compose, "--compose")))
            : Bytes.copyOf(hex("--compose-hash", composeChoice.composeHash));
    Optional<Bytes> appId =
        app == null ? Optional.empty() : Optional.of(Bytes.copyOf(address("--app", app)));
    return ExpectedIdentity.explicit(
        appId,
        composeHash,
        Bytes.copyOf(hex("--os-image", osImage)),
        mrSystem.golden(spec),
        QuotePolicy.builder().build(),
        requireGpu ? new GpuRequirement(1, "", Optional.empty(), true) : GpuRequirement.NONE);
  }

  private byte[] address(String option, String value) {
    String h = value.startsWith("0x") || value.startsWith("0X") ? value.substring(2) : value;
    try {
      byte[] b = HexFormat.of().parseHex(h);
      if (b.length == 20) {
        return b;
      }
    } catch (IllegalArgumentException e) {
      // below
    }
    throw new ParameterException(
        spec.commandLine(), option + " must be a 20-byte address (0x + 40 hex digits)");
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
    spec.commandLine()
        .getOut()
        .println(VerifyQuoteCommand.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(out));
    spec.commandLine().getOut().flush();
    return valid ? 0 : 1;
  }
}
