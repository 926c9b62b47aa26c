package org.teekms.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.teekms.attest.tdx.QuoteVerificationResult;
import org.teekms.attest.tdx.TdxQuote;
import org.teekms.attest.tdx.collateral.CollateralSource;
import org.teekms.crypto.Bytes;
import org.teekms.crypto.Digests;
import org.teekms.governance.ChainClient;
import org.teekms.governance.GovernanceException;
import org.teekms.governance.KmsRegistry;
import org.teekms.governance.TxResult;
import org.teekms.governance.cli.KeyOptions;
import org.teekms.proto.GetKmsInfoRequest;
import org.teekms.proto.KmsIdentityBinding;
import org.teekms.proto.KmsInfo;
import org.teekms.proto.KmsInfoServiceGrpc;
import org.teekms.proto.RootGenerationInfo;
import org.web3j.crypto.Credentials;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code teekms kms bootstrap}: after the first node created root generation 1 inside its TD (at
 * its first start), fetch its identity (GetKmsInfo over TLS, the server's RA-TLS certificate
 * verified), verify the KMS quote (DCAP, event log replay) and that its REPORTDATA binds the listed
 * root keys and CA certificates, and write the three files {@code teekms gov set-kms-identity}
 * publishes to the registry; with {@code --publish}, publish them itself with the operator key and
 * read them back. Exit 0 when every check (and the publication) passed, 1 otherwise, 2 on usage
 * errors.
 */
@Command(
    name = "bootstrap",
    mixinStandardHelpOptions = true,
    description =
        "Fetch and verify a KMS node's identity (root keys, CA certificate, quote) and write the files to "
            + "publish with 'teekms gov set-kms-identity'.")
public final class KmsBootstrapCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Mixin KmsEndpoint endpoint;

  @Option(
      names = "--out",
      paramLabel = "DIR",
      description = "Write root-keys.bin, ca-cert.der and quote.bin here.")
  Path out;

  @Mixin QuoteVerificationOptions options;

  @Option(
      names = "--publish",
      description =
          "After every check passed, publish the current generation's identity to "
              + "the registry (setKmsIdentity) with the operator key; needs --rpc-url, --chain-id, --registry, "
              + "--operator-key-file.")
  boolean publish;

  @Option(
      names = "--rpc-url",
      paramLabel = "URL",
      description = "JSON-RPC endpoint of the registry's chain.")
  String rpcUrl;

  @Option(
      names = "--chain-id",
      paramLabel = "ID",
      description = "Chain id the endpoint must serve.")
  Long chainId;

  @Option(
      names = "--registry",
      paramLabel = "ADDRESS",
      description = "KmsRegistry contract address (0x…).")
  String registry;

  @Option(
      names = "--operator-key-file",
      paramLabel = "FILE",
      description = "File with the hex private key of the registry owner (never an argument).")
  Path operatorKeyFile;

  @Override
  public Integer call() throws Exception {
    options.requireOneCollateralSource();
    checkPublishOptions();
    Instant time = options.time();
    ObjectNode json = VerifyQuoteCommand.JSON.createObjectNode();
    CollateralSource collateral;
    try {
      collateral = options.source();
    } catch (QuoteVerificationOptions.CollateralLoadException e) {
      return report(json, false, "COLLATERAL_UNAVAILABLE", e.getMessage());
    }
    // The server certificate is an RA-TLS certificate: the handshake itself verifies the KMS TD.
    ManagedChannel channel = endpoint.open(options.verifier(), collateral, time);
    KmsInfo info;
    try {
      // Empty nonce: the published quote must be re-checkable by anyone from the published data
      // alone.
      info =
          KmsInfoServiceGrpc.newBlockingStub(channel)
              .withDeadlineAfter(endpoint.timeoutSeconds, TimeUnit.SECONDS)
              .getKmsInfo(GetKmsInfoRequest.getDefaultInstance());
    } catch (StatusRuntimeException e) {
      return report(json, false, "KMS_UNREACHABLE_OR_UNTRUSTED", endpoint.failure(e));
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    HexFormat hex = HexFormat.of();
    json.put("kmsId", info.getKmsId());
    json.put("nodeId", info.getNodeId());
    json.put("simulated", info.getSimulated());
    json.put("currentGeneration", info.getCurrentGeneration());
    ArrayNode gens = json.putArray("generations");
    List<KmsIdentityBinding.Root> bound = new ArrayList<>();
    RootGenerationInfo current = null;
    for (RootGenerationInfo g : info.getGenerationsList()) {
      ObjectNode o = gens.addObject();
      o.put("generation", g.getGeneration());
      o.put("state", g.getState());
      o.put("rootPublicKey", hex.formatHex(g.getRootPublicKey().toByteArray()));
      o.put("rootAddress", "0x" + hex.formatHex(g.getRootAddress().toByteArray()));
      o.put("caCertificateSha256", hex.formatHex(sha256(g.getCaCertificate().toByteArray())));
      bound.add(
          new KmsIdentityBinding.Root(
              g.getGeneration(),
              Bytes.copyOf(g.getRootAddress().toByteArray()),
              Bytes.copyOf(g.getCaCertificate().toByteArray())));
      if (g.getGeneration() == info.getCurrentGeneration()) {
        current = g;
      }
    }
    if (current == null || !current.getCaCertificate().equals(info.getCaCertificate())) {
      return report(
          json,
          false,
          "INCONSISTENT_RESPONSE",
          "the current generation or its CA certificate is not listed");
    }

    TdxQuote quote;
    QuoteVerificationResult result;
    try {
      quote = TdxQuote.parse(info.getQuote().toByteArray());
      result = options.verifier().verify(quote, collateral, time);
    } catch (Exception e) {
      return report(json, false, "MALFORMED_QUOTE", e.getMessage());
    }
    json.set("quote", VerifyQuoteCommand.toJson(result));
    if (!result.valid()) {
      return report(json, false, "QUOTE_INVALID", result.failure() + ": " + result.error());
    }
    byte[] expected;
    try {
      expected = KmsIdentityBinding.reportData(info.getKmsId(), bound, new byte[0]);
    } catch (IllegalArgumentException e) {
      return report(json, false, "INCONSISTENT_RESPONSE", e.getMessage());
    }
    if (!Arrays.equals(expected, quote.tdReport().reportData().toByteArray())) {
      return report(
          json,
          false,
          "BINDING_MISMATCH",
          "the quote's REPORTDATA does not bind the listed root keys and "
              + "CA certificates (kms-server/README.md, \"KMS identity\")");
    }
    if (!EventLogJson.put(json, info.getEventLog(), quote.tdReport(), null)) {
      return report(json, false, "EVENT_LOG_INVALID", json.get("eventLog").get("error").asText());
    }
    if (out != null) {
      try {
        Files.createDirectories(out);
        Files.write(out.resolve("root-keys.bin"), current.getRootPublicKey().toByteArray());
        Files.write(out.resolve("ca-cert.der"), current.getCaCertificate().toByteArray());
        Files.write(out.resolve("quote.bin"), info.getQuote().toByteArray());
      } catch (IOException e) {
        return report(json, false, "OUTPUT_FAILED", e.getMessage());
      }
      if (!publish) {
        json.put(
            "publish",
            "teekms gov set-kms-identity --generation "
                + current.getGeneration()
                + " --root-keys "
                + out.resolve("root-keys.bin")
                + " --ca-cert "
                + out.resolve("ca-cert.der")
                + " --quote "
                + out.resolve("quote.bin"));
      }
    }
    if (publish) {
      return publish(json, current, info.getQuote().toByteArray());
    }
    return report(json, true, null, null);
  }

  private void checkPublishOptions() {
    boolean any = rpcUrl != null || chainId != null || registry != null || operatorKeyFile != null;
    if (!publish && any) {
      throw new ParameterException(
          spec.commandLine(),
          "--rpc-url, --chain-id, --registry and --operator-key-file " + "are for --publish");
    }
    if (publish
        && (rpcUrl == null || chainId == null || registry == null || operatorKeyFile == null)) {
      throw new ParameterException(
          spec.commandLine(),
          "--publish needs --rpc-url, --chain-id, --registry and " + "--operator-key-file");
    }
    if (publish && (chainId <= 0 || !registry.matches("0[xX][0-9a-fA-F]{40}"))) {
      throw new ParameterException(
          spec.commandLine(),
          "--chain-id must be positive and --registry an address " + "(0x + 40 hex digits)");
    }
  }

  /**
   * Publishes what was just verified (setKmsIdentity) and reads it back from the registry's event.
   * A generation already published with exactly these bytes is success (re-running is safe); with
   * other bytes it is a failure.
   */
  private int publish(ObjectNode json, RootGenerationInfo current, byte[] quote)
      throws IOException {
    byte[] rootKeys = current.getRootPublicKey().toByteArray();
    byte[] caCert = current.getCaCertificate().toByteArray();
    long generation = current.getGeneration();
    ObjectNode p = json.putObject("published");
    p.put("generation", generation);
    p.put("registry", registry.toLowerCase(java.util.Locale.ROOT));
    Credentials operator;
    try {
      operator =
          KeyOptions.parse(
              Files.readString(operatorKeyFile, StandardCharsets.US_ASCII),
              "operator key file " + operatorKeyFile);
    } catch (IOException e) {
      return report(
          json,
          false,
          "PUBLISH_FAILED",
          "cannot read the operator key file " + operatorKeyFile + ": " + e);
    } catch (GovernanceException e) {
      return report(json, false, "PUBLISH_FAILED", e.getMessage());
    }
    try (ChainClient chain = ChainClient.connect(rpcUrl, chainId)) {
      KmsRegistry r = KmsRegistry.at(chain, registry, operator);
      boolean already = r.kmsGeneration() >= generation;
      if (!already) {
        TxResult tx = r.setKmsIdentity(generation, rootKeys, caCert, quote);
        p.put("txHash", tx.txHash());
        p.put("blockNumber", tx.blockNumber());
      }
      KmsRegistry.PublishedKmsIdentity onChain = r.publishedIdentity(generation);
      p.put("alreadyPublished", already);
      p.put("publishedAtBlock", onChain.blockNumber());
      if (!onChain.rootPublicKeys().equals(Bytes.copyOf(rootKeys))
          || !onChain.caCertificate().equals(Bytes.copyOf(caCert))
          || !onChain.quote().equals(Bytes.copyOf(quote))) {
        return report(
            json,
            false,
            "PUBLISHED_IDENTITY_DIFFERS",
            "the registry holds another identity for generation "
                + generation
                + " (published in "
                + onChain.txHash()
                + "): not this node's verified identity");
      }
    } catch (GovernanceException | RuntimeException e) {
      return report(json, false, "PUBLISH_FAILED", e.getMessage());
    }
    return report(json, true, null, null);
  }

  private int report(ObjectNode json, boolean ok, String failure, String error) throws IOException {
    json.put("ok", ok);
    if (!ok) {
      json.put("failure", failure);
      json.put("error", error);
    }
    spec.commandLine()
        .getOut()
        .println(VerifyQuoteCommand.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(json));
    spec.commandLine().getOut().flush();
    return ok ? 0 : 1;
  }

  private static byte[] sha256(byte[] b) {
    return Digests.sha256(b);
  }
}
