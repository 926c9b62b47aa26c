package org.teekms.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.function.Supplier;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.QuoteVerificationResult;
import org.teekms.attest.tdx.collateral.CollateralException;
import org.teekms.attest.tdx.collateral.DcapQvlCollateralFile;

/**
 * The Java side of {@code bench/dcap-compare}: verifies every case of {@code bench/dcap-cases.json}
 * in two ways, each for a fixed time in each of 3 rounds (one thread, best round), and prints a
 * JSON object {@code {machine, cases}} whose cases hold {id, ok, status, advisoryIds, error} and,
 * per mode, the wall-clock rate and the rate per CPU second of this thread (the latter is what a
 * loaded machine distorts least):
 *
 * <ul>
 *   <li><b>warm</b>: one verifier for the whole run, so collateral and PCK chain checks are cached
 *       (the KMS hot path);
 *   <li><b>cold</b>: per quote, the dcap-qvl collateral JSON is parsed from its bytes (PEM chains,
 *       hex CRLs, hex signatures) and a fresh {@link DcapQuoteVerifier} checks everything: root CA
 *       CRL, TCB info and QE identity signatures and issuer chains, PCK CRL and its chain, the PCK
 *       chain, QE report, quote, TCB matching. That is what {@code @phala/dcap-qvl}'s {@code
 *       verify} does on every call.
 * </ul>
 *
 * Usage: {@code java [-Dteekms.bench.warmup-seconds=30] -cp benchmarks/target/benchmarks.jar
 * org.teekms.bench.DcapCompare [seconds-per-case]}.
 */
public final class DcapCompare {
  static final int ROUNDS = 3;
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  private DcapCompare() {}

  /**
   * Best wall-clock rate and best rate per CPU second of this thread over {@link #ROUNDS} rounds.
   */
  record Rate(double perSecond, double perCpuSecond) {}

  public static void main(String[] args) throws Exception {
    double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 3;
    List<DcapBenchCases> cases = DcapBenchCases.load();
    DcapQuoteVerifier verifier = DcapQuoteVerifier.withIntelRoot();
    X509Certificate anchor = verifier.trustAnchor();
    // JIT warm-up over all cases and both modes so that no case pays for compiling shared code. C2
    // needs ~10 s of
    // CPU here; on a loaded machine its compiler threads get a fraction of that.
    // After the minimum, it goes on until the JIT has been quiet for 3 s (at most 5 minutes):
    // measuring while C2 is
    // still compiling understates the first cases.
    double warmup = Double.parseDouble(System.getProperty("teekms.bench.warmup-seconds", "30"));
    java.lang.management.CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
    long startNanos = System.nanoTime();
    long minEnd = startNanos + (long) (warmup * 1e9);
    long maxEnd = startNanos + 300_000_000_000L;
    long lastJit = jit.getTotalCompilationTime();
    long quietSince = System.nanoTime();
    while (true) {
      for (DcapBenchCases c : cases) {
        verifier.verify(c.quote(), c.collateral(), c.at());
        cold(anchor, c);
      }
      long now = System.nanoTime();
      long jitNow = jit.getTotalCompilationTime();
      if (jitNow != lastJit) {
        lastJit = jitNow;
        quietSince = now;
      }
      if (now > maxEnd || (now > minEnd && now - quietSince > 3_000_000_000L)) {
        break;
      }
    }
    double warmedSeconds = (System.nanoTime() - startNanos) / 1e9;
    ObjectMapper mapper = new ObjectMapper();
    ObjectNode root = mapper.createObjectNode();
    ObjectNode machine = root.putObject("machine");
    machine.put("cpu", Machine.cpuModel());
    machine.put("cores", Runtime.getRuntime().availableProcessors());
    machine.put("jvm", Machine.jvm());
    machine.put("jitWarmUpSeconds", Math.round(warmedSeconds));
    machine.put(
        "loadAverageAtStart", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    ArrayNode out = root.putArray("cases");
    for (DcapBenchCases c : cases) {
      QuoteVerificationResult r = verifier.verify(c.quote(), c.collateral(), c.at());
      QuoteVerificationResult rc = cold(anchor, c);
      if (rc.valid() != r.valid() || rc.status() != r.status()) {
        throw new IllegalStateException(
            c.id() + ": cold and warm verdicts differ: " + rc + " vs " + r);
      }
      Rate warm = measure(() -> verifier.verify(c.quote(), c.collateral(), c.at()), seconds);
      Rate cold = measure(() -> cold(anchor, c), seconds);
      ObjectNode o = out.addObject();
      o.put("id", c.id());
      o.put("ok", r.valid());
      o.put("status", r.status() == null ? null : r.status().name());
      ArrayNode ids = o.putArray("advisoryIds");
      r.advisoryIds().forEach(ids::add);
      o.put("error", r.valid() ? null : r.error());
      o.put("perSecond", warm.perSecond());
      o.put("perCpuSecond", warm.perCpuSecond());
      o.put("coldPerSecond", cold.perSecond());
      o.put("coldPerCpuSecond", cold.perCpuSecond());
    }
    machine.put(
        "loadAverageAtEnd", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    System.out.println(mapper.writeValueAsString(root));
  }

  /**
   * One cold verification: the collateral file parsed from its bytes and a verifier without any
   * cached state.
   */
  static QuoteVerificationResult cold(X509Certificate anchor, DcapBenchCases c) {
    try {
      return new DcapQuoteVerifier(anchor)
          .verify(c.quote(), DcapQvlCollateralFile.parse(c.collateralJson()), c.at());
    } catch (CollateralException e) {
      throw new IllegalStateException(
          c.id() + ": collateral file does not parse: " + e.getMessage(), e);
    }
  }

  static Rate measure(Supplier<?> op, double seconds) {
    double best = 0;
    double bestCpu = 0;
    Object sink = null;
    for (int round = 0; round < ROUNDS; round++) { // best of a few rounds: the machine is shared
      long n = 0;
      long cpu0 = THREADS.getCurrentThreadCpuTime();
      long start = System.nanoTime();
      long end = start + (long) (seconds * 1e9);
      long now;
      do {
        sink = op.get();
        n++;
        now = System.nanoTime();
      } while (now < end);
      long cpu = THREADS.getCurrentThreadCpuTime() - cpu0;
      best = Math.max(best, n / ((now - start) / 1e9));
      bestCpu = Math.max(bestCpu, n / (Math.max(cpu, 1) / 1e9));
    }
    if (sink == null) {
      throw new IllegalStateException("no result");
    }
    return new Rate(best, bestCpu);
  }
}
