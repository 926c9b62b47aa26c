package org.teekms.kms.status;

import com.google.protobuf.ByteString;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import java.io.ByteArrayInputStream;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.teekms.attest.tdx.collateral.CachingCollateralSource;
import org.teekms.crypto.Digests;
import org.teekms.governance.ChainPolicyReader;
import org.teekms.keys.DerivedKey;
import org.teekms.keys.KmsKeyDeriver;
import org.teekms.kms.adapters.GovernanceAppPolicy;
import org.teekms.kms.admission.AppPolicyPort;
import org.teekms.kms.audit.AuditLog;
import org.teekms.kms.keys.KmsCertificateAuthority;
import org.teekms.kms.keys.LiveKeyring;
import org.teekms.kms.roots.RootGeneration;
import org.teekms.kms.roots.RootGenerationStore;
import org.teekms.kms.roots.RootState;
import org.teekms.kms.rotation.RotationJob;
import org.teekms.kms.rotation.RotationJobs;
import org.teekms.kms.tls.RaTlsSetup;
import org.teekms.kms.wiring.KmsConfig;
import org.teekms.proto.AuditChainStatus;
import org.teekms.proto.CertificateStatus;
import org.teekms.proto.ChainStatus;
import org.teekms.proto.ClockStatus;
import org.teekms.proto.CollateralStatus;
import org.teekms.proto.DatabaseStatus;
import org.teekms.proto.GenerationStatus;
import org.teekms.proto.KmsStatus;
import org.teekms.proto.ReplicaPeer;
import org.teekms.proto.ReplicaStatus;
import org.teekms.proto.RotationJobSummary;
import org.teekms.proto.RpcEndpointStatus;

/**
 * Assembles this node's operator status (teekms.v1.KmsInfoService/GetKmsStatus, {@code teekms kms
 * status}). Every part is read on its own and a part that cannot be read says so in its own field
 * (a down database shows as {@code database.up = false}, not as a failed call), so the status
 * answers exactly when something is wrong. Nothing secret leaves: no key material, no quote, no RPC
 * URL path or query (provider API keys), no database URL.
 */
public final class NodeStatus {

  private final KmsConfig config;
  private final Pool pool;
  private final RootGenerationStore roots;
  private final LiveKeyring keyring;
  private final RaTlsSetup ratls;
  private final ChainHealth chain;
  private final AppPolicyPort policy;
  private final AuditLog audit;
  private final RotationJobs jobs;
  private final ClockSkewProbe skew;
  private final Clock clock;

  public NodeStatus(
      KmsConfig config,
      Pool pool,
      RootGenerationStore roots,
      LiveKeyring keyring,
      RaTlsSetup ratls,
      ChainHealth chain,
      AppPolicyPort policy,
      AuditLog audit,
      RotationJobs jobs,
      ClockSkewProbe skew,
      Clock clock) {
    this.config = config;
    this.pool = pool;
    this.roots = roots;
    this.keyring = keyring;
    this.ratls = ratls;
    this.chain = chain;
    this.policy = policy;
    this.audit = audit;
    this.jobs = jobs;
    this.skew = skew;
    this.clock = clock;
  }

  /**
   * The status now; {@code verifyAuditChain} recomputes the whole audit chain (reads every entry).
   */
  public Uni<KmsStatus> read(boolean verifyAuditChain) {
    KmsStatus.Builder b =
        KmsStatus.newBuilder()
            .setKmsId(config.kmsId())
            .setNodeId(config.nodeId().orElse(""))
            .setVersion(version())
            .setSimulated(config.simulator().enabled())
            .setNow(clock.millis())
            .setTrustConfigurationDigest(
                ByteString.copyFrom(
                    HexFormat.of().parseHex(ratls.trustConfiguration().digestHex())))
            .setCollateral(collateral())
            .setCertificate(certificate());
    return database()
        .invoke(b::setDatabase)
        .chain(() -> generations(b))
        .chain(() -> audit(verifyAuditChain))
        .invoke(b::setAudit)
        .chain(this::rotationJobs)
        .invoke(b::addAllRotationJobs)
        .chain(this::replicas)
        .invoke(b::setReplicas)
        // Chain probes block (HTTP to the providers, bounded by their timeout): on a worker, never
        // the event loop.
        .emitOn(Infrastructure.getDefaultWorkerPool())
        .map(x -> b.setChain(chainStatus()).setClock(clockStatus()).build());
  }

  /** This node's clock against the chain's latest block (blocks on the chain when stale). */
  private ClockStatus clockStatus() {
    ClockSkewProbe.Reading r = skew.read();
    ClockStatus.Builder c =
        ClockStatus.newBuilder()
            .setKnown(r.known())
            .setAllowanceMs(r.allowance().toMillis())
            .setWithinAllowance(r.withinAllowance())
            .setProblem(r.problem())
            .setMeasuredAt(r.measuredAt().toEpochMilli());
    r.head()
        .ifPresent(
            h ->
                c.setChainTime(h.timestamp().toEpochMilli())
                    .setChainBlock(h.number())
                    .setSkewMs(r.skew().toMillis()));
    return c.build();
  }

  private Uni<DatabaseStatus> database() {
    long start = System.nanoTime();
    return org.teekms.kms.db.PoolQueries.query(pool, "SELECT 1")
        .map(
            rows ->
                DatabaseStatus.newBuilder()
                    .setUp(true)
                    .setLatencyMs((System.nanoTime() - start) / 1_000_000)
                    .build())
        .onFailure()
        .recoverWithItem(
            e ->
                DatabaseStatus.newBuilder()
                    .setUp(false)
                    .setError("database unreachable: " + oneLine(e))
                    .build());
  }

  /**
   * Every generation's state; for live ones the root address and the KMS CA certificate's digest
   * and expiry.
   */
  private Uni<Void> generations(KmsStatus.Builder b) {
    return roots
        .list()
        .chain(
            list ->
                keyring
                    .derive(null)
                    .emitOn(Infrastructure.getDefaultWorkerPool())
                    .map(
                        deriver -> {
                          b.setCurrentGeneration(deriver.keyring().currentGeneration());
                          for (RootGeneration g : list) {
                            b.addGenerations(generation(deriver, g));
                          }
                          return (Void) null;
                        }))
        .onFailure()
        .recoverWithItem(e -> null); // the database part says why
  }

  private static GenerationStatus generation(KmsKeyDeriver deriver, RootGeneration g) {
    GenerationStatus.Builder s =
        GenerationStatus.newBuilder()
            .setGeneration(g.generation())
            .setState(g.state().name())
            .setCreatedAt(g.createdAt());
    if (g.state() != RootState.CURRENT && g.state() != RootState.RETIRED) {
      return s.build();
    }
    try (DerivedKey root = deriver.kmsRootKey(g.generation());
        DerivedKey ca = deriver.kmsCaKey(g.generation())) {
      byte[] der = KmsCertificateAuthority.kmsCaCertificate(ca, root.ethereumAddress().toString());
      s.setRootAddress(ByteString.copyFrom(root.ethereumAddress().toBytes()))
          .setCaCertificateSha256(ByteString.copyFrom(Digests.sha256(der)));
      parse(der).ifPresent(c -> s.setCaNotAfter(c.getNotAfter().getTime()));
    }
    return s.build();
  }

  private Uni<AuditChainStatus> audit(boolean verify) {
    Uni<AuditChainStatus.Builder> head =
        org.teekms.kms.db.PoolQueries.query(pool, "SELECT seq, entry_hash FROM audit_head")
            .map(
                rows -> {
                  Row r = rows.iterator().next();
                  return AuditChainStatus.newBuilder()
                      .setReadable(true)
                      .setHeadSeq(r.getLong("seq"))
                      .setHeadHash(ByteString.copyFrom(r.getBuffer("entry_hash").getBytes()));
                });
    Uni<AuditChainStatus.Builder> checked =
        !verify
            ? head
            : head.chain(
                h ->
                    audit
                        .verify()
                        .map(
                            v ->
                                h.setVerified(true)
                                    .setValid(v.valid())
                                    .setEntriesChecked(v.entriesChecked())
                                    .setProblem(v.failure().orElse(""))));
    return checked
        .map(AuditChainStatus.Builder::build)
        .onFailure()
        .recoverWithItem(
            e ->
                AuditChainStatus.newBuilder()
                    .setReadable(false)
                    .setProblem("audit log unreadable: " + oneLine(e))
                    .build());
  }

  private Uni<List<RotationJobSummary>> rotationJobs() {
    return jobs.unfinished(null)
        .map(list -> list.stream().map(NodeStatus::job).toList())
        .onFailure()
        .recoverWithItem(e -> List.of());
  }

  private static RotationJobSummary job(RotationJob j) {
    RotationJobSummary.Builder s =
        RotationJobSummary.newBuilder()
            .setJobId(j.jobId().toString())
            .setKind(j.kind().name())
            .setState(j.state().name())
            .setAttempts(j.attempts())
            .setLastError(j.lastError().orElse(""))
            .setCreatedAt(j.createdAt())
            .setUpdatedAt(j.updatedAt());
    j.appId().ifPresent(a -> s.setAppId(ByteString.copyFrom(a.toBytes())));
    j.fromGeneration().ifPresent(s::setFromGeneration);
    j.targetGeneration().ifPresent(s::setTargetGeneration);
    j.targetVersion().ifPresent(s::setTargetVersion);
    return s.build();
  }

  /**
   * Replicas sharing this database, told apart by their sealing keys (each seals its own copy of
   * every generation).
   */
  private Uni<ReplicaStatus> replicas() {
    ReplicaStatus.Builder r =
        ReplicaStatus.newBuilder().setOnboardingSource(config.onboarding().source().orElse(""));
    return roots
        .missingCopies()
        .invoke(r::addAllMissingCopies)
        .chain(roots::copyHolders)
        .map(
            holders -> {
              for (RootGenerationStore.CopyHolder h : holders) {
                r.addPeers(
                    ReplicaPeer.newBuilder()
                        .setNodeId(Optional.ofNullable(h.nodeId()).orElse(""))
                        .setSealingKeyId(h.sealingKeyId())
                        .setSealedGenerations(h.copies())
                        .setLastSealedAt(h.lastSealedAt())
                        .setThisNode(h.sealingKeyId().equals(roots.sealingKeyId())));
              }
              return r.build();
            })
        .onFailure()
        .recoverWithItem(e -> r.build());
  }

  private CollateralStatus collateral() {
    Optional<CachingCollateralSource.State> state = ratls.collateralState();
    if (state.isEmpty()) {
      return CollateralStatus.newBuilder().setCached(false).build();
    }
    CachingCollateralSource.State s = state.get();
    CollateralStatus.Builder c =
        CollateralStatus.newBuilder()
            .setCached(true)
            .setEntries(s.entries())
            .setMaxAgeSeconds(
                ratls.collateralMaxAge().map(java.time.Duration::toSeconds).orElse(0L));
    s.oldestFetch().ifPresent(t -> c.setOldestFetchedAt(t.toEpochMilli()));
    s.earliestExpiry().ifPresent(t -> c.setEarliestExpiry(t.toEpochMilli()));
    s.earliestNextUpdate().ifPresent(t -> c.setEarliestNextUpdate(t.toEpochMilli()));
    return c.build();
  }

  private CertificateStatus certificate() {
    X509Certificate c = ratls.certificate();
    CertificateStatus.Builder s =
        CertificateStatus.newBuilder()
            .setNotBefore(c.getNotBefore().getTime())
            .setNotAfter(c.getNotAfter().getTime());
    try {
      s.setSha256(ByteString.copyFrom(Digests.sha256(c.getEncoded())));
    } catch (CertificateEncodingException e) {
      // the dates still tell what an operator needs
    }
    return s.build();
  }

  private ChainStatus chainStatus() {
    ChainHealth.State s = chain.state();
    KmsConfig.Chain c = config.chain();
    ChainStatus.Builder b =
        ChainStatus.newBuilder()
            .setConfigured(s.configured())
            .setChainId(c.chainId())
            .setQuorum(s.quorum())
            .setConfirmations(c.confirmations())
            .setEndpointsUp((int) s.up());
    c.registryAddress()
        .ifPresent(
            a -> {
              try {
                b.setRegistryAddress(
                    ByteString.copyFrom(
                        HexFormat.of().parseHex(a.startsWith("0x") ? a.substring(2) : a)));
              } catch (IllegalArgumentException e) {
                // startup refuses a malformed registry address; nothing to show
              }
            });
    for (ChainHealth.EndpointState e : s.endpoints()) {
      b.addEndpoints(
          RpcEndpointStatus.newBuilder()
              .setEndpoint(e.endpoint())
              .setUp(e.up())
              .setHead(e.head())
              .setError(e.error()));
    }
    if (policy instanceof GovernanceAppPolicy g) {
      g.lastPinned()
          .ifPresent(
              (ChainPolicyReader.PinnedBlock p) ->
                  b.setPinnedBlock(p.number())
                      .setPinnedBlockHash(p.hash())
                      .setPinnedBlockTime(p.timestamp() * 1000));
    }
    return b.build();
  }

  private static Optional<X509Certificate> parse(byte[] der) {
    try {
      return Optional.of(
          (X509Certificate)
              CertificateFactory.getInstance("X.509")
                  .generateCertificate(new ByteArrayInputStream(der)));
    } catch (Exception e) {
      return Optional.empty();
    }
  }

  private static String oneLine(Throwable e) {
    String m = e.getMessage();
    return (m == null ? e.getClass().getSimpleName() : m).lines().findFirst().orElse("");
  }

  private static String version() {
    String v = NodeStatus.class.getPackage().getImplementationVersion();
    return v == null ? "dev" : v;
  }
}
