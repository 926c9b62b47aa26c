package org.teekms.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import org.teekms.proto.AuditChainStatus;
import org.teekms.proto.CertificateStatus;
import org.teekms.proto.ChainStatus;
import org.teekms.proto.ClockStatus;
import org.teekms.proto.CollateralStatus;
import org.teekms.proto.DatabaseStatus;
import org.teekms.proto.GenerationStatus;
import org.teekms.proto.KmsStatus;
import org.teekms.proto.ReplicaPeer;
import org.teekms.proto.RotationJobSummary;
import org.teekms.proto.RpcEndpointStatus;

/**
 * A node's GetKmsStatus answer as {@code teekms kms status} JSON, and what in it needs the
 * operator's attention ("problems", in words, in this order): database down, audit chain unreadable
 * or broken, chain below its quorum or not configured, the node's clock off the chain's by more
 * than its allowance, quote collateral or the RA-TLS certificate expired or expiring within {@code
 * warnBefore}, a KMS CA certificate expiring, live generations without this node's sealed copy,
 * rotation jobs failing or retrying. Times are the node's (its clock is what decides expiry there).
 */
final class KmsStatusReport {
  private KmsStatusReport() {}

  static void put(ObjectNode json, KmsStatus s, Duration warnBefore, List<String> problems) {
    HexFormat hex = HexFormat.of();
    Instant now = Instant.ofEpochMilli(s.getNow());
    json.put("nodeTime", now.toString());
    json.put("trustConfiguration", hex.formatHex(s.getTrustConfigurationDigest().toByteArray()));

    ArrayNode gens = json.putArray("generations");
    for (GenerationStatus g : s.getGenerationsList()) {
      ObjectNode o = gens.addObject();
      o.put("generation", g.getGeneration());
      o.put("state", g.getState());
      if (!g.getRootAddress().isEmpty()) {
        o.put("rootAddress", "0x" + hex.formatHex(g.getRootAddress().toByteArray()));
        o.put("caCertificateSha256", hex.formatHex(g.getCaCertificateSha256().toByteArray()));
        o.put("caNotAfter", time(g.getCaNotAfter()));
        expiry(
            "KMS CA certificate of generation " + g.getGeneration(),
            g.getCaNotAfter(),
            now,
            warnBefore,
            problems);
      }
      o.put("createdAt", time(g.getCreatedAt()));
    }

    DatabaseStatus db = s.getDatabase();
    ObjectNode d = json.putObject("database");
    d.put("up", db.getUp());
    if (db.getUp()) {
      d.put("latencyMs", db.getLatencyMs());
    } else {
      d.put("error", db.getError());
      problems.add("database: " + db.getError());
    }

    AuditChainStatus a = s.getAudit();
    ObjectNode audit = json.putObject("auditChain");
    audit.put("readable", a.getReadable());
    audit.put("headSeq", a.getHeadSeq());
    audit.put("headHash", hex.formatHex(a.getHeadHash().toByteArray()));
    audit.put("verified", a.getVerified());
    if (a.getVerified()) {
      audit.put("valid", a.getValid());
      audit.put("entriesChecked", a.getEntriesChecked());
    }
    if (!a.getProblem().isEmpty()) {
      audit.put("problem", a.getProblem());
    }
    if (!a.getReadable()) {
      problems.add("audit chain: " + a.getProblem());
    } else if (a.getVerified() && !a.getValid()) {
      problems.add("audit chain: broken at " + a.getProblem() + " (docs/audit-log.md)");
    }

    ChainStatus c = s.getChain();
    ObjectNode chain = json.putObject("chain");
    chain.put("configured", c.getConfigured());
    if (!c.getConfigured()) {
      problems.add(
          "chain: not configured (teekms.chain.*): every admission is refused as CHAIN_UNAVAILABLE");
    } else {
      chain.put("chainId", c.getChainId());
      chain.put("registry", "0x" + hex.formatHex(c.getRegistryAddress().toByteArray()));
      chain.put("endpointsUp", c.getEndpointsUp());
      chain.put("endpoints", c.getEndpointsCount());
      chain.put("quorum", c.getQuorum());
      chain.put("confirmations", c.getConfirmations());
      long head =
          c.getEndpointsList().stream().mapToLong(RpcEndpointStatus::getHead).max().orElse(0);
      chain.put("head", head);
      if (c.getPinnedBlock() > 0) {
        chain.put("pinnedBlock", c.getPinnedBlock());
        chain.put("pinnedBlockHash", c.getPinnedBlockHash());
        chain.put("pinnedBlockTime", time(c.getPinnedBlockTime()));
        chain.put(
            "pinnedBlockAgeSeconds",
            Duration.between(Instant.ofEpochMilli(c.getPinnedBlockTime()), now).toSeconds());
      } else {
        chain.putNull("pinnedBlock");
      }
      ArrayNode eps = chain.putArray("rpc");
      for (RpcEndpointStatus e : c.getEndpointsList()) {
        ObjectNode o = eps.addObject();
        o.put("endpoint", e.getEndpoint());
        o.put("up", e.getUp());
        if (e.getUp()) {
          o.put("head", e.getHead());
        } else {
          o.put("error", e.getError());
        }
      }
      if (c.getEndpointsUp() < c.getQuorum()) {
        problems.add(
            "chain: "
                + c.getEndpointsUp()
                + " of "
                + c.getEndpointsCount()
                + " RPC endpoints answer, "
                + c.getQuorum()
                + " needed: admissions are refused as CHAIN_UNAVAILABLE");
      }
    }

    if (s.hasClock()) {
      ClockStatus k = s.getClock();
      ObjectNode clock = json.putObject("clock");
      clock.put("known", k.getKnown());
      clock.put("allowanceSeconds", k.getAllowanceMs() / 1000);
      if (k.getKnown()) {
        clock.put("chainBlock", k.getChainBlock());
        clock.put("chainTime", time(k.getChainTime()));
        clock.put("skewSeconds", k.getSkewMs() / 1000.0);
        clock.put("withinAllowance", k.getWithinAllowance());
      }
      if (!k.getProblem().isEmpty()) {
        clock.put("problem", k.getProblem());
      }
      if (k.getKnown() && !k.getWithinAllowance()) {
        problems.add("clock: " + k.getProblem());
      }
    }

    CollateralStatus col = s.getCollateral();
    ObjectNode collateral = json.putObject("collateral");
    collateral.put("cached", col.getCached());
    if (col.getCached()) {
      collateral.put("entries", col.getEntries());
      collateral.put("maxAgeSeconds", col.getMaxAgeSeconds());
      if (col.getEntries() > 0) {
        collateral.put("oldestFetchedAt", time(col.getOldestFetchedAt()));
        collateral.put(
            "ageSeconds",
            Duration.between(Instant.ofEpochMilli(col.getOldestFetchedAt()), now).toSeconds());
        collateral.put("expiresAt", time(col.getEarliestExpiry()));
        collateral.put("nextUpdate", time(col.getEarliestNextUpdate()));
        expiry("quote collateral", col.getEarliestExpiry(), now, warnBefore, problems);
      }
    }

    CertificateStatus cert = s.getCertificate();
    ObjectNode certificate = json.putObject("certificate");
    certificate.put("notBefore", time(cert.getNotBefore()));
    certificate.put("notAfter", time(cert.getNotAfter()));
    certificate.put("sha256", hex.formatHex(cert.getSha256().toByteArray()));
    expiry("RA-TLS certificate", cert.getNotAfter(), now, warnBefore, problems);

    ArrayNode jobs = json.putArray("rotationJobs");
    for (RotationJobSummary j : s.getRotationJobsList()) {
      ObjectNode o = jobs.addObject();
      o.put("jobId", j.getJobId());
      o.put("kind", j.getKind());
      o.put("state", j.getState());
      if (!j.getAppId().isEmpty()) {
        o.put("appId", "0x" + hex.formatHex(j.getAppId().toByteArray()));
      }
      if (j.getTargetGeneration() > 0) {
        o.put("fromGeneration", j.getFromGeneration());
        o.put("targetGeneration", j.getTargetGeneration());
      }
      if (j.getTargetVersion() > 0) {
        o.put("targetVersion", j.getTargetVersion());
      }
      o.put("attempts", j.getAttempts());
      o.put("updatedAt", time(j.getUpdatedAt()));
      if (!j.getLastError().isEmpty()) {
        o.put("lastError", j.getLastError());
        problems.add(
            "rotation job "
                + j.getJobId()
                + " ("
                + j.getKind()
                + ", "
                + j.getState()
                + ") retrying after "
                + j.getAttempts()
                + " attempts: "
                + j.getLastError());
      }
    }

    ObjectNode replicas = json.putObject("replicas");
    replicas.put("onboardingSource", s.getReplicas().getOnboardingSource());
    ArrayNode missing = replicas.putArray("missingCopies");
    s.getReplicas().getMissingCopiesList().forEach(missing::add);
    ArrayNode peers = replicas.putArray("peers");
    for (ReplicaPeer p : s.getReplicas().getPeersList()) {
      ObjectNode o = peers.addObject();
      o.put("nodeId", p.getNodeId());
      o.put("sealingKeyId", p.getSealingKeyId());
      o.put("sealedGenerations", p.getSealedGenerations());
      o.put("lastSealedAt", time(p.getLastSealedAt()));
      o.put("thisNode", p.getThisNode());
    }
    if (s.getReplicas().getMissingCopiesCount() > 0) {
      problems.add(
          "replicas: root generations "
              + s.getReplicas().getMissingCopiesList()
              + " have no copy sealed "
              + "under this node's key: it cannot serve them"
              + (s.getReplicas().getOnboardingSource().isEmpty()
                  ? " and no teekms.onboarding.source is set"
                  : " until it onboards from " + s.getReplicas().getOnboardingSource()));
    }
  }

  /**
   * Adds a problem when {@code notAfterMillis} has passed or is within {@code warnBefore} of {@code
   * now}.
   */
  static void expiry(
      String what, long notAfterMillis, Instant now, Duration warnBefore, List<String> problems) {
    if (notAfterMillis == 0) {
      return;
    }
    Duration left = Duration.between(now, Instant.ofEpochMilli(notAfterMillis));
    if (left.isNegative() || left.isZero()) {
      problems.add(what + ": expired at " + time(notAfterMillis));
    } else if (left.compareTo(warnBefore) < 0) {
      problems.add(what + ": expires in " + words(left) + " (at " + time(notAfterMillis) + ")");
    }
  }

  static String words(Duration d) {
    long s = d.toSeconds();
    if (s < 120) {
      return s + " s";
    }
    if (s < 7200) {
      return s / 60 + " min";
    }
    return s / 3600 + " h " + (s % 3600) / 60 + " min";
  }

  private static String time(long millis) {
    return millis == 0 ? null : Instant.ofEpochMilli(millis).toString();
  }
}
