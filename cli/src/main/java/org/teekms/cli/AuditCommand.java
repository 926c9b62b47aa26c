package org.teekms.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.teekms.attest.tdx.collateral.CollateralSource;
import org.teekms.crypto.Bytes;
import org.teekms.governance.ChainClient;
import org.teekms.governance.GovernanceException;
import org.teekms.governance.KmsRegistry;
import org.teekms.proto.AuditorGrpc;
import org.teekms.proto.EffectivePolicy;
import org.teekms.proto.GetEffectivePolicyRequest;
import org.teekms.proto.ListAuditEventsRequest;
import org.teekms.proto.RotationJobInfo;
import org.teekms.proto.VerifyAuditChainRequest;
import org.teekms.proto.VerifyAuditChainResponse;
import org.teekms.verifier.audit.AuditChainHash;
import org.teekms.verifier.audit.AuditChainReport;
import org.teekms.verifier.audit.AuditCheckpoint;
import org.teekms.verifier.service.KmsAuditor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code teekms audit …}: the KMS's read-only Auditor API over TLS (RA-TLS server certificate
 * verified). Each command prints one JSON object; exit 0 ok (for {@code verify}: the chain
 * verifies), 1 failed or invalid, 2 usage error.
 */
@Command(
    name = "audit",
    mixinStandardHelpOptions = true,
    description = "Query a KMS's audit log and verify its hash chain (Auditor API).",
    subcommands = {AuditCommand.Verify.class, AuditCommand.Events.class, AuditCommand.Policy.class})
public final class AuditCommand extends CommandGroup {

  /**
   * Shared: connect, run one call, print JSON; transport/trust failures are exit 1 with the reason.
   */
  abstract static class AuditorCall implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin KmsEndpoint endpoint;
    @Mixin QuoteVerificationOptions options;

    abstract boolean run(AuditorGrpc.AuditorBlockingStub auditor, ObjectNode out);

    @Override
    public Integer call() throws Exception {
      options.requireOneCollateralSource();
      ObjectNode out = VerifyQuoteCommand.JSON.createObjectNode();
      boolean ok;
      CollateralSource collateral;
      try {
        collateral = options.source();
      } catch (QuoteVerificationOptions.CollateralLoadException e) {
        return JsonResult.print(
            spec, JsonResult.fail(out, "COLLATERAL_UNAVAILABLE", e.getMessage()), false);
      }
      ManagedChannel channel = endpoint.open(options.verifier(), collateral, options.time());
      try {
        ok =
            run(
                AuditorGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(endpoint.timeoutSeconds, TimeUnit.SECONDS),
                out);
      } catch (StatusRuntimeException e) {
        ok = false;
        JsonResult.fail(out, "KMS_UNREACHABLE_OR_UNTRUSTED", endpoint.failure(e));
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      return JsonResult.print(spec, out, ok);
    }

    ByteString appId(String app) {
      String h = app.startsWith("0x") || app.startsWith("0X") ? app.substring(2) : app;
      try {
        byte[] b = HexFormat.of().parseHex(h);
        if (b.length == 20) {
          return ByteString.copyFrom(b);
        }
      } catch (IllegalArgumentException e) {
        // reported below
      }
      throw new ParameterException(
          spec.commandLine(), "--app must be a 20-byte hex app id, got " + app);
    }

    long millis(String iso, String option) {
      try {
        return Instant.parse(iso).toEpochMilli();
      } catch (DateTimeParseException e) {
        throw new ParameterException(
            spec.commandLine(), option + " must be ISO-8601 UTC, got " + iso);
      }
    }
  }

  @Command(
      name = "verify",
      mixinStandardHelpOptions = true,
      description = {
        "Fetch every audit entry and recompute the hash chain here (docs/audit-log.md), not the KMS's word; "
            + "exit 0 only when it verifies and passes every saved or anchored head.",
        "Save the printed headSeq/headHash and pass the hash as --since-head next time."
      })
  public static final class Verify extends AuditorCall {
    @Option(
        names = "--since-head",
        paramLabel = "HASH",
        description = "A head hash saved earlier (64 hex): today's chain must pass through it.")
    String sinceHead;

    @Option(
        names = "--anchored",
        description =
            "Also check the latest head anchored in the KmsRegistry "
                + "(needs --rpc-url, --chain-id, --registry): entry entryCount must carry the anchored hash.")
    boolean anchored;

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

    @Override
    boolean run(AuditorGrpc.AuditorBlockingStub auditor, ObjectNode out) {
      List<AuditCheckpoint> checkpoints = new ArrayList<>();
      if (sinceHead != null) {
        checkpoints.add(AuditCheckpoint.savedHead(hash32(sinceHead, "--since-head")));
      }
      if (anchored != (rpcUrl != null || chainId != null || registry != null)
          || (anchored && (rpcUrl == null || chainId == null || registry == null))) {
        throw new ParameterException(
            spec.commandLine(),
            "--anchored needs --rpc-url, --chain-id and --registry "
                + "(and they mean nothing without it)");
      }
      if (anchored) {
        KmsRegistry.AuditAnchor anchor;
        try (ChainClient chain = ChainClient.connect(rpcUrl, chainId)) {
          chain.checkChainId();
          anchor = KmsRegistry.at(chain, registry, null).latestAuditAnchor();
        } catch (GovernanceException | RuntimeException e) {
          JsonResult.fail(
              out,
              "ANCHOR_UNAVAILABLE",
              "reading the latest audit anchor of registry "
                  + registry
                  + " failed: "
                  + e.getMessage());
          return false;
        }
        if (anchor.entryCount() == 0) {
          JsonResult.fail(
              out, "NOT_ANCHORED", "registry " + registry + " holds no audit anchor yet");
          return false;
        }
        out.putObject("anchor")
            .put("entryCount", anchor.entryCount())
            .put("head", anchor.head().hex())
            .put("block", anchor.atBlock());
        checkpoints.add(
            new AuditCheckpoint(
                "on-chain anchor at block " + anchor.atBlock(),
                anchor.entryCount(),
                anchor.head()));
      }
      // The KMS's own claim is one more head to pass (a KMS that serves fewer entries than it says
      // it has is caught),
      // never the verdict.
      VerifyAuditChainResponse claim =
          auditor.verifyAuditChain(VerifyAuditChainRequest.getDefaultInstance());
      if (claim.getValid() && claim.getHeadHash().size() == AuditChainHash.LENGTH) {
        checkpoints.add(
            new AuditCheckpoint(
                "KMS's reported head",
                claim.getEntriesChecked(),
                Bytes.copyOf(claim.getHeadHash().toByteArray())));
      }
      AuditChainReport report = AuditChainFetch.walk(auditor, checkpoints);
      out.put("valid", report.valid());
      out.put("computedLocally", true);
      out.put("entriesChecked", report.entriesChecked());
      out.put("headSeq", report.entriesChecked());
      out.put("headHash", report.headHash().hex());
      out.put("kmsSaysValid", claim.getValid());
      ArrayNode passed = out.putArray("checkpoints");
      for (AuditChainReport.Passed p : report.checkpoints()) {
        passed
            .addObject()
            .put("source", p.checkpoint().source())
            .put("hash", p.checkpoint().hash().hex())
            .put("atSeq", p.atSeq());
      }
      if (!report.valid()) {
        out.put("firstBadSeq", report.firstBadSeq());
        out.put("problem", report.problem());
        JsonResult.fail(
            out, "AUDIT_CHAIN_BROKEN", "seq " + report.firstBadSeq() + ": " + report.problem());
      }
      return report.valid();
    }

    Bytes hash32(String value, String option) {
      String h = value.startsWith("0x") || value.startsWith("0X") ? value.substring(2) : value;
      if (h.length() == 64) {
        try {
          return Bytes.fromHex(h);
        } catch (IllegalArgumentException e) {
          // reported below
        }
      }
      throw new ParameterException(
          spec.commandLine(), option + " must be a 32-byte hex hash, got " + value);
    }
  }

  @Command(
      name = "events",
      mixinStandardHelpOptions = true,
      description = "List audit events (oldest first), optionally for one app and a time range.")
  public static final class Events extends AuditorCall {
    @Option(names = "--app", paramLabel = "APP_ID", description = "Only this app (20-byte hex).")
    String app;

    @Option(names = "--from", paramLabel = "TIME", description = "Inclusive start, ISO-8601 UTC.")
    String from;

    @Option(names = "--to", paramLabel = "TIME", description = "Exclusive end, ISO-8601 UTC.")
    String to;

    @Option(
        names = "--limit",
        paramLabel = "N",
        defaultValue = "1000",
        description = "At most N events (default 1000).")
    int limit;

    @Override
    boolean run(AuditorGrpc.AuditorBlockingStub auditor, ObjectNode out) {
      if (limit < 1) {
        throw new ParameterException(spec.commandLine(), "--limit must be >= 1");
      }
      ListAuditEventsRequest.Builder req = ListAuditEventsRequest.newBuilder();
      if (app != null) {
        req.setAppId(appId(app));
      }
      if (from != null) {
        req.setFromTime(millis(from, "--from"));
      }
      if (to != null) {
        req.setToTime(millis(to, "--to"));
      }
      ArrayNode events = KmsAuditor.events(auditor, req, limit).events();
      out.set("events", events);
      out.put("count", events.size());
      return true;
    }
  }

  @Command(
      name = "policy",
      mixinStandardHelpOptions = true,
      description =
          "The effective policy of an app: key versions, pending rotation jobs, recent grants.")
  public static final class Policy extends AuditorCall {
    @Option(
        names = "--app",
        required = true,
        paramLabel = "APP_ID",
        description = "The app (20-byte hex).")
    String app;

    @Override
    boolean run(AuditorGrpc.AuditorBlockingStub auditor, ObjectNode out) {
      EffectivePolicy p =
          auditor.getEffectivePolicy(
              GetEffectivePolicyRequest.newBuilder().setAppId(appId(app)).build());
      out.put("appId", app);
      out.put("known", p.getKnown());
      out.put("currentVersion", p.getCurrentVersion());
      out.put("minVersion", p.getMinVersion());
      ArrayNode retired = out.putArray("retiredVersions");
      p.getRetiredVersionsList().forEach(retired::add);
      ArrayNode jobs = out.putArray("rotationJobs");
      for (RotationJobInfo j : p.getRotationJobsList()) {
        jobs.addObject()
            .put("jobId", j.getJobId())
            .put("kind", j.getKind())
            .put("state", j.getState());
      }
      out.put("recentGrants", p.getRecentGrantsCount());
      ObjectNode schedule = out.putObject("rotationSchedule");
      if (!p.getRotationSchedule().getError().isEmpty()) {
        schedule.put("error", p.getRotationSchedule().getError());
      } else {
        schedule.put("rotationDue", p.getRotationSchedule().getRotationDue());
        schedule.put("rotationPeriodSeconds", p.getRotationSchedule().getRotationPeriodSeconds());
        schedule.put("lastRotation", p.getRotationSchedule().getLastRotation());
        schedule.put("block", p.getRotationSchedule().getBlock().getNumber());
      }
      return true;
    }
  }
}
