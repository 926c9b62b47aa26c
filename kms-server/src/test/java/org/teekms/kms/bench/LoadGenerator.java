package org.teekms.kms.bench;

import io.grpc.ManagedChannel;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.File;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.teekms.attest.eventlog.DstackBootSequence;
import org.teekms.attest.provider.RuntimeEventLog;
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
import org.teekms.governance.AppPolicy;
import org.teekms.governance.ChainClient;
import org.teekms.governance.KmsRegistry;
import org.teekms.governance.testing.AnvilNode;
import org.teekms.proto.GetAppKeysRequest;
import org.teekms.proto.KmsGrpc;
import org.web3j.crypto.Credentials;
import org.web3j.utils.Numeric;

/**
 * Load generator (a main, not a test): starts a local chain (anvil) with the registry and one app,
 * starts the packaged KMS server ({@code kms-server/target/quarkus-app/quarkus-run.jar}, simulator,
 * embedded PostgreSQL) as a separate process, then boots simulated CVMs that each do a FULL mutual
 * RA-TLS handshake (a fresh certificate and TLS context per admission: no session resumption, no
 * verifier cache hit) and GetAppKeys. Prints admissions/s and latency percentiles at each
 * concurrency level.
 *
 * <p>Run: {@code bench/kms-load.sh 1,16,64 20 20} (levels, measured seconds per level, warm-up
 * seconds per level); {@code RATE=300 bench/kms-load.sh 64} offers 300 admissions/s (open loop)
 * instead of closed-loop clients; see kms-server/README.md, "Load generator". Prints a table with
 * admissions/s, latency percentiles and the CPU time per admission of the server (JIT compiler
 * threads apart) and of this client JVM.
 *
 * <p>Flood mode ({@code FLOOD=N bench/kms-load.sh …}, {@code -Dteekms.bench.flood-threads=N}): each
 * level is measured twice, without and then with N threads flooding the KMS from 127.0.0.2 (half
 * make a new handshake per call with a certificate from another simulated platform, then
 * GetAppKeys; half call GetKmsInfo, every other call with a nonce, without a client certificate).
 * The KMS keeps its per-source budgets ({@code teekms.limits.*} as set below) and the legitimate
 * CVMs connect from 250 loopback addresses (127.0.1.1–250), as CVMs on many hosts would; the table
 * shows their latency in both runs and the flood's outcomes.
 */
public final class LoadGenerator {

  static final String SEED = "6c6f61642d67656e657261746f722d73";
  static final String COMPOSE = "services:\n  model: {image: vllm}\n";
  static final byte[] OS_IMAGE = sha256("tee-kms simulated OS image");

  private static final java.lang.management.ThreadMXBean THREADS =
      java.lang.management.ManagementFactory.getThreadMXBean();

  /**
   * Instance numbers already used: every admission of the run presents a never-seen certificate and
   * instance.
   */
  private static final AtomicInteger INSTANCES = new AtomicInteger();

  /**
   * The simulated CVMs' TLS: BoringSSL when available. The client is not what is measured, but it
   * shares the KMS's 2 cores, so its handshake cost is kept low (teekms.bench.client-tls=jdk to
   * compare).
   */
  static final SslProvider CLIENT_TLS =
      "jdk".equals(System.getProperty("teekms.bench.client-tls"))
              || !io.netty.handler.ssl.OpenSsl.isAvailable()
          ? SslProvider.JDK
          : SslProvider.OPENSSL;

  /**
   * Flood mode: threads flooding from 127.0.0.2 during a second measured run of each level (0: no
   * flood).
   */
  private static final int FLOOD_THREADS = Integer.getInteger("teekms.bench.flood-threads", 0);

  /** Round-robin over the legitimate CVMs' 250 source addresses in flood mode. */
  private static final AtomicInteger SOURCES = new AtomicInteger();

  private LoadGenerator() {}

  /**
   * Connections made from the loopback address {@code address} (Linux routes all of 127/8 to lo).
   */
  static NettyChannelBuilder.LocalSocketPicker from(String address) {
    return new NettyChannelBuilder.LocalSocketPicker() {
      @Override
      public java.net.SocketAddress createSocketAddress(
          java.net.SocketAddress remote, io.grpc.Attributes attrs) {
        return new java.net.InetSocketAddress(address, 0);
      }
    };
  }

  /**
   * Unauthenticated and invalid traffic from one loopback address (127.0.0.2 in the load generator)
   * until closed: half the threads open a new connection per call with a certificate from another
   * simulated platform (its quote never verifies here) and ask GetAppKeys, half call GetKmsInfo
   * without a client certificate (every other call with a nonce: a fresh quote). Counts outcomes.
   *
   * <p>Each forged connection is built on a TLS context of its own, as an attacker who wants the
   * KMS to verify would do: a shared client context resumes the first connection's TLS session, and
   * the KMS then refuses from the rejection stored in that session (ATTESTATION_INVALID) without
   * verifying anything or spending the source's handshake budget, so such a flood was never refused
   * RATE_LIMITED (FloodRaTlsTest shows both).
   */
  public static final class Flood implements AutoCloseable {
    private final java.util.concurrent.atomic.AtomicBoolean stop =
        new java.util.concurrent.atomic.AtomicBoolean();
    private final java.util.Map<String, AtomicLong> handshakes =
        new java.util.concurrent.ConcurrentHashMap<>();
    private final java.util.Map<String, AtomicLong> kmsInfo =
        new java.util.concurrent.ConcurrentHashMap<>();
    private final List<Thread> threads = new ArrayList<>();

    private final String source;
    private final SslContext noCertificate;
    private final RaTlsKeyManager forgedKey;
    private final RaTlsTrustManager trust;

    Flood(int count, Clock clock, RaTlsTrustManager trust, int port) throws Exception {
      this(count, clock, trust, port, "127.0.0.2");
    }

    /**
     * Starts {@code count} (at least 2) flooding threads against the KMS on 127.0.0.1:{@code port},
     * connecting from the loopback address {@code source}.
     */
    public Flood(int count, Clock clock, RaTlsTrustManager trust, int port, String source)
        throws Exception {
      this.source = source;
      this.trust = trust;
      SimulatedTdx foreign =
          SimulatedTdx.enable("load generator flood: a platform the KMS does not trust", clock);
      SimulatedCvm cvm =
          foreign
              .newCvm(new byte[48], false)
              .boot(SimulatedCvm.App.ofCompose(COMPOSE, new byte[20]));
      RaTlsCredentials forged =
          new RaTlsCertificateFactory(cvm, cvm.eventLog(), null, clock, Duration.ofHours(1))
              .create("flood");
      this.forgedKey = new RaTlsKeyManager(forged);
      this.noCertificate =
          GrpcSslContexts.configure(
                  SslContextBuilder.forClient()
                      .trustManager(RaTlsContexts.trustManagerFactory(trust)),
                  CLIENT_TLS)
              .build();
      for (int i = 0; i < Math.max(2, count); i++) {
        boolean handshaking = i % 2 == 0;
        Thread t =
            new Thread(
                () -> {
                  ManagedChannel info = handshaking ? null : channel(noCertificate, port);
                  long n = 0;
                  while (!stop.get()) {
                    String outcome;
                    ManagedChannel ch = handshaking ? channel(forgedContext(), port) : info;
                    try {
                      if (handshaking) {
                        KmsGrpc.newBlockingStub(ch)
                            .withDeadlineAfter(30, TimeUnit.SECONDS)
                            .getAppKeys(GetAppKeysRequest.getDefaultInstance());
                      } else {
                        org.teekms.proto.GetKmsInfoRequest.Builder r =
                            org.teekms.proto.GetKmsInfoRequest.newBuilder();
                        if (n++ % 2 == 0) {
                          r.setNonce(com.google.protobuf.ByteString.copyFrom(new byte[32]));
                        }
                        org.teekms.proto.KmsInfoServiceGrpc.newBlockingStub(ch)
                            .withDeadlineAfter(30, TimeUnit.SECONDS)
                            .getKmsInfo(r.build());
                      }
                      outcome = "OK";
                    } catch (io.grpc.StatusRuntimeException e) {
                      String reason =
                          e.getTrailers() == null
                              ? null
                              : e.getTrailers().get(org.teekms.kms.grpc.GrpcErrors.DENY_REASON);
                      outcome = reason != null ? reason : e.getStatus().getCode().name();
                    } finally {
                      if (handshaking) {
                        ch.shutdownNow();
                      }
                    }
                    (handshaking ? handshakes : kmsInfo)
                        .computeIfAbsent(outcome, k -> new AtomicLong())
                        .incrementAndGet();
                  }
                  if (info != null) {
                    info.shutdownNow();
                  }
                },
                "flood-" + i);
        t.setDaemon(true);
        threads.add(t);
        t.start();
      }
    }

    /**
     * A client TLS context of its own for one forged connection: no session to resume, so every
     * connection is a full handshake that presents the forged certificate.
     */
    private SslContext forgedContext() {
      try {
        return GrpcSslContexts.configure(
                SslContextBuilder.forClient()
                    .keyManager(RaTlsContexts.keyManagerFactory(forgedKey))
                    .trustManager(RaTlsContexts.trustManagerFactory(trust)),
                CLIENT_TLS)
            .build();
      } catch (javax.net.ssl.SSLException e) {
        throw new IllegalStateException(e);
      }
    }

    private ManagedChannel channel(SslContext ssl, int port) {
      return NettyChannelBuilder.forAddress("127.0.0.1", port)
          .overrideAuthority("kms.teekms.invalid")
          .localSocketPicker(from(source))
          .sslContext(ssl)
          .build();
    }

    /** Forged-handshake outcomes so far: OK, or the deny reason / gRPC status code, and counts. */
    public java.util.SortedMap<String, Long> handshakeOutcomes() {
      java.util.TreeMap<String, Long> out = new java.util.TreeMap<>();
      handshakes.forEach((k, v) -> out.put(k, v.get()));
      return out;
    }

    /** GetKmsInfo outcomes so far. */
    public java.util.SortedMap<String, Long> kmsInfoOutcomes() {
      java.util.TreeMap<String, Long> out = new java.util.TreeMap<>();
      kmsInfo.forEach((k, v) -> out.put(k, v.get()));
      return out;
    }

    String describe() {
      return threads.size()
          + " threads from "
          + source
          + "; forged-certificate handshakes (a new TLS context each) + GetAppKeys "
          + handshakeOutcomes()
          + ", GetKmsInfo "
          + kmsInfoOutcomes()
          + String.format(" (loaded machine, load average %.2f)", loadAverage());
    }

    @Override
    public void close() throws InterruptedException {
      stop.set(true);
      for (Thread t : threads) {
        t.join(60_000);
      }
    }
  }

  public static void main(String[] args) throws Exception {
    List<Integer> levels = new ArrayList<>();
    for (String l : (args.length > 0 ? args[0] : "1,16,64").split(",")) {
      levels.add(Integer.parseInt(l.trim()));
    }
    int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 15;
    // Both JVMs JIT-compile the TLS, crypto and gRPC paths for tens of seconds (C2 compiler threads
    // were the largest CPU
    // consumer in a cold run): a long-running KMS is measured warm, so each level is preceded by an
    // unmeasured run.
    int warmup = Integer.parseInt(System.getProperty("teekms.bench.warmup-seconds", "15"));
    // 0: closed loop (each client starts its next admission when the last one ends: measures
    // saturation throughput).
    // R > 0: open loop, R admissions/s arrive on schedule whatever the KMS does, served by at most
    // `clients` in flight;
    // latency counts from the scheduled arrival, so queueing behind a slow KMS is measured (no
    // coordinated omission).
    double rate = Double.parseDouble(System.getProperty("teekms.bench.rate", "0"));
    Path jar = Path.of(args.length > 2 ? args[2] : "kms-server/target/quarkus-app/quarkus-run.jar");
    if (!Files.exists(jar)) {
      jar = Path.of("target/quarkus-app/quarkus-run.jar");
    }
    Clock clock = Clock.systemUTC();
    System.out.printf(
        "machine: %s, %d cores; JVM: %s; load average at start: %.2f%n",
        cpuModel(), Runtime.getRuntime().availableProcessors(), jvm(), loadAverage());
    // measured before the KMS starts, in this run: figures from different machines compare through
    // it
    Calibration calibration =
        Calibration.measure(
            Double.parseDouble(System.getProperty("teekms.bench.calibration-seconds", "2")));
    System.out.println(
        calibration.describe() + String.format(" (load average %.2f)", loadAverage()));
    if (Boolean.parseBoolean(System.getProperty("teekms.bench.client-fast-ecdsa", "true"))) {
      // The simulated CVMs share this machine's 2 cores with the KMS: their handshakes use the same
      // faster ECDSA.
      org.teekms.kms.tls.FastEcdsaProvider.install();
    }

    try (AnvilNode anvil = AnvilNode.start();
        ChainClient chain = ChainClient.connect(anvil.rpcUrl(), AnvilNode.CHAIN_ID)) {
      Credentials operator = anvil.fundedAccount();
      KmsRegistry registry = KmsRegistry.deploy(chain, operator, operator.getAddress()).registry();
      registry.setTcbPolicy(List.of("UpToDate"), List.of());
      registry.addOsImage(OS_IMAGE);
      // the simulated CVMs measure no firmware: MRTD and RTMR0-2 are zero, their mrSystem is
      // SHA-256 of 192 zero bytes
      registry.addOsImageMeasurement(
          OS_IMAGE, MessageDigest.getInstance("SHA-256").digest(new byte[4 * 48]));
      AppPolicy app =
          AppPolicy.at(chain, registry.registerApp(operator.getAddress()).appId(), operator);
      byte[] composeHash =
          MessageDigest.getInstance("SHA-256").digest(COMPOSE.getBytes(StandardCharsets.UTF_8));
      app.addComposeHash(composeHash);
      app.setAllowAnyDevice(true);
      byte[] appId = Numeric.hexStringToByteArray(app.address());

      int port = freePort();
      Path data = Files.createTempDirectory("teekms-load");
      List<String> cmd = new ArrayList<>();
      String extra;
      String serverCpus = System.getProperty("teekms.bench.server-cpus", "");
      if (!serverCpus.isBlank()) {
        // Pins the KMS (and the embedded PostgreSQL it starts) to these CPUs, apart from the
        // clients and anvil, so the
        // KMS side's capacity is measured on known cores instead of being inferred from CPU time.
        cmd.addAll(List.of("taskset", "-c", serverCpus));
      }
      cmd.add(javaBin());
      extra =
          System.getenv(
              "KMS_SERVER_OPTS"); // e.g. JFR: -XX:StartFlightRecording=filename=/tmp/kms.jfr
      // Every simulated CVM connects from 127.0.0.1: one source, far over the per-source handshake
      // budget a real
      // deployment keeps (teekms.limits.*). KMS_SERVER_OPTS, added after, can set it back to
      // measure throttling.
      if (FLOOD_THREADS > 0) {
        // Flood mode: a per-source budget a deployment would keep; legitimate CVMs spread over 250
        // addresses.
        cmd.addAll(
            List.of(
                "-Dteekms.limits.handshakes-per-minute=600",
                "-Dteekms.limits.handshake-burst=100",
                "-Dteekms.limits.unauthenticated-requests-per-minute=600",
                "-Dteekms.limits.unauthenticated-burst=100"));
      } else {
        cmd.addAll(
            List.of(
                "-Dteekms.limits.handshakes-per-minute=100000000",
                "-Dteekms.limits.handshake-burst=1000000"));
      }
      if (extra != null && !extra.isBlank()) {
        cmd.addAll(List.of(extra.trim().split("\\s+")));
      }
      // The packaged KMS does not contain the simulator: it gets the jar (or classes) this process
      // loaded it from.
      // PrintCommandLineFlags and the tls category at INFO let this run report the GC and TLS
      // engine actually used.
      cmd.addAll(
          List.of(
              "-XX:+PrintCommandLineFlags",
              "-Dquarkus.log.category.\"org.teekms.kms.tls\".level=INFO",
              "-Dquarkus.profile=dev",
              "-Dteekms.simulator.seed=" + SEED,
              "-Dteekms.simulator.classpath=" + SimulatedTdx.codeLocation(),
              "-Dteekms.data-dir=" + data,
              "-Dteekms.kms-id=load",
              "-Dteekms.chain.rpc-url=" + anvil.rpcUrl(),
              "-Dteekms.chain.chain-id=" + AnvilNode.CHAIN_ID,
              "-Dteekms.chain.registry-address=" + registry.address(),
              "-Dteekms.chain.confirmations=0",
              "-Dquarkus.http.ssl-port=" + port,
              "-Dquarkus.http.port=" + freePort(),
              // the management interface (health, metrics) defaults to the fixed port 9000: two
              // runs
              // on one machine (or a run next to another KMS) must not collide there
              "-Dquarkus.management.port=" + freePort(),
              "-Dquarkus.log.level=WARN",
              "-jar",
              jar.toString()));
      Process server =
          new ProcessBuilder(cmd)
              .redirectErrorStream(true)
              .redirectOutput(data.resolve("server.log").toFile())
              .start();
      try {
        // a KMS starting next to other builds on 2 cores has been seen to need over 90 s
        waitForPort(
            port, Duration.ofSeconds(Long.getLong("teekms.bench.startup-seconds", 300)), server);
        SimulatedTdx tdx =
            SimulatedTdx.enableSeeded("load generator", clock, HexFormat.of().parseHex(SEED));
        RaTlsTrustManager trust =
            new RaTlsTrustManager(
                RaTlsVerifier.builder(
                        new DcapQuoteVerifier(tdx.rootCertificate()), tdx.collateralSource())
                    .quotePolicy(QuotePolicy.builder().build())
                    .clock(clock)
                    .build());
        RaTlsCredentials probe = credentials(tdx, appId, composeHash, 0);
        trust
            .verifier()
            .verify(probe.certificate()); // fails loudly if our simulated CVMs would not verify
        System.out.printf(
            "KMS up on port %d (log %s). Cores: %d (shared machine: figures are indicative).%n",
            port, data.resolve("server.log"), Runtime.getRuntime().availableProcessors());
        String serverLog = Files.readString(data.resolve("server.log"));
        System.out.printf(
            "KMS: TLS engine %s; GC %s; client TLS %s; server JVM options: %s%n",
            grep(serverLog, "TLS engine: ([^\\n]*)"),
            grep(serverLog, "-XX:\\+Use(\\w+GC)"),
            CLIENT_TLS,
            extra == null || extra.isBlank() ? "(none added)" : extra.trim());
        System.out.printf("KMS resident memory at idle: %s%n", rss(server));
        Window window =
            (clients, duration) ->
                run(tdx, trust, appId, composeHash, port, clients, rate, duration, server, data);
        settleJit(window, levels);
        List<Result> results = new ArrayList<>();
        for (int clients : levels) {
          window.run(clients, Duration.ofSeconds(warmup));
          results.add(window.run(clients, Duration.ofSeconds(seconds)));
          if (FLOOD_THREADS > 0) {
            try (Flood flood = new Flood(FLOOD_THREADS, clock, trust, port)) {
              Result flooded = window.run(clients, Duration.ofSeconds(seconds));
              results.add(flooded.withFlood(flood.describe()));
            }
          }
          System.out.printf("KMS resident memory after %d clients: %s%n", clients, rss(server));
        }
        printTable(results, calibration);
      } finally {
        server.destroy();
        server.waitFor(20, TimeUnit.SECONDS);
      }
    }
  }

  /**
   * One measured level. CPU figures are per successful admission (load-independent, unlike
   * wall-clock ones).
   */
  record Result(
      int clients,
      double rate,
      int admissions,
      long failures,
      double seconds,
      double p50,
      double p95,
      double p99,
      double serverCpuMs,
      double serverJitMs,
      double helperCpuMs,
      double clientCpuMs,
      double clientSideGenSeconds,
      String flood) {
    Result withFlood(String what) {
      return new Result(
          clients,
          rate,
          admissions,
          failures,
          seconds,
          p50,
          p95,
          p99,
          serverCpuMs,
          serverJitMs,
          helperCpuMs,
          clientCpuMs,
          clientSideGenSeconds,
          what);
    }
  }

  private static void printTable(List<Result> results, Calibration calibration) {
    System.out.println();
    System.out.println(
        "CPU ms per admission: server JVM (without its JIT compiler threads), its JIT, PostgreSQL + "
            + "anvil processes, this client JVM (simulated CVMs, minus their certificate generation); \"server ÷ verify\": "
            + "server CPU per admission in P-256 verifies of this run's calibration (comparable across machines)");
    System.out.println(
        "| clients | offered/s | admissions | failures | admissions/s | p50 ms | p95 ms | p99 ms | server | JIT "
            + "| pg+anvil | client | server ÷ verify |");
    System.out.println(
        "|--------:|----------:|-----------:|---------:|-------------:|-------:|-------:|-------:|-------:|----:"
            + "|---------:|-------:|----------------:|");
    for (Result r : results) {
      System.out.printf(
          "| %7s | %9s | %10d | %8d | %12.1f | %6.1f | %6.1f | %6.1f | %6.2f | %4.2f | %8.2f | %6.2f | %15.1f |%n",
          r.clients() + (r.flood().isEmpty() ? "" : " +flood"),
          r.rate() > 0 ? String.format("%.0f", r.rate()) : "closed",
          r.admissions(),
          r.failures(),
          r.admissions() / r.seconds(),
          r.p50(),
          r.p95(),
          r.p99(),
          r.serverCpuMs(),
          r.serverJitMs(),
          r.helperCpuMs(),
          r.clientCpuMs(),
          r.serverCpuMs() * 1000 / calibration.verifyMicros());
    }
    for (Result r : results) {
      if (!r.flood().isEmpty()) {
        System.out.printf("flood during the %d-client run: %s%n", r.clients(), r.flood());
      }
    }
    System.out.println(calibration.describe());
    System.out.printf(
        "cores: %d; load average now: %.2f (other processes share the CPUs; CPU ms/admission depends on "
            + "them little once the JIT is done, i.e. while the JIT column stays well below the server's; a "
            + "load that keeps the KMS at a few admissions/s keeps it in warm-up: docs/performance.md)%n",
        Runtime.getRuntime().availableProcessors(),
        java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
  }

  static double loadAverage() {
    return java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
  }

  static String cpuModel() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("model name")) {
          return line.substring(line.indexOf(':') + 1).strip();
        }
      }
    } catch (Exception notLinux) {
      // fall through
    }
    return System.getProperty("os.arch");
  }

  /** The JVM this process runs on, which is also the KMS's ({@link #javaBin}). */
  static String jvm() {
    return System.getProperty("java.vm.vendor")
        + " "
        + System.getProperty("java.vm.name")
        + " "
        + System.getProperty("java.vm.version");
  }

  static String grep(String text, String regex) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile(regex).matcher(text);
    return m.find() ? m.group(1).strip() : "(not reported)";
  }

  /**
   * Resident set size now and at its peak (Linux /proc), of the KMS JVM alone (PostgreSQL runs
   * apart).
   */
  static String rss(Process p) {
    try {
      String status = Files.readString(Path.of("/proc/" + p.pid() + "/status"));
      return "RSS "
          + grep(status, "VmRSS:\\s*([^\\n]*)")
          + ", peak "
          + grep(status, "VmHWM:\\s*([^\\n]*)");
    } catch (Exception notLinux) {
      return "(unavailable)";
    }
  }

  static long cpuNanos(Process p) {
    return p.info().totalCpuDuration().map(Duration::toNanos).orElse(-1L);
  }

  /**
   * CPU of the helper processes: anvil (our descendant) and the embedded PostgreSQL (pg_ctl
   * daemonizes it, so it is found by its data directory) with its backends. Backends that exit
   * within the window are not counted.
   */
  private static long helperCpuNanos(Process server, Path dataDir) {
    java.util.Map<Long, ProcessHandle> procs = new java.util.HashMap<>();
    ProcessHandle.current().descendants().forEach(h -> procs.put(h.pid(), h));
    String pgdata = dataDir.toString();
    ProcessHandle.allProcesses()
        .filter(
            h -> h.info().arguments().map(a -> String.join(" ", a).contains(pgdata)).orElse(false))
        .forEach(
            pm -> {
              procs.put(pm.pid(), pm);
              pm.descendants().forEach(h -> procs.put(h.pid(), h));
            });
    procs.remove(server.pid());
    return procs.values().stream()
        .mapToLong(h -> h.info().totalCpuDuration().map(Duration::toNanos).orElse(0L))
        .sum();
  }

  /**
   * CPU of the server's JIT compiler threads (Linux /proc; 0 elsewhere). Under heavy machine load
   * the JIT lags for minutes and its work would be billed to the admissions measured meanwhile; it
   * is reported apart.
   */
  static long compilerCpuNanos(Process p) {
    long ticks = 0;
    java.io.File[] tasks = new java.io.File("/proc/" + p.pid() + "/task").listFiles();
    if (tasks == null) {
      return 0;
    }
    for (java.io.File t : tasks) {
      try {
        String comm = Files.readString(t.toPath().resolve("comm")).trim();
        if (!comm.contains("CompilerThre")) {
          continue;
        }
        String stat = Files.readString(t.toPath().resolve("stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        ticks += Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime (fields 14, 15)
      } catch (Exception gone) {
        // thread ended meanwhile
      }
    }
    return ticks * 10_000_000L; // USER_HZ = 100 on Linux
  }

  /**
   * CPU time of the server's threads by kind (Linux /proc; empty elsewhere): thread names with
   * digits replaced by {@code #}, so "vert.x-eventloop-thread-3" counts as
   * "vert.x-eventloop-thread-#" and "GC Thread#1" as "GC Thread#". Shows what an execution profile
   * does not: GC, the JIT compiler, the VM thread and native code.
   */
  static java.util.Map<String, Long> threadKindCpuNanos(Process p) {
    java.util.Map<String, Long> kinds = new java.util.HashMap<>();
    java.io.File[] tasks = new java.io.File("/proc/" + p.pid() + "/task").listFiles();
    if (tasks == null) {
      return kinds;
    }
    for (java.io.File t : tasks) {
      try {
        String comm = Files.readString(t.toPath().resolve("comm")).trim();
        String stat = Files.readString(t.toPath().resolve("stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime
        kinds.merge(comm.replaceAll("\\d+", "#"), ticks * 10_000_000L, Long::sum);
      } catch (Exception gone) {
        // thread ended meanwhile
      }
    }
    return kinds;
  }

  /**
   * The server's CPU per admission by thread kind over a window, largest first, kinds under 1 %
   * folded into "other".
   */
  static String threadKindBreakdown(
      java.util.Map<String, Long> before, java.util.Map<String, Long> after, int admissions) {
    java.util.Map<String, Long> delta = new java.util.HashMap<>();
    after.forEach((k, v) -> delta.put(k, v - before.getOrDefault(k, 0L)));
    long total = delta.values().stream().mapToLong(Long::longValue).sum();
    if (total <= 0 || admissions == 0) {
      return "(unavailable)";
    }
    StringBuilder out = new StringBuilder();
    long other = 0;
    List<java.util.Map.Entry<String, Long>> sorted = new ArrayList<>(delta.entrySet());
    sorted.sort(java.util.Map.Entry.<String, Long>comparingByValue().reversed());
    for (java.util.Map.Entry<String, Long> e : sorted) {
      if (e.getValue() * 100 < total) {
        other += Math.max(0, e.getValue());
        continue;
      }
      out.append(String.format("%s %.2f, ", e.getKey(), e.getValue() / 1e6 / admissions));
    }
    return out.append(String.format("other %.2f", other / 1e6 / admissions)).toString();
  }

  static long ownCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean)
            java.lang.management.ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  /** One measured window of load at {@code clients} for {@code duration}, on this run's KMS. */
  @FunctionalInterface
  private interface Window {
    Result run(int clients, Duration duration) throws Exception;
  }

  /**
   * Loads the KMS at the highest level in 15 s windows until its JIT has settled: the compiler
   * threads used less than {@code teekms.bench.jit-settled-share} (default 5 %) of the KMS's CPU in
   * the last window, or {@code teekms.bench.jit-settle-seconds} (default 240; 0 skips this) have
   * passed. On 2 cores the KMS compiles for 150-180 s of full load (docs/performance.md, "JIT"):
   * the per-level warm-up alone measures the tail of that, whose figures depend on how long the run
   * happened to warm up.
   */
  private static void settleJit(Window window, List<Integer> levels) throws Exception {
    int maxSeconds = Integer.getInteger("teekms.bench.jit-settle-seconds", 240);
    double settled =
        Double.parseDouble(System.getProperty("teekms.bench.jit-settled-share", "0.05"));
    if (maxSeconds <= 0) {
      System.out.println("JIT settle: skipped (teekms.bench.jit-settle-seconds=0)");
      return;
    }
    int clients = levels.stream().mapToInt(Integer::intValue).max().orElse(1);
    long start = System.nanoTime();
    long admissions = 0;
    while (true) {
      Result w = window.run(clients, Duration.ofSeconds(15));
      admissions += w.admissions();
      double share = w.serverJitMs() / Math.max(1e-9, w.serverCpuMs() + w.serverJitMs());
      double elapsed = (System.nanoTime() - start) / 1e9;
      System.out.printf(
          "JIT settle: %3.0f s, %,d admissions at %d clients: compiler threads %.1f %% of the KMS's"
              + " CPU in the last 15 s%n",
          elapsed, admissions, clients, 100 * share);
      if (share < settled) {
        System.out.printf(
            "JIT settled after %.0f s (%,d admissions): below %.0f %%%n",
            elapsed, admissions, 100 * settled);
        return;
      }
      if (elapsed >= maxSeconds) {
        System.out.printf(
            "JIT NOT settled after %.0f s (teekms.bench.jit-settle-seconds): the levels below"
                + " include compilation%n",
            elapsed);
        return;
      }
    }
  }

  /**
   * {@code clients} CVMs in parallel (closed loop), or admissions arriving at {@code rate}/s with
   * at most {@code clients} in flight (open loop); each admission on a fresh RA-TLS certificate and
   * connection.
   */
  private static Result run(
      SimulatedTdx tdx,
      RaTlsTrustManager trust,
      byte[] appId,
      byte[] composeHash,
      int port,
      int clients,
      double rate,
      Duration duration,
      Process server,
      Path dataDir)
      throws Exception {
    // Fresh credentials are made ahead of the timed window (a CVM makes its certificate at boot,
    // before it calls the
    // KMS), in parallel, enough for the expected admissions; any shortfall is made inside the
    // window, reported, and
    // its CPU subtracted from the client's.
    int perSecond = Integer.getInteger("teekms.bench.pool-per-second", 800);
    int pool =
        (int)
            Math.max(
                clients * 4L, (rate > 0 ? (long) (rate * 1.1) : perSecond) * duration.toSeconds());
    AtomicInteger instance = new AtomicInteger(INSTANCES.get());
    ConcurrentLinkedQueue<RaTlsCredentials> fresh =
        java.util.stream.IntStream.range(0, pool)
            .parallel()
            .mapToObj(i -> credentials(tdx, appId, composeHash, instance.incrementAndGet()))
            .collect(java.util.stream.Collectors.toCollection(ConcurrentLinkedQueue::new));
    List<Long> latencies = Collections.synchronizedList(new ArrayList<>());
    AtomicLong failures = new AtomicLong();
    AtomicLong clientSideNanos = new AtomicLong();
    AtomicLong clientSideCpuNanos = new AtomicLong();
    ExecutorService executor = Executors.newFixedThreadPool(clients);
    java.util.Map<String, Long> kinds0 = threadKindCpuNanos(server);
    long serverCpu0 = cpuNanos(server);
    long jit0 = compilerCpuNanos(server);
    long helpers0 = helperCpuNanos(server, dataDir);
    long clientCpu0 = ownCpuNanos();
    long start = System.nanoTime();
    long end = start + duration.toNanos();
    java.util.function.LongConsumer admission =
        scheduledAt -> {
          RaTlsCredentials creds = fresh.poll();
          if (creds == null) {
            long t = System.nanoTime();
            long cpu = THREADS.getCurrentThreadCpuTime();
            creds = credentials(tdx, appId, composeHash, instance.incrementAndGet());
            clientSideNanos.addAndGet(System.nanoTime() - t);
            clientSideCpuNanos.addAndGet(THREADS.getCurrentThreadCpuTime() - cpu);
          }
          long t0 = scheduledAt > 0 ? scheduledAt : System.nanoTime();
          ManagedChannel ch = null;
          try {
            SslContext ssl =
                GrpcSslContexts.configure(
                        SslContextBuilder.forClient()
                            .keyManager(RaTlsContexts.keyManagerFactory(new RaTlsKeyManager(creds)))
                            .trustManager(RaTlsContexts.trustManagerFactory(trust)),
                        CLIENT_TLS)
                    .build();
            NettyChannelBuilder builder =
                NettyChannelBuilder.forAddress("127.0.0.1", port)
                    .overrideAuthority("kms.teekms.invalid")
                    .sslContext(ssl);
            if (FLOOD_THREADS > 0) {
              builder.localSocketPicker(
                  from("127.0.1." + (1 + Math.floorMod(SOURCES.incrementAndGet(), 250))));
            }
            ch = builder.build();
            KmsGrpc.newBlockingStub(ch)
                .withDeadlineAfter(30, TimeUnit.SECONDS)
                .getAppKeys(GetAppKeysRequest.getDefaultInstance());
            latencies.add(System.nanoTime() - t0);
          } catch (Exception e) {
            if (failures.incrementAndGet() <= 3) {
              System.out.println("  failure: " + e.getMessage());
            }
          } finally {
            if (ch != null) {
              ch.shutdownNow();
            }
          }
        };
    if (rate > 0) {
      long period = (long) (1e9 / rate);
      for (long i = 0, at = start; at < end; i++, at = start + i * period) {
        long wait = at - System.nanoTime();
        if (wait > 0) {
          java.util.concurrent.locks.LockSupport.parkNanos(wait);
        }
        long scheduled = at;
        executor.submit(() -> admission.accept(scheduled));
      }
    } else {
      for (int c = 0; c < clients; c++) {
        executor.submit(
            () -> {
              while (System.nanoTime() < end) {
                admission.accept(0);
              }
            });
      }
    }
    executor.shutdown();
    executor.awaitTermination(duration.toSeconds() + 120, TimeUnit.SECONDS);
    INSTANCES.set(instance.get());
    double wall = (System.nanoTime() - start) / 1e9;
    long serverCpu = cpuNanos(server) - serverCpu0;
    java.util.Map<String, Long> kinds1 = threadKindCpuNanos(server);
    long jit = compilerCpuNanos(server) - jit0;
    long helpers = helperCpuNanos(server, dataDir) - helpers0;
    long clientCpu = ownCpuNanos() - clientCpu0 - clientSideCpuNanos.get();
    List<Long> sorted = new ArrayList<>(latencies);
    Collections.sort(sorted);
    int n = Math.max(1, sorted.size());
    Result r =
        new Result(
            clients,
            rate,
            sorted.size(),
            failures.get(),
            wall,
            pct(sorted, 50),
            pct(sorted, 95),
            pct(sorted, 99),
            (serverCpu - jit) / 1e6 / n,
            jit / 1e6 / n,
            helpers / 1e6 / n,
            clientCpu / 1e6 / n,
            clientSideNanos.get() / 1e9,
            "");
    System.out.printf(
        "clients=%3d  offered=%s  admissions=%6d  failures=%d  %.1f admissions/s  p50=%.1f ms  p95=%.1f ms"
            + "  p99=%.1f ms  server CPU %.2f ms/adm (+JIT %.2f)  PostgreSQL+anvil CPU %.2f ms/adm  client CPU %.2f "
            + "ms/adm  (client-side cert generation inside the window: %.1f s)%n",
        clients,
        rate > 0 ? String.format("%.0f/s", rate) : "closed-loop",
        r.admissions(),
        r.failures(),
        r.admissions() / wall,
        r.p50(),
        r.p95(),
        r.p99(),
        r.serverCpuMs(),
        r.serverJitMs(),
        r.helperCpuMs(),
        r.clientCpuMs(),
        r.clientSideGenSeconds());
    System.out.printf(
        "  server CPU ms/adm by thread kind: %s%n",
        threadKindBreakdown(kinds0, kinds1, sorted.size()));
    return r;
  }

  static RaTlsCredentials credentials(SimulatedTdx tdx, byte[] appId, byte[] composeHash, int n) {
    return credentials(tdx, appId, composeHash, n, null);
  }

  /** As above, the certificate carrying the evidence {@code gpu} collects (null: none). */
  static RaTlsCredentials credentials(
      SimulatedTdx tdx,
      byte[] appId,
      byte[] composeHash,
      int n,
      org.teekms.attest.gpu.GpuEvidenceProvider gpu) {
    try {
      byte[] instance = new byte[20];
      instance[16] = (byte) (n >> 24);
      instance[17] = (byte) (n >> 16);
      instance[18] = (byte) (n >> 8);
      instance[19] = (byte) n;
      // dstack's boot sequence including the OS image hash the registry requires (SimulatedCvm.boot
      // measures none).
      SimulatedCvm cvm = tdx.newCvm(new byte[48], false);
      RuntimeEventLog log = new RuntimeEventLog(cvm, List.of());
      log.emit(DstackBootSequence.SYSTEM_PREPARING, new byte[0]);
      log.emit(DstackBootSequence.APP_ID, appId);
      log.emit(DstackBootSequence.COMPOSE_HASH, composeHash);
      log.emit(DstackBootSequence.INSTANCE_ID, instance);
      log.emit(DstackBootSequence.BOOT_MR_DONE, new byte[0]);
      log.emit(DstackBootSequence.OS_IMAGE_HASH, OS_IMAGE);
      log.emit(
          DstackBootSequence.KEY_PROVIDER,
          "{\"name\":\"kms\",\"id\":\"load\"}".getBytes(StandardCharsets.UTF_8));
      if (gpu != null) {
        // the GPUs a CVM presents must be the ones it measured at boot (GPU_DEVICE_CHANGED)
        log.emit(
            DstackBootSequence.GPU_DEVICES,
            org.teekms.attest.gpu.GpuDevices.digest(gpu.collect(new byte[32])));
      }
      log.emit(DstackBootSequence.SYSTEM_READY, new byte[0]);
      return new RaTlsCertificateFactory(cvm, log, gpu, Clock.systemUTC(), Duration.ofHours(1))
          .create("cvm-" + n);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static double pct(List<Long> sorted, int p) {
    if (sorted.isEmpty()) {
      return Double.NaN;
    }
    int i = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, i))) / 1e6;
  }

  static int freePort() throws Exception {
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  static void waitForPort(int port, Duration max, Process server) throws Exception {
    long deadline = System.nanoTime() + max.toNanos();
    while (System.nanoTime() < deadline) {
      if (!server.isAlive()) {
        throw new IllegalStateException("the KMS server exited with " + server.exitValue());
      }
      try (Socket s = new Socket("127.0.0.1", port)) {
        return;
      } catch (Exception notYet) {
        Thread.sleep(250);
      }
    }
    throw new IllegalStateException("the KMS server did not open port " + port);
  }

  static String javaBin() {
    return System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
  }
}
