package org.teekms.kms.adapters;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.mutiny.sqlclient.Pool;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.teekms.crypto.Bytes;
import org.teekms.governance.AppPolicy;
import org.teekms.governance.ChainClient;
import org.teekms.governance.ChainPolicyReader;
import org.teekms.governance.KmsRegistry;
import org.teekms.governance.PolicyReaderConfig;
import org.teekms.governance.testing.AnvilNode;
import org.teekms.kms.TestPostgres;
import org.teekms.kms.admission.AdmissionController;
import org.teekms.kms.admission.AdmissionDenied;
import org.teekms.kms.admission.AdmissionObserver;
import org.teekms.kms.admission.AppPolicyVerdict;
import org.teekms.kms.admission.AttestedPeer;
import org.teekms.kms.admission.DenyCode;
import org.teekms.kms.admission.LocalAttestationPolicy;
import org.teekms.kms.admission.MeasuredOs;
import org.teekms.kms.admission.TestPeers;
import org.teekms.kms.audit.AuditLog;
import org.teekms.kms.grant.GrantLedger;
import org.teekms.kms.keys.LiveKeyring;
import org.teekms.kms.keys.ReleasedAppKeys;
import org.teekms.kms.roots.RootBootstrap;
import org.teekms.kms.roots.RootGenerationStore;
import org.teekms.kms.seal.SealingKey;
import org.web3j.crypto.Credentials;
import org.web3j.utils.Numeric;

/**
 * Admission against a real local chain (anvil, the governance contracts deployed) and a real
 * PostgreSQL: the governance adapter's decisions, key versions and failures flow through the
 * AdmissionController unchanged.
 */
class OnChainAdmissionTest {

  private static final Duration WAIT = Duration.ofSeconds(30);
  private static AnvilNode anvil;
  private static ChainClient chain;
  private static KmsRegistry registry;
  private static AppPolicy app;
  private static Credentials owner;
  private static TestPostgres postgres;
  private static Pool pool;
  private static LiveKeyring keyring;
  private static AdmissionController controller;
  private static final byte[] COMPOSE = bytes(32, 0xc7);
  private static final byte[] OS = bytes(32, 0x05);

  /** The golden measurement registered for OS (a reference boot's SHA-256(MRTD ‖ RTMR0-2)). */
  private static final byte[] MR_SYSTEM = bytes(32, 0x5e);

  static MeasuredOs os(byte[] mrSystem) {
    return new MeasuredOs(
        Bytes.copyOf(mrSystem), false, "MRTD 00000000…, RTMR0 …", "no measurement document");
  }

  static byte[] bytes(int n, int fill) {
    byte[] b = new byte[n];
    Arrays.fill(b, (byte) fill);
    return b;
  }

  @BeforeAll
  static void start() throws Exception {
    anvil = AnvilNode.start();
    chain = ChainClient.connect(anvil.rpcUrl(), AnvilNode.CHAIN_ID);
    Credentials operator = anvil.fundedAccount();
    owner = anvil.fundedAccount();
    registry = KmsRegistry.deploy(chain, operator, operator.getAddress()).registry();
    registry.addOsImage(OS);
    registry.addOsImageMeasurement(OS, MR_SYSTEM);
    registry.setTcbPolicy(List.of("UpToDate"), List.of());
    app = AppPolicy.at(chain, registry.registerApp(owner.getAddress()).appId(), owner);
    app.addComposeHash(COMPOSE);
    app.setAllowAnyDevice(true);

    postgres = new TestPostgres();
    pool = postgres.pool(postgres.freshDatabase(), 8);
    Clock clock = Clock.systemUTC();
    AuditLog audit = new AuditLog(pool, postgres.sessions(pool), clock);
    RootGenerationStore roots =
        new RootGenerationStore(
            postgres.sessions(pool), new SealingKey(new byte[32]), "kms-chain-test");
    RootBootstrap.ensureBootstrapped(postgres.sessions(pool), roots, audit, clock)
        .await()
        .atMost(WAIT);
    keyring = new LiveKeyring(roots, WAIT);
    controller =
        new AdmissionController(
            postgres.sessions(pool),
            new LocalAttestationPolicy(Set.of("UpToDate"), Set.of(), Optional.empty()),
            policy(anvil.rpcUrl()),
            roots,
            keyring,
            new GrantLedger(audit),
            clock,
            WAIT,
            AdmissionObserver.NONE);
  }

  /** Confirmations 0 and no cache, so each test sees the transactions it just mined. */
  static GovernanceAppPolicy policy(String rpc) {
    PolicyReaderConfig config =
        PolicyReaderConfig.defaults(rpc, AnvilNode.CHAIN_ID, registry.address())
            .withConfirmations(0, false)
            .withCache(Duration.ZERO, 0);
    return new GovernanceAppPolicy(new ChainPolicyReader(config), AnvilNode.CHAIN_ID);
  }

  @AfterAll
  static void stop() {
    if (keyring != null) keyring.close();
    if (pool != null) pool.closeAndAwait();
    if (postgres != null) postgres.close();
    if (chain != null) chain.close();
    if (anvil != null) anvil.close();
  }

  static AttestedPeer peer(byte[] appId, byte[] compose, int instance) {
    return TestPeers.peer()
        .app(appId)
        .compose(compose)
        .instance(bytes(20, instance))
        .osImage(OS)
        .os(os(MR_SYSTEM))
        .build();
  }

  static byte[] appId() {
    return Numeric.hexStringToByteArray(app.address());
  }

  @Test
  void registeredComposeIsAdmittedThenRotationAndRemovalTakeEffect() throws Exception {
    List<ReleasedAppKeys> v1 =
        controller
            .grantAppKeys(peer(appId(), COMPOSE, 1), List.of())
            .await()
            .atMost(java.time.Duration.ofSeconds(60))
            .keys();
    assertEquals(List.of(1), v1.stream().map(ReleasedAppKeys::version).toList());

    app.rotateKeys();
    List<ReleasedAppKeys> both =
        controller
            .grantAppKeys(peer(appId(), COMPOSE, 1), List.of())
            .await()
            .atMost(java.time.Duration.ofSeconds(60))
            .keys();
    assertEquals(List.of(1, 2), both.stream().map(ReleasedAppKeys::version).toList());
    app.setMinKeyVersion(2);
    AdmissionDenied old =
        assertThrows(
            AdmissionDenied.class,
            () ->
                controller
                    .grantAppKeys(peer(appId(), COMPOSE, 1), List.of(1))
                    .await()
                    .atMost(java.time.Duration.ofSeconds(60)));
    assertEquals(DenyCode.KEY_VERSION_NOT_SERVED, old.code());

    byte[] other = bytes(32, 0xc8);
    AdmissionDenied wrong =
        assertThrows(
            AdmissionDenied.class,
            () ->
                controller
                    .grantAppKeys(peer(appId(), other, 1), List.of())
                    .await()
                    .atMost(java.time.Duration.ofSeconds(60)));
    assertEquals(DenyCode.COMPOSE_HASH_NOT_ALLOWED, wrong.code());
    assertTrue(wrong.detail().contains("compose hash not allowed"), wrong.detail());
    assertTrue(wrong.detail().contains("on chain 31337"), wrong.detail());

    app.removeComposeHash(COMPOSE);
    AdmissionDenied removed =
        assertThrows(
            AdmissionDenied.class,
            () ->
                controller
                    .grantAppKeys(peer(appId(), COMPOSE, 1), List.of())
                    .await()
                    .atMost(java.time.Duration.ofSeconds(60)));
    assertEquals(DenyCode.COMPOSE_HASH_NOT_ALLOWED, removed.code());
    app.addComposeHash(COMPOSE);
  }

  @Test
  void unregisteredAppIsDenied() {
    AdmissionDenied d =
        assertThrows(
            AdmissionDenied.class,
            () ->
                controller
                    .grantAppKeys(peer(bytes(20, 0x42), COMPOSE, 1), List.of())
                    .await()
                    .atMost(java.time.Duration.ofSeconds(60)));
    assertEquals(DenyCode.APP_NOT_REGISTERED, d.code());
  }

  @Test
  void chainDownIsDeniedWithTheReason() {
    AppPolicyVerdict v = policy("http://127.0.0.1:1").check(peer(appId(), COMPOSE, 1));
    assertEquals(AppPolicyVerdict.Outcome.UNAVAILABLE, v.outcome());
    assertTrue(v.reason().startsWith("RPC_UNAVAILABLE"), v.reason());
  }

  @Test
  void osImageNotAllowedIsDenied() {
    AttestedPeer p = TestPeers.from(peer(appId(), COMPOSE, 1)).osImage(bytes(32, 0x06)).build();
    AdmissionDenied d =
        assertThrows(
            AdmissionDenied.class,
            () ->
                controller
                    .grantAppKeys(p, List.of())
                    .await()
                    .atMost(java.time.Duration.ofSeconds(60)));
    assertEquals(DenyCode.OS_IMAGE_NOT_ALLOWED, d.code());
  }

  @Test
  void simulatedCvmBootedFromAnAllowedOsImagePassesTheRealRegistryOnlyWithItsGoldenMeasurement()
      throws Exception {
    // The whole path a real CVM takes: boot (dstack event sequence incl. os-image-hash) -> RA-TLS
    // certificate ->
    // RA-TLS verification -> AttestedPeer -> isAppAllowed on the deployed registry -> keys.
    org.teekms.attest.sim.SimulatedTdx tdx =
        org.teekms.attest.sim.SimulatedTdx.enable("OnChainAdmissionTest", Clock.systemUTC());
    org.teekms.attest.ratls.RaTlsVerifier verifier =
        org.teekms.attest.ratls.RaTlsVerifier.builder(
                new org.teekms.attest.tdx.DcapQuoteVerifier(tdx.rootCertificate()),
                request -> tdx.collateral().toCollateral())
            .quotePolicy(org.teekms.attest.tdx.QuotePolicy.builder().build())
            .build();
    org.teekms.attest.sim.SimulatedCvm.App boot =
        new org.teekms.attest.sim.SimulatedCvm.App(
            Bytes.copyOf(appId()),
            Bytes.copyOf(COMPOSE),
            Bytes.copyOf(bytes(20, 9)),
            "{\"name\":\"kms\",\"id\":\"test\"}");
    AttestedPeer withImage =
        peerOf(
            tdx,
            verifier,
            boot.withOsImageHash(OS),
            new byte[48],
            org.teekms.attest.sim.SimulatedCvm.DEFAULT_IMAGE);
    assertTrue(
        java.util.Arrays.equals(OS, withImage.osImageHash().toByteArray()),
        "os-image-hash measured and replayed");
    AdmissionDenied noGolden =
        assertThrows(
            AdmissionDenied.class,
            () ->
                controller
                    .grantAppKeys(withImage, List.of())
                    .await()
                    .atMost(java.time.Duration.ofSeconds(60)));
    assertEquals(DenyCode.OS_IMAGE_MEASUREMENT_MISMATCH, noGolden.code(), noGolden.getMessage());

    // the owner registers the image's golden measurement, taken from this reference boot
    registry.addOsImageMeasurement(OS, withImage.os().mrSystem().toByteArray());
    assertEquals(
        1,
        controller
            .grantAppKeys(withImage, List.of())
            .await()
            .atMost(java.time.Duration.ofSeconds(60))
            .keys()
            .size());

    // the attack: an up-to-date TD with its own firmware and kernel, the victim's app id, compose
    // hash and OS image
    // hash in RTMR3
    AttestedPeer forged =
        peerOf(tdx, verifier, boot.withOsImageHash(OS), bytes(48, 0x66), "ATTACKER");
    assertEquals(withImage.appId(), forged.appId());
    assertEquals(withImage.composeHash(), forged.composeHash());
    AdmissionDenied denied =
        assertThrows(
            AdmissionDenied.class,
            () ->
                controller
                    .grantAppKeys(forged, List.of())
                    .await()
                    .atMost(java.time.Duration.ofSeconds(60)));
    assertEquals(DenyCode.OS_IMAGE_MEASUREMENT_MISMATCH, denied.code());
    String m = denied.getMessage();
    assertTrue(m.contains("OS image 0x" + java.util.HexFormat.of().formatHex(OS)), m);
    assertTrue(m.contains("mrSystem 0x" + forged.os().mrSystemHex()), m);
    assertTrue(m.contains("MRTD 66666666…") && m.contains("RTMR1 ") && m.contains("RTMR2 "), m);

    AttestedPeer without =
        peerOf(tdx, verifier, boot, new byte[48], org.teekms.attest.sim.SimulatedCvm.DEFAULT_IMAGE);
    assertEquals(
        DenyCode.OS_IMAGE_NOT_ALLOWED,
        assertThrows(
                AdmissionDenied.class,
                () ->
                    controller
                        .grantAppKeys(without, List.of())
                        .await()
                        .atMost(java.time.Duration.ofSeconds(60)))
            .code());
  }

  @Test
  void aCvmCarryingItsImagesMeasurementDocumentIsAdmittedWithoutAGoldenValueAndAForgedKernelIsNot()
      throws Exception {
    // dstack's "lite" path: the CVM's certificate carries its vm_config (sha256sum.txt +
    // measurement.tdx.cbor); the
    // KMS's verifier computes the image's MRTD/RTMR0-2 and compares them with the quote
    // (MeasurementDocumentCheck).
    org.teekms.attest.sim.SimulatedTdx tdx =
        org.teekms.attest.sim.SimulatedTdx.enable("OnChainAdmissionTest-doc", Clock.systemUTC());
    org.teekms.attest.ratls.RaTlsVerifier verifier =
        org.teekms.attest.ratls.RaTlsVerifier.builder(
                new org.teekms.attest.tdx.DcapQuoteVerifier(tdx.rootCertificate()),
                request -> tdx.collateral().toCollateral())
            .quotePolicy(org.teekms.attest.tdx.QuotePolicy.builder().build())
            .osImageCheck(org.teekms.attest.ratls.MeasurementDocumentCheck.INSTANCE)
            .build();
    org.teekms.attest.sim.SimulatedOsImage image =
        org.teekms.attest.sim.SimulatedOsImage.of("documented");
    registry.addOsImage(
        image.osImageHash().toByteArray()); // allowed, but no golden mrSystem registered
    org.teekms.attest.sim.SimulatedCvm.App boot =
        new org.teekms.attest.sim.SimulatedCvm.App(
            Bytes.copyOf(appId()),
            Bytes.copyOf(COMPOSE),
            Bytes.copyOf(bytes(20, 10)),
            "{\"name\":\"kms\",\"id\":\"test\"}");

    AttestedPeer honest =
        documentedPeer(verifier, image.newCvm(tdx, false).boot(boot, image), image.vmConfigJson());
    assertTrue(honest.os().imageProven(), honest.os().proofDetail());
    assertEquals(image.osImageHash(), honest.osImageHash());
    assertEquals(
        1,
        controller
            .grantAppKeys(honest, List.of())
            .await()
            .atMost(java.time.Duration.ofSeconds(60))
            .keys()
            .size());

    // the attack: its own kernel (another image), presenting the allowed image's document and
    // claiming it in RTMR3
    org.teekms.attest.sim.SimulatedOsImage attackers =
        org.teekms.attest.sim.SimulatedOsImage.of("attacker-kernel");
    AttestedPeer forged =
        documentedPeer(
            verifier,
            attackers
                .newCvm(tdx, false)
                .boot(boot.withOsImageHash(image.osImageHash().toByteArray()), attackers),
            image.vmConfigJson());
    assertFalse(forged.os().imageProven());
    assertTrue(
        forged.os().proofDetail().startsWith("OS_IMAGE_MEASUREMENT_MISMATCH"),
        forged.os().proofDetail());
    AdmissionDenied denied =
        assertThrows(
            AdmissionDenied.class,
            () ->
                controller
                    .grantAppKeys(forged, List.of())
                    .await()
                    .atMost(java.time.Duration.ofSeconds(60)));
    assertEquals(DenyCode.OS_IMAGE_MEASUREMENT_MISMATCH, denied.code());
  }

  private static AttestedPeer documentedPeer(
      org.teekms.attest.ratls.RaTlsVerifier verifier,
      org.teekms.attest.sim.SimulatedCvm cvm,
      byte[] vmConfig)
      throws Exception {
    java.security.KeyPair keys = org.teekms.attest.ratls.RaTlsCertificateFactory.newKeyPair();
    org.teekms.attest.provider.RuntimeEventLog.QuoteWithLog q =
        cvm.eventLog()
            .quote(
                cvm,
                org.teekms.attest.ratls.ReportDataBinding.forSpki(keys.getPublic().getEncoded()));
    java.security.cert.X509Certificate cert =
        new org.teekms.attest.ratls.RaTlsCertificateFactory(
                cvm, cvm.eventLog(), null, Clock.systemUTC(), Duration.ofHours(1))
            .build(
                keys,
                "cvm",
                q.quote().toByteArray(),
                q.eventLogJson().getBytes(java.nio.charset.StandardCharsets.UTF_8),
                null,
                vmConfig);
    return RaTlsPeerAttestation.toPeer(verifier.verify(cert));
  }

  private static AttestedPeer peerOf(
      org.teekms.attest.sim.SimulatedTdx tdx,
      org.teekms.attest.ratls.RaTlsVerifier verifier,
      org.teekms.attest.sim.SimulatedCvm.App app,
      byte[] mrTd,
      String image)
      throws Exception {
    org.teekms.attest.sim.SimulatedCvm cvm = tdx.newCvm(mrTd, false).boot(app, image);
    org.teekms.attest.ratls.RaTlsCredentials creds =
        new org.teekms.attest.ratls.RaTlsCertificateFactory(
                cvm, cvm.eventLog(), null, Clock.systemUTC(), Duration.ofHours(1))
            .create("cvm");
    return RaTlsPeerAttestation.toPeer(verifier.verify(creds.certificate()));
  }

  @Test
  void theAppsEffectiveGpuPolicyReachesTheKmsAndIsEnforcedThere() throws Exception {
    AttestedPeer withGpu =
        TestPeers.from(peer(appId(), COMPOSE, 1))
            .gpus(1, "HOPPER", 550_127_005L)
            .gpuFacts(
                org.teekms.kms.admission.TestGpus.verifiedAsMeasured(
                    List.of(
                        new org.teekms.kms.admission.GpuFacts.Gpu(
                            Optional.empty(),
                            "verified",
                            "ab".repeat(32),
                            "HOPPER",
                            "550.127.05",
                            "96.00.9F.00.01"))))
            .build();
    GovernanceAppPolicy policy = policy(anvil.rpcUrl());
    assertEquals(AppPolicyVerdict.GpuRequirement.NONE, policy.check(withGpu).gpu());
    app.setGpuRequirements(new org.teekms.governance.GpuPolicy(1, "HOPPER", 550_000_000L));
    try {
      AppPolicyVerdict v = policy.check(withGpu);
      assertEquals(AppPolicyVerdict.Outcome.ALLOWED, v.outcome(), v.reason());
      assertEquals(
          new AppPolicyVerdict.GpuRequirement(1, "HOPPER", 550_000_000L),
          v.gpu(),
          "read at the pinned block");
      assertEquals(
          1,
          controller
              .grantAppKeys(withGpu, List.of())
              .await()
              .atMost(java.time.Duration.ofSeconds(60))
              .keys()
              .size());
      // The KMS's own check on the verdict: the same requirement refuses a CVM whose GPU evidence
      // did not verify.
      AttestedPeer noGpu = peer(appId(), COMPOSE, 1);
      assertEquals(
          DenyCode.GPU_EVIDENCE_MISSING,
          assertThrows(
                  AdmissionDenied.class,
                  () -> org.teekms.kms.admission.LocalAttestationPolicy.checkGpu(noGpu, v.gpu()))
              .code());
      assertEquals(
          DenyCode.GPU_EVIDENCE_MISSING,
          assertThrows(
                  AdmissionDenied.class,
                  () ->
                      controller
                          .grantAppKeys(noGpu, List.of())
                          .await()
                          .atMost(java.time.Duration.ofSeconds(60)))
              .code());
    } finally {
      app.clearGpuRequirements();
    }
  }

  static AttestedPeer gpuPeer(
      byte[] appId, int count, String arch, String driver, long driverVersion) {
    List<org.teekms.kms.admission.GpuFacts.Gpu> gpus = new java.util.ArrayList<>();
    for (int i = 0; i < count; i++) {
      gpus.add(
          new org.teekms.kms.admission.GpuFacts.Gpu(
              Optional.empty(),
              "verified",
              String.format("%02x", i).repeat(32),
              arch,
              driver,
              "96.00.9F.00.01"));
    }
    return TestPeers.from(peer(appId, COMPOSE, 1))
        .gpus(count, count == 0 ? "" : arch, count == 0 ? 0 : driverVersion)
        .gpuFacts(org.teekms.kms.admission.TestGpus.verifiedAsMeasured(gpus))
        .build();
  }

  static AttestedPeer withPlatform(
      AttestedPeer p, byte[] osImage, MeasuredOs measured, String tcb, List<String> advisories) {
    return TestPeers.from(p).osImage(osImage).os(measured).tcb(tcb).advisories(advisories).build();
  }

  static void assertDenied(DenyCode expected, AppPolicyVerdict v) {
    assertEquals(AppPolicyVerdict.Outcome.DENIED, v.outcome(), v.reason());
    assertEquals(Optional.of(expected), v.denyCode(), v.reason());
  }

  /**
   * Each denial code the registry's isAppAllowed returns (ChainDenial), produced on the real
   * contracts, becomes its deny code through the adapter: the code is read from the contract's
   * answer, never parsed from its reason.
   */
  @Test
  void everyContractDenialBecomesItsDenyCode() throws Exception {
    GovernanceAppPolicy policy = policy(anvil.rpcUrl());
    AppPolicy fresh = AppPolicy.at(chain, registry.registerApp(owner.getAddress()).appId(), owner);
    byte[] id = Numeric.hexStringToByteArray(fresh.address());
    AttestedPeer peer = peer(id, COMPOSE, 1);
    fresh.addComposeHash(COMPOSE);
    assertDenied(DenyCode.DEVICE_NOT_ALLOWED, policy.check(peer));
    fresh.addDevice(bytes(32, 0xd0));
    assertEquals(AppPolicyVerdict.Outcome.ALLOWED, policy.check(peer).outcome());
    assertDenied(DenyCode.COMPOSE_HASH_NOT_ALLOWED, policy.check(peer(id, bytes(32, 0xc8), 1)));
    assertDenied(DenyCode.APP_NOT_REGISTERED, policy.check(peer(bytes(20, 0x43), COMPOSE, 1)));
    assertDenied(
        DenyCode.OS_IMAGE_NOT_ALLOWED,
        policy.check(withPlatform(peer, bytes(32, 0x06), os(MR_SYSTEM), "UpToDate", List.of())));
    assertDenied(
        DenyCode.OS_IMAGE_MEASUREMENT_MISMATCH,
        policy.check(withPlatform(peer, OS, os(bytes(32, 0x5f)), "UpToDate", List.of())));
    assertDenied(
        DenyCode.TCB_NOT_ACCEPTED,
        policy.check(withPlatform(peer, OS, os(MR_SYSTEM), "OutOfDate", List.of())));
    assertDenied(
        DenyCode.TCB_NOT_ACCEPTED,
        policy.check(withPlatform(peer, OS, os(MR_SYSTEM), "UpToDate", List.of("INTEL-SA-00615"))));
    registry.setTcbPolicy(List.of("UpToDate", "SWHardeningNeeded"), List.of());
    try {
      AttestedPeer swHardening =
          withPlatform(peer, OS, os(MR_SYSTEM), "SWHardeningNeeded", List.of());
      assertEquals(AppPolicyVerdict.Outcome.ALLOWED, policy.check(swHardening).outcome());
      fresh.setRequireTcbUpToDate(true);
      assertDenied(DenyCode.TCB_NOT_ACCEPTED, policy.check(swHardening));
    } finally {
      registry.setTcbPolicy(List.of("UpToDate"), List.of());
    }

    fresh.setGpuRequirements(new org.teekms.governance.GpuPolicy(2, "HOPPER", 550_000_000L));
    assertDenied(DenyCode.GPU_EVIDENCE_MISSING, policy.check(gpuPeer(id, 0, "", "", 0)));
    AttestedPeer unverified =
        TestPeers.from(peer(id, COMPOSE, 1))
            .gpuFacts(org.teekms.kms.admission.GpuFacts.NOT_VERIFIED)
            .build();
    assertDenied(DenyCode.GPU_VERIFIER_NOT_CONFIGURED, policy.check(unverified));
    assertDenied(
        DenyCode.GPU_COUNT, policy.check(gpuPeer(id, 1, "HOPPER", "550.127.05", 550_127_005L)));
    assertDenied(
        DenyCode.GPU_ARCHITECTURE,
        policy.check(gpuPeer(id, 2, "BLACKWELL", "550.127.05", 550_127_005L)));
    assertDenied(
        DenyCode.GPU_DRIVER_VERSION,
        policy.check(gpuPeer(id, 2, "HOPPER", "535.104.05", 535_104_005L)));
    AttestedPeer gpus = gpuPeer(id, 2, "HOPPER", "550.127.05", 550_127_005L);
    assertEquals(AppPolicyVerdict.Outcome.ALLOWED, policy.check(gpus).outcome());

    fresh.setDisabled(true);
    assertDenied(DenyCode.APP_NOT_REGISTERED, policy.check(gpus));
    fresh.setDisabled(false);
    fresh.deregister();
    assertDenied(DenyCode.APP_NOT_REGISTERED, policy.check(gpus));
    // Through the controller, the code reaches the client unchanged.
    assertEquals(
        DenyCode.APP_NOT_REGISTERED,
        assertThrows(
                AdmissionDenied.class,
                () ->
                    controller
                        .grantAppKeys(gpus, List.of())
                        .await()
                        .atMost(java.time.Duration.ofSeconds(60)))
            .code());
  }
}
