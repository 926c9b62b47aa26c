package org.teekms.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.security.SecureRandom;
import java.time.Duration;
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
import org.teekms.proto.GetKmsInfoRequest;
import org.teekms.proto.GetKmsStatusRequest;
import org.teekms.proto.KmsIdentityBinding;
import org.teekms.proto.KmsInfo;
import org.teekms.proto.KmsInfoServiceGrpc;
import org.teekms.proto.KmsStatus;
import org.teekms.proto.RootGenerationInfo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code teekms kms status}: one node's health for its operator. The identity and measurement come
 * from the node's quote (GetKmsInfo with a fresh nonce: DCAP-verified, REPORTDATA binding the
 * listed root keys, CA certificates and the nonce), the rest from GetKmsStatus (chain, database,
 * audit chain, collateral, certificate, rotation jobs, replicas). Exit 0 when nothing needs
 * attention, 1 when something does ({@code "problems"} says what, most urgent first) or the node
 * cannot be reached or verified, 2 on usage errors.
 */
@Command(
    name = "status",
    mixinStandardHelpOptions = true,
    description = {
      "Show a KMS node's health: identity and measurement (verified from its quote), chain head and "
          + "pinned block, database and audit chain, quote collateral and certificate expiry, rotation jobs, replicas.",
      "Read-only: needs no key. Exit 0 healthy, 1 something needs attention (see \"problems\") or unreachable."
    })
public final class KmsStatusCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Mixin KmsEndpoint endpoint;

  @Mixin QuoteVerificationOptions options;

  @Option(
      names = "--verify-audit",
      description =
          "Have the node recompute its whole audit hash chain (reads every "
              + "entry: slow on a large log); without it only the chain's head is read.")
  boolean verifyAudit;

  @Option(
      names = "--warn-before",
      paramLabel = "DURATION",
      defaultValue = "PT6H",
      converter = DurationConverter.class,
      description =
          "Report collateral and certificates expiring within this time (ISO-8601 or e.g. 6h, 30m; "
              + "default 6h).")
  Duration warnBefore;

  @Override
  public Integer call() throws Exception {
    options.requireOneCollateralSource();
    Instant time = options.time();
    ObjectNode json = VerifyQuoteCommand.JSON.createObjectNode();
    CollateralSource collateral;
    try {
      collateral = options.source();
    } catch (QuoteVerificationOptions.CollateralLoadException e) {
      return JsonResult.print(
          spec, JsonResult.fail(json, "COLLATERAL_UNAVAILABLE", e.getMessage()), false);
    }
    byte[] nonce = new byte[32];
    new SecureRandom().nextBytes(nonce);
    ManagedChannel channel = endpoint.open(options.verifier(), collateral, time);
    KmsInfo info;
    KmsStatus status;
    try {
      var stub = KmsInfoServiceGrpc.newBlockingStub(channel);
      info =
          stub.withDeadlineAfter(endpoint.timeoutSeconds, TimeUnit.SECONDS)
              .getKmsInfo(
                  GetKmsInfoRequest.newBuilder().setNonce(ByteString.copyFrom(nonce)).build());
      status =
          stub.withDeadlineAfter(endpoint.timeoutSeconds, TimeUnit.SECONDS)
              .getKmsStatus(
                  GetKmsStatusRequest.newBuilder().setVerifyAuditChain(verifyAudit).build());
    } catch (StatusRuntimeException e) {
      return JsonResult.print(
          spec, JsonResult.fail(json, "KMS_UNREACHABLE_OR_UNTRUSTED", endpoint.failure(e)), false);
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    List<String> problems = new ArrayList<>();
    json.set("identity", identity(info, nonce, collateral, time, problems));
    KmsStatusReport.put(json, status, warnBefore, problems);
    ArrayNode p = json.putArray("problems");
    problems.forEach(p::add);
    return JsonResult.print(spec, json, problems.isEmpty());
  }

  /**
   * The node's identity from its quote: verified (DCAP), bound to the listed roots and this call's
   * nonce, then its measurement. A quote that fails any of this is the first problem: nothing else
   * the node says can be trusted.
   */
  private ObjectNode identity(
      KmsInfo info,
      byte[] nonce,
      CollateralSource collateral,
      Instant time,
      List<String> problems) {
    HexFormat hex = HexFormat.of();
    ObjectNode id = VerifyQuoteCommand.JSON.createObjectNode();
    id.put("kmsId", info.getKmsId());
    id.put("nodeId", info.getNodeId());
    id.put("version", info.getVersion());
    id.put("simulated", info.getSimulated());
    id.put("currentGeneration", info.getCurrentGeneration());
    List<KmsIdentityBinding.Root> bound = new ArrayList<>();
    ArrayNode roots = id.putArray("roots");
    for (RootGenerationInfo g : info.getGenerationsList()) {
      ObjectNode o = roots.addObject();
      o.put("generation", g.getGeneration());
      o.put("state", g.getState());
      o.put("rootAddress", "0x" + hex.formatHex(g.getRootAddress().toByteArray()));
      o.put(
          "caCertificateSha256", hex.formatHex(Digests.sha256(g.getCaCertificate().toByteArray())));
      bound.add(
          new KmsIdentityBinding.Root(
              g.getGeneration(),
              Bytes.copyOf(g.getRootAddress().toByteArray()),
              Bytes.copyOf(g.getCaCertificate().toByteArray())));
    }
    if (info.getSimulated()) {
      problems.add(
          "identity: the node's quote comes from the TDX SIMULATOR: never trust it with real secrets");
    }
    try {
      TdxQuote quote = TdxQuote.parse(info.getQuote().toByteArray());
      QuoteVerificationResult result = options.verifier().verify(quote, collateral, time);
      ObjectNode measured = id.putObject("measurement");
      if (result.td() != null) {
        ObjectNode td = (ObjectNode) VerifyQuoteCommand.toJson(result).get("td");
        for (String f : List.of("mrSystem", "mrTd", "rtmr0", "rtmr1", "rtmr2", "rtmr3")) {
          measured.set(f, td.get(f));
        }
      }
      measured.put("quoteValid", result.valid());
      measured.put("tcbStatus", result.status() == null ? null : result.status().name());
      if (!result.valid()) {
        problems.add(
            0,
            "identity: the node's quote is not valid: " + result.failure() + ": " + result.error());
        return id;
      }
      byte[] expected = KmsIdentityBinding.reportData(info.getKmsId(), bound, nonce);
      boolean binds = Arrays.equals(expected, quote.tdReport().reportData().toByteArray());
      measured.put("bindsRootsAndNonce", binds);
      if (!binds) {
        problems.add(
            0,
            "identity: the quote's REPORTDATA does not bind the listed root keys, CA certificates and "
                + "this call's nonce");
      }
    } catch (Exception e) {
      problems.add(
          0, "identity: the node's quote does not parse or verify: " + CliErrors.describe(e));
    }
    return id;
  }

  /**
   * Durations as ISO-8601 ({@code PT6H}) or a number with a unit: {@code 90s}, {@code 30m}, {@code
   * 6h}, {@code 2d}.
   */
  static final class DurationConverter implements picocli.CommandLine.ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      String v = value.strip().toLowerCase(java.util.Locale.ROOT);
      try {
        Duration d;
        if (v.startsWith("p")) {
          d = Duration.parse(v.toUpperCase(java.util.Locale.ROOT));
        } else if (v.matches("\\d{1,9}[smhd]")) {
          long n = Long.parseLong(v.substring(0, v.length() - 1));
          d =
              switch (v.charAt(v.length() - 1)) {
                case 's' -> Duration.ofSeconds(n);
                case 'm' -> Duration.ofMinutes(n);
                case 'h' -> Duration.ofHours(n);
                default -> Duration.ofDays(n);
              };
        } else {
          throw new IllegalArgumentException();
        }
        if (d.isNegative()) {
          throw new IllegalArgumentException();
        }
        return d;
      } catch (RuntimeException e) {
        throw new picocli.CommandLine.TypeConversionException(
            "'" + value + "' is not a duration (e.g. 6h, 30m, PT6H)");
      }
    }
  }
}
