package org.teekms.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.PrintWriter;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.HexFormat;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.teekms.attest.tdx.collateral.CollateralSource;
import org.teekms.governance.GovernanceException;
import org.teekms.governance.cli.KeyOptions;
import org.teekms.keys.EthSignature;
import org.teekms.keys.InsecureSecretAccess;
import org.teekms.keys.Secp256k1SigningKey;
import org.teekms.proto.GetKmsInfoRequest;
import org.teekms.proto.GetRotationJobRequest;
import org.teekms.proto.KmsInfo;
import org.teekms.proto.KmsInfoServiceGrpc;
import org.teekms.proto.OperatorRequest;
import org.teekms.proto.OperatorRequestMessage;
import org.teekms.proto.RotationGrpc;
import org.teekms.proto.RotationJobStatus;
import org.web3j.crypto.Credentials;
import org.web3j.utils.Numeric;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code teekms rotate …}: operator-triggered rotation over TLS to an attested KMS (RA-TLS server
 * certificate verified). Progress lines go to stderr, one JSON summary to stdout. Exit 0 done (or
 * enqueued with --no-wait), 1 denied / failed / unreachable, 2 usage error.
 */
@Command(
    name = "rotate",
    mixinStandardHelpOptions = true,
    description =
        "Trigger and follow rotation jobs (root generation rotation, signed by the KMS registry owner).",
    subcommands = {
      RotateCommand.Root.class,
      RotateCommand.App.class,
      RotateCommand.JobStatus.class
    })
public final class RotateCommand extends CommandGroup {

  /**
   * States after which nothing the operator waits for is left: apps moved (old generation
   * retained), done, failed.
   */
  static final Set<String> SETTLED = Set.of("APPS_MOVED", "DONE", "FAILED");

  private static final Metadata.Key<String> DENY_REASON =
      Metadata.Key.of("teekms-deny-reason", Metadata.ASCII_STRING_MARSHALLER);
  private static final SecureRandom RANDOM = new SecureRandom();

  /** Shared: connect over RA-TLS, run, follow the job, print one JSON object. */
  abstract static class RotationCall implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin KmsEndpoint endpoint;
    @Mixin QuoteVerificationOptions options;

    @Option(
        names = "--no-wait",
        description = "Return once the job is enqueued (or read) instead of following it.")
    boolean noWait;

    @Option(
        names = "--poll",
        paramLabel = "SECONDS",
        defaultValue = "2",
        description = "Progress poll interval (default 2).")
    int pollSeconds;

    @Option(
        names = "--max-wait",
        paramLabel = "SECONDS",
        defaultValue = "3600",
        description =
            "Give up following after this long, exit 1 (the job keeps running; default 3600).")
    int maxWaitSeconds;

    /**
     * Starts (or reads) the job; may add facts to {@code out}. Null: nothing was sent
     * (--print-digest).
     */
    abstract RotationJobStatus start(ManagedChannel channel, ObjectNode out) throws Exception;

    @Override
    public Integer call() throws Exception {
      options.requireOneCollateralSource();
      if (pollSeconds < 1 || maxWaitSeconds < 1) {
        throw new ParameterException(spec.commandLine(), "--poll and --max-wait must be >= 1");
      }
      ObjectNode out = VerifyQuoteCommand.JSON.createObjectNode();
      CollateralSource collateral;
      try {
        collateral = options.source();
      } catch (QuoteVerificationOptions.CollateralLoadException e) {
        return JsonResult.print(
            spec, JsonResult.fail(out, "COLLATERAL_UNAVAILABLE", e.getMessage()), false);
      }
      ManagedChannel channel = endpoint.open(options.verifier(), collateral, options.time());
      boolean ok;
      try {
        RotationJobStatus s = start(channel, out);
        if (s == null) {
          return JsonResult.print(spec, out, true);
        }
        PrintWriter err = spec.commandLine().getErr();
        progress(err, s);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(maxWaitSeconds);
        RotationGrpc.RotationBlockingStub rotation = RotationGrpc.newBlockingStub(channel);
        while (!noWait && !SETTLED.contains(s.getState()) && System.nanoTime() < deadline) {
          Thread.sleep(TimeUnit.SECONDS.toMillis(pollSeconds));
          RotationJobStatus next =
              rotation
                  .withDeadlineAfter(endpoint.timeoutSeconds, TimeUnit.SECONDS)
                  .getRotationJob(
                      GetRotationJobRequest.newBuilder().setJobId(s.getJobId()).build());
          if (!next.getState().equals(s.getState())
              || next.getAppsMoved() != s.getAppsMoved()
              || !next.getLastError().equals(s.getLastError())) {
            progress(err, next);
          }
          s = next;
        }
        job(out, s);
        ok =
            noWait
                ? !"FAILED".equals(s.getState())
                : SETTLED.contains(s.getState()) && !"FAILED".equals(s.getState());
        if (!ok) {
          JsonResult.fail(
              out,
              "FAILED".equals(s.getState()) ? "JOB_FAILED" : "STILL_RUNNING",
              "FAILED".equals(s.getState())
                  ? s.getLastError()
                  : "job "
                      + s.getJobId()
                      + " is still "
                      + s.getState()
                      + " after "
                      + maxWaitSeconds
                      + " s");
        }
      } catch (StatusRuntimeException e) {
        ok = false;
        String code = e.getTrailers() == null ? null : e.getTrailers().get(DENY_REASON);
        Status.Code status = e.getStatus().getCode();
        JsonResult.fail(
            out,
            status == Status.Code.PERMISSION_DENIED
                ? "DENIED"
                : status == Status.Code.NOT_FOUND ? "NOT_FOUND" : "KMS_UNREACHABLE_OR_UNTRUSTED",
            endpoint.failure(e));
        if (code != null) {
          out.put("denyCode", code);
        }
      } catch (GovernanceException e) {
        ok = false;
        JsonResult.fail(out, "NO_OPERATOR_KEY", e.getMessage());
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      return JsonResult.print(spec, out, ok);
    }

    private static void progress(PrintWriter err, RotationJobStatus s) {
      if (!s.getAppId().isEmpty()) {
        err.printf(
            "job %s %s: %s, app 0x%s to version %d (min %d)%s%n",
            s.getJobId(),
            s.getKind(),
            s.getState(),
            HexFormat.of().formatHex(s.getAppId().toByteArray()),
            s.getTargetVersion(),
            s.getTargetMinVersion(),
            s.getLastError().isEmpty() ? "" : " (last error: " + s.getLastError() + ")");
        err.flush();
        return;
      }
      err.printf(
          "job %s %s: %s, generation %d -> %s, apps moved %d/%d%s%n",
          s.getJobId(),
          s.getKind(),
          s.getState(),
          s.getFromGeneration(),
          s.getTargetGeneration() == 0 ? "?" : String.valueOf(s.getTargetGeneration()),
          s.getAppsMoved(),
          s.getAppsTotal(),
          s.getLastError().isEmpty() ? "" : " (last error: " + s.getLastError() + ")");
      err.flush();
    }

    private static void job(ObjectNode out, RotationJobStatus s) {
      ObjectNode j = out.putObject("job");
      j.put("jobId", s.getJobId());
      j.put("kind", s.getKind());
      j.put("state", s.getState());
      j.put("fromGeneration", s.getFromGeneration());
      j.put("targetGeneration", s.getTargetGeneration());
      j.put("appsMoved", s.getAppsMoved());
      j.put("appsTotal", s.getAppsTotal());
      j.put("notBefore", s.getNotBefore());
      if (!s.getAppId().isEmpty()) {
        j.put("appId", "0x" + HexFormat.of().formatHex(s.getAppId().toByteArray()));
        j.put("targetVersion", s.getTargetVersion());
        j.put("targetMinVersion", s.getTargetMinVersion());
      }
      if (!s.getLastError().isEmpty()) {
        j.put("lastError", s.getLastError());
      }
      if (!s.getSigner().isEmpty()) {
        j.put("approvedBy", s.getSigner());
      }
    }
  }

  @Command(
      name = "root",
      mixinStandardHelpOptions = true,
      description =
          "Rotate the root generation: sign a ROTATE_ROOT request with the registry owner key, follow the "
              + "job until every app moved to the new generation (the old one is destroyed after the grace period).")
  public static final class Root extends RotationCall {
    @Mixin KeyOptions key;
    @Mixin ContractOwnerOptions contract;

    @Override
    RotationJobStatus start(ManagedChannel channel, ObjectNode out) throws GovernanceException {
      OperatorRequest signed =
          signedRequest(
              spec,
              channel,
              endpoint,
              key,
              contract,
              OperatorRequestMessage.ROTATE_ROOT,
              ByteString.EMPTY,
              out);
      if (signed == null) {
        return null;
      }
      return RotationGrpc.newBlockingStub(channel)
          .withDeadlineAfter(endpoint.timeoutSeconds, TimeUnit.SECONDS)
          .requestRootRotation(signed);
    }
  }

  @Command(
      name = "app",
      mixinStandardHelpOptions = true,
      description =
          "Bring one app to the key versions the chain holds for it now (SYNC_APP, signed with the registry "
              + "owner key) and follow the job until done.")
  public static final class App extends RotationCall {
    @Mixin KeyOptions key;
    @Mixin ContractOwnerOptions contract;

    @Option(
        names = "--app",
        required = true,
        paramLabel = "APP_ID",
        description = "The app (20-byte hex).")
    String app;

    @Override
    RotationJobStatus start(ManagedChannel channel, ObjectNode out) throws GovernanceException {
      String h = app.startsWith("0x") || app.startsWith("0X") ? app.substring(2) : app;
      byte[] id;
      try {
        id = HexFormat.of().parseHex(h);
      } catch (IllegalArgumentException e) {
        id = new byte[0];
      }
      if (id.length != 20) {
        throw new ParameterException(
            spec.commandLine(), "--app must be a 20-byte hex app id, got " + app);
      }
      OperatorRequest signed =
          signedRequest(
              spec,
              channel,
              endpoint,
              key,
              contract,
              OperatorRequestMessage.SYNC_APP,
              ByteString.copyFrom(id),
              out);
      if (signed == null) {
        return null;
      }
      return RotationGrpc.newBlockingStub(channel)
          .withDeadlineAfter(endpoint.timeoutSeconds, TimeUnit.SECONDS)
          .requestAppRotation(signed);
    }
  }

  /**
   * The request for {@code action}, its domain (KMS id, chain, registry) as the attested KMS itself
   * reports it: fresh and signed with the owner key; or fresh and only described (--print-digest:
   * null is returned); or read back from --request with the signature of --signature-file, after
   * checking it is for this action, app and KMS.
   */
  static OperatorRequest signedRequest(
      CommandSpec spec,
      ManagedChannel channel,
      KmsEndpoint endpoint,
      KeyOptions key,
      ContractOwnerOptions contract,
      String action,
      ByteString appId,
      ObjectNode out)
      throws GovernanceException {
    boolean external = contract.external(spec);
    OperatorRequest fromFiles = external ? contract.load(spec) : null;
    KmsInfo info =
        KmsInfoServiceGrpc.newBlockingStub(channel)
            .withDeadlineAfter(endpoint.timeoutSeconds, TimeUnit.SECONDS)
            .getKmsInfo(GetKmsInfoRequest.getDefaultInstance());
    String registry = "0x" + HexFormat.of().formatHex(info.getRegistryAddress().toByteArray());
    out.put("kmsId", info.getKmsId());
    if (fromFiles != null) {
      String mismatch =
          !fromFiles.getAction().equals(action)
              ? "is for action " + fromFiles.getAction() + ", not " + action
              : !fromFiles.getAppId().equals(appId)
                  ? "names another app than --app"
                  : !fromFiles.getKmsId().equals(info.getKmsId())
                      ? "is for KMS '"
                          + fromFiles.getKmsId()
                          + "', this is '"
                          + info.getKmsId()
                          + "'"
                      : fromFiles.getChainId() != info.getChainId()
                          ? "is for chain "
                              + fromFiles.getChainId()
                              + ", this KMS is on "
                              + info.getChainId()
                          : !fromFiles.getRegistry().equalsIgnoreCase(registry)
                              ? "is for registry "
                                  + fromFiles.getRegistry()
                                  + ", this KMS follows "
                                  + registry
                              : null;
      if (mismatch != null) {
        throw new ParameterException(spec.commandLine(), "--request " + mismatch);
      }
      out.put("signer", "registry owner (signature from " + contract.signatureFile + ")");
      out.put("digest", "0x" + HexFormat.of().formatHex(OperatorRequestMessage.digest(fromFiles)));
      return fromFiles;
    }
    byte[] nonce = new byte[32];
    RANDOM.nextBytes(nonce);
    OperatorRequest unsigned =
        OperatorRequest.newBuilder()
            .setAction(action)
            .setAppId(appId)
            .setKmsId(info.getKmsId())
            .setChainId(info.getChainId())
            .setRegistry(registry)
            .setTimestampMillis(Clock.systemUTC().millis())
            .setNonce(ByteString.copyFrom(nonce))
            .build();
    if (contract.printDigest) {
      ContractOwnerOptions.describe(unsigned, out);
      return null;
    }
    Credentials owner = key.load();
    out.put("signer", owner.getAddress());
    return sign(unsigned, owner);
  }

  @Command(
      name = "status",
      mixinStandardHelpOptions = true,
      description = "Show (and, without --no-wait, follow) a rotation job's state and progress.")
  public static final class JobStatus extends RotationCall {
    @Option(
        names = "--job",
        required = true,
        paramLabel = "JOB_ID",
        description = "The job id (UUID).")
    String job;

    @Override
    RotationJobStatus start(ManagedChannel channel, ObjectNode out) {
      try {
        java.util.UUID.fromString(job);
      } catch (IllegalArgumentException e) {
        throw new ParameterException(
            spec.commandLine(), "--job must be a job id (UUID), got " + job);
      }
      return RotationGrpc.newBlockingStub(channel)
          .withDeadlineAfter(endpoint.timeoutSeconds, TimeUnit.SECONDS)
          .getRotationJob(GetRotationJobRequest.newBuilder().setJobId(job).build());
    }
  }

  /**
   * The request with its EIP-191 signature (65 bytes r||s||v) over {@link
   * OperatorRequestMessage#bytes}.
   */
  static OperatorRequest sign(OperatorRequest unsigned, Credentials key) {
    byte[] scalar = Numeric.toBytesPadded(key.getEcKeyPair().getPrivateKey(), 32);
    try (Secp256k1SigningKey signer =
        Secp256k1SigningKey.fromPrivateKey(scalar, InsecureSecretAccess.get())) {
      EthSignature sig = signer.signPersonalMessage(OperatorRequestMessage.bytes(unsigned));
      return unsigned.toBuilder().setSignature(ByteString.copyFrom(sig.toBytes())).build();
    } finally {
      java.util.Arrays.fill(scalar, (byte) 0);
    }
  }
}
