package org.teekms.kms.wiring;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.configuration.ConfigUtils;
import io.vertx.mutiny.sqlclient.Pool;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.hibernate.reactive.mutiny.Mutiny;
import org.jboss.logging.Logger;
import org.teekms.attest.provider.ConfigfsTsmQuoteProvider;
import org.teekms.attest.provider.RtmrExtender;
import org.teekms.attest.provider.SysfsRtmrExtender;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.TcbStatus;
import org.teekms.attest.tdx.collateral.CachingCollateralSource;
import org.teekms.attest.tdx.collateral.PcsCollateralClient;
import org.teekms.governance.ChainClient;
import org.teekms.governance.ChainPolicyReader;
import org.teekms.governance.PolicyReaderConfig;
import org.teekms.kms.adapters.GovernanceAppPolicy;
import org.teekms.kms.admission.AdmissionController;
import org.teekms.kms.admission.AdmissionObserver;
import org.teekms.kms.admission.AppPolicyPort;
import org.teekms.kms.admission.LocalAttestationPolicy;
import org.teekms.kms.audit.AuditLog;
import org.teekms.kms.db.StateSessions;
import org.teekms.kms.grant.GrantLedger;
import org.teekms.kms.keys.LiveKeyring;
import org.teekms.kms.keystate.ChainRotationSchedule;
import org.teekms.kms.keystate.RotationScheduleReader;
import org.teekms.kms.metrics.AttestationMetrics;
import org.teekms.kms.onboarding.KmsPolicyPort;
import org.teekms.kms.onboarding.OnboardingController;
import org.teekms.kms.operator.ChainRegistryOwner;
import org.teekms.kms.operator.OperatorAuthorizer;
import org.teekms.kms.operator.RegistryOwnerPort;
import org.teekms.kms.operator.RotationControl;
import org.teekms.kms.roots.RootGenerationStore;
import org.teekms.kms.rotation.RotationJobs;
import org.teekms.kms.rotation.RotationWorker;
import org.teekms.kms.rotation.StepHook;
import org.teekms.kms.seal.FileSealingKeyProvider;
import org.teekms.kms.seal.LocalKeyProviderSealingKeyProvider;
import org.teekms.kms.seal.SealingKey;
import org.teekms.kms.seal.SealingKeyProvider;
import org.teekms.kms.seal.SimulatorGuard;
import org.teekms.kms.tls.RaTlsSetup;

/**
 * Wires the plain classes into CDI. Logic lives in those classes; this only chooses and connects
 * them.
 */
@ApplicationScoped
public class KmsBeans {

  private static final Logger LOG = Logger.getLogger(KmsBeans.class);

  @Produces
  @Singleton
  Clock clock() {
    return Clock.systemUTC();
  }

  /** The kernel's configfs-tsm file operations (tests replace this bean with a fake TD's). */
  @Produces
  @Singleton
  ConfigfsTsmQuoteProvider.Io configfsTsm() {
    return ConfigfsTsmQuoteProvider.Io.FILES;
  }

  @Produces
  @Singleton
  SealingKeyProvider sealingKeyProvider(KmsConfig config) {
    String profile = String.join(",", ConfigUtils.getProfiles());
    SimulatorGuard.check(
        ConfigUtils.getProfiles().contains("prod") ? "prod" : profile,
        config.simulator().enabled(),
        config.sealing().provider());
    if (SimulatorGuard.FILE_PROVIDER.equals(config.sealing().provider())) {
      return new FileSealingKeyProvider(
          config.sealing().keyFile().orElse(config.dataDir().resolve("sealing.key")));
    }
    return localKeyProvider(config.sealing(), config.collateral().maxAge());
  }

  /**
   * Production: this TD's configfs-tsm quotes, the provider's SGX quote verified under Intel's root
   * with PCS collateral.
   */
  static LocalKeyProviderSealingKeyProvider localKeyProvider(
      KmsConfig.Sealing sealing, java.time.Duration collateralMaxAge) {
    String prefix = "teekms.sealing.provider=" + SimulatorGuard.LOCAL_SGX_PROVIDER + " needs ";
    String address =
        sealing
            .providerAddress()
            .orElseThrow(
                () ->
                    new IllegalStateException(
                        prefix
                            + "teekms.sealing.provider-address (host:port of the local key provider)"));
    String mrEnclave =
        sealing
            .providerMrenclave()
            .orElseThrow(
                () ->
                    new IllegalStateException(
                        prefix
                            + "teekms.sealing.provider-mrenclave (the provider enclave's MRENCLAVE, published with its release)"));
    Set<TcbStatus> accepted =
        sealing.providerAcceptedTcbStatuses().stream()
            .map(TcbStatus::parse)
            .collect(Collectors.toUnmodifiableSet());
    LocalKeyProviderSealingKeyProvider.Settings settings;
    try {
      settings =
          LocalKeyProviderSealingKeyProvider.Settings.parse(
              address, mrEnclave, sealing.providerTimeout(), accepted);
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException(e.getMessage(), e);
    }
    Clock clock = Clock.systemUTC();
    return new LocalKeyProviderSealingKeyProvider(
        settings,
        ConfigfsTsmQuoteProvider.tdx(),
        DcapQuoteVerifier.withIntelRoot(),
        new CachingCollateralSource(
            new PcsCollateralClient(sealing.collateralUrl()), clock, collateralMaxAge),
        clock,
        new SecureRandom());
  }

  /**
   * RTMR extension in a TD: the kernel's sysfs tsm-mr attributes (tests replace this bean with a
   * fake TD's).
   */
  @Produces
  @Singleton
  RtmrExtender rtmrExtender() {
    return SysfsRtmrExtender.tdx();
  }

  /**
   * The sealing key, asked for only after RA-TLS setup measured the trust configuration into RTMR3:
   * the provider derives the key from RTMR3, so a node with another configuration gets another key
   * (docs/sealing.md §1).
   */
  @Produces
  @Singleton
  SealingKey sealingKey(SealingKeyProvider provider, RaTlsSetup ratls) {
    LOG.infof(
        "sealing: %s (after trust configuration %s was measured)",
        provider.describe(), ratls.trustConfiguration().digestHex());
    return provider.sealingKey();
  }

  /**
   * Hibernate Reactive sessions over the datasource's reactive pool (Quarkus's session factory).
   */
  @Produces
  @Singleton
  StateSessions stateSessions(Mutiny.SessionFactory factory, io.vertx.core.Vertx vertx) {
    return new StateSessions(factory, vertx);
  }

  @Produces
  @Singleton
  AuditLog auditLog(Pool pool, StateSessions sessions, Clock clock) {
    return new AuditLog(pool, sessions, clock);
  }

  @Produces
  @Singleton
  org.teekms.kms.audit.AuditChainVerifier auditChainVerifier(
      AuditLog audit, Clock clock, KmsConfig config) {
    return new org.teekms.kms.audit.AuditChainVerifier(
        audit, clock, config.audit().fullVerifyInterval());
  }

  @Produces
  @Singleton
  GrantLedger grantLedger(
      Pool pool,
      AuditLog audit,
      Clock clock,
      KmsConfig config,
      io.micrometer.core.instrument.MeterRegistry registry) {
    GrantLedger ledger = new GrantLedger(audit, clock, config.audit().refusalBacklog());
    for (String result : List.of("queued", "appended", "dropped")) {
      io.micrometer.core.instrument.FunctionCounter.builder(
              "teekms.audit.refusal.backlog",
              ledger,
              l ->
                  switch (result) {
                    case "queued" -> l.backlogQueued();
                    case "appended" -> l.backlogAppended();
                    default -> l.backlogDropped();
                  })
          .tag("result", result)
          .description(
              "Refusals whose audit entry could not be written at once (database unreachable): kept "
                  + "in the in-memory backlog, appended from it later, or dropped (backlog full)")
          .register(registry);
    }
    io.micrometer.core.instrument.Gauge.builder(
            "teekms.audit.refusal.backlog.size", ledger, GrantLedger::backlogSize)
        .description("Refusals awaiting the database in the in-memory backlog now")
        .register(registry);
    return ledger;
  }

  @Produces
  @Singleton
  RootGenerationStore rootGenerationStore(
      StateSessions sessions, SealingKey key, KmsConfig config) {
    return new RootGenerationStore(sessions, key, config.kmsId(), config.nodeId().orElse(null));
  }

  /**
   * This node's one joiner from {@code teekms.onboarding.source}: startup and {@link
   * org.teekms.kms.replication.SealedCopySync} share it, so they never obtain the roots twice.
   */
  @Produces
  @Singleton
  org.teekms.kms.replication.ReplicaJoin replicaJoin(
      KmsConfig config,
      RaTlsSetup ratls,
      org.teekms.kms.admission.PeerAttestation attestation,
      KmsPolicyPort kmsPolicy,
      StateSessions sessions,
      RootGenerationStore roots,
      AuditLog audit,
      Clock clock) {
    return org.teekms.kms.replication.ReplicaJoin.overRaTls(
        config, ratls, attestation, kmsPolicy, sessions, roots, audit, clock);
  }

  @Produces
  @Singleton
  LiveKeyring liveKeyring(RootGenerationStore roots, KmsConfig config) {
    return new LiveKeyring(roots, config.dbTimeout());
  }

  @Produces
  @Singleton
  RotationJobs rotationJobs(StateSessions sessions, Clock clock) {
    return new RotationJobs(sessions, clock);
  }

  @Produces
  @Singleton
  RotationWorker rotationWorker(
      StateSessions sessions,
      RootGenerationStore roots,
      AuditLog audit,
      Clock clock,
      KmsConfig config,
      CustodyWiring custody) {
    return new RotationWorker(
        sessions,
        roots,
        audit,
        clock,
        config.rotation().rootGrace(),
        config.rotation().appBatch(),
        StepHook.NONE,
        custody.backups().orElse(null),
        config.custody().publicationCheckInterval());
  }

  /**
   * Root custody when {@code teekms.custody.enabled}; startup fails when it is enabled but
   * incompletely configured.
   */
  @Produces
  @Singleton
  CustodyWiring custodyWiring(KmsConfig config, RootGenerationStore roots) {
    return CustodyWiring.from(config, roots);
  }

  @Produces
  @Singleton
  RotationControl rotationControl(
      StateSessions sessions,
      RotationJobs jobs,
      RootGenerationStore roots,
      AuditLog audit,
      Clock clock,
      KmsConfig config,
      RegistryOwnerPort owner) {
    KmsConfig.Chain chain = config.chain();
    boolean configured = chainEndpoints(chain).isPresent();
    OperatorAuthorizer authorizer =
        new OperatorAuthorizer(
            config.kmsId(),
            chain.chainId(),
            configured ? chain.registryAddress().get() : null,
            owner,
            clock,
            config.operator().maxSkew(),
            config.limits().operatorOwnerRecheck(),
            new OperatorAuthorizer.ContractCalls(
                config.limits().operatorOwnerCalls(),
                config.limits().operatorVerdictTtl(),
                OperatorAuthorizer.ContractCalls.DEFAULT.verdicts()));
    return new RotationControl(sessions, authorizer, jobs, roots, audit, clock, config.dbTimeout());
  }

  /**
   * Anchors the audit head on chain from the KMS's kms-audit-anchor account
   * (teekms.audit.anchor-interval).
   */
  @Produces
  @Singleton
  org.teekms.kms.audit.AuditAnchorWorker auditAnchorWorker(
      KmsConfig config, AuditLog audit, org.teekms.kms.keys.LiveKeyring keyring) {
    KmsConfig.Chain chain = config.chain();
    org.teekms.kms.audit.AuditAnchorPort port =
        chainEndpoints(chain)
            .map(
                e ->
                    (org.teekms.kms.audit.AuditAnchorPort)
                        new org.teekms.kms.audit.ChainAuditAnchor(
                            ChainClient.connect(e.first(), chain.chainId()),
                            chain.registryAddress().get()))
            .orElse(org.teekms.kms.audit.AuditAnchorPort.unconfigured());
    return new org.teekms.kms.audit.AuditAnchorWorker(
        audit,
        port,
        () -> keyring.derive(null).ifNoItem().after(config.dbTimeout()).fail(),
        config.dbTimeout().multipliedBy(30));
  }

  /** KmsRegistry.owner() and apps' key versions at a pinned block (operator requests, AppEnv). */
  @Produces
  @Singleton
  RegistryOwnerPort registryOwnerPort(KmsConfig config) {
    KmsConfig.Chain chain = config.chain();
    return chainEndpoints(chain)
        .map(
            e ->
                (RegistryOwnerPort)
                    new ChainRegistryOwner(
                        ChainClient.connect(e.first(), chain.chainId()),
                        chain.registryAddress().get(),
                        chain.confirmations()))
        .orElse(RegistryOwnerPort.unconfigured());
  }

  @Produces
  @Singleton
  RotationScheduleReader rotationScheduleReader(KmsConfig config) {
    KmsConfig.Chain chain = config.chain();
    return chainEndpoints(chain)
        .map(
            e ->
                (RotationScheduleReader)
                    new ChainRotationSchedule(
                        ChainClient.connect(e.first(), chain.chainId()), chain.confirmations()))
        .orElse(RotationScheduleReader.unconfigured());
  }

  /**
   * The governance adapter answers both the app (AppPolicyPort) and the replica (KmsPolicyPort)
   * questions.
   */
  @Produces
  @Singleton
  KmsPolicyPort kmsPolicyPort(AppPolicyPort chain) {
    return chain instanceof KmsPolicyPort kms ? kms : new UnconfiguredChain();
  }

  @Produces
  @Singleton
  OnboardingController onboardingController(
      KmsPolicyPort chain,
      RootGenerationStore roots,
      GrantLedger ledger,
      KmsConfig config,
      Clock clock,
      LocalAttestationPolicy local) {
    return new OnboardingController(local, chain, roots, ledger, config.dbTimeout(), clock);
  }

  @Produces
  @Singleton
  AppPolicyPort appPolicyPort(KmsConfig config, MeterRegistry metrics) {
    KmsConfig.Chain chain = config.chain();
    java.util.Optional<ChainEndpoints> endpoints = chainEndpoints(chain);
    if (endpoints.isEmpty()) {
      LOG.warn(
          "no chain configured (teekms.chain.rpc-urls, chain-id, registry-address): every admission will be "
              + "refused as CHAIN_UNAVAILABLE");
      return new UnconfiguredChain();
    }
    ChainEndpoints e = endpoints.get();
    PolicyReaderConfig readerConfig =
        PolicyReaderConfig.defaults(e.first(), chain.chainId(), chain.registryAddress().get())
            .withConfirmations(chain.confirmations(), false)
            .withQuorum(e.urls(), e.quorum())
            .withMaxBlockAge(chain.maxBlockAge());
    if (e.urls().size() == 1) {
      LOG.warn(
          "one chain RPC endpoint decides every admission (teekms.chain.allow-single-rpc=true): never in "
              + "production");
    }
    LOG.infof(
        "on-chain policy: registry %s on chain %d via %d of %s, %d confirmations, blocks at most %s old",
        chain.registryAddress().get(),
        chain.chainId(),
        e.quorum(),
        e.urls(),
        chain.confirmations(),
        chain.maxBlockAge());
    ChainPolicyReader reader = new ChainPolicyReader(readerConfig, chain.pinReuse());
    FunctionCounter.builder("teekms.chain.disagreement", reader, ChainPolicyReader::disagreements)
        .description(
            "Policy reads denied because RPC endpoints answered differently (one of them lies)")
        .register(metrics);
    return new GovernanceAppPolicy(reader, chain.chainId());
  }

  /**
   * The endpoints when the chain is fully configured (endpoints, chain id, registry); startup fails
   * if misconfigured.
   */
  static java.util.Optional<ChainEndpoints> chainEndpoints(KmsConfig.Chain chain) {
    java.util.Optional<ChainEndpoints> endpoints = ChainEndpoints.resolve(chain);
    if (endpoints.isEmpty() || chain.registryAddress().isEmpty() || chain.chainId() <= 0) {
      return java.util.Optional.empty();
    }
    return endpoints;
  }

  /**
   * Probes of the chain RPC endpoints (readiness, {@code teekms kms status}): each must answer
   * within 5 s.
   */
  @Produces
  @Singleton
  org.teekms.kms.status.ChainHealth chainHealth(KmsConfig config, Clock clock) {
    KmsConfig.Chain chain = config.chain();
    java.util.Optional<ChainEndpoints> endpoints = chainEndpoints(chain);
    if (endpoints.isEmpty()) {
      return org.teekms.kms.status.ChainHealth.unconfigured(clock);
    }
    java.time.Duration timeout = java.time.Duration.ofSeconds(5);
    List<org.teekms.kms.status.ChainHealth.Endpoint> probes =
        endpoints.get().urls().stream()
            .map(url -> ChainClient.connect(url, chain.chainId(), timeout, timeout))
            .map(
                c ->
                    (org.teekms.kms.status.ChainHealth.Endpoint)
                        () -> {
                          c.checkChainId();
                          return c.blockNumber();
                        })
            .toList();
    return new org.teekms.kms.status.ChainHealth(
        endpoints.get().urls(),
        probes,
        endpoints.get().quorum(),
        timeout,
        java.time.Duration.ofSeconds(5),
        clock);
  }

  /**
   * This node's clock against the chain's latest block, read through the policy reader's RPC
   * quorum; a reading serves 30 s (GetKmsStatus, readiness, admission refusals, the gauge).
   */
  @Produces
  @Singleton
  org.teekms.kms.status.ClockSkewProbe clockSkewProbe(
      AppPolicyPort policy, KmsConfig config, Clock clock, MeterRegistry metrics) {
    org.teekms.kms.status.ClockSkewProbe.ChainClock chain =
        policy instanceof org.teekms.kms.adapters.GovernanceAppPolicy g
            ? g.chainReader()
                .map(
                    r ->
                        (org.teekms.kms.status.ClockSkewProbe.ChainClock)
                            () -> {
                              ChainPolicyReader.HeadTime h = r.headTime();
                              return new org.teekms.kms.status.ClockSkewProbe.Head(
                                  h.number(), java.time.Instant.ofEpochSecond(h.timestamp()));
                            })
                .orElse(null)
            : null;
    org.teekms.kms.status.ClockSkewProbe probe =
        new org.teekms.kms.status.ClockSkewProbe(
            chain,
            config.ratls().clockSkewAllowance(),
            java.time.Duration.ofSeconds(30),
            clock,
            io.smallrye.mutiny.infrastructure.Infrastructure.getDefaultWorkerPool());
    // Literal meter name: deploy-check matches dashboards and alert rules against it.
    io.micrometer.core.instrument.Gauge.builder(
            "teekms.clock.skew.seconds", probe, org.teekms.kms.status.ClockSkewProbe::skewSeconds)
        .description(
            "This node's clock minus the chain's latest block timestamp (quorum), seconds; NaN"
                + " when unknown")
        .strongReference(true)
        .register(metrics);
    return probe;
  }

  void closeChainHealth(
      @jakarta.enterprise.inject.Disposes org.teekms.kms.status.ChainHealth health) {
    health.close();
  }

  @Produces
  @Singleton
  org.teekms.kms.status.NodeStatus nodeStatus(
      KmsConfig config,
      Pool pool,
      RootGenerationStore roots,
      LiveKeyring keyring,
      RaTlsSetup ratls,
      org.teekms.kms.status.ChainHealth chain,
      AppPolicyPort policy,
      AuditLog audit,
      RotationJobs jobs,
      org.teekms.kms.status.ClockSkewProbe skew,
      Clock clock) {
    return new org.teekms.kms.status.NodeStatus(
        config, pool, roots, keyring, ratls, chain, policy, audit, jobs, skew, clock);
  }

  @Produces
  @Singleton
  LocalAttestationPolicy localAttestationPolicy(KmsConfig config) {
    return localPolicy(config);
  }

  /**
   * The KMS's own attestation policy from {@code teekms.admission.*} (admission, onboarding,
   * joining a source).
   */
  public static LocalAttestationPolicy localPolicy(KmsConfig config) {
    return new LocalAttestationPolicy(
        new HashSet<>(config.admission().acceptedTcbStatuses()),
        new HashSet<>(config.admission().acceptedAdvisories().orElse(List.of())),
        config.admission().requiredKeyProvider());
  }

  /**
   * Audits handshake-level refusals under the claimed app, per-source bounded
   * (teekms.audit.claimed-refusal*).
   */
  @Produces
  @Singleton
  org.teekms.kms.admission.ClaimedRefusals claimedRefusals(
      GrantLedger ledger, KmsConfig config, io.micrometer.core.instrument.MeterRegistry registry) {
    org.teekms.kms.grpc.SourceRateLimiter limiter =
        new org.teekms.kms.grpc.SourceRateLimiter(
            config.audit().claimedRefusalsPerMinute(),
            config.audit().claimedRefusalBurst(),
            config.limits().maxSources(),
            System::nanoTime);
    org.teekms.kms.admission.ClaimedRefusals claimed =
        new org.teekms.kms.admission.ClaimedRefusals(
            ledger, limiter::tryAcquire, config.dbTimeout());
    for (String result : List.of("written", "dropped", "unnamed")) {
      io.micrometer.core.instrument.FunctionCounter.builder(
              "teekms.audit.claimed.refusals",
              claimed,
              c ->
                  switch (result) {
                    case "written" -> c.written();
                    case "dropped" -> c.dropped();
                    default -> c.unnamed();
                  })
          .tag("result", result)
          .description(
              "Handshake-level refusals audited under the claimed app, dropped over a source's budget, or "
                  + "naming no app")
          .register(registry);
    }
    return claimed;
  }

  @Produces
  @Singleton
  AdmissionController admissionController(
      StateSessions sessions,
      LocalAttestationPolicy local,
      AppPolicyPort chain,
      RootGenerationStore roots,
      LiveKeyring keyring,
      GrantLedger ledger,
      Clock clock,
      KmsConfig config,
      AdmissionObserver observer,
      AttestationMetrics metrics) {
    AdmissionController controller =
        new AdmissionController(
            sessions, local, chain, roots, keyring, ledger, clock, config.dbTimeout(), observer);
    metrics.watch(controller.versionKeys());
    return controller;
  }
}
