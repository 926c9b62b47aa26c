package org.teekms.kms.bench;

import io.vertx.mutiny.sqlclient.Pool;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.teekms.attest.ratls.RaTlsIdentity;
import org.teekms.attest.ratls.RaTlsTrustManager;
import org.teekms.attest.sim.SimulatedTdx;
import org.teekms.governance.AppPolicy;
import org.teekms.governance.ComposeHash;

/**
 * Resident memory of the KMS and of the guest agent ({@code bench/memory.sh}): RSS from /proc, heap
 * used/committed and metaspace used from {@code jstat -gc}, at idle and at the peak of a load
 * (sampled every 500 ms). The agent runs as its own process ({@code org.teekms.agent.AgentMain
 * run}, simulated TDX with the KMS's seed, booting against node 1), once per JVM flag set: the
 * JVM's defaults and the flags of {@code deploy/systemd/teekms-agent.service} ({@code
 * JAVA_TOOL_OPTIONS}); its load is {@code GetKey} calls on the key API socket from 16 threads.
 */
final class MemoryProbe {

  private static final String AGENT_COMPOSE =
      "{\"manifest_version\":2,\"name\":\"memory-probe\",\"runner\":"
          + "\"docker-compose\",\"docker_compose_file\":\"services: {}\\n\",\"key_provider\":\"kms\"}";

  private MemoryProbe() {}

  /** One reading of a JVM: RSS (MiB), heap used and committed (MiB), metaspace used (MiB). */
  record Mem(double rss, double heapUsed, double heapCommitted, double metaspace) {
    @Override
    public String toString() {
      return String.format(
          "RSS %.0f MiB (heap used %.0f / committed %.0f MiB, metaspace %.0f MiB)",
          rss, heapUsed, heapCommitted, metaspace);
    }

    Mem max(Mem o) {
      return o == null || rss >= o.rss ? this : o;
    }
  }

  static Mem sample(long pid) {
    double rss = Double.NaN;
    try {
      for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
        if (l.startsWith("VmRSS:")) {
          rss = Long.parseLong(l.replaceAll("\\D", "")) / 1024.0;
        }
      }
    } catch (IOException gone) {
      return null;
    }
    double used = Double.NaN;
    double committed = Double.NaN;
    double meta = Double.NaN;
    try {
      Process p =
          new ProcessBuilder("jstat", "-gc", Long.toString(pid)).redirectErrorStream(true).start();
      List<String> lines =
          new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
      p.waitFor(30, TimeUnit.SECONDS);
      if (lines.size() >= 2) {
        String[] h = lines.get(0).trim().split("\\s+");
        String[] v = lines.get(1).trim().split("\\s+");
        java.util.Map<String, Double> m = new java.util.HashMap<>();
        for (int i = 0; i < Math.min(h.length, v.length); i++) {
          try {
            m.put(h[i], Double.parseDouble(v[i]) / 1024.0);
          } catch (NumberFormatException notNumeric) {
            // "-" for spaces a collector lacks
          }
        }
        used =
            m.getOrDefault("S0U", 0.0)
                + m.getOrDefault("S1U", 0.0)
                + m.getOrDefault("EU", 0.0)
                + m.getOrDefault("OU", 0.0);
        committed =
            m.getOrDefault("S0C", 0.0)
                + m.getOrDefault("S1C", 0.0)
                + m.getOrDefault("EC", 0.0)
                + m.getOrDefault("OC", 0.0);
        meta = m.getOrDefault("MU", Double.NaN);
      }
    } catch (Exception noJstat) {
      // RSS alone
    }
    return new Mem(rss, used, committed, meta);
  }

  /**
   * Samples {@code pid} every 500 ms while {@code work} runs; returns the reading with the highest
   * RSS.
   */
  static Mem peakDuring(long pid, ThrowingRunnable work) throws Exception {
    AtomicReference<Mem> peak = new AtomicReference<>();
    Thread sampler =
        new Thread(
            () -> {
              while (!Thread.currentThread().isInterrupted()) {
                Mem m = sample(pid);
                if (m != null) {
                  peak.updateAndGet(m::max);
                }
                try {
                  Thread.sleep(500);
                } catch (InterruptedException e) {
                  return;
                }
              }
            },
            "memory-sampler");
    sampler.setDaemon(true);
    sampler.start();
    try {
      work.run();
    } finally {
      sampler.interrupt();
      sampler.join(30_000);
    }
    return peak.get();
  }

  interface ThrowingRunnable {
    void run() throws Exception;
  }

  static void run(
      ReplicaLoad.Node kms,
      RaTlsIdentity kmsIdentity,
      AppPolicy app,
      SimulatedTdx tdx,
      RaTlsTrustManager trust,
      byte[] appId,
      byte[] composeHash,
      int clients,
      int seconds,
      int warmup,
      Path work,
      Pool pool)
      throws Exception {
    long kmsPid = kms.process.pid();
    Thread.sleep(5000);
    Mem kmsIdle = sample(kmsPid);
    System.out.printf(
        "KMS at idle after startup: %s (load average %.2f)%n",
        kmsIdle, LoadGenerator.loadAverage());
    ReplicaLoad.load(
        List.of(kms),
        tdx,
        trust,
        appId,
        composeHash,
        clients,
        Duration.ofSeconds(warmup),
        pool,
        null);
    AtomicReference<String> row = new AtomicReference<>();
    Mem kmsPeak =
        peakDuring(
            kmsPid,
            () ->
                row.set(
                    ReplicaLoad.load(
                        List.of(kms),
                        tdx,
                        trust,
                        appId,
                        composeHash,
                        clients,
                        Duration.ofSeconds(seconds),
                        pool,
                        null)));
    Thread.sleep(5000);
    Mem kmsAfter = sample(kmsPid);

    Path compose = Files.writeString(work.resolve("agent-compose.json"), AGENT_COMPOSE);
    app.addComposeHash(ComposeHash.of(Files.readAllBytes(compose)));
    String recommended = recommendedAgentFlags();
    List<String[]> agentRows = new ArrayList<>();
    List<String[]> variants =
        new ArrayList<>(
            List.of(
                new String[] {"JVM defaults", ""},
                new String[] {"deploy/systemd flags", recommended}));
    String extra =
        System.getenv("AGENT_EXTRA_FLAGS"); // a third flag set to try, e.g. a smaller heap
    if (extra != null && !extra.isBlank()) {
      variants.add(new String[] {"AGENT_EXTRA_FLAGS", extra});
    }
    int n = 0;
    for (String[] v : variants) {
      n++;
      Path dir = Files.createDirectories(work.resolve("agent-" + n));
      Path config = dir.resolve("agent.properties");
      byte[] instance = new byte[20];
      instance[0] = (byte) 0xa0;
      instance[19] = (byte) n;
      Files.writeString(
          config,
          String.join(
              "\n",
              "app.id=0x" + HexFormat.of().formatHex(appId),
              "app.instance-id=0x" + HexFormat.of().formatHex(instance),
              "app.os-image-hash=0x" + HexFormat.of().formatHex(LoadGenerator.OS_IMAGE),
              "app.compose-file=" + compose,
              "kms.host=127.0.0.1",
              "kms.port=" + kms.port,
              "kms.registered-measurements=" + kmsIdentity.mrAggregated().hex(),
              "attestation.provider=simulator",
              "attestation.simulator.seed=" + LoadGenerator.SEED,
              "api.socket=" + dir.resolve("dstack.sock"),
              "admin.socket=" + dir.resolve("admin.sock"),
              ""));
      List<String> cmd =
          new ArrayList<>(
              List.of(LoadGenerator.javaBin(), "-Djdk.tls.maxHandshakeMessageSize=131072"));
      if (!v[1].isBlank()) {
        cmd.addAll(List.of(v[1].trim().split("\\s+")));
      }
      cmd.addAll(
          List.of(
              "-cp",
              "guest-agent/target/teekms-agent.jar:guest-agent/target/lib/*:"
                  + SimulatedTdx.codeLocation(),
              "org.teekms.agent.AgentMain",
              "run",
              "--config",
              config.toString()));
      Process agent =
          new ProcessBuilder(cmd)
              .redirectErrorStream(true)
              .redirectOutput(dir.resolve("agent.log").toFile())
              .start();
      try {
        Path socket = dir.resolve("dstack.sock");
        long deadline = System.nanoTime() + Duration.ofSeconds(300).toNanos();
        while (!Files.exists(socket)) {
          if (!agent.isAlive() || System.nanoTime() > deadline) {
            throw new IllegalStateException(
                "the agent did not open its key API socket; log: " + dir.resolve("agent.log"));
          }
          Thread.sleep(200);
        }
        Thread.sleep(5000);
        Mem idle = sample(agent.pid());
        AtomicLong calls = new AtomicLong();
        AtomicLong failures = new AtomicLong();
        long start = System.nanoTime();
        Mem peak =
            peakDuring(
                agent.pid(),
                () -> {
                  ExecutorService ex = Executors.newFixedThreadPool(16);
                  long end = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
                  for (int t = 0; t < 16; t++) {
                    int thread = t;
                    ex.submit(
                        () -> {
                          for (long i = 0; System.nanoTime() < end; i++) {
                            try {
                              int status =
                                  post(
                                      socket,
                                      "/GetKey",
                                      "{\"path\":\"/bench/" + thread + "/" + (i % 1000) + "\"}");
                              (status == 200 ? calls : failures).incrementAndGet();
                            } catch (IOException e) {
                              failures.incrementAndGet();
                            }
                          }
                        });
                  }
                  ex.shutdown();
                  ex.awaitTermination(seconds + 60L, TimeUnit.SECONDS);
                });
        double wall = (System.nanoTime() - start) / 1e9;
        Thread.sleep(3000);
        Mem after = sample(agent.pid());
        agentRows.add(
            new String[] {
              v[0],
              v[1].isBlank() ? "(none)" : v[1],
              String.valueOf(idle),
              String.valueOf(peak),
              String.valueOf(after),
              String.format("%.0f GetKey/s, %d failures", calls.get() / wall, failures.get())
            });
      } finally {
        agent.destroy();
        agent.waitFor(20, TimeUnit.SECONDS);
      }
    }
    System.out.println();
    System.out.printf(
        "KMS (JVM options: %s)%n", System.getenv().getOrDefault("KMS_SERVER_OPTS", "(none added)"));
    System.out.println("| KMS | reading |");
    System.out.println("|---|---|");
    System.out.printf("| idle after startup | %s |%n", kmsIdle);
    System.out.printf(
        "| peak during %d closed-loop admission clients, %d s | %s |%n", clients, seconds, kmsPeak);
    System.out.printf("| idle 5 s after the load | %s |%n", kmsAfter);
    System.out.println("load: " + row.get());
    System.out.println();
    System.out.println(
        "| guest agent flags | options | idle (booted, keys held) | peak under 16 threads of GetKey | 3 s after | load |");
    System.out.println("|---|---|---|---|---|---|");
    for (String[] r : agentRows) {
      System.out.println("| " + String.join(" | ", r) + " |");
    }
    System.out.printf("load average now %.2f%n", LoadGenerator.loadAverage());
  }

  /**
   * The agent's JVM flags as deployed: JAVA_TOOL_OPTIONS of deploy/systemd/teekms-agent.service.
   */
  static String recommendedAgentFlags() throws IOException {
    for (String line : Files.readAllLines(Path.of("deploy/systemd/teekms-agent.service"))) {
      String l = line.replace("\"", "");
      if (l.startsWith("Environment=JAVA_TOOL_OPTIONS=")) {
        String v = l.substring("Environment=JAVA_TOOL_OPTIONS=".length());
        return v.replace("-Djdk.tls.maxHandshakeMessageSize=131072", "").trim();
      }
    }
    throw new IllegalStateException(
        "deploy/systemd/teekms-agent.service sets no JAVA_TOOL_OPTIONS");
  }

  /** One HTTP/1.1 POST over the unix socket (Connection: close); the status code. */
  static int post(Path socket, String path, String json) throws IOException {
    try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
      byte[] body = json.getBytes(StandardCharsets.UTF_8);
      String head =
          "POST "
              + path
              + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: "
              + body.length
              + "\r\nConnection: close\r\n\r\n";
      ch.write(ByteBuffer.wrap(head.getBytes(StandardCharsets.US_ASCII)));
      ch.write(ByteBuffer.wrap(body));
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ByteBuffer buf = ByteBuffer.allocate(4096);
      while (ch.read(buf) > 0) {
        out.write(buf.array(), 0, buf.position());
        buf.clear();
      }
      String answer = out.toString(StandardCharsets.ISO_8859_1);
      if (!answer.startsWith("HTTP/1.1 ")) {
        throw new IOException(
            "not an HTTP answer: " + answer.substring(0, Math.min(40, answer.length())));
      }
      return Integer.parseInt(answer.substring(9, 12));
    }
  }
}
