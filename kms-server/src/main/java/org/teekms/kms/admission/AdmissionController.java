package org.teekms.kms.admission;

import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Executor;
import java.util.stream.Collectors;
import org.jboss.logging.Logger;
import org.teekms.crypto.Bytes;
import org.teekms.keys.KeyRefusedException;
import org.teekms.keys.KeyVersionPolicy;
import org.teekms.keys.KmsKeyDeriver;
import org.teekms.keys.RootKeyring;
import org.teekms.kms.db.StateSessions;
import org.teekms.kms.grant.Grant;
import org.teekms.kms.grant.GrantLedger;
import org.teekms.kms.grant.PolicyBlockRef;
import org.teekms.kms.keys.LiveKeyring;
import org.teekms.kms.keys.ReleasedAppKeys;
import org.teekms.kms.keys.TlsCertificateIssuer;
import org.teekms.kms.keys.VersionKeyCache;
import org.teekms.kms.keystate.AppKeyState;
import org.teekms.kms.keystate.AppKeyStateStore;
import org.teekms.kms.roots.ChainRootAnchor;
import org.teekms.kms.roots.RootAnchorViolation;
import org.teekms.kms.roots.RootGeneration;
import org.teekms.kms.roots.RootGenerationStore;

/**
 * Decides GetAppKeys for a CVM whose RA-TLS certificate already verified, and releases its keys. In
 * order (the first failure is the answer, with a precise reason):
 *
 * <ol>
 *   <li>local attestation policy ({@link LocalAttestationPolicy}, the only place the KMS's quote
 *       policy is applied: the RA-TLS handshake proved the evidence only): not a debug TD, accepted
 *       TCB status and advisories, TD attributes and TDX module, key provider;
 *   <li>GPU evidence: every presented GPU verified, no device twice, one architecture (GPU_*
 *       codes);
 *   <li>on-chain policy at a pinned block (registration, OS image and its hardware measurement —
 *       the quote's mrSystem must be a golden value registered for the claimed image unless a
 *       measurement document proved it —, TCB, compose hash, device; chain trouble denies);
 *   <li>the app's GPU requirement (from that block) against the GPUs whose evidence verified;
 *   <li>the database's root generations against the chain's root anchor from that block
 *       (ROOT_ANCHOR_MISMATCH): its current generation is not older than the chain's, so a database
 *       restored from before a rotation creates no key version on a retired generation;
 *   <li>key versions: the app's state is brought up to the chain's current/minimum (never down),
 *       requested versions must be served; a version derived from a generation the chain says is
 *       DESTROYED is refused (ROOT_ANCHOR_MISMATCH when requested, left out otherwise) and that
 *       generation is never unsealed;
 *   <li>derivation, then the grant and its audit entry in one transaction — only after that commits
 *       are keys returned (audit failure = refusal).
 * </ol>
 *
 * Denials are audited too (best effort: a denial stands even if its audit write fails).
 *
 * <p>Non-blocking: every method returns a Uni and may be called from an event loop. Database steps
 * are reactive (no thread waits on them); the steps that block or burn CPU (the chain read over
 * HTTP, key derivation and certificate issuance) run on the worker executor.
 */
public final class AdmissionController {

  private static final Logger LOG = Logger.getLogger(AdmissionController.class);

  private final StateSessions sessions;
  private final LocalAttestationPolicy local;
  private final AppPolicyPort chain;
  private final RootGenerationStore roots;
  private final LiveKeyring keyring;
  private final GrantLedger ledger;
  private final Clock clock;
  private final Duration dbWait;
  private final AdmissionObserver observer;
  private final Executor workers;

  /**
   * Version-level keys per (generation, app, version): 1024 triples, 10 minutes (see
   * VersionKeyCache).
   */
  private final VersionKeyCache versionKeys = new VersionKeyCache(1024, Duration.ofMinutes(10));

  /** The version-level key cache (its hit and miss counts are exported as metrics). */
  public VersionKeyCache versionKeys() {
    return versionKeys;
  }

  public AdmissionController(
      StateSessions sessions,
      LocalAttestationPolicy local,
      AppPolicyPort chain,
      RootGenerationStore roots,
      LiveKeyring keyring,
      GrantLedger ledger,
      Clock clock,
      Duration dbWait,
      AdmissionObserver observer) {
    this(
        sessions,
        local,
        chain,
        roots,
        keyring,
        ledger,
        clock,
        dbWait,
        observer,
        Infrastructure.getDefaultWorkerPool());
  }

  /**
   * @param workers where the blocking and CPU-heavy steps run (the chain read, derivation,
   *     issuance)
   */
  public AdmissionController(
      StateSessions sessions,
      LocalAttestationPolicy local,
      AppPolicyPort chain,
      RootGenerationStore roots,
      LiveKeyring keyring,
      GrantLedger ledger,
      Clock clock,
      Duration dbWait,
      AdmissionObserver observer,
      Executor workers) {
    this.workers = workers;
    this.sessions = sessions;
    this.local = local;
    this.chain = chain;
    this.roots = roots;
    this.keyring = keyring;
    this.ledger = ledger;
    this.clock = clock;
    this.dbWait = dbWait;
    this.observer = observer;
  }

  /**
   * @param requestedVersions empty = every served version
   * @return the grant; fails with {@link AdmissionDenied} (the reason) when nothing was released
   */
  public Uni<AppKeysGrant> grantAppKeys(AttestedPeer peer, List<Integer> requestedVersions) {
    return grantAppKeys(peer, requestedVersions, new byte[0]);
  }

  /**
   * @param requestedVersions empty = every served version
   * @param clientNonce the request's {@code client_nonce} (at most 64 bytes, else REQUEST_INVALID,
   *     checked first), echoed as hex into the grant's or the denial's audit entry ({@link
   *     ClientNonce})
   * @return the grant; fails with {@link AdmissionDenied} (the reason) when nothing was released
   */
  public Uni<AppKeysGrant> grantAppKeys(
      AttestedPeer peer, List<Integer> requestedVersions, byte[] clientNonce) {
    long start = System.nanoTime();
    ClientNonce nonce;
    try {
      nonce = ClientNonce.of(clientNonce);
    } catch (AdmissionDenied invalid) {
      return Uni.createFrom()
          .<AppKeysGrant>failure(invalid)
          .onFailure(AdmissionDenied.class)
          .call(e -> refused("DENY_APP_KEYS", peer, invalid, ClientNonce.NONE, start));
    }
    return Uni.createFrom()
        .deferred(() -> decideAndRelease(peer, requestedVersions, nonce))
        .onItem()
        .invoke(() -> observer.admitted(Duration.ofNanos(System.nanoTime() - start)))
        .onFailure(AdmissionDenied.class)
        .call(e -> refused("DENY_APP_KEYS", peer, (AdmissionDenied) e, nonce, start));
  }

  /**
   * The outcome of steps 1-4 for an admitted peer: its app's key-version state, the served
   * versions, the deriver.
   */
  record Admitted(
      AppKeyState state,
      List<AppKeyState.KeyVersion> served,
      KmsKeyDeriver deriver,
      PolicyBlockRef block,
      ChainRootAnchor anchor) {}

  /**
   * Steps 1-6 without releasing anything: local policy, on-chain policy, GPU, root anchor,
   * key-version sync. A refusal after the chain was read carries the pinned block ({@link
   * AdmissionDenied#block}).
   */
  Uni<Admitted> admit(AttestedPeer peer) {
    // Steps 1-3 on a worker: the chain read may wait on RPC endpoints.
    return Uni.createFrom()
        .item(
            () -> {
              local.checkPeer(peer);
              LocalAttestationPolicy.checkGpuEvidence(peer);
              LocalAttestationPolicy.checkGpuDevicesUnchanged(peer);
              return readChain(peer);
            })
        .runSubscriptionOn(workers)
        .chain(
            verdict ->
                atBlock(Uni.createFrom().deferred(() -> admitAt(peer, verdict)), verdict.block()));
  }

  /** Steps 3-6 once the chain was read at the verdict's block. */
  private Uni<Admitted> admitAt(AttestedPeer peer, AppPolicyVerdict verdict) {
    String at = verdict.block().map(b -> " at " + b).orElse("");
    switch (verdict.outcome()) {
      case UNAVAILABLE ->
          throw new AdmissionDenied(
              DenyCode.CHAIN_UNAVAILABLE, "on-chain policy unreadable: " + verdict.reason());
      case DENIED -> {
        DenyCode code = verdict.denyCode().orElseThrow();
        String detail =
            code == DenyCode.OS_IMAGE_MEASUREMENT_MISMATCH
                ? verdict.reason() + ": " + peer.os().mismatch(peer.osImageHash())
                : verdict.reason();
        throw new AdmissionDenied(code, detail + " (app 0x" + peer.appHex() + at + ")");
      }
      case ALLOWED -> {}
    }
    PolicyBlockRef block = verdict.block().orElseThrow();
    LocalAttestationPolicy.checkGpu(peer, verdict.gpu());
    ChainRootAnchor anchor =
        verdict
            .rootAnchor()
            .orElseThrow(
                () ->
                    new AdmissionDenied(
                        DenyCode.CHAIN_UNAVAILABLE,
                        "the chain's root-generation anchor was not read with the policy" + at));
    return readState(app(peer))
        .chain(
            read -> {
              checkAnchor(anchor, read.generations(), at);
              return syncKeyVersions(app(peer), verdict, read.state())
                  .chain(
                      state ->
                          deriver(anchor, read.generations(), at)
                              .map(d -> admitted(state, d, block, anchor)));
            });
  }

  private static Admitted admitted(
      AppKeyState state, KmsKeyDeriver deriver, PolicyBlockRef block, ChainRootAnchor anchor) {
    Set<Integer> live =
        deriver.keyring().generations().entrySet().stream()
            .filter(e -> e.getValue() != RootKeyring.GenerationState.DESTROYED)
            .map(Map.Entry::getKey)
            .filter(g -> anchor.refusal(g).isEmpty())
            .collect(Collectors.toSet());
    List<AppKeyState.KeyVersion> served =
        state.servedVersions().stream().filter(v -> live.contains(v.rootGeneration())).toList();
    return new Admitted(state, served, deriver, block, anchor);
  }

  /**
   * What steps 5 and 6 read from the database, in one session (one round of set-up). Its two
   * statements (the root generations; the app's state with its versions) each read committed data,
   * not one snapshot: a rotation committing between them can only leave a version whose generation
   * is not in the list, which step 6 then does not serve.
   */
  private record StateRead(List<RootGeneration> generations, Optional<AppKeyState> state) {}

  private Uni<StateRead> readState(org.teekms.keys.AppId appId) {
    return db(sessions.read(
            session ->
                roots
                    .list(session)
                    .chain(
                        generations ->
                            AppKeyStateStore.read(session, appId)
                                .map(state -> new StateRead(generations, state)))))
        .onFailure()
        .transform(
            e ->
                new AdmissionDenied(
                    DenyCode.KMS_UNAVAILABLE,
                    "root generations and key-version state unavailable: " + rootMessage(e)));
  }

  /** Step 5: the database's root generations must not contradict the chain's anchor. */
  private static void checkAnchor(
      ChainRootAnchor anchor, List<RootGeneration> generations, String at) {
    try {
      anchor.checkDatabase(generations);
    } catch (RootAnchorViolation v) {
      throw new AdmissionDenied(DenyCode.ROOT_ANCHOR_MISMATCH, v.getMessage() + at);
    }
  }

  private Uni<AppKeysGrant> decideAndRelease(
      AttestedPeer peer, List<Integer> requested, ClientNonce nonce) {
    if (requested.stream().anyMatch(v -> v == null || v < 1) || requested.size() > 64) {
      throw new AdmissionDenied(
          DenyCode.REQUEST_INVALID, "key versions must be >= 1, at most 64 of them");
    }
    // Derivation is CPU work: on a worker, not on the event loop the database answered on.
    return admit(peer)
        .emitOn(workers)
        .chain(
            admitted ->
                atBlock(
                    Uni.createFrom()
                        .item(() -> derive(peer, requested, nonce, admitted))
                        .chain(
                            released ->
                                db(ledger.recordGrant(released.grant()))
                                    .onFailure()
                                    .transform(
                                        e -> {
                                          released.keys().forEach(ReleasedAppKeys::destroy);
                                          return new AdmissionDenied(
                                              DenyCode.KMS_UNAVAILABLE,
                                              "the grant could not be recorded in the audit "
                                                  + "log, so no key is released: "
                                                  + rootMessage(e));
                                        })
                                    .map(
                                        entry ->
                                            new AppKeysGrant(
                                                released.grant().grantId(),
                                                peer.appId(),
                                                peer.instanceId(),
                                                released.state().currentVersion(),
                                                released.state().minVersion(),
                                                released.keys(),
                                                released.grant().policyBlock()))),
                    Optional.of(admitted.block())));
  }

  /**
   * Derived keys and the grant that will record them; the keys are destroyed by whoever drops them.
   */
  private record Derived(AppKeyState state, List<ReleasedAppKeys> keys, Grant grant) {}

  /**
   * Step 7 up to the grant: chooses the versions, derives their keys (zeroized if anything is
   * refused).
   */
  private Derived derive(
      AttestedPeer peer, List<Integer> requested, ClientNonce nonce, Admitted admitted) {
    AppKeyState state = admitted.state();
    List<AppKeyState.KeyVersion> served = admitted.served();
    KmsKeyDeriver deriver = admitted.deriver();
    PolicyBlockRef block = admitted.block();
    List<AppKeyState.KeyVersion> chosen;
    if (requested.isEmpty()) {
      chosen = served;
    } else {
      chosen = new ArrayList<>();
      for (int v : requested.stream().distinct().sorted().toList()) {
        java.util.Optional<AppKeyState.KeyVersion> known =
            state.servedVersions().stream().filter(s -> s.version() == v).findFirst();
        if (known.isPresent()) {
          admitted
              .anchor()
              .refusal(known.get().rootGeneration())
              .ifPresent(
                  why -> {
                    throw new AdmissionDenied(
                        DenyCode.ROOT_ANCHOR_MISMATCH, "key version " + v + ": " + why);
                  });
        }
        chosen.add(
            served.stream()
                .filter(s -> s.version() == v)
                .findFirst()
                .orElseThrow(
                    () ->
                        new AdmissionDenied(
                            DenyCode.KEY_VERSION_NOT_SERVED,
                            "key version "
                                + v
                                + " is not served; served: "
                                + served.stream().map(AppKeyState.KeyVersion::version).toList()
                                + " (current "
                                + state.currentVersion()
                                + ", minimum "
                                + state.minVersion()
                                + ")")));
      }
    }
    if (chosen.isEmpty()) {
      throw new AdmissionDenied(
          DenyCode.KEY_VERSION_NOT_SERVED,
          "no key version of this app is served (current "
              + state.currentVersion()
              + ", minimum "
              + state.minVersion()
              + ")");
    }

    KeyVersionPolicy policy =
        new KeyVersionPolicy(state.currentVersion(), state.minVersion(), Set.of());
    List<ReleasedAppKeys> keys = new ArrayList<>();
    try {
      for (AppKeyState.KeyVersion v : chosen) {
        keys.add(versionKeys.issue(deriver, v.of(app(peer)), instance(peer), policy));
      }
    } catch (KeyRefusedException refused) {
      keys.forEach(ReleasedAppKeys::destroy);
      throw new AdmissionDenied(DenyCode.KEY_VERSION_NOT_SERVED, refused.getMessage());
    }

    Map<String, String> details = new LinkedHashMap<>();
    details.put("composeHash", peer.composeHash().hex());
    details.put("tcbStatus", peer.tcbStatus().name());
    details.put("gpuCount", String.valueOf(peer.gpuCount()));
    details.put("gpuDevices", gpuDevices(peer));
    nonce.hex().ifPresent(n -> details.put(ClientNonce.AUDIT_KEY, n));
    Grant grant =
        new Grant(
            UUID.randomUUID(),
            Grant.Kind.APP_KEYS,
            Optional.of(peer.appId()),
            peer.instanceId(),
            chosen.stream().map(AppKeyState.KeyVersion::version).toList(),
            chosen.get(chosen.size() - 1).rootGeneration(),
            block,
            details);
    return new Derived(state, keys, grant);
  }

  /**
   * SignCert: the same admission as GetAppKeys, then a short-lived TLS certificate under the app CA
   * of the current key version for the CSR's key; recorded as a grant (and audited) before it is
   * returned.
   */
  public Uni<SignedCertificate> signCertificate(
      AttestedPeer peer,
      byte[] csrDer,
      List<String> dnsNames,
      int validitySeconds,
      boolean clientAuth) {
    long start = System.nanoTime();
    return Uni.createFrom()
        .deferred(
            () -> {
              try {
                TlsCertificateIssuer.checkRequest(csrDer, dnsNames, validitySeconds);
              } catch (TlsCertificateIssuer.BadCertificateRequest bad) {
                throw new AdmissionDenied(DenyCode.REQUEST_INVALID, bad.getMessage());
              }
              return admit(peer);
            })
        .emitOn(workers)
        .chain(
            admitted ->
                atBlock(
                    Uni.createFrom()
                        .item(
                            () ->
                                issueCertificate(
                                    peer, csrDer, dnsNames, validitySeconds, clientAuth, admitted))
                        .chain(
                            signed ->
                                db(ledger.recordGrant(signed.grant()))
                                    .onFailure()
                                    .transform(
                                        e ->
                                            new AdmissionDenied(
                                                DenyCode.KMS_UNAVAILABLE,
                                                "the issuance could not "
                                                    + "be recorded in the audit log, so no certificate is returned: "
                                                    + rootMessage(e)))
                                    .replaceWith(signed)),
                    Optional.of(admitted.block())))
        .onItem()
        .invoke(() -> observer.admitted(Duration.ofNanos(System.nanoTime() - start)))
        .onFailure(AdmissionDenied.class)
        .call(e -> refused("DENY_SIGN_CERT", peer, (AdmissionDenied) e, ClientNonce.NONE, start));
  }

  /** The certificate under the current key version's app CA, and the grant that will record it. */
  private SignedCertificate issueCertificate(
      AttestedPeer peer,
      byte[] csrDer,
      List<String> dnsNames,
      int validitySeconds,
      boolean clientAuth,
      Admitted admitted) {
    AppKeyState state = admitted.state();
    AppKeyState.KeyVersion current =
        admitted.served().stream()
            .filter(v -> v.version() == state.currentVersion())
            .findFirst()
            .orElseThrow(
                () ->
                    new AdmissionDenied(
                        DenyCode.KEY_VERSION_NOT_SERVED,
                        "the current key version " + state.currentVersion() + " is not served"));
    TlsCertificateIssuer.Issued issued =
        TlsCertificateIssuer.issue(
            admitted.deriver(),
            current.of(app(peer)),
            instance(peer),
            new KeyVersionPolicy(state.currentVersion(), state.minVersion(), Set.of()),
            csrDer,
            dnsNames,
            validitySeconds,
            clientAuth,
            clock);
    Grant grant =
        new Grant(
            UUID.randomUUID(),
            Grant.Kind.SIGN_CERT,
            Optional.of(peer.appId()),
            peer.instanceId(),
            List.of(current.version()),
            current.rootGeneration(),
            admitted.block(),
            Map.of(
                "certificateSha256",
                issued.certificateSha256Hex(),
                "serial",
                issued.serialHex(),
                "dnsNames",
                String.join(",", dnsNames),
                "composeHash",
                peer.composeHash().hex()));
    return new SignedCertificate(grant.grantId(), issued, grant);
  }

  /** A certificate issued by SignCert and the grant recording it. */
  public record SignedCertificate(UUID grantId, TlsCertificateIssuer.Issued issued, Grant grant) {}

  private AppPolicyVerdict readChain(AttestedPeer peer) {
    long t = System.nanoTime();
    try {
      return chain.check(peer);
    } catch (RuntimeException e) {
      return AppPolicyVerdict.unavailable("policy reader failed: " + rootMessage(e));
    } finally {
      observer.chainRead(Duration.ofNanos(System.nanoTime() - t));
    }
  }

  private Uni<AppKeyState> syncKeyVersions(
      org.teekms.keys.AppId appId, AppPolicyVerdict verdict, Optional<AppKeyState> known) {
    // Common case: the app is already where the chain says (read without locking, with the root
    // generations); only an advance takes the row lock, so concurrent admissions of one app do not
    // queue behind each other.
    if (known.isPresent()
        && known.get().currentVersion() >= verdict.currentKeyVersion()
        && known.get().minVersion()
            >= Math.min(verdict.minKeyVersion(), known.get().currentVersion())) {
      return Uni.createFrom().item(known.get());
    }
    long now = clock.millis();
    return db(sessions
            .inTransaction(
                tx ->
                    roots
                        .current(tx)
                        .onItem()
                        .transformToUni(
                            current -> {
                              if (current.isEmpty()) {
                                throw new IllegalStateException(
                                    "the KMS has no CURRENT root generation (not bootstrapped)");
                              }
                              return AppKeyStateStore.advance(
                                  tx,
                                  appId,
                                  verdict.currentKeyVersion(),
                                  verdict.minKeyVersion(),
                                  current.get().generation(),
                                  now);
                            }))
            .map(AppKeyStateStore.Advance::after))
        .onFailure()
        .transform(
            e ->
                new AdmissionDenied(
                    DenyCode.KMS_UNAVAILABLE, "key-version state unavailable: " + rootMessage(e)));
  }

  private Uni<KmsKeyDeriver> deriver(
      ChainRootAnchor anchor, List<RootGeneration> generations, String at) {
    return db(keyring.derive(anchor, generations))
        .onFailure()
        .transform(
            e ->
                e instanceof RootAnchorViolation v
                    ? new AdmissionDenied(DenyCode.ROOT_ANCHOR_MISMATCH, v.getMessage() + at)
                    : new AdmissionDenied(
                        DenyCode.KMS_UNAVAILABLE, "root keys unavailable: " + rootMessage(e)));
  }

  /**
   * Counts a refusal and audits it; completes (never fails) once the audit write is done or has
   * failed.
   */
  private Uni<Void> refused(
      String kind, AttestedPeer peer, AdmissionDenied denied, ClientNonce nonce, long start) {
    observer.denied(denied.code(), Duration.ofNanos(System.nanoTime() - start));
    return auditDenial(kind, peer, denied, nonce);
  }

  /**
   * Audits a refusal; completes (never fails) once the write is done or has failed: the refusal
   * stands either way.
   */
  private Uni<Void> auditDenial(
      String kind, AttestedPeer peer, AdmissionDenied denied, ClientNonce nonce) {
    Map<String, Object> facts = new LinkedHashMap<>();
    facts.put("detail", denied.detail());
    facts.put("composeHash", peer.composeHash().hex());
    facts.put("instanceId", peer.instanceId().hex());
    facts.put("tcbStatus", peer.tcbStatus().name());
    facts.put("debug", peer.debug());
    facts.put("osImageHash", peer.osImageHash().hex());
    facts.put("mrSystem", peer.os().mrSystemHex());
    if (!peer.gpus().gpus().isEmpty()) {
      facts.put("gpuCount", peer.gpuCount());
      facts.put("gpuDevices", gpuDevices(peer));
    }
    denied
        .block()
        .ifPresent(
            b -> {
              facts.put("policyBlock", b.number());
              facts.put("chainId", b.chainId());
            });
    nonce.hex().ifPresent(n -> facts.put(ClientNonce.AUDIT_KEY, n));
    return db(ledger.recordDenial(kind, peer.appId(), denied.code().name(), facts))
        .onFailure()
        .invoke(
            e ->
                LOG.warnf(
                    "denial of app 0x%s (%s) could not be audited: %s",
                    peer.appHex(), denied.code(), rootMessage(e)))
        .onFailure()
        .recoverWithNull()
        .replaceWithVoid();
  }

  /**
   * A refusal from {@code step} carries {@code block}, the block the policy was read at (when it
   * has none yet).
   */
  private static <T> Uni<T> atBlock(Uni<T> step, Optional<PolicyBlockRef> block) {
    return step.onFailure(AdmissionDenied.class).transform(e -> ((AdmissionDenied) e).at(block));
  }

  /**
   * Bounds a database step by {@code dbWait}: a stalled database is a refusal (KMS_UNAVAILABLE),
   * not a hung call. As with a blocking wait, a late commit is not undone: a grant recorded after
   * its caller gave up releases nothing.
   */
  private <T> Uni<T> db(Uni<T> step) {
    return step.ifNoItem()
        .after(dbWait)
        .failWith(
            () ->
                new java.util.concurrent.TimeoutException(
                    "the database did not answer within " + dbWait));
  }

  private static org.teekms.keys.AppId app(AttestedPeer peer) {
    return peer.appId();
  }

  private static Optional<org.teekms.keys.InstanceId> instance(AttestedPeer peer) {
    Bytes id = peer.instanceId();
    return id.isEmpty()
        ? Optional.empty()
        : Optional.of(org.teekms.keys.InstanceId.of(id.toByteArray()));
  }

  /**
   * The attested GPUs' device ids (SHA-256 of each device-identity certificate), comma-separated,
   * evidence order.
   */
  static String gpuDevices(AttestedPeer peer) {
    return peer.gpus().gpus().stream().map(GpuFacts.Gpu::deviceId).collect(Collectors.joining(","));
  }

  static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    String m = t.getMessage();
    return t.getClass().getSimpleName() + (m == null ? "" : ": " + m);
  }
}
