package org.teekms.kms.onboarding;

import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeoutException;
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
 * The source side of replica onboarding: releases the live root generations (CURRENT, and RETIRED
 * ones not yet past their destruction date: those are withheld and named in the grant's facts) to a
 * node that attested over mutual RA-TLS, claims this deployment's KMS id, passes this KMS's quote
 * policy ({@link LocalAttestationPolicy#checkQuote}: no debug TD, accepted TCB, TD attributes; the
 * handshake proved the evidence only), was launched with an MRCONFIGID that is zero or names the
 * compose it measured ({@link LocalAttestationPolicy#checkMrConfigId}, as for app CVMs) and is
 * allowed as a KMS replica on chain ({@code isKmsAllowed} at a pinned block). The release is
 * recorded (grant + audit, one transaction) before any secret leaves; refusals are audited.
 * Non-blocking ({@link #release}).
 */
public final class OnboardingController {

  private static final Logger LOG = Logger.getLogger(OnboardingController.class);

  private final LocalAttestationPolicy local;
  private final KmsPolicyPort chain;
  private final RootGenerationStore roots;
  private final GrantLedger ledger;
  private final Duration dbWait;

  private final java.time.Clock clock;

  /** With the strictest quote policy (UpToDate only, no advisories). */
  public OnboardingController(
      KmsPolicyPort chain, RootGenerationStore roots, GrantLedger ledger, Duration dbWait) {
    this(STRICT, chain, roots, ledger, dbWait, java.time.Clock.systemUTC());
  }

  /** With the strictest quote policy (UpToDate only, no advisories). */
  public OnboardingController(
      KmsPolicyPort chain,
      RootGenerationStore roots,
      GrantLedger ledger,
      Duration dbWait,
      java.time.Clock clock) {
    this(STRICT, chain, roots, ledger, dbWait, clock);
  }

  private static final LocalAttestationPolicy STRICT =
      new LocalAttestationPolicy(
          java.util.Set.of("UpToDate"), java.util.Set.of(), java.util.Optional.empty());

  public OnboardingController(
      LocalAttestationPolicy local,
      KmsPolicyPort chain,
      RootGenerationStore roots,
      GrantLedger ledger,
      Duration dbWait,
      java.time.Clock clock) {
    this.clock = clock;
    this.local = local;
    this.chain = chain;
    this.roots = roots;
    this.ledger = ledger;
    this.dbWait = dbWait;
  }

  /**
   * {@code kmsId}: this node's own KMS id, which the response carries (never the requester's,
   * echoed).
   */
  public record Release(
      UUID grantId, PolicyBlockRef block, List<RootGenerationRelease> generations, String kmsId) {}

  /** What the decision releases, before anything is unsealed. */
  private record Plan(List<RootGeneration> release, List<Integer> withheld, int current) {}

  /**
   * The release, or a failure with {@link AdmissionDenied} (audited). Non-blocking: the request
   * checks and the chain read (blocking RPCs) run on the worker pool; the database steps are
   * reactive.
   */
  public Uni<Release> release(AttestedPeer peer, String requestedKmsId, String nodeId) {
    return Uni.createFrom()
        .item(() -> admit(peer, requestedKmsId, nodeId))
        .runSubscriptionOn(Infrastructure.getDefaultWorkerPool())
        .chain(
            verdict ->
                release(peer, nodeId, verdict.block().orElseThrow(), verdict.rootAnchor())
                    .onFailure(AdmissionDenied.class)
                    .transform(d -> ((AdmissionDenied) d).at(verdict.block())))
        .onFailure(AdmissionDenied.class)
        .call(d -> auditDenial(peer, nodeId, (AdmissionDenied) d));
  }

  /** The request, this KMS's quote policy and the chain's KMS policy; blocking (the chain read). */
  private KmsPolicyVerdict admit(AttestedPeer peer, String requestedKmsId, String nodeId) {
    if (!roots.kmsId().equals(requestedKmsId)) {
      throw new AdmissionDenied(
          DenyCode.REQUEST_INVALID,
          "this node serves KMS '" + roots.kmsId() + "', not '" + requestedKmsId + "'");
    }
    if (nodeId.length() > 128) {
      throw new AdmissionDenied(DenyCode.REQUEST_INVALID, "node_id longer than 128 characters");
    }
    // a debug TD can never hold root secrets; nor a platform or TD the operator does not accept
    local.checkQuote(peer);
    // nor a node its host launched for another configuration than the one it measured
    LocalAttestationPolicy.checkMrConfigId(peer);
    KmsPolicyVerdict verdict;
    try {
      verdict = chain.checkKms(peer);
    } catch (RuntimeException e) {
      verdict =
          new KmsPolicyVerdict(
              KmsPolicyVerdict.Outcome.UNAVAILABLE,
              "policy reader failed: " + e.getMessage(),
              java.util.Optional.empty());
    }
    switch (verdict.outcome()) {
      case UNAVAILABLE ->
          throw new AdmissionDenied(
                  DenyCode.CHAIN_UNAVAILABLE, "on-chain KMS policy unreadable: " + verdict.reason())
              .at(verdict.block());
      case DENIED ->
          throw new AdmissionDenied(
                  DenyCode.KMS_NOT_ALLOWED,
                  verdict.reason() + verdict.block().map(b -> " (at " + b + ")").orElse(""))
              .at(verdict.block());
      case ALLOWED -> {}
    }
    return verdict;
  }

  /**
   * Reads, checks against the chain's anchor, unseals and records the release (grant + audit)
   * before returning it.
   */
  private Uni<Release> release(
      AttestedPeer peer,
      String nodeId,
      PolicyBlockRef block,
      java.util.Optional<org.teekms.kms.roots.ChainRootAnchor> anchor) {
    return roots
        .list()
        .ifNoItem()
        .after(dbWait)
        .fail()
        .onFailure(e -> !(e instanceof AdmissionDenied))
        .transform(
            e ->
                new AdmissionDenied(
                    DenyCode.KMS_UNAVAILABLE, "root generations unavailable: " + e.getMessage()))
        .map(generations -> plan(generations, anchor))
        .chain(
            plan -> unsealAll(plan.release()).chain(out -> record(peer, nodeId, block, plan, out)));
  }

  /**
   * The registry's anchor (same block): a database restored from an old backup releases nothing,
   * and a generation the chain says is destroyed is never unsealed nor handed to a replica.
   */
  private Plan plan(
      List<RootGeneration> generations,
      java.util.Optional<org.teekms.kms.roots.ChainRootAnchor> anchor) {
    if (anchor.isPresent()) {
      try {
        anchor.get().checkDatabase(generations);
      } catch (org.teekms.kms.roots.RootAnchorViolation v) {
        throw new AdmissionDenied(DenyCode.ROOT_ANCHOR_MISMATCH, v.getMessage());
      }
    }
    long now = clock.millis();
    List<RootGeneration> release = new ArrayList<>();
    List<Integer> withheld = new ArrayList<>();
    int current = 0;
    for (RootGeneration g : generations) {
      if (anchor.isPresent() && anchor.get().refusal(g.generation()).isPresent()) {
        continue;
      }
      if (g.state() == RootState.RETIRED
          && g.destroyAfter().isPresent()
          && g.destroyAfter().get() <= now) {
        // past its destruction date: the scheduler destroys it any moment; it must not live on in a
        // new replica
        withheld.add(g.generation());
        continue;
      }
      if (g.state() == RootState.CURRENT || g.state() == RootState.RETIRED) {
        release.add(g);
        if (g.state() == RootState.CURRENT) {
          current = g.generation();
        }
      }
    }
    return new Plan(release, withheld, current);
  }

  /** Unseals the generations one after the other; on failure what was unsealed is destroyed. */
  private Uni<List<RootGenerationRelease>> unsealAll(List<RootGeneration> generations) {
    List<RootGenerationRelease> out = new ArrayList<>();
    Uni<Void> chain = Uni.createFrom().voidItem();
    for (RootGeneration g : generations) {
      chain =
          chain
              .chain(() -> roots.unseal(g.generation()).ifNoItem().after(dbWait).fail())
              .invoke(
                  secret -> {
                    try {
                      out.add(
                          new RootGenerationRelease(
                              g.generation(),
                              g.state(),
                              secret,
                              g.createdAt(),
                              g.destroyAfter().orElse(0L)));
                    } finally {
                      java.util.Arrays.fill(secret, (byte) 0);
                    }
                  })
              .replaceWithVoid();
    }
    return chain
        .replaceWith(out)
        .onFailure()
        .transform(
            e -> {
              out.forEach(RootGenerationRelease::destroy);
              return new AdmissionDenied(
                  DenyCode.KMS_UNAVAILABLE, "root generations unavailable: " + e.getMessage());
            });
  }

  /**
   * The grant and its audit entry, in one transaction; nothing is released unless they are written.
   */
  private Uni<Release> record(
      AttestedPeer peer,
      String nodeId,
      PolicyBlockRef block,
      Plan plan,
      List<RootGenerationRelease> out) {
    Map<String, String> facts = new LinkedHashMap<>();
    facts.put("nodeId", nodeId);
    facts.put(
        "generations", out.stream().map(r -> r.generation() + ":" + r.state()).toList().toString());
    if (!plan.withheld().isEmpty()) {
      facts.put("withheldPastDestruction", plan.withheld().toString());
    }
    facts.put("mrAggregated", peer.mrAggregated().hex());
    facts.put("deviceId", peer.deviceId().hex());
    Grant grant =
        new Grant(
            UUID.randomUUID(),
            Grant.Kind.ONBOARDING,
            Optional.empty(),
            peer.instanceId(),
            List.of(),
            plan.current(),
            block,
            facts);
    return ledger
        .recordGrant(grant)
        .ifNoItem()
        .after(dbWait)
        .failWith(
            () ->
                new TimeoutException(
                    "the database did not record the grant within "
                        + dbWait
                        + " (teekms.db-timeout)"))
        .onFailure()
        .transform(
            e -> {
              out.forEach(RootGenerationRelease::destroy);
              return new AdmissionDenied(
                  DenyCode.KMS_UNAVAILABLE,
                  "the onboarding could not be audited, so nothing is released: " + e.getMessage());
            })
        .map(
            entry -> {
              LOG.infof(
                  "onboarding: released %d root generation(s) to node '%s' (grant %s)",
                  out.size(), nodeId, grant.grantId());
              return new Release(grant.grantId(), block, out, roots.kmsId());
            });
  }

  /** Audits a refusal; the refusal stands whether or not that write succeeds. */
  private Uni<?> auditDenial(AttestedPeer peer, String nodeId, AdmissionDenied d) {
    Map<String, Object> facts = new LinkedHashMap<>();
    facts.put("detail", d.detail());
    facts.put("nodeId", nodeId);
    facts.put("mrAggregated", peer.mrAggregated().hex());
    d.block().ifPresent(b -> facts.put("policyBlock", b.number()));
    return ledger
        .recordDenial("DENY_ONBOARDING", null, d.code().name(), facts)
        .ifNoItem()
        .after(dbWait)
        .failWith(
            () ->
                new TimeoutException(
                    "the database did not record it within " + dbWait + " (teekms.db-timeout)"))
        .onFailure()
        .recoverWithItem(
            e -> {
              LOG.warnf("onboarding denial could not be audited: %s", e.getMessage());
              return null;
            });
  }
}
