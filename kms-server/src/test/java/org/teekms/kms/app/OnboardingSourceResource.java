package org.teekms.kms.app;

import io.grpc.Server;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.vertx.mutiny.sqlclient.Pool;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.teekms.attest.ratls.RaTlsCertificateFactory;
import org.teekms.attest.ratls.RaTlsTrustManager;
import org.teekms.attest.ratls.RaTlsVerifier;
import org.teekms.attest.sim.SimulatedCvm;
import org.teekms.attest.sim.SimulatedTdx;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.QuotePolicy;
import org.teekms.kms.TestPostgres;
import org.teekms.kms.audit.AuditLog;
import org.teekms.kms.grant.GrantLedger;
import org.teekms.kms.grant.PolicyBlockRef;
import org.teekms.kms.keys.LiveKeyring;
import org.teekms.kms.onboarding.KmsPolicyPort;
import org.teekms.kms.onboarding.KmsPolicyVerdict;
import org.teekms.kms.onboarding.OnboardingController;
import org.teekms.kms.onboarding.OnboardingOverRaTlsTest;
import org.teekms.kms.roots.RootBootstrap;
import org.teekms.kms.roots.RootGenerationStore;
import org.teekms.kms.seal.SealingKey;

/**
 * An existing KMS node for {@link KmsJoinTest}: its own PostgreSQL database with root generation 1,
 * and the Onboarding service over mutual RA-TLS (grpc-netty) on the simulated platform of {@link
 * RaTlsProfile#SEED}, running the deployment's KMS image. The server under test starts with an
 * empty database and this node as onboarding source.
 */
public class OnboardingSourceResource implements QuarkusTestResourceLifecycleManager {

  static final String KMS_ID = "kms-join-it";
  private static final Duration WAIT = Duration.ofSeconds(30);
  private TestPostgres postgres;
  private Pool pool;
  private Server server;

  @Override
  public Map<String, String> start() {
    try {
      Clock clock = Clock.systemUTC();
      postgres = new TestPostgres();
      pool = postgres.pool(postgres.freshDatabase(), 4);
      AuditLog audit = new AuditLog(pool, postgres.sessions(pool), clock);
      RootGenerationStore roots =
          new RootGenerationStore(postgres.sessions(pool), new SealingKey(new byte[32]), KMS_ID);
      RootBootstrap.ensureBootstrapped(postgres.sessions(pool), roots, audit, clock)
          .await()
          .atMost(WAIT);
      String address;
      String publicKey;
      try (LiveKeyring keyring = new LiveKeyring(roots, WAIT)) {
        address =
            keyring.derive(null).await().indefinitely().kmsRootKey(1).ethereumAddress().toString();
        publicKey =
            HexFormat.of()
                .formatHex(keyring.derive(null).await().indefinitely().kmsRootKey(1).publicKey());
      }
      SimulatedTdx tdx =
          SimulatedTdx.enableSeeded(
              "OnboardingSourceResource", clock, HexFormat.of().parseHex(RaTlsProfile.SEED));
      byte[] kmsImage =
          SimulatedCvm.App.ofCompose("tee-kms kms-server " + KMS_ID + "\n", new byte[20])
              .composeHash()
              .toByteArray();
      KmsPolicyPort registry =
          peer ->
              new KmsPolicyVerdict(
                  Arrays.equals(kmsImage, peer.composeHash().toByteArray())
                      ? KmsPolicyVerdict.Outcome.ALLOWED
                      : KmsPolicyVerdict.Outcome.DENIED,
                  "KMS measurement not allowed",
                  Optional.of(new PolicyBlockRef(31337, 3, new byte[32])));
      byte[] instance = new byte[20];
      instance[0] = 1;
      SimulatedCvm cvm =
          tdx.newCvm(new byte[48], false)
              .boot(SimulatedCvm.App.ofCompose("tee-kms kms-server " + KMS_ID + "\n", instance));
      RaTlsTrustManager trust =
          new RaTlsTrustManager(
              RaTlsVerifier.builder(
                      new DcapQuoteVerifier(tdx.rootCertificate()), tdx.collateralSource())
                  .quotePolicy(QuotePolicy.builder().build())
                  .clock(clock)
                  .build());
      server =
          OnboardingOverRaTlsTest.source(
              new RaTlsCertificateFactory(cvm, cvm.eventLog(), null, clock, Duration.ofHours(1))
                  .create("source"),
              trust,
              new OnboardingController(registry, roots, new GrantLedger(audit), WAIT));
      Map<String, String> config = new HashMap<>();
      config.put("teekms.onboarding.source", "127.0.0.1:" + server.getPort());
      config.put("teekms.kms-id", KMS_ID);
      config.put("teekms.node-id", "replica-it");
      config.put("kms-join-it.source-root-address", address);
      // what the operator published with `teekms kms bootstrap --publish` (FakeChainPolicy serves
      // it)
      config.put("teekms-test.published-root-keys", "1:" + publicKey);
      return config;
    } catch (Exception e) {
      throw new IllegalStateException("onboarding source did not start", e);
    }
  }

  @Override
  public void stop() {
    if (server != null) {
      server.shutdownNow();
      try {
        server.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (pool != null) {
      pool.closeAndAwait();
    }
    if (postgres != null) {
      postgres.close();
    }
  }
}
