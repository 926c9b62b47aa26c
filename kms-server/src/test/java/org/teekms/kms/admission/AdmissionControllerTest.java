package org.teekms.kms.admission;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.mutiny.sqlclient.Pool;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.teekms.crypto.Bytes;
import org.teekms.keys.EthereumAddress;
import org.teekms.keys.SignatureChain;
import org.teekms.keys.SignatureChainVerifier;
import org.teekms.kms.MutableClock;
import org.teekms.kms.TestPostgres;
import org.teekms.kms.audit.AuditEntry;
import org.teekms.kms.audit.AuditLog;
import org.teekms.kms.audit.ChainVerification;
import org.teekms.kms.db.DatabaseCoordinates;
import org.teekms.kms.grant.GrantLedger;
import org.teekms.kms.grant.PolicyBlockRef;
import org.teekms.kms.keys.LiveKeyring;
import org.teekms.kms.keys.ReleasedAppKeys;
import org.teekms.kms.roots.RootBootstrap;
import org.teekms.kms.roots.RootGenerationStore;
import org.teekms.kms.rotation.RotationJobs;
import org.teekms.kms.rotation.RotationWorker;
import org.teekms.kms.rotation.StepHook;
import org.teekms.kms.seal.SealingKey;

/**
 * The admission decision on a real PostgreSQL with real key derivation. The chain is a test double
 * with the semantics of KmsRegistry.isAppAllowed (registered apps, allowed compose hashes, key
 * versions, GPU requirement).
 */
class AdmissionControllerTest {

  private static final Duration WAIT = Duration.ofSeconds(20);
  private static TestPostgres postgres;

  private DatabaseCoordinates db;
  private Pool pool;
  private MutableClock clock;
  private AuditLog audit;
  private RootGenerationStore roots;
  private LiveKeyring keyring;
  private FakeChain chain;
  private AdmissionController controller;
  private final List<Object[]> observed = new ArrayList<>();

  /** Registered apps with their policy; a stand-in for the registry contract. */
  static final class FakeChain implements AppPolicyPort {
    final Map<String, Set<String>> composeHashes = new ConcurrentHashMap<>();
    final Map<String, int[]> versions = new ConcurrentHashMap<>();
    final Map<String, AppPolicyVerdict.GpuRequirement> gpu = new ConcurrentHashMap<>();
    volatile String down;
    long block = 100;

    /**
     * Whether any policy read ran on a Vert.x event-loop thread (it blocks on RPC endpoints: it
     * must not).
     */
    volatile boolean readOnEventLoop;

    void register(byte[] app, byte[] compose) {
      String a = HexFormat.of().formatHex(app);
      composeHashes
          .computeIfAbsent(a, k -> ConcurrentHashMap.newKeySet())
          .add(HexFormat.of().formatHex(compose));
      versions.putIfAbsent(a, new int[] {1, 1});
    }

    @Override
    public AppPolicyVerdict check(AttestedPeer peer) {
      readOnEventLoop |= io.vertx.core.Context.isOnEventLoopThread();
      if (down != null) {
        return AppPolicyVerdict.unavailable(down);
      }
      PolicyBlockRef at = new PolicyBlockRef(31337, block, new byte[32]);
      String a = peer.appHex();
      if (!composeHashes.containsKey(a)) {
        return AppPolicyVerdict.denied(at, DenyCode.APP_NOT_REGISTERED, "app not registered");
      }
      if (!composeHashes.get(a).contains(peer.composeHash().hex())) {
        return AppPolicyVerdict.denied(
            at, DenyCode.COMPOSE_HASH_NOT_ALLOWED, "compose hash not allowed");
      }
      int[] v = versions.get(a);
      return AppPolicyVerdict.allowed(
          at,
          v[0],
          v[1],
          gpu.getOrDefault(a, AppPolicyVerdict.GpuRequirement.NONE),
          new org.teekms.kms.roots.ChainRootAnchor(0, List.of()));
    }
  }

  @BeforeAll
  static void start() {
    postgres = new TestPostgres();
  }

  @AfterAll
  static void stop() {
    postgres.close();
  }

  @BeforeEach
  void setUp() {
    db = postgres.freshDatabase();
    pool = postgres.pool(db, 8);
    clock = new MutableClock(1_767_225_600_000L);
    audit = new AuditLog(pool, postgres.sessions(pool), clock);
    roots =
        new RootGenerationStore(postgres.sessions(pool), new SealingKey(new byte[32]), "kms-test");
    RootBootstrap.ensureBootstrapped(postgres.sessions(pool), roots, audit, clock)
        .await()
        .atMost(WAIT);
    keyring = new LiveKeyring(roots, WAIT);
    chain = new FakeChain();
    controller = controller(pool);
  }

  private AdmissionController controller(Pool p) {
    AdmissionObserver obs =
        new AdmissionObserver() {
          @Override
          public void admitted(Duration took) {
            observed.add(new Object[] {"ok"});
          }

          @Override
          public void denied(DenyCode code, Duration took) {
            observed.add(new Object[] {code});
          }

          @Override
          public void chainRead(Duration took) {}
        };
    return new AdmissionController(
        postgres.sessions(p),
        new LocalAttestationPolicy(Set.of("UpToDate"), Set.of(), Optional.empty()),
        chain,
        new RootGenerationStore(postgres.sessions(p), new SealingKey(new byte[32]), "kms-test"),
        keyring,
        new GrantLedger(new AuditLog(p, postgres.sessions(p), clock)),
        clock,
        WAIT,
        obs);
  }

  @AfterEach
  void tearDown() {
    keyring.close();
    pool.closeAndAwait();
  }

  static byte[] bytes(int n, int fill) {
    byte[] b = new byte[n];
    java.util.Arrays.fill(b, (byte) fill);
    return b;
  }

  static AttestedPeer peer(
      byte[] app, byte[] compose, byte[] instance, boolean debug, String tcb, int gpus) {
    return TestPeers.peer()
        .app(app)
        .compose(compose)
        .instance(instance)
        .debug(debug)
        .tcb(tcb)
        .gpus(gpus, gpus > 0 ? "HOPPER" : "", gpus > 0 ? 0x0235_0000L : 0)
        .gpuFacts(gpuFacts(gpus))
        .build();
  }

  /** {@code n} GPUs whose evidence verified (distinct devices). */
  static GpuFacts gpuFacts(int n) {
    List<GpuFacts.Gpu> gpus = new java.util.ArrayList<>();
    for (int i = 0; i < n; i++) {
      gpus.add(
          new GpuFacts.Gpu(
              Optional.empty(),
              "verified",
              String.format("%064x", i + 1),
              "HOPPER",
              "565.0.0",
              "96.00.9F.00.01"));
    }
    return TestGpus.verifiedAsMeasured(gpus);
  }

  static final byte[] APP = bytes(20, 0xa1);
  static final byte[] COMPOSE = bytes(32, 0xc1);

  private AttestedPeer good(int instance) {
    return peer(APP, COMPOSE, bytes(20, instance), false, "UpToDate", 0);
  }

  private DenyCode denied(AttestedPeer p, List<Integer> versions) {
    return assertThrows(
            AdmissionDenied.class,
            () ->
                controller
                    .grantAppKeys(p, versions)
                    .await()
                    .atMost(java.time.Duration.ofSeconds(60)))
        .code();
  }

  @Test
  void concurrentAdmissionsFromAnEventLoopEachCommitOneGrantAndOneEntryWithoutBlockingIt()
      throws Exception {
    chain.register(APP, COMPOSE);
    long entriesBefore = audit.verify().await().atMost(WAIT).entriesChecked();
    int n = 40;
    List<java.util.concurrent.CompletableFuture<AppKeysGrant>> results = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      results.add(new java.util.concurrent.CompletableFuture<>());
    }
    // Subscribed on an event loop, as the gRPC service does: the blocking chain read must hop to a
    // worker.
    postgres
        .vertx()
        .getDelegate()
        .getOrCreateContext()
        .runOnContext(
            ignored -> {
              for (int i = 0; i < n; i++) {
                java.util.concurrent.CompletableFuture<AppKeysGrant> done = results.get(i);
                controller
                    .grantAppKeys(good(100 + i), List.of())
                    .subscribe()
                    .with(done::complete, done::completeExceptionally);
              }
            });
    Set<java.util.UUID> grantIds = new HashSet<>();
    for (java.util.concurrent.CompletableFuture<AppKeysGrant> r : results) {
      AppKeysGrant g = r.get(60, java.util.concurrent.TimeUnit.SECONDS);
      assertEquals(1, g.keys().size());
      grantIds.add(g.grantId());
      g.destroyKeys();
    }
    assertEquals(n, grantIds.size());
    assertFalse(chain.readOnEventLoop, "the on-chain policy read ran on an event-loop thread");
    // No grant lost, none doubled: one key_grant row per admission, each pointing at its own audit
    // entry.
    io.vertx.mutiny.sqlclient.RowSet<io.vertx.mutiny.sqlclient.Row> rows =
        pool.query(
                "SELECT g.grant_id, a.event_id FROM key_grant g JOIN audit_log a ON a.seq = g.audit_seq")
            .execute()
            .await()
            .atMost(WAIT);
    Set<java.util.UUID> recorded = new HashSet<>();
    for (io.vertx.mutiny.sqlclient.Row r : rows) {
      assertEquals(
          r.getUUID(0), r.getUUID(1), "a grant row points at the audit entry that records it");
      recorded.add(r.getUUID(0));
    }
    assertEquals(grantIds, recorded);
    ChainVerification v = audit.verify().await().atMost(WAIT);
    assertTrue(v.valid(), v.problem());
    assertEquals(entriesBefore + n, v.entriesChecked());
  }

  @Test
  void admittedCvmGetsVerifiableKeysAndTheGrantIsAudited() {
    chain.register(APP, COMPOSE);
    AppKeysGrant g =
        controller
            .grantAppKeys(good(1), List.of())
            .await()
            .atMost(java.time.Duration.ofSeconds(60));
    assertEquals(1, g.currentVersion());
    assertEquals(1, g.keys().size());
    ReleasedAppKeys k = g.keys().get(0);
    assertEquals(1, k.version());
    assertEquals(1, k.generation());
    assertEquals(32, k.diskKey().orElseThrow().length);
    assertEquals(32, k.appRootSecret().length);
    // The chain KMS root -> app root -> env-encryption key verifies against the generation's KMS
    // root address.
    EthereumAddress kmsRoot =
        keyring.derive(null).await().indefinitely().kmsRootKey(1).ethereumAddress();
    SignatureChainVerifier verifier = new SignatureChainVerifier(kmsRoot);
    SignatureChainVerifier.Result env =
        verifier.verify(new SignatureChain(k.appRootCertificate(), k.envEncryptionCertificate()));
    assertTrue(env.valid(), env.detail());
    SignatureChainVerifier.Result ca =
        verifier.verify(new SignatureChain(k.appRootCertificate(), k.appCaCertificate()));
    assertTrue(ca.valid(), ca.detail());
    SignatureChainVerifier.Result foreign =
        new SignatureChainVerifier(EthereumAddress.of(new byte[20]))
            .verify(new SignatureChain(k.appRootCertificate(), k.envEncryptionCertificate()));
    assertFalse(foreign.valid(), "another KMS root does not verify");
    AuditEntry entry = audit.byEventId(g.grantId()).await().atMost(WAIT);
    assertEquals("GRANT_APP_KEYS", entry.kind());
    assertEquals(Bytes.copyOf(APP), entry.appId());
    assertTrue(entry.detailJson().contains("\"policyBlock\":100"), entry.detailJson());
    assertFalse(
        entry.detailJson().contains(HexFormat.of().formatHex(k.appRootSecret())),
        "no key material in the log");
    g.destroyKeys();
    assertThrows(IllegalStateException.class, k::appRootSecret);
  }

  @Test
  void clientNonceIsCheckedFirstAndEchoedIntoTheGrantAndDenialEntries() {
    chain.register(APP, COMPOSE);
    byte[] nonce = bytes(16, 0x6e);
    String echoed = "\"clientNonce\":\"" + HexFormat.of().formatHex(nonce) + "\"";
    AppKeysGrant g = controller.grantAppKeys(good(1), List.of(), nonce).await().atMost(WAIT);
    String grantDetail = audit.byEventId(g.grantId()).await().atMost(WAIT).detailJson();
    assertTrue(grantDetail.contains(echoed), grantDetail);
    g.destroyKeys();
    // Refused after the chain read: the nonce is echoed and the refusal names the block it was
    // decided at.
    AdmissionDenied notServed =
        assertThrows(
            AdmissionDenied.class,
            () -> controller.grantAppKeys(good(1), List.of(9), nonce).await().atMost(WAIT));
    assertEquals(DenyCode.KEY_VERSION_NOT_SERVED, notServed.code());
    assertEquals(100, notServed.block().orElseThrow().number());
    // Too long: refused before anything else (even before a debug TD's refusal), audited without
    // the client's bytes.
    AdmissionDenied tooLong =
        assertThrows(
            AdmissionDenied.class,
            () ->
                controller
                    .grantAppKeys(
                        peer(APP, COMPOSE, bytes(20, 1), true, "UpToDate", 0),
                        List.of(),
                        new byte[65])
                    .await()
                    .atMost(WAIT));
    assertEquals(DenyCode.REQUEST_INVALID, tooLong.code());
    List<AuditEntry> denials =
        audit.list(null, 0, Long.MAX_VALUE, 0, 100).await().atMost(WAIT).stream()
            .filter(e -> e.kind().equals("DENY_APP_KEYS"))
            .toList();
    assertEquals(
        List.of("KEY_VERSION_NOT_SERVED", "REQUEST_INVALID"),
        denials.stream().map(AuditEntry::reason).toList());
    assertTrue(denials.get(0).detailJson().contains(echoed), denials.get(0).detailJson());
    assertTrue(
        denials.get(0).detailJson().contains("\"policyBlock\":100"), denials.get(0).detailJson());
    assertFalse(denials.get(1).detailJson().contains("clientNonce"), denials.get(1).detailJson());
    assertTrue(audit.verify().await().atMost(WAIT).valid());
  }

  @Test
  void sameAppOtherInstanceGetsSameAppKeysButItsOwnDiskKey() {
    chain.register(APP, COMPOSE);
    ReleasedAppKeys a =
        controller
            .grantAppKeys(good(1), List.of())
            .await()
            .atMost(java.time.Duration.ofSeconds(60))
            .keys()
            .get(0);
    ReleasedAppKeys b =
        controller
            .grantAppKeys(good(2), List.of())
            .await()
            .atMost(java.time.Duration.ofSeconds(60))
            .keys()
            .get(0);
    ReleasedAppKeys a2 =
        controller
            .grantAppKeys(good(1), List.of())
            .await()
            .atMost(java.time.Duration.ofSeconds(60))
            .keys()
            .get(0);
    assertArrayEquals(a.appRootSecret(), b.appRootSecret());
    assertArrayEquals(a.envEncryptionKey(), b.envEncryptionKey());
    assertFalse(java.util.Arrays.equals(a.diskKey().orElseThrow(), b.diskKey().orElseThrow()));
    assertArrayEquals(a.diskKey().orElseThrow(), a2.diskKey().orElseThrow(), "stable across boots");
  }

  @Test
  void refusalsCarryPreciseReasons() {
    chain.register(APP, COMPOSE);
    assertEquals(
        DenyCode.COMPOSE_HASH_NOT_ALLOWED,
        denied(peer(APP, bytes(32, 0xc2), bytes(20, 1), false, "UpToDate", 0), List.of()));
    assertEquals(
        DenyCode.APP_NOT_REGISTERED,
        denied(peer(bytes(20, 0xee), COMPOSE, bytes(20, 1), false, "UpToDate", 0), List.of()));
    assertEquals(
        DenyCode.DEBUG_TD,
        denied(peer(APP, COMPOSE, bytes(20, 1), true, "UpToDate", 0), List.of()));
    assertEquals(
        DenyCode.TCB_NOT_ACCEPTED,
        denied(peer(APP, COMPOSE, bytes(20, 1), false, "OutOfDate", 0), List.of()));
    chain.gpu.put(
        HexFormat.of().formatHex(APP), new AppPolicyVerdict.GpuRequirement(1, "HOPPER", 0));
    AdmissionDenied gpu =
        assertThrows(
            AdmissionDenied.class,
            () ->
                controller
                    .grantAppKeys(good(1), List.of())
                    .await()
                    .atMost(java.time.Duration.ofSeconds(60)));
    assertEquals(DenyCode.GPU_EVIDENCE_MISSING, gpu.code());
    assertTrue(gpu.detail().contains("requires 1 attested GPU"), gpu.detail());
    assertEquals(
        1,
        controller
            .grantAppKeys(peer(APP, COMPOSE, bytes(20, 1), false, "UpToDate", 1), List.of())
            .await()
            .atMost(java.time.Duration.ofSeconds(60))
            .keys()
            .size());
    chain.down = "RPC_UNAVAILABLE: connection refused";
    AdmissionDenied down =
        assertThrows(
            AdmissionDenied.class,
            () ->
                controller
                    .grantAppKeys(good(1), List.of())
                    .await()
                    .atMost(java.time.Duration.ofSeconds(60)));
    assertEquals(DenyCode.CHAIN_UNAVAILABLE, down.code());
    assertTrue(down.code().unavailable());
    assertTrue(down.detail().contains("connection refused"));
    // Every refusal is in the audit log with its reason, and the chain still verifies.
    List<String> reasons =
        audit.list(null, 0, Long.MAX_VALUE, 0, 100).await().atMost(WAIT).stream()
            .filter(e -> e.kind().equals("DENY_APP_KEYS"))
            .map(AuditEntry::reason)
            .toList();
    assertEquals(
        List.of(
            "COMPOSE_HASH_NOT_ALLOWED",
            "APP_NOT_REGISTERED",
            "DEBUG_TD",
            "TCB_NOT_ACCEPTED",
            "GPU_EVIDENCE_MISSING",
            "CHAIN_UNAVAILABLE"),
        reasons);
    ChainVerification v = audit.verify().await().atMost(WAIT);
    assertTrue(v.valid(), v.problem());
  }

  @Test
  void removedComposeHashIsDeniedAfterwards() {
    chain.register(APP, COMPOSE);
    controller.grantAppKeys(good(1), List.of()).await().atMost(java.time.Duration.ofSeconds(60));
    chain.composeHashes.get(HexFormat.of().formatHex(APP)).clear();
    assertEquals(DenyCode.COMPOSE_HASH_NOT_ALLOWED, denied(good(1), List.of()));
  }

  @Test
  void rotationServesNewAndOldVersionsUntilTheMinimumIsRaised() {
    chain.register(APP, COMPOSE);
    AppKeysGrant v1 =
        controller
            .grantAppKeys(good(1), List.of())
            .await()
            .atMost(java.time.Duration.ofSeconds(60));
    byte[] v1Disk = v1.keys().get(0).diskKey().orElseThrow();
    chain.versions.put(HexFormat.of().formatHex(APP), new int[] {2, 1}); // owner rotated
    AppKeysGrant both =
        controller
            .grantAppKeys(good(1), List.of())
            .await()
            .atMost(java.time.Duration.ofSeconds(60));
    assertEquals(List.of(1, 2), both.keys().stream().map(ReleasedAppKeys::version).toList());
    assertArrayEquals(v1Disk, both.keys().get(0).diskKey().orElseThrow(), "version 1 unchanged");
    assertFalse(java.util.Arrays.equals(v1Disk, both.keys().get(1).diskKey().orElseThrow()));
    chain.versions.put(HexFormat.of().formatHex(APP), new int[] {2, 2}); // minimum raised
    assertEquals(
        List.of(2),
        controller
            .grantAppKeys(good(1), List.of())
            .await()
            .atMost(java.time.Duration.ofSeconds(60))
            .keys()
            .stream()
            .map(ReleasedAppKeys::version)
            .toList());
    AdmissionDenied old =
        assertThrows(
            AdmissionDenied.class,
            () ->
                controller
                    .grantAppKeys(good(1), List.of(1))
                    .await()
                    .atMost(java.time.Duration.ofSeconds(60)));
    assertEquals(DenyCode.KEY_VERSION_NOT_SERVED, old.code());
    assertTrue(old.detail().contains("key version 1 is not served"), old.detail());
    // The chain lowering its minimum again does not bring version 1 back: versions only move
    // forward.
    chain.versions.put(HexFormat.of().formatHex(APP), new int[] {2, 1});
    assertEquals(DenyCode.KEY_VERSION_NOT_SERVED, denied(good(1), List.of(1)));
  }

  @Test
  void rootRotationKeepsOldVersionsThenDestroysThem() {
    chain.register(APP, COMPOSE);
    byte[] v1Root =
        controller
            .grantAppKeys(good(1), List.of())
            .await()
            .atMost(java.time.Duration.ofSeconds(60))
            .keys()
            .get(0)
            .appRootSecret();
    RotationJobs jobs = new RotationJobs(postgres.sessions(pool), clock);
    jobs.enqueueRootRotation(1, "operator").await().atMost(WAIT);
    RotationWorker worker =
        new RotationWorker(
            postgres.sessions(pool), roots, audit, clock, Duration.ofDays(1), 10, StepHook.NONE);
    worker.runUntilIdle(20).await().atMost(WAIT);
    AppKeysGrant spanning =
        controller
            .grantAppKeys(good(1), List.of())
            .await()
            .atMost(java.time.Duration.ofSeconds(60));
    List<ReleasedAppKeys> after = spanning.keys();
    assertEquals(List.of(1, 2), after.stream().map(ReleasedAppKeys::version).toList());
    assertEquals(List.of(1, 2), after.stream().map(ReleasedAppKeys::generation).toList());
    assertArrayEquals(
        v1Root, after.get(0).appRootSecret(), "old version derived from the retired generation");
    // The guest agent accepts this release: each version is certified by its own generation's KMS
    // root.
    org.teekms.proto.GetAppKeysResponse wire =
        org.teekms.proto.GetAppKeysResponse.newBuilder()
            .setAppId(com.google.protobuf.ByteString.copyFrom(spanning.appId().toBytes()))
            .setInstanceId(
                com.google.protobuf.ByteString.copyFrom(spanning.instanceId().toByteArray()))
            .setCurrentVersion(spanning.currentVersion())
            .setMinVersion(spanning.minVersion())
            .setGrantId(spanning.grantId().toString())
            .addAllKeys(after.stream().map(org.teekms.kms.grpc.KmsService::encode).toList())
            .build();
    try (org.teekms.agent.keys.AgentKeys agent =
        assertDoesNotThrow(
            () ->
                org.teekms.agent.keys.AppKeysVerifier.verify(
                    wire,
                    spanning.appId(),
                    org.teekms.keys.InstanceId.of(spanning.instanceId().toByteArray()),
                    java.util.Optional.empty()))) {
      assertEquals(java.util.Set.of(1, 2), agent.kmsRoots().keySet());
      assertFalse(
          agent.kmsRoots().get(1).equals(agent.kmsRoots().get(2)),
          "a new generation has a new KMS root");
      assertEquals(
          agent.kmsRoots().get(2),
          agent.kmsRootAddress(),
          "the current version is on generation 2");
    }
    clock.advance(Duration.ofDays(2));
    worker.runUntilIdle(20).await().atMost(WAIT);
    List<ReleasedAppKeys> destroyed =
        controller
            .grantAppKeys(good(1), List.of())
            .await()
            .atMost(java.time.Duration.ofSeconds(60))
            .keys();
    assertEquals(List.of(2), destroyed.stream().map(ReleasedAppKeys::version).toList());
    assertEquals(DenyCode.KEY_VERSION_NOT_SERVED, denied(good(1), List.of(1)));
  }

  @Test
  void auditFailureRefusesTheRelease() {
    chain.register(APP, COMPOSE);
    pool.query("DELETE FROM audit_head").execute().await().atMost(WAIT);
    AdmissionDenied d =
        assertThrows(
            AdmissionDenied.class,
            () ->
                controller
                    .grantAppKeys(good(1), List.of())
                    .await()
                    .atMost(java.time.Duration.ofSeconds(60)));
    assertEquals(DenyCode.KMS_UNAVAILABLE, d.code());
    assertTrue(d.detail().contains("audit log"), d.detail());
    assertEquals(
        0L,
        pool.query("SELECT count(*) FROM key_grant")
            .execute()
            .await()
            .atMost(WAIT)
            .iterator()
            .next()
            .getLong(0));
  }

  @Test
  void databaseDownIsDenied() {
    chain.register(APP, COMPOSE);
    controller.grantAppKeys(good(1), List.of()).await().atMost(java.time.Duration.ofSeconds(60));
    Pool dead =
        postgres.pool(new DatabaseCoordinates("127.0.0.1", 1, "none", "postgres", "postgres"), 1);
    try {
      AdmissionController offline =
          new AdmissionController(
              postgres.sessions(dead),
              new LocalAttestationPolicy(Set.of("UpToDate"), Set.of(), Optional.empty()),
              chain,
              new RootGenerationStore(
                  postgres.sessions(dead), new SealingKey(new byte[32]), "kms-test"),
              new LiveKeyring(
                  new RootGenerationStore(
                      postgres.sessions(dead), new SealingKey(new byte[32]), "kms-test"),
                  WAIT),
              new GrantLedger(new AuditLog(dead, postgres.sessions(dead), clock)),
              clock,
              Duration.ofSeconds(5),
              AdmissionObserver.NONE);
      AdmissionDenied d =
          assertThrows(
              AdmissionDenied.class,
              () ->
                  offline
                      .grantAppKeys(good(1), List.of())
                      .await()
                      .atMost(java.time.Duration.ofSeconds(60)));
      assertEquals(DenyCode.KMS_UNAVAILABLE, d.code());
      assertTrue(d.code().unavailable());
    } finally {
      dead.closeAndAwait();
    }
  }

  @Test
  void invalidRequestsAreRefused() {
    chain.register(APP, COMPOSE);
    assertEquals(DenyCode.REQUEST_INVALID, denied(good(1), List.of(0)));
    assertEquals(DenyCode.KEY_VERSION_NOT_SERVED, denied(good(1), List.of(5)));
    Set<Object> codes = new HashSet<>();
    observed.forEach(o -> codes.add(o[0]));
    assertTrue(codes.contains(DenyCode.REQUEST_INVALID));
  }

  private static byte[] csr(java.security.KeyPair keys) throws Exception {
    return new org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder(
            new javax.security.auth.x500.X500Principal("CN=ignored"), keys.getPublic())
        .build(
            new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder("SHA256withECDSA")
                .build(keys.getPrivate()))
        .getEncoded();
  }

  @Test
  void signCertIssuesAShortLivedCertificateUnderTheAppCa() throws Exception {
    chain.register(APP, COMPOSE);
    java.security.KeyPairGenerator gen = java.security.KeyPairGenerator.getInstance("EC");
    gen.initialize(new java.security.spec.ECGenParameterSpec("secp256r1"));
    java.security.KeyPair keys = gen.generateKeyPair();
    AdmissionController.SignedCertificate signed =
        controller
            .signCertificate(good(1), csr(keys), List.of("node-1.model.internal"), 3600, true)
            .await()
            .atMost(java.time.Duration.ofSeconds(60));
    java.security.cert.X509Certificate cert =
        (java.security.cert.X509Certificate)
            java.security.cert.CertificateFactory.getInstance("X.509")
                .generateCertificate(
                    new java.io.ByteArrayInputStream(
                        signed.issued().certificateDer().toByteArray()));
    assertArrayEquals(keys.getPublic().getEncoded(), cert.getPublicKey().getEncoded());
    // The issuing key is the app CA key certified by the app root, itself certified by the KMS
    // root.
    org.teekms.keys.PurposeKeyCertificate ca = signed.issued().caKeyCertificate();
    assertEquals("tls-ca", ca.key().purpose().label());
    ReleasedAppKeys k =
        controller
            .grantAppKeys(good(1), List.of())
            .await()
            .atMost(java.time.Duration.ofSeconds(60))
            .keys()
            .get(0);
    SignatureChainVerifier.Result chainOk =
        new SignatureChainVerifier(
                keyring.derive(null).await().indefinitely().kmsRootKey(1).ethereumAddress())
            .verify(new SignatureChain(k.appRootCertificate(), ca));
    assertTrue(chainOk.valid(), chainOk.detail());
    org.bouncycastle.jce.spec.ECNamedCurveParameterSpec p256 =
        org.bouncycastle.jce.ECNamedCurveTable.getParameterSpec("P-256");
    java.security.PublicKey caKey =
        java.security.KeyFactory.getInstance(
                "EC", new org.bouncycastle.jce.provider.BouncyCastleProvider())
            .generatePublic(
                new org.bouncycastle.jce.spec.ECPublicKeySpec(
                    p256.getCurve().decodePoint(ca.publicKey().toByteArray()), p256));
    cert.verify(caKey);
    assertTrue(cert.getNotAfter().getTime() - cert.getNotBefore().getTime() <= (3600 + 60) * 1000L);
    assertEquals(List.of("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"), cert.getExtendedKeyUsage());
    assertEquals(-1, cert.getBasicConstraints(), "not a CA");
    // X.509: leaf -> app CA certificate -> KMS CA (trust anchor), validated by the JDK's PKIX
    // validator.
    java.security.cert.CertificateFactory cf =
        java.security.cert.CertificateFactory.getInstance("X.509");
    java.security.cert.X509Certificate appCa =
        (java.security.cert.X509Certificate)
            cf.generateCertificate(
                new java.io.ByteArrayInputStream(signed.issued().appCaX509().toByteArray()));
    java.security.cert.X509Certificate kmsCa =
        (java.security.cert.X509Certificate)
            cf.generateCertificate(
                new java.io.ByteArrayInputStream(signed.issued().kmsCaX509().toByteArray()));
    java.security.cert.PKIXParameters pkix =
        new java.security.cert.PKIXParameters(
            java.util.Set.of(new java.security.cert.TrustAnchor(kmsCa, null)));
    pkix.setRevocationEnabled(false);
    pkix.setDate(
        new java.util.Date(cert.getNotBefore().getTime() + 120_000)); // the test clock's "now"
    java.security.cert.CertPathValidator.getInstance("PKIX")
        .validate(cf.generateCertPath(List.of(cert, appCa)), pkix);
    assertArrayEquals(
        caKey.getEncoded(),
        appCa.getPublicKey().getEncoded(),
        "the X.509 app CA is the tls-ca key");
    assertArrayEquals(k.kmsCaX509(), signed.issued().kmsCaX509().toByteArray());
    assertArrayEquals(
        k.appCaX509(),
        signed.issued().appCaX509().toByteArray(),
        "deterministic: same bytes on every issuance");
    // A KMS CA of another deployment is not a trust anchor for this chain.
    java.security.cert.X509Certificate foreignCa;
    try (org.teekms.keys.RootKeyring other =
        new org.teekms.keys.RootKeyring(
            1,
            org.teekms.keys.SecretBytes.copyOf(
                bytes(32, 0x77), org.teekms.keys.InsecureSecretAccess.get()))) {
      org.teekms.keys.KmsKeyDeriver d = new org.teekms.keys.KmsKeyDeriver(other);
      try (org.teekms.keys.DerivedKey kc = d.kmsCaKey(1);
          org.teekms.keys.DerivedKey kr = d.kmsRootKey(1)) {
        foreignCa =
            (java.security.cert.X509Certificate)
                cf.generateCertificate(
                    new java.io.ByteArrayInputStream(
                        org.teekms.kms.keys.KmsCertificateAuthority.kmsCaCertificate(
                            kc, kr.ethereumAddress().toString())));
      }
    }
    java.security.cert.PKIXParameters foreign =
        new java.security.cert.PKIXParameters(
            java.util.Set.of(new java.security.cert.TrustAnchor(foreignCa, null)));
    foreign.setRevocationEnabled(false);
    foreign.setDate(pkix.getDate());
    assertThrows(
        java.security.cert.CertPathValidatorException.class,
        () ->
            java.security.cert.CertPathValidator.getInstance("PKIX")
                .validate(cf.generateCertPath(List.of(cert, appCa)), foreign));
    AuditEntry entry = audit.byEventId(signed.grantId()).await().atMost(WAIT);
    assertEquals("GRANT_SIGN_CERT", entry.kind());
    assertTrue(entry.detailJson().contains(signed.issued().certificateSha256Hex()));
  }

  @Test
  void signCertRefusesBadRequests() throws Exception {
    chain.register(APP, COMPOSE);
    java.security.KeyPairGenerator gen = java.security.KeyPairGenerator.getInstance("EC");
    gen.initialize(new java.security.spec.ECGenParameterSpec("secp256r1"));
    byte[] good = csr(gen.generateKeyPair());
    byte[] forged = good.clone();
    forged[forged.length - 5] ^= 1; // inside the signature: no proof of possession
    assertEquals(
        DenyCode.REQUEST_INVALID,
        assertThrows(
                AdmissionDenied.class,
                () ->
                    controller
                        .signCertificate(good(1), forged, List.of(), 3600, false)
                        .await()
                        .atMost(java.time.Duration.ofSeconds(60)))
            .code());
    assertEquals(
        DenyCode.REQUEST_INVALID,
        assertThrows(
                AdmissionDenied.class,
                () ->
                    controller
                        .signCertificate(
                            good(1),
                            java.util.Arrays.copyOf(good, good.length / 2),
                            List.of(),
                            3600,
                            false)
                        .await()
                        .atMost(java.time.Duration.ofSeconds(60)))
            .code());
    assertEquals(
        DenyCode.REQUEST_INVALID,
        assertThrows(
                AdmissionDenied.class,
                () ->
                    controller
                        .signCertificate(good(1), good, List.of("bad name!"), 3600, false)
                        .await()
                        .atMost(java.time.Duration.ofSeconds(60)))
            .code());
    assertEquals(
        DenyCode.REQUEST_INVALID,
        assertThrows(
                AdmissionDenied.class,
                () ->
                    controller
                        .signCertificate(good(1), good, List.of(), 10, false)
                        .await()
                        .atMost(java.time.Duration.ofSeconds(60)))
            .code());
    java.util.Random random = new java.util.Random(7);
    for (int i = 0; i < 200; i++) {
      byte[] m = good.clone();
      m[random.nextInt(m.length)] ^= (byte) (1 + random.nextInt(255));
      AdmissionDenied d =
          assertThrows(
              AdmissionDenied.class,
              () ->
                  controller
                      .signCertificate(good(1), m, List.of(), 3600, false)
                      .await()
                      .atMost(java.time.Duration.ofSeconds(60)));
      assertEquals(DenyCode.REQUEST_INVALID, d.code());
    }
    assertEquals(
        DenyCode.COMPOSE_HASH_NOT_ALLOWED,
        assertThrows(
                AdmissionDenied.class,
                () ->
                    controller
                        .signCertificate(
                            peer(APP, bytes(32, 0xc9), bytes(20, 1), false, "UpToDate", 0),
                            good,
                            List.of(),
                            3600,
                            false)
                        .await()
                        .atMost(java.time.Duration.ofSeconds(60)))
            .code());
  }
}
