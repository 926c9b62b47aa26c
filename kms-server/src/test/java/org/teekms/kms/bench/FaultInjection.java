package org.teekms.kms.bench;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.teekms.attest.ratls.RaTlsContexts;
import org.teekms.attest.ratls.RaTlsCredentials;
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
import org.teekms.kms.db.EmbeddedPostgresServer;
import org.teekms.proto.GetAppKeysRequest;
import org.teekms.proto.GetAppKeysResponse;
import org.teekms.proto.GetKmsInfoRequest;
import org.teekms.proto.GetKmsStatusRequest;
import org.teekms.proto.KmsGrpc;
import org.teekms.proto.KmsInfo;
import org.teekms.proto.KmsInfoServiceGrpc;
import org.teekms.proto.KmsStatus;
import org.teekms.proto.OperatorRequest;
import org.teekms.proto.OperatorRequestMessage;
import org.teekms.proto.RotationGrpc;
import org.teekms.proto.RotationJobStatus;
import org.web3j.crypto.Credentials;
import org.web3j.crypto.Sign;
import org.web3j.utils.Numeric;

/**
 * Fault injection against real processes (issue 17 item 3; a main, not a test): anvil with the
 * registry and one app, a PostgreSQL server this process owns (so it outlives the KMS and can be
 * stopped or made read-only), and the packaged KMS ({@code
 * kms-server/target/quarkus-app/quarkus-run.jar}) as a child process reaching the chain through a
 * TCP relay this process controls (up, down, slow). Simulated CVMs admit in a loop while faults are
 * injected; one CVM in five presents a compose hash the app does not allow.
 *
 * <p>Scenarios ({@code bench/faults [scenario] [repeats]}):
 *
 * <ul>
 *   <li>{@code kill}: {@code kill -9} of the KMS at a random moment during admissions, during a
 *       root rotation or during an app rotation (chosen at random per repeat), then a restart;
 *   <li>{@code postgres}: PostgreSQL stopped and restarted, then made read-only and back, under
 *       load;
 *   <li>{@code chain}: the chain RPC cut, made slow, and reorganised (anvil snapshot / revert)
 *       under load;
 *   <li>{@code skew}: the KMS restarted with its clock 10 minutes ahead and behind (within the
 *       clock-skew allowance), then 30 minutes behind and ahead (beyond it; libfaketime), under
 *       load;
 *   <li>{@code pccs}: clients' collateral from a simulated PCCS behind a relay: unreachable, slow,
 *       and serving expired collateral, under load;
 *   <li>{@code wal}: PostgreSQL's pg_wal on a small tmpfs, filled up under load, then freed;
 *   <li>{@code embedded}: {@code kill -9} of a KMS that started its own embedded PostgreSQL (the
 *       demo's setup), then a restart on the same data directory.
 * </ul>
 *
 * <p>After every repeat, checked and counted as a violation when false: every grant id a CVM
 * received is in {@code key_grant} with its audit entry ({@code ALLOWED}); no grant for a CVM whose
 * compose hash is not allowed (none received, none in the table); every refusal while the KMS was
 * up is a gRPC status with a {@code teekms-deny-reason} trailer; the KMS serves again by itself
 * within {@code recovery-seconds} of the fault's end; rotation jobs settle ({@code
 * APPS_MOVED}/{@code DONE}, none {@code FAILED}) and an app rotation reaches the chain's key
 * version. At the end of a scenario {@code teekms audit verify} (which recomputes the hash chain
 * locally) must exit 0.
 */
public final class FaultInjection {

  private static final String SEED = "6c6f61642d67656e657261746f722d73";
  private static final Metadata.Key<String> DENY_REASON =
      Metadata.Key.of("teekms-deny-reason", Metadata.ASCII_STRING_MARSHALLER);

  /** Instance numbers at or above this are CVMs whose compose hash is not allowed. */
  private static final int DENIED_INSTANCES = 1 << 30;

  private static final Random RANDOM =
      new Random(Long.getLong("teekms.faults.seed", System.nanoTime()));

  private final SimulatedTdx tdx;
  private final RaTlsTrustManager trust;
  private final AnvilNode anvil;
  private final ChainClient chain;
  private final KmsRegistry registry;
  private final Credentials operator;
  private final AppPolicy app;
  private final byte[] appId;
  private final byte[] allowedCompose;
  private final byte[] deniedCompose;
  private final Path work;
  private final Path pgData;
  private final int pgPort;
  private final Relay relay;
  private EmbeddedPostgresServer postgres;
  private Process kms;
  private volatile int kmsPort;

  /** How long the last rotation request took to be answered. */
  private volatile long lastRequestMillis = 1000;

  private int httpPort;
  private int managementPort;
  private final AtomicInteger instances = new AtomicInteger();
  private final AtomicInteger deniedInstances = new AtomicInteger(DENIED_INSTANCES);

  /** Grant ids the CVMs received, over the whole run. */
  private final Set<String> grantsReceived = ConcurrentHashMap.newKeySet();

  private final List<String> violations = new CopyOnWriteArrayList<>();
  private final Map<String, AtomicLong> outcomes = new ConcurrentHashMap<>();
  private int repeatsSurvived;
  private static final String FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

  /** Extra KMS options of the running scenario (pccs: the simulated PCCS and a short max age). */
  private volatile List<String> kmsOptions = List.of();

  /** The simulated PCCS (current collateral), one serving expired collateral, and the relay. */
  private org.teekms.attest.tdx.collateral.FakePcsServer validPcs;

  private org.teekms.attest.tdx.collateral.FakePcsServer expiredPcs;
  private Relay pccsRelay;

  /** The ocsp scenario: the CVMs' simulated GPU, its OCSP responder and the relay to it. */
  private volatile org.teekms.attest.gpu.GpuEvidenceProvider loadGpu;

  private org.teekms.attest.gpu.SimulatedGpuEvidenceProvider gpu;
  private org.teekms.attest.gpu.LocalOcspResponder ocspResponder;
  private Relay ocspRelay;

  /** libfaketime offset for the next KMS start ("+10m"), or null. */
  private String skew;

  private int repeatsRun;

  private FaultInjection(AnvilNode anvil, ChainClient chain, Path work) throws Exception {
    this.anvil = anvil;
    this.chain = chain;
    this.work = work;
    operator = anvil.fundedAccount();
    registry = KmsRegistry.deploy(chain, operator, operator.getAddress()).registry();
    registry.setTcbPolicy(List.of("UpToDate"), List.of());
    byte[] osImage = sha256("tee-kms simulated OS image".getBytes(StandardCharsets.UTF_8));
    registry.addOsImage(osImage);
    registry.addOsImageMeasurement(
        osImage, MessageDigest.getInstance("SHA-256").digest(new byte[4 * 48]));
    app = AppPolicy.at(chain, registry.registerApp(operator.getAddress()).appId(), operator);
    allowedCompose = sha256("services:\n  model: {image: vllm}\n".getBytes(StandardCharsets.UTF_8));
    deniedCompose =
        sha256("services:\n  model: {image: not-allowed}\n".getBytes(StandardCharsets.UTF_8));
    app.addComposeHash(allowedCompose);
    app.setAllowAnyDevice(true);
    appId = Numeric.hexStringToByteArray(app.address());
    tdx =
        SimulatedTdx.enableSeeded(
            "load generator", Clock.systemUTC(), HexFormat.of().parseHex(SEED));
    trust =
        new RaTlsTrustManager(
            RaTlsVerifier.builder(
                    new DcapQuoteVerifier(tdx.rootCertificate()), tdx.collateralSource())
                .quotePolicy(QuotePolicy.builder().build())
                .clock(Clock.systemUTC())
                .build());
    pgData = work.resolve("pgdata");
    pgPort = LoadGenerator.freePort();
    postgres = EmbeddedPostgresServer.start(pgData, pgPort);
    relay = new Relay(anvil.port());
  }

  public static void main(String[] args) throws Exception {
    String scenario = args.length > 0 ? args[0] : "all";
    int repeats = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    List<String> scenarios =
        scenario.equals("all")
            ? List.of("kill", "postgres", "chain", "skew", "pccs", "ocsp", "wal", "embedded")
            : List.of(scenario.split(","));
    for (String s : scenarios) {
      if (!Set.of("kill", "postgres", "chain", "skew", "pccs", "ocsp", "wal", "embedded")
          .contains(s)) {
        System.err.println(
            "faults: unknown scenario "
                + s
                + " (kill, postgres, chain, skew, pccs, ocsp, wal, embedded, all)");
        System.exit(2);
      }
    }
    org.teekms.kms.tls.FastEcdsaProvider.install();
    System.out.printf(
        "faults: scenarios %s, %d repeats each; %d cores, load average %s%n",
        scenarios, repeats, Runtime.getRuntime().availableProcessors(), loadAverage());
    Path work = Files.createTempDirectory("teekms-faults");
    int failed = 0;
    try (AnvilNode anvil = AnvilNode.start();
        ChainClient chain = ChainClient.connect(anvil.rpcUrl(), AnvilNode.CHAIN_ID)) {
      FaultInjection f = new FaultInjection(anvil, chain, work);
      // stopped from outside (Ctrl-C): leave no KMS or PostgreSQL of this run behind
      Runtime.getRuntime()
          .addShutdownHook(
              new Thread(
                  () -> {
                    Process k = f.kms;
                    if (k != null) {
                      k.destroyForcibly();
                    }
                  },
                  "faults-cleanup"));
      try {
        for (String s : scenarios) {
          failed += f.runScenario(s, repeats) ? 0 : 1;
        }
      } finally {
        f.stopKms(false);
        f.relay.close();
        if (f.ocspRelay != null) {
          f.ocspRelay.close();
          f.ocspResponder.close();
        }
        if (f.pccsRelay != null) {
          f.pccsRelay.close();
          f.validPcs.close();
          f.expiredPcs.close();
        }
        f.postgres.close();
      }
    }
    System.out.printf(
        "faults: %s; load average %s; work directory %s%n",
        failed == 0 ? "ALL PASSED" : failed + " scenario(s) FAILED", loadAverage(), work);
    System.exit(failed == 0 ? 0 : 1);
  }

  private boolean runScenario(String scenario, int repeats) throws Exception {
    violations.clear();
    outcomes.clear();
    repeatsRun = 0;
    repeatsSurvived = 0;
    long t0 = System.nanoTime();
    System.out.printf(
        "%n== scenario %s (%d repeats), load average %s%n", scenario, repeats, loadAverage());
    if (scenario.equals("embedded")) {
      embedded(repeats);
    } else {
      if (kms == null || !kms.isAlive()) {
        startKms(true);
      }
      for (int i = 1; i <= repeats; i++) {
        int before = violations.size();
        switch (scenario) {
          case "kill" -> killRepeat(i);
          case "postgres" -> postgresRepeat(i);
          case "chain" -> chainRepeat(i);
          case "skew" -> skewRepeat(i);
          case "wal" -> walRepeat(i);
          case "pccs" -> pccsRepeat(i);
          case "ocsp" -> ocspRepeat(i);
          default -> throw new IllegalArgumentException(scenario);
        }
        checkGrants();
        repeatsRun++;
        if (violations.size() == before) {
          repeatsSurvived++;
        } else {
          for (String v : violations.subList(before, violations.size())) {
            System.out.println("  VIOLATION: " + v);
          }
        }
      }
      loadGpu = null;
      if (!kmsOptions.isEmpty()) {
        // back to the KMS every other scenario runs against
        kmsOptions = List.of();
        stopKms(false);
        startKms(false);
      }
      auditVerify();
    }
    System.out.printf(
        "== scenario %s: %d/%d repeats without a violation, %d violation(s), %.0f s, load average %s%n",
        scenario,
        repeatsSurvived,
        repeatsRun,
        violations.size(),
        (System.nanoTime() - t0) / 1e9,
        loadAverage());
    System.out.println("   outcomes: " + new TreeMap<>(outcomesAsLongs()));
    return violations.isEmpty();
  }

  // ---------------------------------------------------------------------------------------------------------- kill

  private void killRepeat(int i) throws Exception {
    String what =
        switch (RANDOM.nextInt(3)) {
          case 0 -> "admissions";
          case 1 -> "root rotation";
          default -> "app rotation";
        };
    try (Load load = new Load(3)) {
      load.awaitAdmissions(3, Duration.ofSeconds(120));
      String job = null;
      long requested = System.nanoTime();
      if (what.equals("root rotation")) {
        job = requestRotation(OperatorRequestMessage.ROTATE_ROOT, ByteString.EMPTY);
      } else if (what.equals("app rotation")) {
        app.rotateKeys();
        // An app rotation is one step, which the KMS starts as soon as it is enqueued and which is
        // usually done by the
        // time the request's answer arrives: the kill lands at a random moment while the request is
        // in flight or
        // just after (the answer may then be lost; the job, if committed, must still finish after
        // the restart).
        java.util.concurrent.CompletableFuture<String> sent =
            java.util.concurrent.CompletableFuture.supplyAsync(
                () -> {
                  try {
                    return requestRotation(
                        OperatorRequestMessage.SYNC_APP, ByteString.copyFrom(appId));
                  } catch (Exception e) {
                    return null;
                  }
                });
        long delayMs = RANDOM.nextInt((int) Math.max(500, lastRequestMillis + 300));
        Thread.sleep(delayMs);
        String stateAtKill = jobStates();
        load.kmsDown.set(true);
        kms.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        System.out.printf(
            "  [%d] kill -9 during app rotation %d ms after sending SYNC_APP (a request takes ~%d ms; "
                + "unfinished jobs at kill: %s), load average %s%n",
            i, delayMs, lastRequestMillis, stateAtKill, loadAverage());
        outcome("kill during app rotation, unfinished jobs at kill: " + stateAtKill);
        try {
          sent.get(60, TimeUnit.SECONDS);
        } catch (Exception lost) {
          // the answer died with the KMS
        }
        startKms(false);
        load.kmsDown.set(false);
        if (!load.awaitAdmissions(load.admitted.get() + 3, Duration.ofSeconds(120))) {
          violations.add(
              "no admission within 120 s of the restart (last failure: " + load.lastFailure + ")");
        }
        load.requireTypedRefusals("kill -9");
        load.close();
        awaitRotationsSettled(Duration.ofSeconds(180));
        return;
      }
      long delayMs;
      String target = "-";
      if (job == null) {
        delayMs = RANDOM.nextInt(3000);
        Thread.sleep(delayMs);
      } else {
        // each step of the job: wait until it is in a state chosen at random (the next step is then
        // being claimed
        // or run), then kill within the next 0-300 ms
        List<String> states =
            what.equals("root rotation")
                ? List.of("PENDING", "GENERATED", "PROMOTED")
                : List.of("PENDING");
        target = states.get(RANDOM.nextInt(states.size()));
        List<String> order =
            List.of(
                "PENDING", "GENERATED", "BACKED_UP", "PROMOTED", "APPS_MOVED", "DONE", "FAILED");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline
            && order.indexOf(jobState(job)) < order.indexOf(target)) {
          Thread.sleep(20);
        }
        Thread.sleep(RANDOM.nextInt(300));
        delayMs = (System.nanoTime() - requested) / 1_000_000;
      }
      String stateAtKill = job == null ? "-" : jobState(job);
      load.kmsDown.set(true);
      kms.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      System.out.printf(
          "  [%d] kill -9 during %s after %d ms (aimed at state %s; job state at kill: %s), load average %s%n",
          i, what, delayMs, target, stateAtKill, loadAverage());
      outcome("kill during " + what + " at " + stateAtKill);
      startKms(false);
      load.kmsDown.set(false);
      if (!load.awaitAdmissions(load.admitted.get() + 3, Duration.ofSeconds(120))) {
        violations.add(
            "no admission within 120 s of the restart (last failure: " + load.lastFailure + ")");
      }
      load.requireTypedRefusals("kill -9");
    }
    awaitRotationsSettled(Duration.ofSeconds(180));
  }

  // ------------------------------------------------------------------------------------------------------ postgres

  private void postgresRepeat(int i) throws Exception {
    try (Load load = new Load(3)) {
      load.awaitAdmissions(3, Duration.ofSeconds(120));
      // stopped and restarted
      load.faultActive.set(true);
      postgres.close();
      System.out.printf("  [%d] PostgreSQL stopped, load average %s%n", i, loadAverage());
      Thread.sleep(5000 + RANDOM.nextInt(5000));
      postgres = EmbeddedPostgresServer.start(pgData, pgPort);
      load.faultActive.set(false);
      recovered(load, "PostgreSQL restart");
      // read-only
      sql("ALTER SYSTEM SET default_transaction_read_only = on", "SELECT pg_reload_conf()");
      load.faultActive.set(true);
      System.out.printf("  [%d] PostgreSQL read-only, load average %s%n", i, loadAverage());
      Thread.sleep(5000 + RANDOM.nextInt(5000));
      sql("ALTER SYSTEM RESET default_transaction_read_only", "SELECT pg_reload_conf()");
      load.faultActive.set(false);
      recovered(load, "PostgreSQL writable again");
      load.requireTypedRefusals("PostgreSQL");
    }
  }

  // --------------------------------------------------------------------------------------------------------- chain

  private void chainRepeat(int i) throws Exception {
    try (Load load = new Load(3)) {
      load.awaitAdmissions(3, Duration.ofSeconds(120));
      relay.mode(Relay.Mode.DOWN);
      load.faultActive.set(true);
      System.out.printf("  [%d] chain RPC down, load average %s%n", i, loadAverage());
      Thread.sleep(8000 + RANDOM.nextInt(5000));
      relay.mode(Relay.Mode.UP);
      load.faultActive.set(false);
      recovered(load, "chain RPC back");
      relay.mode(Relay.Mode.SLOW);
      System.out.printf(
          "  [%d] chain RPC slow (%d ms per read), load average %s%n",
          i, Relay.SLOW_MS, loadAverage());
      load.faultActive.set(true);
      Thread.sleep(8000);
      relay.mode(Relay.Mode.UP);
      load.faultActive.set(false);
      recovered(load, "chain RPC fast again");
      // a reorganisation: blocks the KMS may have pinned are replaced by others at the same heights
      String snap = anvil.snapshot();
      anvil.mine(3);
      Thread.sleep(3000);
      anvil.revert(snap);
      anvil.mine(5);
      System.out.printf(
          "  [%d] chain reorganised (snapshot, 3 blocks, revert, 5 other blocks), load average %s%n",
          i, loadAverage());
      recovered(load, "chain reorganisation");
      load.requireTypedRefusals("chain");
    }
  }

  // ---------------------------------------------------------------------------------------------------------- skew

  /**
   * Whether a libfaketime offset such as {@code +9m} or {@code -30m} lies within the KMS's default
   * clock-skew allowance (10 min), i.e. whether the KMS must admit under it.
   */
  static boolean withinDefaultAllowance(String offset) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("([+-])(\\d+)m").matcher(offset);
    if (!m.matches()) {
      throw new IllegalArgumentException(
          "teekms.faults.skew-offsets: '" + offset + "' is not a signed minute offset such as +9m");
    }
    return Integer.parseInt(m.group(2)) <= 10;
  }

  /**
   * The KMS restarted with its clock off by ±10 minutes (within the default clock-skew allowance)
   * and by ±30 minutes (beyond it), under load, with a live chain (a block every 2 s) so that the
   * KMS's clock probe has a fresh reference; then restarted on the true clock. Required: within the
   * allowance the KMS admits; at −30 min every refusal is {@code UNAVAILABLE KMS_CLOCK_SKEW}
   * (retryable, the KMS's fault) and GetKmsStatus reports the skew; at +30 min clients refuse the
   * KMS's certificate in their own verifier as {@code CERTIFICATE_NOT_YET_VALID}; nothing is
   * granted beyond the allowance; the KMS admits again once its clock is right.
   */
  private void skewRepeat(int i) throws Exception {
    if (!Files.exists(Path.of(FAKETIME))) {
      violations.add("skew: " + FAKETIME + " is not installed (apt-get install faketime)");
      return;
    }
    AtomicBoolean mining = new AtomicBoolean(true);
    Thread miner =
        new Thread(
            () -> {
              while (mining.get()) {
                try {
                  anvil.mine(1);
                  Thread.sleep(2000);
                } catch (InterruptedException e) {
                  return;
                } catch (RuntimeException e) {
                  // anvil busy: the next block comes 2 s later
                }
              }
            },
            "chain-blocks");
    miner.setDaemon(true);
    miner.start();
    try {
      for (String offset :
          System.getProperty("teekms.faults.skew-offsets", "+10m,-10m,-30m,+30m").split(",")) {
        boolean within = withinDefaultAllowance(offset);
        stopKms(false);
        skew = offset;
        try {
          startKms(false);
        } finally {
          skew = null;
        }
        int grantsBefore = grantsReceived.size();
        try (Load load = new Load(3)) {
          load.faultActive.set(true);
          boolean admits = load.awaitAdmissions(3, Duration.ofSeconds(within ? 60 : 20));
          KmsStatus status = kmsStatus();
          String clock =
              status == null
                  ? "GetKmsStatus unreachable"
                  : status.getClock().getKnown()
                      ? String.format(
                          "GetKmsStatus clock: %+.0f s against block %d, within allowance %s",
                          status.getClock().getSkewMs() / 1000.0,
                          status.getClock().getChainBlock(),
                          status.getClock().getWithinAllowance())
                      : "GetKmsStatus clock unknown: " + status.getClock().getProblem();
          System.out.printf(
              "  [%d] KMS clock %s: %s (last refusal: %s); %s; load average %s%n",
              i,
              offset,
              admits ? "admits" : "admits nothing",
              load.lastFailure.isEmpty() ? "none" : load.lastFailure,
              clock,
              loadAverage());
          outcome(
              "skew " + offset + ": " + clock.replaceAll("[-+]?\\d+ s against block \\d+", "…"));
          String job = requestRotation(OperatorRequestMessage.SYNC_APP, ByteString.copyFrom(appId));
          System.out.printf(
              "      operator request signed on the true clock: %s%n",
              job == null ? "refused (see outcomes)" : "accepted");
          load.close();
          if (within && !admits) {
            violations.add(
                "clock "
                    + offset
                    + " (within the allowance): no admission in 60 s (last: "
                    + load.lastFailure
                    + ")");
          }
          if (!within && grantsReceived.size() > grantsBefore) {
            violations.add(
                "clock "
                    + offset
                    + " (beyond the allowance): "
                    + (grantsReceived.size() - grantsBefore)
                    + " grant(s) served");
          }
          if (offset.equals("-30m")) {
            if (status == null
                || !status.getClock().getKnown()
                || status.getClock().getWithinAllowance()
                || status.getClock().getSkewMs() > -25 * 60_000L) {
              violations.add("clock -30m: GetKmsStatus does not report the skew: " + clock);
            }
            long skewRefusals =
                outcomes.entrySet().stream()
                    .filter(e -> e.getKey().equals("fault: UNAVAILABLE KMS_CLOCK_SKEW"))
                    .mapToLong(e -> e.getValue().get())
                    .sum();
            if (skewRefusals == 0) {
              violations.add(
                  "clock -30m: no refusal named KMS_CLOCK_SKEW (last: " + load.lastFailure + ")");
            }
          }
          if (offset.equals("+30m") && !load.lastFailure.contains("CERTIFICATE_NOT_YET_VALID")) {
            violations.add(
                "clock +30m: clients did not name CERTIFICATE_NOT_YET_VALID (last: "
                    + load.lastFailure
                    + ")");
          }
          load.requireTypedRefusals("clock skew " + offset);
        }
      }
      stopKms(false);
      startKms(false);
      try (Load load = new Load(3)) {
        recovered(load, "KMS restarted on the true clock");
        load.requireTypedRefusals("after clock skew");
      }
    } finally {
      mining.set(false);
      miner.interrupt();
    }
  }

  /** GetKmsStatus of the running KMS (unauthenticated), or null when it does not answer. */
  private KmsStatus kmsStatus() {
    ManagedChannel ch = null;
    try {
      ch =
          NettyChannelBuilder.forAddress("127.0.0.1", kmsPort)
              .overrideAuthority("kms.teekms.invalid")
              .sslContext(
                  GrpcSslContexts.configure(
                          SslContextBuilder.forClient()
                              .trustManager(RaTlsContexts.trustManagerFactory(trust)),
                          SslProvider.JDK)
                      .build())
              .build();
      return KmsInfoServiceGrpc.newBlockingStub(ch)
          .withDeadlineAfter(60, TimeUnit.SECONDS)
          .getKmsStatus(GetKmsStatusRequest.getDefaultInstance());
    } catch (Exception e) {
      outcome("GetKmsStatus failed: " + firstWords(e.getMessage(), e));
      return null;
    } finally {
      if (ch != null) {
        ch.shutdownNow();
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------- pccs

  /** The KMS's collateral max age in the pccs scenario: short, so an outage outlives its cache. */
  private static final Duration PCCS_MAX_AGE = Duration.ofSeconds(20);

  /**
   * Clients' collateral from a simulated PCCS (the simulator's collateral over the PCCS v4 API)
   * reached through a relay this process controls, with {@code teekms.collateral.max-age} 20 s and
   * a 2 s fetch timeout: the PCCS unreachable for 40 s, slow (3 s per chunk) for 40 s, and serving
   * expired collateral for 40 s, each under load. Required: while cached collateral is within its
   * bound admissions continue; after it, refusals are {@code UNAVAILABLE KMS_UNAVAILABLE}
   * (retryable, with the reason) and no allowed CVM is denied as if its quote were invalid; no
   * grant for a not-allowed compose hash; admissions resume by themselves when the PCCS is back.
   */
  private void pccsRepeat(int i) throws Exception {
    if (validPcs == null) {
      java.time.Instant now = java.time.Instant.now();
      validPcs =
          new org.teekms.attest.tdx.collateral.FakePcsServer(
              tdx.collateral().toCollateral(), "tdx", SimulatedTdx.FMSPC);
      expiredPcs =
          new org.teekms.attest.tdx.collateral.FakePcsServer(
              tdx.collateral(
                      now.minus(Duration.ofDays(31)),
                      now.minus(Duration.ofMinutes(1)),
                      "UpToDate",
                      List.of())
                  .toCollateral(),
              "tdx",
              SimulatedTdx.FMSPC);
      pccsRelay = new Relay(port(validPcs));
    }
    if (!kmsOptions.toString().contains("pccs-url")) {
      kmsOptions =
          List.of(
              "-Dteekms.collateral.pccs-url=http://127.0.0.1:" + pccsRelay.port(),
              "-Dteekms.collateral.max-age=" + PCCS_MAX_AGE.toSeconds() + "s",
              "-Dteekms.collateral.timeout=2s");
      stopKms(false);
      startKms(false);
    }
    pccsRelay.target(port(validPcs));
    pccsRelay.mode(Relay.Mode.UP);
    try (Load load = new Load(3)) {
      if (!load.awaitAdmissions(3, Duration.ofSeconds(120))) {
        violations.add(
            "pccs: no admission with collateral from the PCCS (" + load.lastFailure + ")");
        return;
      }
      String[] faults = {"unreachable", "slow", "serving expired collateral"};
      for (String fault : faults) {
        long unavailableBefore = count("fault: UNAVAILABLE KMS_UNAVAILABLE");
        long invalidBefore = count("fault: PERMISSION_DENIED ATTESTATION_INVALID");
        int admittedBefore = load.admitted.get();
        load.faultActive.set(true);
        switch (fault) {
          case "unreachable" -> pccsRelay.mode(Relay.Mode.DOWN);
          case "slow" -> pccsRelay.mode(Relay.Mode.SLOW);
          default -> pccsRelay.target(port(expiredPcs));
        }
        Thread.sleep(PCCS_MAX_AGE.multipliedBy(2).toMillis());
        int served = load.admitted.get() - admittedBefore;
        long unavailable = count("fault: UNAVAILABLE KMS_UNAVAILABLE") - unavailableBefore;
        long invalid = count("fault: PERMISSION_DENIED ATTESTATION_INVALID") - invalidBefore;
        System.out.printf(
            "  [%d] PCCS %s for %d s: %d admissions served (cached collateral), %d refused"
                + " UNAVAILABLE KMS_UNAVAILABLE, %d refused ATTESTATION_INVALID; last refusal: %s;"
                + " load average %s%n",
            i,
            fault,
            PCCS_MAX_AGE.multipliedBy(2).toSeconds(),
            served,
            unavailable,
            invalid,
            load.lastFailure,
            loadAverage());
        if (unavailable == 0) {
          violations.add(
              "pccs "
                  + fault
                  + ": no refusal KMS_UNAVAILABLE after the cached collateral's bound (last: "
                  + load.lastFailure
                  + ")");
        }
        if (invalid > 0) {
          violations.add(
              "pccs "
                  + fault
                  + ": "
                  + invalid
                  + " CVM(s) refused ATTESTATION_INVALID (a permanent denial) for the PCCS's fault");
        }
        if (served == 0) {
          violations.add("pccs " + fault + ": cached collateral within its bound was not served");
        }
        pccsRelay.target(port(validPcs));
        pccsRelay.mode(Relay.Mode.UP);
        load.faultActive.set(false);
        recovered(load, "PCCS " + fault + " ended");
      }
      load.requireTypedRefusals("PCCS");
    }
  }

  private long count(String outcomeKey) {
    AtomicLong n = outcomes.get(outcomeKey);
    return n == null ? 0 : n.get();
  }

  private static int port(org.teekms.attest.tdx.collateral.FakePcsServer pcs) {
    return java.net.URI.create(pcs.baseUrl()).getPort();
  }

  // ---------------------------------------------------------------------------------------------------------- ocsp

  /**
   * CVMs whose certificates carry (simulated) GPU evidence of one H100, a KMS verifying it with the
   * GPU simulator's roots and OCSP mode {@code fail-closed} against the simulator's OCSP responder
   * behind a relay, no OCSP cache: the responder unreachable for 15 s under load. Required: no
   * admission while the revocation status cannot be read (after 2 s for calls in flight), refusals
   * {@code UNAVAILABLE GPU_REVOCATION_UNAVAILABLE}; admissions resume by themselves when it is
   * back.
   *
   * <p>Every handshake verifies the GPU report and asks the responder for each certificate of the
   * device chain and of both RIM signer chains, so on a small loaded machine the first admissions
   * of a freshly started KMS take minutes: the cut waits for {@code
   * teekms.faults.ocsp-warmup-seconds} (300) for two admissions with the responder up, from {@code
   * teekms.faults.ocsp-clients} (2) CVMs, so that the KMS is admitting when the fault starts. The
   * fault and the checks are the same whatever these are.
   */
  private void ocspRepeat(int i) throws Exception {
    if (gpu == null) {
      org.teekms.attest.gpu.GpuSimulator sim =
          org.teekms.attest.gpu.GpuSimulator.seeded(1, HexFormat.of().parseHex(SEED));
      gpu = org.teekms.attest.gpu.SimulatedGpuEvidenceProvider.of(sim);
      ocspResponder = org.teekms.attest.gpu.SimulatedGpus.ocspResponder(sim, 0);
      ocspRelay = new Relay(ocspResponder.uri().getPort());
    }
    if (!kmsOptions.toString().contains("ocsp.mode")) {
      kmsOptions =
          List.of(
              "-Dteekms.gpu.verification=simulator",
              "-Dteekms.gpu.ocsp.mode=fail-closed",
              "-Dteekms.gpu.ocsp.responder-url=http://127.0.0.1:" + ocspRelay.port() + "/",
              "-Dteekms.gpu.ocsp.timeout=2s",
              "-Dteekms.gpu.ocsp.cache-size=0");
      stopKms(false);
      startKms(false);
    }
    loadGpu = gpu;
    ocspRelay.mode(Relay.Mode.UP);
    int clients = Integer.getInteger("teekms.faults.ocsp-clients", 2);
    Duration warmup = Duration.ofSeconds(Long.getLong("teekms.faults.ocsp-warmup-seconds", 300));
    long warmupStarted = System.nanoTime();
    try (Load load = new Load(clients)) {
      if (!load.awaitAdmissions(2, warmup)) {
        violations.add(
            "ocsp: fewer than 2 admissions with GPU evidence and OCSP up within "
                + warmup.toSeconds()
                + " s, so the fault was not injected ("
                + load.admitted.get()
                + " admitted; last: "
                + load.lastFailure
                + "; load average "
                + loadAverage()
                + ")");
        return;
      }
      System.out.printf(
          "  [%d] %d CVMs with one simulated H100 each: %d admissions with OCSP up after %.1f s;"
              + " load average %s%n",
          i,
          clients,
          load.admitted.get(),
          (System.nanoTime() - warmupStarted) / 1e9,
          loadAverage());
      java.time.Instant cut = java.time.Instant.now();
      ocspRelay.mode(Relay.Mode.DOWN);
      load.faultActive.set(true);
      Thread.sleep(2000); // calls already past their OCSP check may still complete
      int admittedBefore = load.admitted.get();
      long refusedBefore = count("fault: UNAVAILABLE GPU_REVOCATION_UNAVAILABLE");
      Thread.sleep(13_000);
      int served = load.admitted.get() - admittedBefore;
      long refused = count("fault: UNAVAILABLE GPU_REVOCATION_UNAVAILABLE") - refusedBefore;
      java.time.Instant back = java.time.Instant.now();
      System.out.printf(
          "  [%d] OCSP responder down 15 s (%s to %s UTC, mode fail-closed): %d admissions from 2 s"
              + " after the cut, %d refused UNAVAILABLE GPU_REVOCATION_UNAVAILABLE; last refusal:"
              + " %s; load average %s%n",
          i,
          cut.truncatedTo(java.time.temporal.ChronoUnit.SECONDS),
          back.truncatedTo(java.time.temporal.ChronoUnit.SECONDS),
          served,
          refused,
          load.lastFailure,
          loadAverage());
      if (served > 0) {
        violations.add(
            "ocsp: " + served + " admission(s) while the GPU revocation status was unreadable");
      }
      if (refused == 0) {
        violations.add(
            "ocsp: no refusal GPU_REVOCATION_UNAVAILABLE while the responder was down (last: "
                + load.lastFailure
                + ")");
      }
      ocspRelay.mode(Relay.Mode.UP);
      load.faultActive.set(false);
      recovered(load, "OCSP responder back");
      load.requireTypedRefusals("OCSP");
    }
  }

  // ----------------------------------------------------------------------------------------------------------- wal

  /** Size of the filesystem PostgreSQL's pg_wal is moved onto for the {@code wal} scenario. */
  private static final String WAL_FS_SIZE = System.getProperty("teekms.faults.wal-fs-size", "96m");

  /**
   * PostgreSQL's WAL disk full under load: pg_wal is moved onto a small tmpfs (needs {@code mount}:
   * root with CAP_SYS_ADMIN; checked first, and the scenario says so and stops if it cannot mount),
   * WAL recycling is turned off so every new segment needs new space, the rest of the filesystem is
   * filled with a file, and a WAL segment switch is forced. Expected: admissions refused {@code
   * KMS_UNAVAILABLE} with the reason, no grant without its audit entry; after the file is deleted
   * (and PostgreSQL, if it stopped, is started again as an operator would) the KMS admits again
   * without a restart of its own. At the end pg_wal moves back and the filesystem is unmounted.
   */
  private void walRepeat(int i) throws Exception {
    Path mount = work.resolve("walfs");
    Files.createDirectories(mount);
    String mounted =
        run("mount", "-t", "tmpfs", "-o", "size=" + WAL_FS_SIZE, "tmpfs", mount.toString());
    if (mounted != null) {
      violations.add("wal: cannot mount a small filesystem for pg_wal here (" + mounted + ")");
      return;
    }
    Path wal = pgData.resolve("pg_wal");
    Path moved = mount.resolve("pg_wal");
    Path filler = mount.resolve("filler");
    try {
      postgres.close();
      run("cp", "-a", wal.toString(), moved.toString());
      run("rm", "-rf", wal.toString());
      Files.createSymbolicLink(wal, moved);
      postgres = EmbeddedPostgresServer.start(pgData, pgPort);
      sql(
          "ALTER SYSTEM SET wal_recycle = off",
          "ALTER SYSTEM SET min_wal_size = '32MB'",
          "SELECT pg_reload_conf()");
      System.out.printf(
          "  [%d] pg_wal on a %s tmpfs, WAL recycling off, load average %s%n",
          i, WAL_FS_SIZE, loadAverage());
      try (Load load = new Load(3)) {
        load.awaitAdmissions(3, Duration.ofSeconds(120));
        load.faultActive.set(true);
        long filled = fill(filler);
        String switched;
        try {
          sql("SELECT pg_switch_wal()");
          switched = "segment switch forced";
        } catch (java.sql.SQLException e) {
          switched = "segment switch failed: " + firstWords(e.getMessage(), e);
        }
        int before = load.admitted.get();
        Thread.sleep(10_000);
        boolean pgUp = postgresAnswers();
        System.out.printf(
            "  [%d] WAL filesystem full (%d MB filler; %s); 10 s later PostgreSQL %s, %d admission(s) meanwhile, "
                + "last refusal: %s; load average %s%n",
            i,
            filled >> 20,
            switched,
            pgUp ? "answers" : "does not answer",
            load.admitted.get() - before,
            load.lastFailure,
            loadAverage());
        outcome("wal: PostgreSQL " + (pgUp ? "still answers" : "stopped") + " with pg_wal full");
        Files.deleteIfExists(filler);
        if (!postgresAnswers()) {
          // a PANIC on a full pg_wal stops the server; an operator frees space and starts it again
          try {
            postgres.close();
          } catch (RuntimeException alreadyDown) {
            // stopped by its own PANIC
          }
          postgres = EmbeddedPostgresServer.start(pgData, pgPort);
          System.out.printf("      space freed, PostgreSQL started again%n");
        } else {
          System.out.printf("      space freed%n");
        }
        load.faultActive.set(false);
        recovered(load, "space returned to pg_wal");
        load.requireTypedRefusals("WAL disk full");
      }
    } finally {
      Files.deleteIfExists(filler);
      try {
        postgres.close();
      } catch (RuntimeException e) {
        // already down
      }
      if (Files.isSymbolicLink(wal)) {
        Files.delete(wal);
        run("cp", "-a", moved.toString(), wal.toString());
      }
      run("umount", mount.toString());
      postgres = EmbeddedPostgresServer.start(pgData, pgPort);
      sql(
          "ALTER SYSTEM RESET wal_recycle",
          "ALTER SYSTEM RESET min_wal_size",
          "SELECT pg_reload_conf()");
    }
  }

  /** Fills the filesystem of {@code file} until it is full; returns the bytes written. */
  private static long fill(Path file) throws IOException {
    byte[] block = new byte[1 << 20];
    long written = 0;
    try (OutputStream out = Files.newOutputStream(file)) {
      while (true) {
        out.write(block);
        written += block.length;
      }
    } catch (IOException full) {
      if (written == 0) {
        throw full;
      }
    }
    return written;
  }

  private boolean postgresAnswers() {
    try (Connection c = jdbc();
        Statement st = c.createStatement()) {
      st.execute("SELECT 1");
      return true;
    } catch (java.sql.SQLException e) {
      return false;
    }
  }

  /** Runs a command; null when it exits 0, else its exit code and first output line. */
  private static String run(String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    int exit = p.waitFor();
    if (exit == 0) {
      return null;
    }
    return String.join(" ", command)
        + " exited "
        + exit
        + (out.isEmpty() ? "" : ": " + out.lines().findFirst().orElse(""));
  }

  // ------------------------------------------------------------------------------------------------------ embedded

  /**
   * The demo's setup: the KMS starts PostgreSQL itself in its data directory; a kill -9 leaves that
   * PostgreSQL.
   */
  private void embedded(int repeats) throws Exception {
    stopKms(false);
    Path data = work.resolve("embedded-" + System.nanoTime());
    // repeat i: start (for i > 1: on the directory a KMS was killed on), admit, kill; then one more
    // start, which must
    // admit again
    for (int i = 1; i <= repeats + 1; i++) {
      boolean last = i == repeats + 1;
      if (!last) {
        repeatsRun++;
      }
      Process p = startKmsProcess(data, false);
      boolean up = waitForPort(kmsPort, Duration.ofSeconds(240), p);
      if (!up) {
        violations.add(
            "embedded: the KMS did not start on its own data directory after a kill -9 (repeat "
                + i
                + "); see "
                + data.resolve("server.log"));
        System.out.println("  VIOLATION: " + violations.get(violations.size() - 1));
        p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        break;
      }
      kms = p;
      try (Load load = new Load(2)) {
        if (!load.awaitAdmissions(3, Duration.ofSeconds(120))) {
          violations.add(
              "embedded: no admission within 120 s of start "
                  + i
                  + " (last failure: "
                  + load.lastFailure
                  + ")");
        } else if (i > 1) {
          repeatsSurvived++; // the restart after kill i - 1 serves
        }
      }
      if (last) {
        stopKms(false);
        kms = null;
        System.out.printf(
            "  restart after the last kill -9 admits again, load average %s%n", loadAverage());
        break;
      }
      kms.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      kms = null;
      System.out.printf(
          "  [%d] embedded: admitted, then kill -9, load average %s%n", i, loadAverage());
    }
    // leave no PostgreSQL of that data directory behind
    ProcessHandle.allProcesses()
        .filter(
            h ->
                h.info()
                    .arguments()
                    .map(a -> String.join(" ", a).contains(data.toString()))
                    .orElse(false))
        .forEach(ProcessHandle::destroy);
  }

  // -------------------------------------------------------------------------------------------------------- checks

  /** The KMS must admit again by itself within the recovery time after a fault ends. */
  private void recovered(Load load, String after) throws InterruptedException {
    long t = System.nanoTime();
    int target = load.admitted.get() + 2;
    if (load.awaitAdmissions(
        target, Duration.ofSeconds(Long.getLong("teekms.faults.recovery-seconds", 60)))) {
      System.out.printf(
          "      admitting again %.1f s after: %s%n", (System.nanoTime() - t) / 1e9, after);
    } else {
      violations.add(
          "no admission within "
              + Long.getLong("teekms.faults.recovery-seconds", 60)
              + " s after: "
              + after
              + " (last failure: "
              + load.lastFailure
              + ")");
    }
  }

  /**
   * Every grant id a CVM received is recorded with its audit entry; no grant for a denied compose
   * hash exists.
   */
  private void checkGrants() throws Exception {
    try (Connection c = jdbc();
        Statement st = c.createStatement()) {
      Set<String> recorded = new java.util.HashSet<>();
      long deniedRows = 0;
      long unaudited = 0;
      try (ResultSet rs =
          st.executeQuery(
              "SELECT g.grant_id, g.instance_id, a.outcome FROM key_grant g "
                  + "LEFT JOIN audit_log a ON a.seq = g.audit_seq")) {
        while (rs.next()) {
          recorded.add(rs.getString(1));
          byte[] instance = rs.getBytes(2);
          if (instance.length == 20 && (instance[16] & 0x40) != 0) {
            deniedRows++;
          }
          if (!"ALLOWED".equals(rs.getString(3))) {
            unaudited++;
          }
        }
      }
      long lost = grantsReceived.stream().filter(g -> !recorded.contains(g)).count();
      if (lost > 0) {
        violations.add(lost + " grant(s) received by CVMs are not in key_grant");
      }
      if (deniedRows > 0) {
        violations.add(deniedRows + " grant row(s) for CVMs whose compose hash is not allowed");
      }
      if (unaudited > 0) {
        violations.add(unaudited + " grant row(s) without an ALLOWED audit entry");
      }
    }
  }

  private void awaitRotationsSettled(Duration max) throws Exception {
    long deadline = System.nanoTime() + max.toNanos();
    String pending = "";
    while (System.nanoTime() < deadline) {
      pending = "";
      try (Connection c = jdbc();
          Statement st = c.createStatement();
          ResultSet rs =
              st.executeQuery(
                  "SELECT kind, state, last_error FROM rotation_job WHERE state NOT IN ('APPS_MOVED', 'DONE')")) {
        while (rs.next()) {
          pending +=
              rs.getString(1)
                  + " "
                  + rs.getString(2)
                  + (rs.getString(3) == null ? "" : " (" + rs.getString(3) + ")")
                  + "; ";
        }
      } catch (java.sql.SQLException e) {
        pending = "database: " + e.getMessage();
      }
      if (pending.isEmpty()) {
        break;
      }
      if (pending.contains("FAILED")) {
        break;
      }
      Thread.sleep(1000);
    }
    if (!pending.isEmpty()) {
      violations.add("rotation jobs not settled: " + pending);
      return;
    }
    // A root rotation gives every app one more version on the new generation, so the KMS may be
    // ahead of the chain;
    // after an app rotation it must not be behind it.
    long chainVersion = app.currentKeyVersion();
    try (Connection c = jdbc();
        Statement st = c.createStatement();
        ResultSet rs =
            st.executeQuery(
                "SELECT current_version FROM app_key_state WHERE app_id = decode('"
                    + HexFormat.of().formatHex(appId)
                    + "', 'hex')")) {
      if (rs.next() && rs.getLong(1) < chainVersion) {
        violations.add(
            "app key version "
                + rs.getLong(1)
                + " after the rotations settled, the chain says "
                + chainVersion);
      }
    }
  }

  /** {@code teekms audit verify} (recomputes the chain locally) against the running KMS. */
  private void auditVerify() throws Exception {
    Path dir = Files.createDirectories(work.resolve("cli"));
    Path root = Files.writeString(dir.resolve("root.pem"), tdx.rootCertificatePem());
    Path collateral = tdx.collateral().writeTo(dir.resolve("collateral"));
    List<String> cmd =
        new ArrayList<>(
            List.of(
                LoadGenerator.javaBin(),
                "-Djdk.tls.maxHandshakeMessageSize=131072",
                "-cp",
                "cli/target/teekms-cli.jar:cli/target/lib/*",
                "org.teekms.cli.TeeKmsCli",
                "audit",
                "verify",
                "--kms",
                "127.0.0.1:" + kmsPort,
                "--root-ca",
                root.toString(),
                "--collateral",
                collateral.toString(),
                "--timeout",
                "120"));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    int exit = p.waitFor();
    String summary = out.replaceAll("\\s+", " ");
    System.out.printf(
        "   teekms audit verify: exit %d: %s%n",
        exit, summary.length() > 400 ? summary.substring(0, 400) + "…" : summary);
    if (exit != 0) {
      violations.add("teekms audit verify exited " + exit);
    }
  }

  // ------------------------------------------------------------------------------------------------------ the load

  /**
   * Simulated CVMs admitting in a loop, each on a new certificate and connection; one in five is
   * not allowed.
   */
  private final class Load implements AutoCloseable {
    final AtomicBoolean stop = new AtomicBoolean();
    final AtomicBoolean kmsDown = new AtomicBoolean();
    final AtomicBoolean faultActive = new AtomicBoolean();
    final AtomicInteger admitted = new AtomicInteger();
    final List<String> untyped = new CopyOnWriteArrayList<>();
    volatile String lastFailure = "";
    final List<Thread> threads = new ArrayList<>();

    Load(int clients) {
      for (int c = 0; c < clients; c++) {
        Thread t = new Thread(this::loop, "cvm-" + c);
        t.setDaemon(true);
        t.start();
        threads.add(t);
      }
    }

    private void loop() {
      while (!stop.get()) {
        boolean denied = RANDOM.nextInt(5) == 0;
        int n = denied ? deniedInstances.incrementAndGet() : instances.incrementAndGet();
        RaTlsCredentials creds =
            LoadGenerator.credentials(
                tdx, appId, denied ? deniedCompose : allowedCompose, n, loadGpu);
        boolean down = kmsDown.get();
        String phase = down ? "kms down" : faultActive.get() ? "fault" : "normal";
        ManagedChannel ch = null;
        try {
          ch =
              NettyChannelBuilder.forAddress("127.0.0.1", kmsPort)
                  .overrideAuthority("kms.teekms.invalid")
                  .sslContext(
                      GrpcSslContexts.configure(
                              SslContextBuilder.forClient()
                                  .keyManager(
                                      RaTlsContexts.keyManagerFactory(new RaTlsKeyManager(creds)))
                                  .trustManager(RaTlsContexts.trustManagerFactory(trust)),
                              SslProvider.JDK)
                          .build())
                  .build();
          GetAppKeysResponse r =
              KmsGrpc.newBlockingStub(ch)
                  .withDeadlineAfter(30, TimeUnit.SECONDS)
                  .getAppKeys(GetAppKeysRequest.getDefaultInstance());
          if (denied) {
            violations.add(
                "a CVM whose compose hash is not allowed received grant " + r.getGrantId());
          }
          grantsReceived.add(r.getGrantId());
          if (!denied) {
            admitted.incrementAndGet();
          }
          outcome(phase + ": OK");
        } catch (StatusRuntimeException e) {
          String reason = e.getTrailers() == null ? null : e.getTrailers().get(DENY_REASON);
          Status.Code code = e.getStatus().getCode();
          String key = phase + ": " + code + (reason == null ? "" : " " + reason);
          String clientRefusal = clientRefusal(e);
          if (reason == null && clientRefusal != null) {
            // the CVM's own verifier refused the KMS's certificate: typed, on the client's side
            key = phase + ": the CVM refused the KMS's certificate: " + clientRefusal;
          } else if (reason == null && !down && !kmsDown.get()) {
            // the KMS is up: a refusal must carry its reason (the trailer), whatever the fault
            untyped.add(code + ": " + firstWords(e.getStatus().getDescription(), e));
            key += " (no reason: " + firstWords(e.getStatus().getDescription(), e) + ")";
          }
          if (denied
              && code == Status.Code.PERMISSION_DENIED
              && "COMPOSE_HASH_NOT_ALLOWED".equals(reason)) {
            key = phase + ": denied compose refused";
          }
          outcome(key);
          lastFailure = key;
          pause();
        } catch (Exception e) {
          outcome(phase + ": client error " + e.getClass().getSimpleName());
          lastFailure = e.toString();
          pause();
        } finally {
          if (ch != null) {
            ch.shutdownNow();
          }
        }
      }
    }

    private void pause() {
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    boolean awaitAdmissions(int n, Duration max) throws InterruptedException {
      long deadline = System.nanoTime() + max.toNanos();
      while (admitted.get() < n && System.nanoTime() < deadline) {
        Thread.sleep(100);
      }
      return admitted.get() >= n;
    }

    /**
     * A refusal while the KMS runs must be a status with a deny reason (or UNAVAILABLE naming its
     * cause).
     */
    void requireTypedRefusals(String fault) {
      if (!untyped.isEmpty()) {
        violations.add(
            untyped.size()
                + " refusal(s) without a deny reason during "
                + fault
                + " faults, e.g. "
                + untyped.get(0));
      }
    }

    @Override
    public void close() throws InterruptedException {
      stop.set(true);
      for (Thread t : threads) {
        t.join(60_000);
      }
    }
  }

  /** The reason the CVM's RA-TLS verifier gave for refusing the KMS's certificate, if it did. */
  private static String clientRefusal(Throwable e) {
    for (Throwable c = e; c != null; c = c.getCause()) {
      if (c instanceof org.teekms.attest.ratls.RaTlsException r) {
        return r.reason().name();
      }
    }
    return null;
  }

  private static String firstWords(String description, Throwable e) {
    String d =
        description != null ? description : e.getCause() == null ? "" : e.getCause().toString();
    return d.length() > 80 ? d.substring(0, 80) : d;
  }

  private void outcome(String key) {
    outcomes.computeIfAbsent(key, k -> new AtomicLong()).incrementAndGet();
  }

  private Map<String, Long> outcomesAsLongs() {
    Map<String, Long> m = new java.util.HashMap<>();
    outcomes.forEach((k, v) -> m.put(k, v.get()));
    return m;
  }

  // ------------------------------------------------------------------------------------------------- the processes

  private void startKms(boolean first) throws Exception {
    for (int attempt = 1; ; attempt++) {
      Process p = startKmsProcess(work.resolve("kms"), true);
      // Quarkus opens the main port before the management interface: a start that fails on the
      // latter (a port taken
      // by another program on this shared machine) opens the main port for a moment, so the process
      // must stay up too
      if (waitForPort(
              kmsPort, Duration.ofSeconds(Long.getLong("teekms.faults.startup-seconds", 300)), p)
          && !p.waitFor(3, TimeUnit.SECONDS)) {
        kms = p;
        return;
      }
      p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      // new ports for the next attempt; a start that fails twice is the KMS's failure, not the
      // ports'
      kmsPort = 0;
      httpPort = 0;
      managementPort = 0;
      outcome("KMS start retried (see server.log)");
      if (attempt == 2) {
        violations.add("the KMS did not start twice; see " + work.resolve("kms/server.log"));
        throw new IllegalStateException(
            "the KMS does not start; see " + work.resolve("kms/server.log"));
      }
    }
  }

  private Process startKmsProcess(Path data, boolean externalDatabase) throws Exception {
    Files.createDirectories(data);
    if (kmsPort == 0) {
      kmsPort = LoadGenerator.freePort();
      httpPort = LoadGenerator.freePort();
      managementPort = LoadGenerator.freePort();
    }
    List<String> cmd =
        new ArrayList<>(
            List.of(
                LoadGenerator.javaBin(),
                "-XX:TieredStopAtLevel=1",
                "-Dteekms.limits.handshakes-per-minute=100000000",
                "-Dteekms.limits.handshake-burst=1000000",
                "-Dteekms.limits.unauthenticated-burst=1000000",
                "-Dquarkus.profile=dev",
                "-Dteekms.simulator.seed=" + SEED,
                "-Dteekms.simulator.classpath=" + SimulatedTdx.codeLocation(),
                "-Dteekms.data-dir=" + data,
                "-Dteekms.kms-id=faults",
                "-Dteekms.chain.rpc-url=http://127.0.0.1:" + relay.port(),
                "-Dteekms.chain.chain-id=" + AnvilNode.CHAIN_ID,
                "-Dteekms.chain.registry-address=" + registry.address(),
                "-Dteekms.chain.confirmations=0",
                "-Dteekms.rotation.poll-interval=1s",
                "-Dteekms.rotation.app-batch=1",
                "-Dquarkus.http.ssl-port=" + kmsPort,
                "-Dquarkus.http.port=" + httpPort,
                "-Dquarkus.management.port=" + managementPort,
                "-Dquarkus.log.level=WARN"));
    if (externalDatabase) {
      cmd.addAll(
          List.of(
              "-Dquarkus.datasource.reactive.url=postgresql://127.0.0.1:" + pgPort + "/postgres",
              "-Dquarkus.datasource.username=postgres",
              "-Dquarkus.datasource.password=postgres"));
    }
    cmd.addAll(kmsOptions);
    String extra = System.getenv("KMS_SERVER_OPTS");
    if (extra != null && !extra.isBlank()) {
      cmd.addAll(List.of(extra.trim().split("\\s+")));
    }
    cmd.addAll(List.of("-jar", "kms-server/target/quarkus-app/quarkus-run.jar"));
    ProcessBuilder pb =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(data.resolve("server.log").toFile()));
    if (skew != null) {
      pb.environment().put("LD_PRELOAD", FAKETIME);
      pb.environment().put("FAKETIME", skew);
      pb.environment().put("FAKETIME_DONT_FAKE_MONOTONIC", "1");
    }
    return pb.start();
  }

  private void stopKms(boolean forcibly) throws InterruptedException {
    if (kms != null && kms.isAlive()) {
      if (forcibly) {
        kms.destroyForcibly();
      } else {
        kms.destroy();
      }
      kms.waitFor(30, TimeUnit.SECONDS);
    }
  }

  private static boolean waitForPort(int port, Duration max, Process server)
      throws InterruptedException {
    long deadline = System.nanoTime() + max.toNanos();
    while (System.nanoTime() < deadline) {
      if (!server.isAlive()) {
        return false;
      }
      try (Socket s = new Socket("127.0.0.1", port)) {
        return true;
      } catch (IOException notYet) {
        Thread.sleep(250);
      }
    }
    return false;
  }

  private Connection jdbc() throws java.sql.SQLException {
    return DriverManager.getConnection(
        "jdbc:postgresql://127.0.0.1:" + pgPort + "/postgres", "postgres", "postgres");
  }

  private void sql(String... statements) throws java.sql.SQLException {
    try (Connection c = jdbc();
        Statement st = c.createStatement()) {
      for (String s : statements) {
        st.execute(s);
      }
    }
  }

  /** Unfinished rotation jobs, "kind state" each, or "none". */
  private String jobStates() {
    try (Connection c = jdbc();
        Statement st = c.createStatement();
        ResultSet rs =
            st.executeQuery(
                "SELECT kind, state FROM rotation_job WHERE state NOT IN ('APPS_MOVED', 'DONE')")) {
      List<String> l = new ArrayList<>();
      while (rs.next()) {
        l.add(rs.getString(1) + " " + rs.getString(2));
      }
      return l.isEmpty() ? "none" : String.join(", ", l);
    } catch (java.sql.SQLException e) {
      return "(unread: " + e.getMessage() + ")";
    }
  }

  private String jobState(String jobId) {
    try (Connection c = jdbc();
        Statement st = c.createStatement();
        ResultSet rs =
            st.executeQuery(
                "SELECT state FROM rotation_job WHERE job_id = '"
                    + java.util.UUID.fromString(jobId)
                    + "'")) {
      return rs.next() ? rs.getString(1) : "(none)";
    } catch (java.sql.SQLException e) {
      return "(unread: " + e.getMessage() + ")";
    }
  }

  /** A signed operator request (EIP-191 by the registry owner); returns the job id. */
  private String requestRotation(String action, ByteString app) throws Exception {
    ManagedChannel ch =
        NettyChannelBuilder.forAddress("127.0.0.1", kmsPort)
            .overrideAuthority("kms.teekms.invalid")
            .sslContext(
                GrpcSslContexts.configure(
                        SslContextBuilder.forClient()
                            .trustManager(RaTlsContexts.trustManagerFactory(trust)),
                        SslProvider.JDK)
                    .build())
            .build();
    try {
      KmsInfo info =
          KmsInfoServiceGrpc.newBlockingStub(ch)
              .withDeadlineAfter(60, TimeUnit.SECONDS)
              .getKmsInfo(GetKmsInfoRequest.getDefaultInstance());
      byte[] nonce = new byte[32];
      new SecureRandom().nextBytes(nonce);
      OperatorRequest r =
          OperatorRequest.newBuilder()
              .setAction(action)
              .setKmsId(info.getKmsId())
              .setChainId(info.getChainId())
              .setRegistry("0x" + HexFormat.of().formatHex(info.getRegistryAddress().toByteArray()))
              .setTimestampMillis(System.currentTimeMillis())
              .setNonce(ByteString.copyFrom(nonce))
              .setAppId(app)
              .build();
      Sign.SignatureData s =
          Sign.signPrefixedMessage(OperatorRequestMessage.bytes(r), operator.getEcKeyPair());
      byte[] rsv = new byte[65];
      System.arraycopy(s.getR(), 0, rsv, 0, 32);
      System.arraycopy(s.getS(), 0, rsv, 32, 32);
      rsv[64] = s.getV()[0];
      r = r.toBuilder().setSignature(ByteString.copyFrom(rsv)).build();
      RotationGrpc.RotationBlockingStub stub =
          RotationGrpc.newBlockingStub(ch).withDeadlineAfter(60, TimeUnit.SECONDS);
      long t = System.nanoTime();
      RotationJobStatus job =
          action.equals(OperatorRequestMessage.ROTATE_ROOT)
              ? stub.requestRootRotation(r)
              : stub.requestAppRotation(r);
      lastRequestMillis = (System.nanoTime() - t) / 1_000_000;
      return job.getJobId();
    } catch (StatusRuntimeException e) {
      String reason = e.getTrailers() == null ? null : e.getTrailers().get(DENY_REASON);
      outcome("rotation request refused: " + e.getStatus().getCode() + " " + reason);
      System.out.printf(
          "      rotation request %s refused: %s %s%n", action, e.getStatus(), reason);
      return null;
    } finally {
      ch.shutdownNow();
    }
  }

  private static byte[] sha256(byte[] b) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(b);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (IOException e) {
      return "(unknown)";
    }
  }

  /**
   * A TCP relay between the KMS and anvil that this process controls: UP forwards, DOWN refuses new
   * connections and cuts open ones (the RPC endpoint unreachable), SLOW delays every chunk read
   * from anvil.
   */
  static final class Relay implements AutoCloseable {
    enum Mode {
      UP,
      DOWN,
      SLOW
    }

    static final int SLOW_MS = Integer.getInteger("teekms.faults.slow-ms", 3000);
    private final ServerSocket server;
    private volatile int target;
    private volatile Mode mode = Mode.UP;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();

    Relay(int target) throws IOException {
      this.target = target;
      server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      Thread t = new Thread(this::accept, "relay");
      t.setDaemon(true);
      t.start();
    }

    int port() {
      return server.getLocalPort();
    }

    /** New connections go to {@code port} from now on (open ones are cut). */
    void target(int port) {
      target = port;
      for (Socket s : open) {
        closeQuietly(s);
      }
    }

    void mode(Mode m) {
      mode = m;
      if (m == Mode.DOWN) {
        for (Socket s : open) {
          closeQuietly(s);
        }
      }
    }

    private void accept() {
      while (!server.isClosed()) {
        try {
          Socket in = server.accept();
          if (mode == Mode.DOWN) {
            in.setSoLinger(true, 0); // a reset, as from a closed port
            in.close();
            continue;
          }
          Socket out = new Socket(InetAddress.getLoopbackAddress(), target);
          open.add(in);
          open.add(out);
          pump(in, out, false);
          pump(out, in, true);
        } catch (IOException e) {
          // closed, or anvil gone: the client sees its connection fail
        }
      }
    }

    private void pump(Socket from, Socket to, boolean fromTarget) {
      Thread t =
          new Thread(
              () -> {
                byte[] buf = new byte[16384];
                try (InputStream i = from.getInputStream();
                    OutputStream o = to.getOutputStream()) {
                  int n;
                  while ((n = i.read(buf)) > 0) {
                    if (fromTarget && mode == Mode.SLOW) {
                      Thread.sleep(SLOW_MS);
                    }
                    if (mode == Mode.DOWN) {
                      break;
                    }
                    o.write(buf, 0, n);
                    o.flush();
                  }
                } catch (IOException | InterruptedException e) {
                  // connection ended
                } finally {
                  closeQuietly(from);
                  closeQuietly(to);
                  open.remove(from);
                  open.remove(to);
                }
              },
              "relay-pump");
      t.setDaemon(true);
      t.start();
    }

    private static void closeQuietly(Socket s) {
      try {
        s.close();
      } catch (IOException e) {
        // already closed
      }
    }

    @Override
    public void close() throws IOException {
      server.close();
      mode(Mode.DOWN);
    }
  }
}
