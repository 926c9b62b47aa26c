package org.teekms.kms.custody;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.mutiny.sqlclient.Pool;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.teekms.custody.RecipientKeyPair;
import org.teekms.governance.ChainClient;
import org.teekms.governance.KmsRegistry;
import org.teekms.governance.RootCustody;
import org.teekms.governance.testing.AnvilNode;
import org.teekms.kms.MutableClock;
import org.teekms.kms.TestPostgres;
import org.teekms.kms.audit.AuditLog;
import org.teekms.kms.roots.RootBootstrap;
import org.teekms.kms.roots.RootGenerationStore;
import org.teekms.kms.roots.RootState;
import org.teekms.kms.rotation.RotationJob;
import org.teekms.kms.rotation.RotationJobs;
import org.teekms.kms.rotation.RotationWorker;
import org.teekms.kms.rotation.StepHook;
import org.teekms.kms.seal.SealingKey;
import org.web3j.crypto.Credentials;

/**
 * Root custody against a real chain (anvil) and a real PostgreSQL: the KMS reads the active
 * custodians of the RootCustody contract through its RPC quorum, a root rotation stages its backup,
 * the registry owner publishes it with {@code teekms gov publish-backup}, the KMS checks it and
 * promotes, and each custodian's {@code teekms custody check-share} accepts its share.
 */
@Timeout(240)
class ChainCustodyTest {
  private static AnvilNode anvil;
  private static ChainClient chain;
  private static Credentials owner;
  private static RootCustody custody;
  private static TestPostgres postgres;

  @TempDir Path dir;

  @BeforeAll
  static void start() throws Exception {
    anvil = AnvilNode.start();
    chain = ChainClient.connect(anvil.rpcUrl(), AnvilNode.CHAIN_ID);
    owner = anvil.fundedAccount();
    KmsRegistry registry = KmsRegistry.deploy(chain, owner, owner.getAddress()).registry();
    custody = RootCustody.deploy(chain, owner, registry.address());
    postgres = new TestPostgres();
  }

  @AfterAll
  static void stop() {
    if (postgres != null) postgres.close();
    if (chain != null) chain.close();
    if (anvil != null) anvil.close();
  }

  /** Two endpoint names for the one node: the quorum logic sees two endpoints that agree. */
  private static ChainCustody reader(int quorum, String second) {
    String first = anvil.rpcUrl();
    return new ChainCustody(
        List.of(chain, ChainClient.connect(second, AnvilNode.CHAIN_ID)),
        List.of(first, second),
        quorum,
        custody.address(),
        0);
  }

  private static String localhost() {
    return anvil.rpcUrl().replace("127.0.0.1", "localhost");
  }

  private static String cli(Path ownerKey, String... args) throws Exception {
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(
        List.of("--rpc-url", anvil.rpcUrl(), "--chain-id", Long.toString(AnvilNode.CHAIN_ID)));
    if (ownerKey != null) all.addAll(List.of("--key-file", ownerKey.toString()));
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    picocli.CommandLine cmd = org.teekms.cli.TeeKmsCli.newCommandLine();
    cmd.setOut(new PrintWriter(out));
    cmd.setErr(new PrintWriter(err));
    int exit = cmd.execute(all.toArray(new String[0]));
    assertEquals(0, exit, out + " " + err);
    return out.toString();
  }

  @Test
  void aRotationIsBackedUpToTheOnChainCustodiansAndPromotedOnceTheOwnerPublishedIt()
      throws Exception {
    // Three custodians registered; a fourth registered then deactivated gets no share.
    List<RecipientKeyPair> keys = new ArrayList<>();
    List<Path> keyFiles = new ArrayList<>();
    SecureRandom random = new SecureRandom();
    for (int i = 0; i < 4; i++) {
      RecipientKeyPair k = RecipientKeyPair.generate(random);
      custody.registerCustodian(
          k.publicKey().encode(), RootCustody.Kind.OPERATOR, "custodian " + i);
      keys.add(k);
      keyFiles.add(
          Files.writeString(
              dir.resolve("custodian-" + i + ".key"),
              java.util.HexFormat.of()
                  .formatHex(k.encodePrivate(org.teekms.keys.InsecureSecretAccess.get()))));
    }
    custody.deactivateCustodian(keys.get(1).publicKey().id());
    ChainCustody reader = reader(2, localhost());
    CustodyChainPort.CustodianSet set = reader.activeCustodians();
    assertEquals(
        List.of(keys.get(0).publicKey(), keys.get(2).publicKey(), keys.get(3).publicKey()),
        set.keys());

    // A KMS node with custody: 2-of-3, publication required.
    Pool pool = postgres.pool(postgres.freshDatabase(), 4);
    MutableClock clock = new MutableClock(System.currentTimeMillis());
    AuditLog audit = new AuditLog(pool, postgres.sessions(pool), clock);
    RootGenerationStore roots =
        new RootGenerationStore(
            postgres.sessions(pool), new SealingKey(new byte[32]), "kms-chain-custody");
    Path store = dir.resolve("store");
    RootBackups backups =
        new RootBackups(reader, new RootBackups.Settings(2, store, true), roots, random);
    RootBootstrap.ensureBootstrapped(postgres.sessions(pool), roots, audit, clock)
        .await()
        .atMost(TestPostgres.WAIT);
    RotationJobs jobs = new RotationJobs(postgres.sessions(pool), clock);
    UUID job = jobs.enqueueRootRotation(1, "operator").await().atMost(TestPostgres.WAIT);
    RotationWorker worker =
        new RotationWorker(
            postgres.sessions(pool),
            roots,
            audit,
            clock,
            Duration.ofDays(1),
            10,
            StepHook.NONE,
            backups,
            Duration.ofSeconds(30));
    worker.runUntilIdle(10).await().atMost(TestPostgres.WAIT.multipliedBy(2));
    assertEquals(
        RotationJob.State.BACKED_UP,
        jobs.get(job).await().atMost(TestPostgres.WAIT).orElseThrow().state());
    assertEquals(Optional.empty(), reader.publishedBackup(2));

    // The registry owner publishes what the store shows.
    Path ownerKey =
        Files.writeString(
            dir.resolve("owner.key"), String.format("%064x", owner.getEcKeyPair().getPrivateKey()));
    cli(
        ownerKey,
        "gov",
        "publish-backup",
        "--custody",
        custody.address(),
        "--store",
        store.toString(),
        "--generation",
        "2");
    RootCustody.Backup published = reader.publishedBackup(2).orElseThrow();
    assertEquals(3, published.custodianIds().size());
    assertArrayEquals(keys.get(2).publicKey().id(), published.custodianIds().get(1).toByteArray());

    clock.advance(Duration.ofSeconds(31));
    worker.runUntilIdle(10).await().atMost(TestPostgres.WAIT.multipliedBy(2));
    // Promoted, and with no app to move the job is already past PROMOTED (waiting out the old
    // generation's grace).
    assertEquals(
        RotationJob.State.APPS_MOVED,
        jobs.get(job).await().atMost(TestPostgres.WAIT).orElseThrow().state());
    assertEquals(
        RootState.CURRENT, roots.current().await().atMost(TestPostgres.WAIT).orElseThrow().state());
    assertEquals(2, roots.current().await().atMost(TestPostgres.WAIT).orElseThrow().generation());

    // Every custodian checks its share against the on-chain commitments and digest.
    int[] custodianOfIndex = {0, 2, 3};
    for (int index = 1; index <= 3; index++) {
      String out =
          cli(
              null,
              "custody",
              "check-share",
              "--custody",
              custody.address(),
              "--key-file",
              keyFiles.get(custodianOfIndex[index - 1]).toString(),
              "--store",
              store.toString(),
              "--generation",
              "2",
              "--index",
              Integer.toString(index));
      assertTrue(out.contains("\"valid\":true") || out.contains("\"valid\" : true"), out);
    }
    pool.closeAndAwait();
  }

  @Test
  void tooFewAnsweringEndpointsRefuseTheCustodianSet() {
    CustodyUnavailable e =
        assertThrows(
            CustodyUnavailable.class, () -> reader(2, "http://127.0.0.1:1").activeCustodians());
    assertTrue(e.getMessage().contains("1 of 2 RPC endpoints answered, 2 needed"), e.getMessage());
    assertEquals(
        reader(1, "http://127.0.0.1:1").activeCustodians().keys(),
        reader(2, localhost()).activeCustodians().keys(),
        "a quorum of one tolerates the dead endpoint");
  }
}
