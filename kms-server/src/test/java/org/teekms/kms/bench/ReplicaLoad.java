package org.teekms.kms.bench;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContextBuilder;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.X509TrustManager;
import org.teekms.attest.ratls.RaTlsContexts;
import org.teekms.attest.ratls.RaTlsCredentials;
import org.teekms.attest.ratls.RaTlsIdentity;
import org.teekms.attest.ratls.RaTlsKeyManager;
import org.teekms.attest.ratls.RaTlsTrustManager;
import org.teekms.attest.ratls.RaTlsVerifier;
import org.teekms.attest.sim.SimulatedTdx;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.QuotePolicy;
import org.teekms.governance.AppPolicy;
import org.teekms.governance.ChainClient;
import org.teekms.governance.KmsRegistry;
import org.teekms.governance.testing.AnvilNode;
import org.teekms.keys.AppId;
import org.teekms.kms.TestPostgres;
import org.teekms.kms.audit.AuditLog;
import org.teekms.kms.db.DatabaseCoordinates;
import org.teekms.kms.rotation.RotationJobs;
import org.teekms.proto.GetAppKeysRequest;
import org.teekms.proto.GetAppKeysResponse;
import org.teekms.proto.GetKmsInfoRequest;
import org.teekms.proto.KmsGrpc;
import org.teekms.proto.KmsInfo;
import org.teekms.proto.KmsInfoServiceGrpc;
import org.teekms.proto.RootGenerationInfo;
import org.web3j.crypto.Credentials;
import org.web3j.utils.Numeric;

/**
 * Replica load and fault harness (a main, not a test; {@code bench/kms-replicas.sh}): ONE
 * PostgreSQL (durable, embedded, started here), up to N packaged KMS processes on it, each with its
 * own data directory. Node 1 bootstraps root generation 1; the harness verifies its RA-TLS
 * certificate and publishes generation 1's identity on chain, as an operator does. How nodes 2..N
 * get the roots ({@code teekms.bench.replica-join}): {@code onboard} allows node 1's measurement,
 * device and OS image as a KMS and starts them with {@code teekms.onboarding.source} = node 1, so
 * each seals its own copy after onboarding over mutual RA-TLS (bench/kms-replicas.sh: {@code
 * JOIN=onboard}); {@code shared-key} (the default) gives them node 1's sealing key file instead.
 * Onboarding needs the simulated KMS to measure an OS image (it does since the simulator's fix;
 * before, {@code isKmsAllowed} refused every replica; docs/performance.md, "Replicas"). On a loaded
 * machine give the nodes {@code -Dteekms.db-timeout=60s} (KMS_SERVER_OPTS): node 1's first audited
 * write, the onboarding grant, can take longer than the 10 s default. Simulated CVMs (each
 * admission a fresh certificate and instance id) are spread round-robin over the first k nodes.
 *
 * <p>Modes ({@code teekms.bench.replica-mode}):
 *
 * <ul>
 *   <li>{@code scale} (default): first all N nodes serve for {@code
 *       teekms.bench.replica-settle-seconds} (240) so that every node's JIT settles; then
 *       admissions/s with 1, 2, ... N nodes serving (all N run; idle ones cost nothing), each level
 *       with latency, head-lock waits, the nodes' CPU per admission (JIT apart), PostgreSQL commits
 *       per admission and how busy the machine's cores were.
 *   <li>{@code faults}: load on all N nodes; {@code teekms.bench.kills} rounds, each enqueueing an
 *       app rotation, then after a random 0–1.5 s (the rotation poll is 1 s, so the kill can land
 *       inside the step) {@code kill -9} of a node other than node 1 (the onboarding source), then
 *       its restart on the same data directory. Afterwards it checks from the database: each
 *       admission a client saw succeed has exactly one grant, each grant exactly one audit entry
 *       (same id), the audit chain recomputes, each rotation job ran once (one ROTATION entry per
 *       job, versions 1..current without gap), and every node serves the same key version and the
 *       same app root secret (compared by digest) to one CVM. Any violation ends the run with exit
 *       status 1.
 * </ul>
 */
public final class ReplicaLoad {

  private static final Duration WAIT = Duration.ofSeconds(60);

  private ReplicaLoad() {}

  /** One KMS process and how to restart it. */
  static final class Node {
    final int index;
    final int port;
    final List<String> cmd;
    final Path log;
    volatile Process process;
    final AtomicLong served = new AtomicLong();
    final AtomicLong failed = new AtomicLong();

    Node(int index, int port, List<String> cmd, Path log) {
      this.index = index;
      this.port = port;
      this.cmd = cmd;
      this.log = log;
    }

    void start() throws IOException {
      process =
          new ProcessBuilder(cmd)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
              .start();
    }
  }

  private static boolean passed = true;

  /** Node 1's verified RA-TLS identity (the agent in the memory mode trusts its measurement). */
  private static RaTlsIdentity kmsIdentity;

  public static void main(String[] args) throws Exception {
    try {
      run(args);
    } finally {
      System.out.flush();
    }
    System.exit(passed ? 0 : 1);
  }

  private static void run(String[] args) throws Exception {
    List<Integer> counts = new ArrayList<>();
    for (String c : (args.length > 0 ? args[0] : "1,2,3").split(",")) {
      counts.add(Integer.parseInt(c.trim()));
    }
    int maxNodes = Collections.max(counts);
    int clients = args.length > 1 ? Integer.parseInt(args[1]) : 64;
    int seconds = args.length > 2 ? Integer.parseInt(args[2]) : 20;
    int warmup = args.length > 3 ? Integer.parseInt(args[3]) : 20;
    String mode = System.getProperty("teekms.bench.replica-mode", "scale");
    int kills = Integer.getInteger("teekms.bench.kills", 3);
    // onboard: replicas join by attestation (teekms.onboarding.source = node 1) and seal their own
    // copies;
    // shared-key: they are given node 1's sealing key file instead (see registerKms for why that is
    // the default)
    boolean onboard =
        "onboard".equals(System.getProperty("teekms.bench.replica-join", "shared-key"));
    System.out.println(
        "replicas join by: "
            + (onboard
                ? "onboarding over mutual RA-TLS from node 1 (own sealing key, "
                    + "own sealed copies)"
                : "node 1's sealing key file (shared-key, the default; JOIN=onboard for attested "
                    + "onboarding)"));
    Path jar = Path.of("kms-server/target/quarkus-app/quarkus-run.jar");
    Clock clock = Clock.systemUTC();
    int cores = Runtime.getRuntime().availableProcessors();
    System.out.printf(
        "machine: %s, %d cores; JVM: %s; load average at start: %.2f%n",
        LoadGenerator.cpuModel(), cores, LoadGenerator.jvm(), LoadGenerator.loadAverage());
    // Pinning: node i alone on CPU i-1, and the clients, anvil and PostgreSQL on the CPUs left,
    // when there are at
    // least two left for them; otherwise nothing is pinned and every process shares every core
    // (then more nodes can
    // only add contention: the figure shows the cost of replication, not its scale-out).
    boolean pinned =
        cores >= maxNodes + 2 && !"0".equals(System.getProperty("teekms.bench.pin", "1"));
    String clientCpus = maxNodes + "-" + (cores - 1);
    System.out.println(
        pinned
            ? "pinning: KMS node i on CPU i-1 (taskset); clients, anvil and PostgreSQL on CPUs "
                + clientCpus
                + " (this JVM was started on them by bench/kms-replicas.sh)"
            : "pinning: none ("
                + cores
                + " cores, "
                + maxNodes
                + " node(s); pinning needs nodes + 2 cores, or PIN=0 was "
                + "set): all processes share all cores"
                + (maxNodes > 1
                    ? ", so adding nodes cannot add CPU; the figures show "
                        + "what replication costs, not scale-out"
                    : ""));
    org.teekms.kms.tls.FastEcdsaProvider.install();

    try (AnvilNode anvil = AnvilNode.start();
        ChainClient chain = ChainClient.connect(anvil.rpcUrl(), AnvilNode.CHAIN_ID);
        TestPostgres postgres = new TestPostgres()) {
      DatabaseCoordinates db = postgres.freshDatabase();
      Pool pool = postgres.pool(db, 4);
      Credentials operator = anvil.fundedAccount();
      KmsRegistry registry = KmsRegistry.deploy(chain, operator, operator.getAddress()).registry();
      registry.setTcbPolicy(List.of("UpToDate"), List.of());
      registry.addOsImage(LoadGenerator.OS_IMAGE);
      registry.addOsImageMeasurement(
          LoadGenerator.OS_IMAGE, MessageDigest.getInstance("SHA-256").digest(new byte[4 * 48]));
      AppPolicy app =
          AppPolicy.at(chain, registry.registerApp(operator.getAddress()).appId(), operator);
      byte[] composeHash =
          MessageDigest.getInstance("SHA-256")
              .digest(LoadGenerator.COMPOSE.getBytes(StandardCharsets.UTF_8));
      app.addComposeHash(composeHash);
      app.setAllowAnyDevice(true);
      byte[] appId = Numeric.hexStringToByteArray(app.address());

      SimulatedTdx tdx =
          SimulatedTdx.enableSeeded(
              "replica load", clock, HexFormat.of().parseHex(LoadGenerator.SEED));
      RaTlsTrustManager trust =
          new RaTlsTrustManager(
              RaTlsVerifier.builder(
                      new DcapQuoteVerifier(tdx.rootCertificate()), tdx.collateralSource())
                  .quotePolicy(QuotePolicy.builder().build())
                  .clock(clock)
                  .build());
      Path work = Files.createTempDirectory("teekms-replicas");
      System.out.println("node logs and data: " + work);
      List<Node> nodes = new ArrayList<>();
      try {
        for (int i = 1; i <= maxNodes; i++) {
          int port = LoadGenerator.freePort();
          if (i > 1 && !onboard) {
            // shared-key: the replica gets node 1's sealing key file, so node 1's sealed copies are
            // its own
            Files.createDirectories(work.resolve("node-" + i));
            Files.copy(
                work.resolve("node-1").resolve("sealing.key"),
                work.resolve("node-" + i).resolve("sealing.key"));
          }
          List<String> cmd =
              nodeCommand(
                  i,
                  port,
                  pinned,
                  work,
                  anvil,
                  registry,
                  db,
                  i == 1 || !onboard ? null : "127.0.0.1:" + nodes.get(0).port,
                  jar);
          Node node = new Node(i, port, cmd, work.resolve("node-" + i + ".log"));
          node.start();
          nodes.add(node);
          LoadGenerator.waitForPort(port, Duration.ofSeconds(300), node.process);
          System.out.printf("node %d up on port %d (log %s)%n", i, port, node.log);
          if (i == 1) {
            registerKms(port, trust, registry, onboard);
          }
        }
        System.out.printf(
            "all %d nodes up; sealed copies per generation: %s (load average %.2f)%n",
            maxNodes,
            query(
                pool,
                "SELECT generation || ':' || count(*) FROM root_seal GROUP BY generation ORDER BY 1"),
            LoadGenerator.loadAverage());
        if ("memory".equals(mode)) {
          MemoryProbe.run(
              nodes.get(0),
              kmsIdentity,
              app,
              tdx,
              trust,
              appId,
              composeHash,
              clients,
              seconds,
              warmup,
              work,
              pool);
          return;
        }
        if ("faults".equals(mode)) {
          passed =
              faults(
                  nodes,
                  pool,
                  postgres,
                  clock,
                  tdx,
                  trust,
                  appId,
                  composeHash,
                  clients,
                  seconds,
                  warmup,
                  kills,
                  onboard);
          return;
        }
        Window window =
            (serving, length) ->
                load(serving, tdx, trust, appId, composeHash, clients, length, pool, null);
        // Every node's JIT needs tens of thousands of admissions to settle (docs/performance.md);
        // without this phase, a level that adds a node would measure that node's compiler.
        int settle = Integer.getInteger("teekms.bench.replica-settle-seconds", 240);
        if (settle > 0) {
          System.out.printf(
              "JIT settle: all %d nodes serving for %d s before the levels%n", maxNodes, settle);
          window.run(nodes, Duration.ofSeconds(settle)); // prints its own row
        }
        List<String> rows = new ArrayList<>();
        for (int k : counts) {
          List<Node> serving = nodes.subList(0, k);
          window.run(serving, Duration.ofSeconds(warmup));
          rows.add(window.run(serving, Duration.ofSeconds(seconds)));
        }
        System.out.println();
        System.out.println(
            "| nodes serving | clients | admissions | failures | admissions/s | per node | p50 ms | p99 ms "
                + "| head-lock waits | KMS CPU ms/adm (JIT) | PG commits/adm | machine busy | load avg |");
        System.out.println("|--:|--:|--:|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|");
        rows.forEach(System.out::println);
        System.out.println(
            "head-lock waits: share of 100 ms samples of pg_stat_activity in which a KMS session was "
                + "blocked on the audit head's lock (its SELECT ... FOR UPDATE, or audit_append); KMS "
                + "CPU: all serving nodes' CPU over the window per admission, in brackets their JIT "
                + "compiler threads' share of it; PG commits: the database's committed transactions "
                + "per admission (pg_stat_database, every client's; the sampler adds 10 per second); "
                + "machine busy: share of all cores' time not idle (/proc/stat), clients, anvil and "
                + "PostgreSQL included");
      } finally {
        for (Node n : nodes) {
          if (n.process != null) {
            n.process.destroy();
          }
        }
        for (Node n : nodes) {
          if (n.process != null) {
            n.process.waitFor(20, TimeUnit.SECONDS);
          }
        }
        pool.closeAndAwait();
      }
    }
  }

  private static List<String> nodeCommand(
      int i,
      int port,
      boolean pinned,
      Path work,
      AnvilNode anvil,
      KmsRegistry registry,
      DatabaseCoordinates db,
      String source,
      Path jar)
      throws Exception {
    List<String> cmd = new ArrayList<>();
    if (pinned) {
      cmd.addAll(List.of("taskset", "-c", Integer.toString(i - 1)));
    }
    cmd.add(LoadGenerator.javaBin());
    cmd.addAll(
        List.of(
            "-Dteekms.limits.handshakes-per-minute=100000000",
            "-Dteekms.limits.handshake-burst=1000000"));
    String extra = System.getenv("KMS_SERVER_OPTS");
    if (extra != null && !extra.isBlank()) {
      cmd.addAll(List.of(extra.trim().split("\\s+")));
    }
    cmd.addAll(
        List.of(
            "-Dquarkus.profile=dev",
            "-Dteekms.simulator.seed=" + LoadGenerator.SEED,
            "-Dteekms.simulator.classpath=" + SimulatedTdx.codeLocation(),
            "-Dteekms.data-dir=" + work.resolve("node-" + i),
            "-Dteekms.kms-id=load",
            "-Dteekms.node-id=node-" + i,
            "-Dteekms.chain.rpc-url=" + anvil.rpcUrl(),
            "-Dteekms.chain.chain-id=" + AnvilNode.CHAIN_ID,
            "-Dteekms.chain.registry-address=" + registry.address(),
            "-Dteekms.chain.confirmations=0",
            "-Dteekms.rotation.poll-interval=1s",
            "-Dquarkus.datasource.reactive.url=" + db.reactiveUrl(),
            "-Dquarkus.datasource.username=" + db.username(),
            "-Dquarkus.datasource.password=" + db.password(),
            "-Dquarkus.management.host=127.0.0.1",
            "-Dquarkus.management.port=" + LoadGenerator.freePort(),
            "-Dquarkus.http.ssl-port=" + port,
            "-Dquarkus.http.port=" + LoadGenerator.freePort(),
            "-Dquarkus.log.level=WARN",
            "-Dquarkus.log.category.\"org.teekms.kms.replication\".level=INFO",
            "-Dquarkus.log.category.\"org.teekms.kms.wiring\".level=INFO"));
    if (source != null) {
      cmd.add("-Dteekms.onboarding.source=" + source);
    }
    cmd.addAll(List.of("-jar", jar.toString()));
    return cmd;
  }

  /**
   * What an operator does after the first node's bootstrap: verify its RA-TLS certificate, allow
   * its measurement, device and OS image as a KMS (isKmsAllowed: the replicas run the same image on
   * the same simulated platform), and publish generation 1's identity (setKmsIdentity, as {@code
   * teekms kms bootstrap --publish}).
   */
  private static void registerKms(
      int port, RaTlsTrustManager trust, KmsRegistry registry, boolean onboard) throws Exception {
    AtomicReference<X509Certificate> seen = new AtomicReference<>();
    X509TrustManager recorder =
        new X509TrustManager() {
          @Override
          public void checkClientTrusted(X509Certificate[] chain, String authType) {
            throw new UnsupportedOperationException("client side only");
          }

          @Override
          public void checkServerTrusted(X509Certificate[] chain, String authType) {
            seen.set(chain[0]); // verified below, before anything it says is used
          }

          @Override
          public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
          }
        };
    ManagedChannel ch =
        NettyChannelBuilder.forAddress("127.0.0.1", port)
            .overrideAuthority("kms.teekms.invalid")
            .sslContext(
                GrpcSslContexts.configure(
                        SslContextBuilder.forClient().trustManager(recorder),
                        io.netty.handler.ssl.SslProvider.JDK)
                    .build())
            .build();
    KmsInfo info;
    try {
      info =
          KmsInfoServiceGrpc.newBlockingStub(ch)
              .withDeadlineAfter(60, TimeUnit.SECONDS)
              .getKmsInfo(GetKmsInfoRequest.getDefaultInstance());
    } finally {
      ch.shutdownNow();
    }
    RaTlsIdentity kms = trust.verifier().verify(seen.get());
    kmsIdentity = kms;
    if (!onboard) {
      return;
    }
    if (kms.osImageHash().isEmpty()) {
      // isKmsAllowed needs an allowed OS image and the registry refuses the zero hash a node
      // without one presents
      throw new IllegalStateException(
          "the simulated KMS measures no OS image hash (its boot has no os-image-hash "
              + "event), so isKmsAllowed refuses every simulated replica (\"OS image not allowed\") and no image can be "
              + "registered for it; run with -Dteekms.bench.replica-join=shared-key");
    }
    registry.addKmsMeasurement(kms.mrAggregated().toByteArray());
    registry.addKmsDevice(kms.deviceId().toByteArray());
    registry.addOsImage(kms.osImageHash().orElseThrow().toByteArray());
    for (RootGenerationInfo g : info.getGenerationsList()) {
      if (g.getGeneration() == info.getCurrentGeneration()) {
        registry.setKmsIdentity(
            g.getGeneration(),
            g.getRootPublicKey().toByteArray(),
            g.getCaCertificate().toByteArray(),
            info.getQuote().toByteArray());
      }
    }
    System.out.printf(
        "registered the KMS as allowed (mrAggregated %s) and published generation %d's identity%n",
        kms.mrAggregated().hex(), info.getCurrentGeneration());
  }

  /**
   * Instance ids (hex) of admissions that clients saw succeed / fail, over the whole run (fault
   * checks).
   */
  private static final Set<String> SUCCEEDED = ConcurrentHashMap.newKeySet();

  private static final Set<String> FAILED = ConcurrentHashMap.newKeySet();

  /**
   * One level: {@code clients} closed-loop CVMs, each admission on the next node in turn. Returns a
   * table row.
   */
  static String load(
      List<Node> serving,
      SimulatedTdx tdx,
      RaTlsTrustManager trust,
      byte[] appId,
      byte[] composeHash,
      int clients,
      Duration duration,
      Pool pool,
      Runnable during)
      throws Exception {
    // CVMs booted ahead of the window (as LoadGenerator does); a shortfall is booted inside it, by
    // the client
    int pool0 =
        (int)
            Math.max(
                clients * 4L,
                Integer.getInteger("teekms.bench.pool-per-second", 600) * duration.toSeconds());
    AtomicInteger instance = new AtomicInteger(INSTANCE_BASE.get());
    ConcurrentLinkedQueue<Cvm> fresh =
        java.util.stream.IntStream.range(0, pool0)
            .parallel()
            .mapToObj(i -> Cvm.boot(tdx, appId, composeHash, instance.incrementAndGet()))
            .collect(java.util.stream.Collectors.toCollection(ConcurrentLinkedQueue::new));
    List<Long> latencies = Collections.synchronizedList(new ArrayList<>());
    AtomicLong failures = new AtomicLong();
    AtomicInteger next = new AtomicInteger();
    serving.forEach(
        n -> {
          n.served.set(0);
          n.failed.set(0);
        });
    ExecutorService executor = Executors.newFixedThreadPool(clients);
    List<Process> processes = serving.stream().map(n -> n.process).toList();
    long kmsCpu0 = cpuNanos(serving, LoadGenerator::cpuNanos);
    long jit0 = cpuNanos(serving, LoadGenerator::compilerCpuNanos);
    long commits0 = Long.parseLong(query(pool, COMMITS_SQL));
    long[] machine0 = machineJiffies();
    long start = System.nanoTime();
    long end = start + duration.toNanos();
    for (int c = 0; c < clients; c++) {
      executor.submit(
          () -> {
            while (System.nanoTime() < end) {
              Cvm cvm = fresh.poll();
              if (cvm == null) {
                cvm = Cvm.boot(tdx, appId, composeHash, instance.incrementAndGet());
              }
              Node node = serving.get(Math.floorMod(next.getAndIncrement(), serving.size()));
              String id = cvm.instanceHex();
              long t0 = System.nanoTime();
              try {
                admit(cvm.creds(), trust, node.port);
                latencies.add(System.nanoTime() - t0);
                node.served.incrementAndGet();
                SUCCEEDED.add(id);
              } catch (Exception e) {
                node.failed.incrementAndGet();
                FAILED.add(id);
                if (failures.incrementAndGet() <= 3) {
                  System.out.println("  failure on node " + node.index + ": " + e.getMessage());
                }
              }
            }
          });
    }
    // samples the database for sessions waiting on a row lock (the audit head) while the load runs
    AtomicLong samples = new AtomicLong();
    AtomicLong lockWaits = new AtomicLong();
    Thread sampler =
        new Thread(
            () -> {
              while (System.nanoTime() < end) {
                try {
                  // a session blocked on the audit head: its statement is the head's SELECT … FOR
                  // UPDATE (before V6) or the audit_append call that takes the lock inside
                  // PostgreSQL
                  long waiting =
                      pool.query(
                              "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                  + "AND (query LIKE '%FROM audit_head FOR UPDATE%' "
                                  + "OR query LIKE '%FROM audit_append(%') AND pid <> pg_backend_pid()")
                          .execute()
                          .await()
                          .atMost(Duration.ofSeconds(5))
                          .iterator()
                          .next()
                          .getLong(0);
                  samples.incrementAndGet();
                  if (waiting > 0) {
                    lockWaits.incrementAndGet();
                  }
                  Thread.sleep(100);
                } catch (Exception e) {
                  return;
                }
              }
            },
            "lock-sampler");
    sampler.setDaemon(true);
    sampler.start();
    if (during != null) {
      during.run();
    }
    executor.shutdown();
    executor.awaitTermination(duration.toSeconds() + 120, TimeUnit.SECONDS);
    sampler.join(10_000);
    long kmsCpu = cpuNanos(serving, LoadGenerator::cpuNanos) - kmsCpu0;
    long jit = cpuNanos(serving, LoadGenerator::compilerCpuNanos) - jit0;
    long commits = Long.parseLong(query(pool, COMMITS_SQL)) - commits0;
    long[] machine1 = machineJiffies();
    INSTANCE_BASE.set(instance.get());
    double wall = (System.nanoTime() - start) / 1e9;
    List<Long> sorted = new ArrayList<>(latencies);
    Collections.sort(sorted);
    StringBuilder perNode = new StringBuilder();
    for (Node n : serving) {
      perNode
          .append(perNode.length() == 0 ? "" : " / ")
          .append(String.format("%.0f", n.served.get() / wall));
    }
    double lockShare = samples.get() == 0 ? Double.NaN : 100.0 * lockWaits.get() / samples.get();
    // a node killed and restarted in the window (fault mode) took its CPU count with it
    String kmsCpuColumn =
        processes.equals(serving.stream().map(n -> n.process).toList())
            ? String.format(
                "%.2f (%.2f)",
                kmsCpu / 1e6 / Math.max(1, sorted.size()), jit / 1e6 / Math.max(1, sorted.size()))
            : "– (a node restarted)";
    String row =
        String.format(
            "| %d | %d | %d | %d | %.1f | %s | %.1f | %.1f | %.0f %% | %s | %.2f | %.0f %% | %.2f |",
            serving.size(),
            clients,
            sorted.size(),
            failures.get(),
            sorted.size() / wall,
            perNode,
            LoadGenerator.pct(sorted, 50),
            LoadGenerator.pct(sorted, 99),
            lockShare,
            kmsCpuColumn,
            (double) commits / Math.max(1, sorted.size()),
            100.0 * (machine1[0] - machine0[0]) / Math.max(1, machine1[1] - machine0[1]),
            LoadGenerator.loadAverage());
    System.out.printf(
        "nodes=%d clients=%d duration=%ds: %s%n",
        serving.size(), clients, duration.toSeconds(), row);
    return row;
  }

  /** One load window of the scale run on {@code serving}; returns its table row. */
  private interface Window {
    String run(List<Node> serving, Duration length) throws Exception;
  }

  private static final AtomicInteger INSTANCE_BASE = new AtomicInteger();

  private static final String COMMITS_SQL =
      "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()";

  /** {@code cpu} summed over the serving nodes' processes (0 for one whose reading is missing). */
  private static long cpuNanos(List<Node> serving, java.util.function.ToLongFunction<Process> cpu) {
    return serving.stream().mapToLong(n -> Math.max(0, cpu.applyAsLong(n.process))).sum();
  }

  /**
   * {busy, total} jiffies of all CPUs from /proc/stat's first line (busy: all but idle and iowait),
   * so a window's busy share tells whether the cores or something else (a lock) limit it; {0, 0}
   * where there is no /proc.
   */
  private static long[] machineJiffies() {
    try {
      String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
      long total = 0;
      for (int i = 1; i < Math.min(f.length, 9); i++) {
        total += Long.parseLong(f[i]);
      }
      return new long[] {total - Long.parseLong(f[4]) - Long.parseLong(f[5]), total};
    } catch (IOException | RuntimeException notLinux) {
      return new long[] {0, 0};
    }
  }

  private static GetAppKeysResponse admit(RaTlsCredentials creds, RaTlsTrustManager trust, int port)
      throws Exception {
    ManagedChannel ch =
        NettyChannelBuilder.forAddress("127.0.0.1", port)
            .overrideAuthority("kms.teekms.invalid")
            .sslContext(
                GrpcSslContexts.configure(
                        SslContextBuilder.forClient()
                            .keyManager(RaTlsContexts.keyManagerFactory(new RaTlsKeyManager(creds)))
                            .trustManager(RaTlsContexts.trustManagerFactory(trust)),
                        LoadGenerator.CLIENT_TLS)
                    .build())
            .build();
    try {
      return KmsGrpc.newBlockingStub(ch)
          .withDeadlineAfter(30, TimeUnit.SECONDS)
          .getAppKeys(GetAppKeysRequest.getDefaultInstance());
    } finally {
      ch.shutdownNow();
    }
  }

  /**
   * A booted simulated CVM and its instance number (LoadGenerator.credentials puts it in the last 4
   * of 20 bytes).
   */
  record Cvm(int n, RaTlsCredentials creds) {
    static Cvm boot(SimulatedTdx tdx, byte[] appId, byte[] composeHash, int n) {
      return new Cvm(n, LoadGenerator.credentials(tdx, appId, composeHash, n));
    }

    /** The instance id as the grant row stores it (hex). */
    String instanceHex() {
      return "00".repeat(16) + String.format("%08x", n);
    }
  }

  /** The fault run described in the class comment. True when every check passed. */
  private static boolean faults(
      List<Node> nodes,
      Pool pool,
      TestPostgres postgres,
      Clock clock,
      SimulatedTdx tdx,
      RaTlsTrustManager trust,
      byte[] appId,
      byte[] composeHash,
      int clients,
      int seconds,
      int warmup,
      int kills,
      boolean onboard)
      throws Exception {
    if (nodes.size() < 2) {
      throw new IllegalArgumentException("faults mode needs at least 2 nodes");
    }
    load(nodes, tdx, trust, appId, composeHash, clients, Duration.ofSeconds(warmup), pool, null);
    SUCCEEDED.clear();
    FAILED.clear();
    RotationJobs jobs = new RotationJobs(postgres.sessions(pool), clock);
    AppId app = AppId.of(appId);
    List<UUID> jobIds = Collections.synchronizedList(new ArrayList<>());
    List<String> events = Collections.synchronizedList(new ArrayList<>());
    Runnable chaos =
        () -> {
          try {
            long gap = Duration.ofSeconds(seconds).toMillis() / (kills + 1);
            for (int round = 1; round <= kills; round++) {
              Thread.sleep(gap / 2);
              int current =
                  Integer.parseInt(
                      query(pool, "SELECT coalesce(max(current_version), 1) FROM app_key_state"));
              UUID job =
                  jobs.enqueueAppRotation(app, current + 1, 1, "replica fault run " + round)
                      .await()
                      .atMost(WAIT);
              jobIds.add(job);
              long delay = ThreadLocalRandom.current().nextLong(1500);
              Thread.sleep(delay);
              Node victim = nodes.get(1 + (round - 1) % (nodes.size() - 1));
              String state =
                  query(pool, "SELECT state FROM rotation_job WHERE job_id = '" + job + "'");
              boolean wasUp = portOpen(victim.port);
              victim.process.destroyForcibly(); // SIGKILL
              victim.process.waitFor(10, TimeUnit.SECONDS);
              events.add(
                  String.format(
                      "round %d: app rotation to v%d enqueued; %d ms later kill -9 of node %d (%s; job "
                          + "state then: %s); restarted at once on its data directory",
                      round,
                      current + 1,
                      delay,
                      victim.index,
                      wasUp ? "serving" : "still starting from the previous kill",
                      state));
              victim.start(); // restarts while the load goes on; the checks wait for every node
              Thread.sleep(gap / 2);
            }
          } catch (Exception e) {
            events.add("chaos stopped: " + e);
          }
        };
    Thread chaosThread = new Thread(chaos, "chaos");
    String row =
        load(
            nodes,
            tdx,
            trust,
            appId,
            composeHash,
            clients,
            Duration.ofSeconds(seconds),
            pool,
            chaosThread::start);
    chaosThread.join(600_000);
    events.forEach(e -> System.out.println("  " + e));
    for (Node n : nodes) {
      LoadGenerator.waitForPort(n.port, Duration.ofSeconds(300), n.process);
    }
    System.out.println(row);
    for (Node n : nodes) {
      System.out.printf(
          "  node %d: %d served, %d failed (connection refused or reset while down)%n",
          n.index, n.served.get(), n.failed.get());
    }
    // let the rotation jobs finish on the surviving nodes
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (System.nanoTime() < deadline
        && !"0"
            .equals(
                query(
                    pool,
                    "SELECT count(*) FROM rotation_job WHERE state NOT IN ('DONE', 'FAILED')"))) {
      Thread.sleep(500);
    }
    boolean ok = true;
    // 1. every admission a client saw succeed: exactly one grant; failed ones: at most one (reply
    // lost in the kill)
    Map<String, Integer> grants = new TreeMap<>();
    for (Row r :
        pool.query("SELECT encode(instance_id, 'hex'), count(*) FROM key_grant GROUP BY 1")
            .execute()
            .await()
            .atMost(WAIT)) {
      grants.put(r.getString(0), r.getInteger(1));
    }
    long okOne = SUCCEEDED.stream().filter(i -> grants.getOrDefault(i, 0) == 1).count();
    long okNone = SUCCEEDED.stream().filter(i -> grants.getOrDefault(i, 0) == 0).count();
    long dup = grants.values().stream().filter(c -> c > 1).count();
    long failedGranted = FAILED.stream().filter(i -> grants.getOrDefault(i, 0) > 0).count();
    Set<String> known = new HashSet<>(SUCCEEDED);
    known.addAll(FAILED);
    ok &=
        check(
            okOne == SUCCEEDED.size(),
            String.format(
                "%d admissions succeeded; %d have exactly one grant, %d none, "
                    + "%d instance ids have more than one grant",
                SUCCEEDED.size(), okOne, okNone, dup));
    System.out.printf(
        "  %d admissions failed; of those %d have a grant (committed, reply lost when the node died: the "
            + "CVM retries and gets a second grant, each audited)%n",
        FAILED.size(), failedGranted);
    // 2. every grant has its audit entry, same id, and vice versa
    ok &=
        check(
            "0"
                .equals(
                    query(
                        pool,
                        "SELECT count(*) FROM key_grant g LEFT JOIN audit_log a ON a.seq = g.audit_seq "
                            + "AND a.event_id = g.grant_id WHERE a.seq IS NULL")),
            "every grant has its audit entry (seq and id)");
    ok &=
        check(
            "0"
                .equals(
                    query(
                        pool,
                        "SELECT count(*) FROM audit_log a LEFT JOIN key_grant g ON g.grant_id = a.event_id "
                            + "WHERE a.kind = 'GRANT_APP_KEYS' AND g.grant_id IS NULL")),
            "every GRANT_APP_KEYS entry has its grant row");
    // 3. the chain recomputes from the genesis hash
    var verification =
        new AuditLog(pool, postgres.sessions(pool), clock).verify().await().atMost(WAIT);
    ok &= check(verification.valid(), "audit chain recomputes: " + verification);
    // 4. rotation: each job once
    for (UUID job : jobIds) {
      String state = query(pool, "SELECT state FROM rotation_job WHERE job_id = '" + job + "'");
      String entries =
          query(
              pool,
              "SELECT count(*) FROM audit_log WHERE kind = 'ROTATION' AND detail_json LIKE '%"
                  + job
                  + "%'");
      ok &=
          check(
              "DONE".equals(state) && "1".equals(entries),
              "rotation job "
                  + job
                  + ": state "
                  + state
                  + ", "
                  + entries
                  + " ROTATION audit entr"
                  + ("1".equals(entries) ? "y" : "ies"));
    }
    if (onboard) {
      // 6. one join, one release: each node that joined was released the roots (and audited) once;
      // a restarted node holds its own copies and asks nothing
      String onboardings = query(pool, "SELECT count(*) FROM key_grant WHERE kind = 'ONBOARDING'");
      String entries =
          query(pool, "SELECT count(*) FROM audit_log WHERE kind = 'GRANT_ONBOARDING'");
      ok &=
          check(
              onboardings.equals(String.valueOf(nodes.size() - 1)) && entries.equals(onboardings),
              "onboarding releases: "
                  + onboardings
                  + " grants, "
                  + entries
                  + " GRANT_ONBOARDING audit entries, for "
                  + (nodes.size() - 1)
                  + " joining nodes");
    }
    String versions =
        query(pool, "SELECT count(*) || ' versions, max ' || max(version) FROM app_key_version");
    String current = query(pool, "SELECT current_version FROM app_key_state");
    ok &=
        check(
            versions.equals(current + " versions, max " + current),
            "key versions: " + versions + ", current " + current + " (no gap, none twice)");
    // 5. every node serves the same version and the same app root secret to one CVM
    RaTlsCredentials probe =
        LoadGenerator.credentials(tdx, appId, composeHash, INSTANCE_BASE.incrementAndGet());
    Set<String> views = new HashSet<>();
    for (Node n : nodes) {
      GetAppKeysResponse r = admit(probe, trust, n.port);
      StringBuilder v =
          new StringBuilder("current " + r.getCurrentVersion() + ", min " + r.getMinVersion());
      for (var k : r.getKeysList()) {
        v.append(
            String.format(
                "; v%d gen %d secret sha256 %s disk %s",
                k.getKeyVersion(),
                k.getRootGeneration(),
                digest(k.getAppRootSecret()),
                digest(k.getDiskKey())));
      }
      System.out.printf("  node %d serves: %s%n", n.index, v);
      views.add(v.toString());
    }
    ok &=
        check(
            views.size() == 1,
            "all " + nodes.size() + " nodes serve identical key versions and keys");
    System.out.println(ok ? "faults: ALL CHECKS PASSED" : "faults: CHECKS FAILED");
    return ok;
  }

  private static boolean portOpen(int port) {
    try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static String digest(ByteString b) throws Exception {
    return HexFormat.of()
        .formatHex(MessageDigest.getInstance("SHA-256").digest(b.toByteArray()), 0, 6);
  }

  private static boolean check(boolean ok, String what) {
    System.out.println((ok ? "  ok:   " : "  FAIL: ") + what);
    return ok;
  }

  private static String query(Pool pool, String sql) {
    StringBuilder out = new StringBuilder();
    for (Row r : pool.query(sql).execute().await().atMost(WAIT)) {
      out.append(out.length() == 0 ? "" : ",").append(r.getValue(0));
    }
    return out.toString();
  }
}
