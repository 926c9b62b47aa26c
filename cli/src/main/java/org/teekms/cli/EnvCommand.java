package org.teekms.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.teekms.agent.boot.PublishedKmsIdentity;
import org.teekms.agent.env.DotEnv;
import org.teekms.agent.env.EnvBlob;
import org.teekms.agent.env.EnvJson;
import org.teekms.agent.env.EnvSecretException;
import org.teekms.agent.env.EnvVar;
import org.teekms.attest.tdx.collateral.CollateralSource;
import org.teekms.governance.PolicyReaderConfig;
import org.teekms.keys.AppId;
import org.teekms.keys.EthereumAddress;
import org.teekms.proto.AppEnvEncryptPubKey;
import org.teekms.proto.AppEnvGrpc;
import org.teekms.proto.GetAppEnvEncryptPubKeyRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code teekms env …}: encrypted environment secrets for apps (docs/env-secrets.md). {@code
 * pubkey} fetches and verifies an app's env-encryption public key from a KMS; {@code encrypt} seals
 * a .env file to it in dstack's format. Each prints one JSON object; exit 0 ok, 1 refused or
 * unverifiable, 2 usage error. Values are never printed.
 */
@Command(
    name = "env",
    mixinStandardHelpOptions = true,
    description = "Encrypt environment secrets for an app (dstack-compatible).",
    subcommands = {EnvCommand.Pubkey.class, EnvCommand.Encrypt.class})
public final class EnvCommand extends CommandGroup {

  /** Where the expected KMS identity comes from. */
  static final class Identity {
    @Option(
        names = "--expect-kms-root",
        paramLabel = "ADDRESS",
        description =
            "The KMS root address the key must be signed by (e.g. the app's key_provider_id).")
    String expectRoot;

    @Option(
        names = "--rpc-url",
        paramLabel = "URL",
        description =
            "JSON-RPC endpoint: check the signer against KmsRegistry.kmsIdentity (with --chain-id, --registry).")
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

    Optional<EthereumAddress> expected(CommandSpec spec) {
      if (expectRoot == null) {
        return Optional.empty();
      }
      try {
        return Optional.of(EthereumAddress.parse(expectRoot));
      } catch (RuntimeException e) {
        throw new ParameterException(
            spec.commandLine(), "--expect-kms-root must be a 0x address, got " + expectRoot);
      }
    }

    Optional<PublishedKmsIdentity.Registry> registry(CommandSpec spec) {
      if (rpcUrl == null && chainId == null && registry == null) {
        return Optional.empty();
      }
      if (rpcUrl == null || chainId == null || registry == null) {
        throw new ParameterException(
            spec.commandLine(), "--rpc-url, --chain-id and --registry go together");
      }
      return Optional.of(
          PublishedKmsIdentity.onChain(PolicyReaderConfig.defaults(rpcUrl, chainId, registry)));
    }
  }

  /** Shared by pubkey and encrypt: call AppEnv over RA-TLS and run {@link EnvPubkeyCheck}. */
  abstract static class KmsKeyCall {
    @Spec CommandSpec spec;

    @Option(
        names = "--app",
        required = true,
        paramLabel = "APP_ID",
        description = "The app id (20-byte hex).")
    String app;

    @Option(
        names = "--max-age",
        paramLabel = "SECONDS",
        defaultValue = "300",
        description = "Oldest accepted signed timestamp (default 300, as dstack's SDK).")
    long maxAgeSeconds;

    AppId appId() {
      try {
        return AppId.fromHex(app);
      } catch (RuntimeException e) {
        throw new ParameterException(
            spec.commandLine(), "--app must be a 20-byte hex app id, got " + app);
      }
    }

    /**
     * The verified key into {@code out}; empty (with the failure in {@code out}) when it cannot be
     * trusted.
     */
    Optional<byte[]> fetch(
        KmsEndpoint endpoint, QuoteVerificationOptions options, Identity identity, ObjectNode out)
        throws Exception {
      AppId appId = appId();
      Optional<EthereumAddress> expected =
          identity == null ? Optional.empty() : identity.expected(spec);
      Optional<PublishedKmsIdentity.Registry> registry =
          identity == null ? Optional.empty() : identity.registry(spec);
      options.requireOneCollateralSource();
      CollateralSource collateral;
      try {
        collateral = options.source();
      } catch (QuoteVerificationOptions.CollateralLoadException e) {
        JsonResult.fail(out, "COLLATERAL_UNAVAILABLE", e.getMessage());
        return Optional.empty();
      }
      ManagedChannel channel = endpoint.open(options.verifier(), collateral, options.time());
      AppEnvEncryptPubKey answer;
      try {
        answer =
            AppEnvGrpc.newBlockingStub(channel)
                .withDeadlineAfter(endpoint.timeoutSeconds, TimeUnit.SECONDS)
                .getAppEnvEncryptPubKey(
                    GetAppEnvEncryptPubKeyRequest.newBuilder()
                        .setAppId(ByteString.copyFrom(appId.toBytes()))
                        .build());
      } catch (StatusRuntimeException e) {
        JsonResult.fail(
            out,
            "KMS_REFUSED_OR_UNREACHABLE",
            e.getStatus().getCode()
                + ": "
                + e.getStatus().getDescription()
                + (e.getCause() == null ? "" : " (" + e.getCause().getMessage() + ")"));
        return Optional.empty();
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      out.put("app", appId.toString());
      out.put("publicKey", HexFormat.of().formatHex(answer.getPublicKey().toByteArray()));
      out.put("keyVersion", answer.getKeyVersion());
      out.put("rootGeneration", answer.getRootGeneration());
      out.put("timestamp", answer.getTimestamp());
      out.put("policyBlock", answer.getPolicyBlock().getNumber());
      EnvPubkeyCheck.Result r =
          EnvPubkeyCheck.verify(
              answer, appId, options.time(), Duration.ofSeconds(maxAgeSeconds), expected, registry);
      if (r.kmsRoot() != null) {
        out.put("kmsRoot", r.kmsRoot().toChecksumString());
      }
      ArrayNode checked = out.putArray("checked");
      checked.add("KMS node's RA-TLS certificate (DCAP quote, event log) in the TLS handshake");
      r.checked().forEach(checked::add);
      out.put("kmsIdentityChecked", expected.isPresent() || registry.isPresent());
      if (!r.ok()) {
        JsonResult.fail(out, r.failure(), r.error());
        return Optional.empty();
      }
      if (expected.isEmpty() && registry.isEmpty()) {
        out.put(
            "warning",
            "the signer was not compared with a published KMS identity: give --rpc-url/--chain-id/"
                + "--registry or --expect-kms-root");
      }
      return Optional.of(answer.getPublicKey().toByteArray());
    }
  }

  @Command(
      name = "pubkey",
      mixinStandardHelpOptions = true,
      description = "Fetch an app's env-encryption public key from a KMS and verify it.")
  public static final class Pubkey extends KmsKeyCall implements Callable<Integer> {
    @Mixin KmsEndpoint endpoint;
    @Mixin QuoteVerificationOptions options;
    @Mixin Identity identity;

    @Override
    public Integer call() throws Exception {
      ObjectNode out = VerifyQuoteCommand.JSON.createObjectNode();
      return JsonResult.print(spec, out, fetch(endpoint, options, identity, out).isPresent());
    }
  }

  @Command(
      name = "encrypt",
      mixinStandardHelpOptions = true,
      description =
          "Encrypt a .env file to an app's env-encryption key (dstack's encrypted-env format).")
  public static final class Encrypt extends KmsKeyCall implements Callable<Integer> {
    @Option(
        names = "--kms",
        paramLabel = "HOST:PORT",
        description = "Fetch and verify the key from this KMS (as env pubkey).")
    String kms;

    @Option(
        names = "--timeout",
        paramLabel = "SECONDS",
        defaultValue = "30",
        description = "Call deadline (default 30).")
    int timeoutSeconds;

    @Option(
        names = "--pubkey",
        paramLabel = "HEX",
        description = "Use this X25519 public key (64 hex digits) as is, unverified.")
    String pubkey;

    @Option(
        names = "--env-file",
        required = true,
        paramLabel = "FILE",
        description = "The .env file to encrypt.")
    Path envFile;

    @Option(
        names = "--out",
        paramLabel = "FILE",
        description =
            "Write the raw blob here (the CVM's encrypted-env file); default: print it as hex.")
    Path outFile;

    @Mixin QuoteVerificationOptions options;
    @Mixin Identity identity;

    @Override
    public Integer call() throws Exception {
      if ((kms == null) == (pubkey == null)) {
        throw new ParameterException(spec.commandLine(), "give exactly one of --kms or --pubkey");
      }
      if (!Files.isRegularFile(envFile)) {
        throw new ParameterException(
            spec.commandLine(), "--env-file " + envFile + " is not a file");
      }
      ObjectNode out = VerifyQuoteCommand.JSON.createObjectNode();
      List<EnvVar> vars;
      try {
        vars = DotEnv.parse(Files.readAllBytes(envFile));
      } catch (EnvSecretException e) {
        return JsonResult.print(
            spec, JsonResult.fail(out, e.reason().name(), e.getMessage()), false);
      }
      byte[] key;
      if (pubkey != null) {
        appId();
        try {
          key = HexFormat.of().parseHex(pubkey.startsWith("0x") ? pubkey.substring(2) : pubkey);
        } catch (IllegalArgumentException e) {
          key = new byte[0];
        }
        if (key.length != 32) {
          throw new ParameterException(spec.commandLine(), "--pubkey must be 32 bytes of hex");
        }
        out.put("publicKey", HexFormat.of().formatHex(key));
        out.put(
            "warning",
            "--pubkey is used unverified: prefer --kms with --rpc-url/--chain-id/--registry");
      } else {
        KmsEndpoint endpoint = new KmsEndpoint();
        endpoint.spec = spec;
        endpoint.kms = kms;
        endpoint.timeoutSeconds = timeoutSeconds;
        Optional<byte[]> verified = fetch(endpoint, options, identity, out);
        if (verified.isEmpty()) {
          return JsonResult.print(spec, out, false);
        }
        key = verified.get();
      }
      byte[] blob = EnvBlob.encrypt(EnvJson.encode(vars), key, new SecureRandom());
      out.putPOJO("variables", vars.stream().map(EnvVar::name).toList());
      out.put("bytes", blob.length);
      if (outFile != null) {
        Files.write(outFile, blob);
        out.put("out", outFile.toString());
      } else {
        out.put("encryptedEnv", HexFormat.of().formatHex(blob));
      }
      return JsonResult.print(spec, out, true);
    }
  }
}
