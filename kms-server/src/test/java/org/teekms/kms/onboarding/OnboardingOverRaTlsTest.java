package org.teekms.kms.onboarding;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.vertx.mutiny.sqlclient.Pool;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.teekms.attest.ratls.RaTlsCertificateFactory;
import org.teekms.attest.ratls.RaTlsContexts;
import org.teekms.attest.ratls.RaTlsCredentials;
import org.teekms.attest.ratls.RaTlsKeyManager;
import org.teekms.attest.ratls.RaTlsTrustManager;
import org.teekms.attest.ratls.RaTlsVerifier;
import org.teekms.attest.sim.SimulatedCvm;
import org.teekms.attest.sim.SimulatedTdx;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.QuotePolicy;
import org.teekms.kms.TestPostgres;
import org.teekms.kms.adapters.RaTlsPeerAttestation;
import org.teekms.kms.audit.AuditLog;
import org.teekms.kms.grant.GrantLedger;
import org.teekms.kms.grant.PolicyBlockRef;
import org.teekms.kms.grpc.OnboardingService;
import org.teekms.kms.grpc.TlsSessionInterceptor;
import org.teekms.kms.keys.LiveKeyring;
import org.teekms.kms.roots.RootBootstrap;
import org.teekms.kms.roots.RootGenerationStore;
import org.teekms.kms.seal.SealingKey;

/**
 * Replica onboarding end to end over mutual RA-TLS (grpc-netty, simulated TDX): two KMS nodes, each
 * on its own PostgreSQL database; the new node fetches the root generations from the source only if
 * each side passes the registry check of the other, then imports them under its own sealing key.
 */
public class OnboardingOverRaTlsTest {

  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final Clock CLOCK = Clock.systemUTC();
  private static final String KMS_IMAGE = "services:\n  kms: {image: tee-kms}\n";
  private static TestPostgres postgres;
  private static SimulatedTdx tdx;
  private static RaTlsTrustManager trust;

  @BeforeAll
  static void start() {
    postgres = new TestPostgres();
    tdx = SimulatedTdx.enable("OnboardingOverRaTlsTest", CLOCK);
    trust =
        new RaTlsTrustManager(
            RaTlsVerifier.builder(
                    new DcapQuoteVerifier(tdx.rootCertificate()), tdx.collateralSource())
                .quotePolicy(QuotePolicy.builder().build())
                .clock(CLOCK)
                .build());
  }

  @AfterAll
  static void stop() {
    postgres.close();
  }

  /** Stand-in for isKmsAllowed: only nodes running the KMS image (compose hash) are allowed. */
  static final KmsPolicyPort REGISTRY =
      peer -> {
        PolicyBlockRef block = new PolicyBlockRef(31337, 5, new byte[32]);
        boolean kms =
            Arrays.equals(
                peer.composeHash().toByteArray(),
                SimulatedCvm.App.ofCompose(KMS_IMAGE, new byte[20]).composeHash().toByteArray());
        return new KmsPolicyVerdict(
            kms ? KmsPolicyVerdict.Outcome.ALLOWED : KmsPolicyVerdict.Outcome.DENIED,
            kms ? "" : "KMS measurement not allowed",
            Optional.of(block));
      };

  static final PublishedRootsPort NOTHING_PUBLISHED =
      g ->
          org.teekms.governance.PublishedRootKeys.notPublished(
              g,
              5,
              "0x" + "00".repeat(32),
              "the registry publishes root generations up to 0 at block 5");

  /**
   * The registry after {@code teekms kms bootstrap --publish}: each generation's KMS root public
   * key of the source.
   */
  static PublishedRootsPort published(Pool pool, RootGenerationStore roots) {
    return g -> {
      byte[] secret = roots.unseal(g).await().atMost(WAIT);
      try {
        return org.teekms.governance.PublishedRootKeys.published(
            g,
            org.teekms.crypto.Bytes.copyOf(PublishedRootCheck.rootPublicKey(g, secret)),
            5,
            "0x" + "00".repeat(32));
      } finally {
        Arrays.fill(secret, (byte) 0);
      }
    };
  }

  static RaTlsCredentials node(String compose, int n) throws Exception {
    byte[] instance = new byte[20];
    instance[19] = (byte) n;
    SimulatedCvm cvm =
        tdx.newCvm(new byte[48], false).boot(SimulatedCvm.App.ofCompose(compose, instance));
    return new RaTlsCertificateFactory(cvm, cvm.eventLog(), null, CLOCK, Duration.ofHours(1))
        .create("kms-" + n);
  }

  static Server source(RaTlsCredentials creds, OnboardingController controller) throws Exception {
    return source(creds, trust, controller);
  }

  /** A source node: the Onboarding service over mutual RA-TLS (grpc-netty) on a random port. */
  public static Server source(
      RaTlsCredentials creds, RaTlsTrustManager trust, OnboardingController controller)
      throws Exception {
    return NettyServerBuilder.forPort(0)
        .sslContext(
            GrpcSslContexts.configure(
                    SslContextBuilder.forServer(
                            RaTlsContexts.keyManagerFactory(new RaTlsKeyManager(creds)))
                        .trustManager(RaTlsContexts.trustManagerFactory(trust))
                        .clientAuth(ClientAuth.REQUIRE),
                    SslProvider.JDK)
                .build())
        .addService(
            ServerInterceptors.intercept(
                new OnboardingService(controller, new RaTlsPeerAttestation(trust)),
                new TlsSessionInterceptor()))
        .build()
        .start();
  }

  static ManagedChannel channel(RaTlsCredentials creds, int port) throws Exception {
    return NettyChannelBuilder.forAddress("127.0.0.1", port)
        .overrideAuthority("kms.teekms.invalid")
        .sslContext(
            GrpcSslContexts.configure(
                    SslContextBuilder.forClient()
                        .keyManager(RaTlsContexts.keyManagerFactory(new RaTlsKeyManager(creds)))
                        .trustManager(RaTlsContexts.trustManagerFactory(trust)),
                    SslProvider.JDK)
                .build())
        .build();
  }

  private static int rootCount(Pool pool) {
    return pool.query("SELECT count(*) FROM root_generation")
        .execute()
        .await()
        .atMost(WAIT)
        .iterator()
        .next()
        .getInteger(0);
  }

  @Test
  void newNodeJoinsOverMutualRaTlsOnlyWhenBothSidesAreAllowedKmsNodes() throws Exception {
    Pool sourcePool = postgres.pool(postgres.freshDatabase(), 4);
    Pool replicaPool = postgres.pool(postgres.freshDatabase(), 4);
    RaTlsPeerAttestation attestation = new RaTlsPeerAttestation(trust);
    Server server = null;
    try {
      AuditLog sourceAudit = new AuditLog(sourcePool, postgres.sessions(sourcePool), CLOCK);
      RootGenerationStore sourceRoots =
          new RootGenerationStore(
              postgres.sessions(sourcePool),
              new SealingKey(OnboardingTest.bytes(32, 0x5a)),
              "kms-x");
      RootBootstrap.ensureBootstrapped(
              postgres.sessions(sourcePool), sourceRoots, sourceAudit, CLOCK)
          .await()
          .atMost(WAIT);
      server =
          source(
              node(KMS_IMAGE, 1),
              new OnboardingController(REGISTRY, sourceRoots, new GrantLedger(sourceAudit), WAIT));
      AuditLog replicaAudit = new AuditLog(replicaPool, postgres.sessions(replicaPool), CLOCK);
      RootGenerationStore replicaRoots =
          new RootGenerationStore(
              postgres.sessions(replicaPool),
              new SealingKey(OnboardingTest.bytes(32, 0x6b)),
              "kms-x");

      // A node that does not run the KMS image is refused by the source.
      ManagedChannel rogue = channel(node("services:\n  rogue: {}\n", 3), server.getPort());
      try {
        OnboardingClient.OnboardingRefused r =
            assertThrows(
                OnboardingClient.OnboardingRefused.class,
                () ->
                    OnboardingClient.fetch(
                        rogue,
                        attestation::peer,
                        REGISTRY,
                        NOTHING_PUBLISHED,
                        "kms-x",
                        "rogue",
                        WAIT));
        assertTrue(
            r.getMessage().contains("PERMISSION_DENIED")
                && r.getMessage().contains("KMS_NOT_ALLOWED"),
            r.getMessage());
      } finally {
        rogue.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }

      ManagedChannel ch = channel(node(KMS_IMAGE, 2), server.getPort());
      try {
        // The new node requires the source to be an allowed KMS too: a registry that does not list
        // it refuses.
        KmsPolicyPort none =
            peer ->
                new KmsPolicyVerdict(
                    KmsPolicyVerdict.Outcome.DENIED,
                    "KMS measurement not allowed",
                    Optional.empty());
        OnboardingClient.OnboardingRefused r =
            assertThrows(
                OnboardingClient.OnboardingRefused.class,
                () ->
                    OnboardingClient.fetch(
                        ch,
                        attestation::peer,
                        none,
                        published(sourcePool, sourceRoots),
                        "kms-x",
                        "replica-2",
                        WAIT));
        assertTrue(r.getMessage().contains("not an allowed KMS"), r.getMessage());
        // Another deployment id is refused by the source.
        assertThrows(
            OnboardingClient.OnboardingRefused.class,
            () ->
                OnboardingClient.fetch(
                    ch,
                    attestation::peer,
                    REGISTRY,
                    published(sourcePool, sourceRoots),
                    "kms-other",
                    "replica-2",
                    WAIT));
        assertEquals(0, rootCount(replicaPool), "nothing imported");

        // The roots must be the ones the registry publishes: a source of another deployment (same
        // KMS image, same
        // configured KMS id "kms-x", so isKmsAllowed and the id check pass) is refused for its
        // roots.
        PublishedRootsPort foreign =
            g ->
                org.teekms.governance.PublishedRootKeys.published(
                    g,
                    org.teekms.crypto.Bytes.copyOf(
                        PublishedRootCheck.rootPublicKey(g, OnboardingTest.bytes(32, 0x77))),
                    5,
                    "0x" + "00".repeat(32));
        OnboardingClient.OnboardingRefused mismatch =
            assertThrows(
                OnboardingClient.OnboardingRefused.class,
                () ->
                    OnboardingClient.fetch(
                        ch, attestation::peer, REGISTRY, foreign, "kms-x", "replica-2", WAIT));
        assertTrue(
            mismatch
                .getMessage()
                .startsWith(
                    "root generation 1 is not the one published on chain at block 5: "
                        + "received root key 0x"),
            mismatch.getMessage());
        OnboardingClient.OnboardingRefused unpublished =
            assertThrows(
                OnboardingClient.OnboardingRefused.class,
                () ->
                    OnboardingClient.fetch(
                        ch,
                        attestation::peer,
                        REGISTRY,
                        NOTHING_PUBLISHED,
                        "kms-x",
                        "replica-2",
                        WAIT));
        assertTrue(
            unpublished.getMessage().startsWith("root generation 1 is not published on chain"),
            unpublished.getMessage());
        OnboardingClient.OnboardingRefused down =
            assertThrows(
                OnboardingClient.OnboardingRefused.class,
                () ->
                    OnboardingClient.fetch(
                        ch,
                        attestation::peer,
                        REGISTRY,
                        g ->
                            org.teekms.governance.PublishedRootKeys.unavailable(
                                g, "RPC_UNAVAILABLE: connection refused"),
                        "kms-x",
                        "replica-2",
                        WAIT));
        assertEquals(
            "the root public key published on chain for generation 1 is unreadable: RPC_UNAVAILABLE: "
                + "connection refused",
            down.getMessage());
        assertEquals(0, rootCount(replicaPool), "nothing imported");

        OnboardingClient.Joined joined =
            OnboardingClient.fetch(
                ch,
                attestation::peer,
                REGISTRY,
                published(sourcePool, sourceRoots),
                "kms-x",
                "replica-2",
                WAIT);
        try {
          assertEquals(
              List.of(1),
              joined.generations().stream().map(RootGenerationRelease::generation).toList());
          RootImport.importInto(
                  postgres.sessions(replicaPool),
                  replicaRoots,
                  replicaAudit,
                  joined.generations(),
                  "kms-x",
                  CLOCK.millis())
              .await()
              .atMost(WAIT);
        } finally {
          joined.generations().forEach(RootGenerationRelease::destroy);
        }
      } finally {
        ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      try (LiveKeyring a = new LiveKeyring(sourceRoots, WAIT);
          LiveKeyring b = new LiveKeyring(replicaRoots, WAIT)) {
        assertEquals(
            a.derive(null).await().indefinitely().kmsRootKey(1).ethereumAddress(),
            b.derive(null).await().indefinitely().kmsRootKey(1).ethereumAddress());
      }
      assertTrue(replicaAudit.verify().await().atMost(WAIT).valid());
    } finally {
      if (server != null) {
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      sourcePool.closeAndAwait();
      replicaPool.closeAndAwait();
    }
  }
}
