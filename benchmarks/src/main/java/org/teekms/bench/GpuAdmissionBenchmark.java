package org.teekms.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.teekms.attest.gpu.GpuEvidenceVerifier;
import org.teekms.attest.gpu.GpuResult;
import org.teekms.attest.gpu.GpuSimulator;
import org.teekms.attest.gpu.RevocationChecker;
import org.teekms.attest.gpu.RimStore;
import org.teekms.attest.gpu.SimulatedGpuEvidenceProvider;
import org.teekms.attest.ratls.RaTlsCertificateFactory;
import org.teekms.attest.ratls.RaTlsIdentity;
import org.teekms.attest.ratls.RaTlsVerifier;
import org.teekms.attest.sim.SimulatedCvm;
import org.teekms.attest.sim.SimulatedTdx;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.QuotePolicy;

/**
 * Client certificates the KMS's RA-TLS verifier checks per second (one thread), as at admission,
 * with 0, 1 and 8 GPUs of evidence: certificate, quote via DCAP (warm collateral), event-log
 * replay, and per GPU the report signature, device chain, nonce, FWID, RIM selection and
 * measurement comparison (the KMS's {@code gpuFacts} mode with the simulator's RIMs). The identity
 * cache is off, so every call is a full verification; OCSP is off (network-bound, cached in
 * production). Database and chain work of an admission are not included (see kms-server's load
 * generator). Run: {@code java -jar benchmarks/target/benchmarks.jar GpuAdmissionBenchmark -f 1 -wi
 * 2 -i 3}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class GpuAdmissionBenchmark {

  @Param({"0", "1", "8"})
  public int gpus;

  private RaTlsVerifier verifier;
  private X509Certificate certificate;

  @Setup
  public void setup() throws Exception {
    Clock clock = Clock.systemUTC();
    byte[] seed = HexFormat.of().parseHex("62656e63682d67707573000000000000");
    SimulatedTdx tdx = SimulatedTdx.enableSeeded("GpuAdmissionBenchmark", clock, seed);
    GpuSimulator sim = GpuSimulator.seeded(8, seed);
    Path rims = Files.createTempDirectory("bench-sim-rims");
    sim.writeRims(rims);
    GpuEvidenceVerifier gpuVerifier =
        GpuEvidenceVerifier.builder(sim.deviceRoot())
            .rimStore(RimStore.load(rims, sim.rimRoot()))
            .revocation(RevocationChecker.disabled())
            .build();
    verifier =
        RaTlsVerifier.builder(new DcapQuoteVerifier(tdx.rootCertificate()), tdx.collateralSource())
            .quotePolicy(QuotePolicy.builder().build())
            .clock(clock)
            .gpuFacts(gpuVerifier)
            .cache(Duration.ZERO, 1)
            .build();
    SimulatedCvm cvm =
        tdx.newCvm(new byte[48], false)
            .boot(SimulatedCvm.App.ofCompose("services: {}\n", new byte[20]));
    certificate =
        new RaTlsCertificateFactory(
                cvm,
                cvm.eventLog(),
                gpus == 0 ? null : SimulatedGpuEvidenceProvider.of(GpuSimulator.seeded(gpus, seed)),
                clock,
                Duration.ofHours(1))
            .create("bench")
            .certificate();
    RaTlsIdentity id = verifier.verify(certificate);
    if (id.gpus().size() != gpus || !id.gpus().stream().allMatch(GpuResult::valid)) {
      throw new IllegalStateException("benchmark certificate does not verify: " + id.gpus());
    }
    System.out.printf("%n%d GPU(s): certificate %d bytes%n", gpus, certificate.getEncoded().length);
  }

  @Benchmark
  public RaTlsIdentity verifyClientCertificate() throws Exception {
    return verifier.verify(certificate);
  }
}
