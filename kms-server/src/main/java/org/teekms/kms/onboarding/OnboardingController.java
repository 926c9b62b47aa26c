package org.teekms.kms.onboarding;

import io.vertx.mutiny.sqlclient.Pool;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.jboss.logging.Logger;
import org.teekms.kms.admission.AdmissionDenied;
import org.teekms.kms.admission.AttestedPeer;
import org.teekms.kms.admission.DenyCode;
import org.teekms.kms.admission.LocalAttestationPolicy;
import org.teekms.kms.grant.Grant;
import org.teekms.kms.grant.GrantLedger;
import org.teekms.kms.grant.PolicyBlockRef;
import org.teekms.kms.roots.RootGeneration;
import org.teekms.kms.roots.RootGenerationStore;
import org.teekms.kms.roots.RootState;

/**
 * The source side of replica onboarding: releases the live root generations (CURRENT, and RETIRED ones not yet past
 * their destruction date: those are withheld and named in the grant's facts) to a node that attested over mutual
 * RA-TLS, claims this deployment's KMS id, passes this KMS's quote policy ({@link LocalAttestationPolicy#checkQuote}:
 * no debug TD, accepted TCB, TD attributes; the handshake proved the evidence only) and is allowed as a KMS replica on
 * chain ({@code isKmsAllowed} at a pinned block). The release is recorded (grant + audit, one transaction) before any
 * secret leaves; refusals are audited. Blocking: call from a worker thread.
 */
public final class OnboardingController {

  private static final Logger LOG = Logger.getLogger(OnboardingController.class);

  private final Pool pool;
  private final LocalAttestationPolicy local;
  private final KmsPolicyPort chain;
  private final RootGenerationStore roots;
  private final GrantLedger ledger;
  private final Duration dbWait;

  private final java.time.Clock clock;

  /** With the strictest quote policy (UpToDate only, no advisories). */
  public OnboardingController(Pool pool, KmsPolicyPort chain, RootGenerationStore roots, GrantLedger ledger, Duration dbWait) {
    this(pool, STRICT, chain, roots, ledger, dbWait, java.time.Clock.systemUTC());
  }

  /** With the strictest quote policy (UpToDate only, no advisories). */
  public OnboardingController(Pool pool, KmsPolicyPort chain, RootGenerationStore roots, GrantLedger ledger,
      Duration dbWait, java.time.Clock clock) {
    this(pool, STRICT, chain, roots, ledger, dbWait, clock);
  }

  private static final LocalAttestationPolicy STRICT = new LocalAttestationPolicy(java.util.Set.of("UpToDate"),
      java.util.Set.of(), java.util.Optional.empty());

  public OnboardingController(Pool pool, LocalAttestationPolicy local, KmsPolicyPort chain, RootGenerationStore roots,
      GrantLedger ledger, Duration dbWait, java.time.Clock clock) {
    this.clock = clock;
    this.local = local;
    this.pool = pool;
    this.chain = chain;
    this.roots = roots;
    this.ledger = ledger;
    this.dbWait = dbWait;
  }

  /** {@code kmsId}: this node's own KMS id, which the response carries (never the requester's, echoed). */
  public record Release(UUID grantId, PolicyBlockRef block, List<RootGenerationRelease> generations, String kmsId) {}

  public Release release(AttestedPeer peer, String requestedKmsId, String nodeId) {
    PolicyBlockRef block = null;
    try {
      if (!roots.kmsId().equals(requestedKmsId)) {
        throw new AdmissionDenied(DenyCode.REQUEST_INVALID, "this node serves KMS '" + roots.kmsId() + "', not '"
            + requestedKmsId + "'");
      }
      if (nodeId.length() > 128) {
        throw new AdmissionDenied(DenyCode.REQUEST_INVALID, "node_id longer than 128 characters");
      }
      // a debug TD can never hold root secrets; nor a platform or TD the operator does not accept
      local.checkQuote(peer);
      KmsPolicyVerdict verdict;
      try {
        verdict = chain.checkKms(peer);
      } catch (RuntimeException e) {
        verdict = new KmsPolicyVerdict(KmsPolicyVerdict.Outcome.UNAVAILABLE, "policy reader failed: " + e.getMessage(),
            java.util.Optional.empty());
      }
      block = verdict.block().orElse(null);
      switch (verdict.outcome()) {
        case UNAVAILABLE -> throw new AdmissionDenied(DenyCode.CHAIN_UNAVAILABLE, "on-chain KMS policy unreadable: "
            + verdict.reason());
        case DENIED -> throw new AdmissionDenied(DenyCode.KMS_NOT_ALLOWED, verdict.reason()
            + verdict.block().map(b -> " (at " + b + ")").orElse(""));
        case ALLOWED -> { }
      }
      List<RootGenerationRelease> out = new ArrayList<>();
      List<Integer> withheld = new ArrayList<>();
      int current = 0;
      List<RootGeneration> generations;
      try {
        generations = roots.list().await().atMost(dbWait);
      } catch (RuntimeException e) {
        throw new AdmissionDenied(DenyCode.KMS_UNAVAILABLE, "root generations unavailable: " + e.getMessage());
      }
      // The registry's anchor (same block): a database restored from an old backup releases nothing, and a
      // generation the chain says is destroyed is never unsealed nor handed to a replica.
      java.util.Optional<org.teekms.kms.roots.ChainRootAnchor> anchor = verdict.rootAnchor();
      if (anchor.isPresent()) {
        try {
          anchor.get().checkDatabase(generations);
        } catch (org.teekms.kms.roots.RootAnchorViolation v) {
          throw new AdmissionDenied(DenyCode.ROOT_ANCHOR_MISMATCH, v.getMessage());
        }
      }
      long now = clock.millis();
      try {
        for (RootGeneration g : generations) {
          if (anchor.isPresent() && anchor.get().refusal(g.generation()).isPresent()) {
            continue;
          }
          if (g.state() == RootState.RETIRED && g.destroyAfter().isPresent() && g.destroyAfter().get() <= now) {
            // past its destruction date: the scheduler destroys it any moment; it must not live on in a new replica
            withheld.add(g.generation());
            continue;
          }
          if (g.state() == RootState.CURRENT || g.state() == RootState.RETIRED) {
            byte[] secret = roots.unseal(g.generation()).await().atMost(dbWait);
            try {
              out.add(new RootGenerationRelease(g.generation(), g.state(), secret, g.createdAt(), g.destroyAfter().orElse(0L)));
            } finally {
              java.util.Arrays.fill(secret, (byte) 0);
            }
            if (g.state() == RootState.CURRENT) {
              current = g.generation();
            }
          }
        }
      } catch (RuntimeException e) {
        out.forEach(RootGenerationRelease::destroy);
        throw new AdmissionDenied(DenyCode.KMS_UNAVAILABLE, "root generations unavailable: " + e.getMessage());
      }
      Map<String, String> facts = new LinkedHashMap<>();
      facts.put("nodeId", nodeId);
      facts.put("generations", out.stream().map(r -> r.generation() + ":" + r.state()).toList().toString());
      if (!withheld.isEmpty()) {
        facts.put("withheldPastDestruction", withheld.toString());
      }
      facts.put("mrAggregated", HexFormat.of().formatHex(peer.mrAggregated()));
      facts.put("deviceId", HexFormat.of().formatHex(peer.deviceId()));
      Grant grant = new Grant(UUID.randomUUID(), Grant.Kind.ONBOARDING, new byte[0], peer.instanceId(), List.of(), current,
          verdict.block().orElseThrow(), facts);
      try {
        ledger.recordGrant(grant).await().atMost(dbWait);
      } catch (RuntimeException e) {
        out.forEach(RootGenerationRelease::destroy);
        throw new AdmissionDenied(DenyCode.KMS_UNAVAILABLE, "the onboarding could not be audited, so nothing is released: "
            + e.getMessage());
      }
      LOG.infof("onboarding: released %d root generation(s) to node '%s' (grant %s)", out.size(), nodeId, grant.grantId());
      return new Release(grant.grantId(), verdict.block().orElseThrow(), out, roots.kmsId());
    } catch (AdmissionDenied d) {
      Map<String, Object> facts = new LinkedHashMap<>();
      facts.put("detail", d.detail());
      facts.put("nodeId", nodeId);
      facts.put("mrAggregated", HexFormat.of().formatHex(peer.mrAggregated()));
      if (block != null) {
        facts.put("policyBlock", block.number());
      }
      try {
        ledger.recordDenial("DENY_ONBOARDING", new byte[0], d.code().name(), facts).await().atMost(dbWait);
      } catch (RuntimeException e) {
        LOG.warnf("onboarding denial could not be audited: %s", e.getMessage());
      }
      throw d;
    }
  }
}
