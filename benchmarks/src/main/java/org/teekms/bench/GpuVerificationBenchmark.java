package org.teekms.bench;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.teekms.attest.gpu.CertChainValidator;
import org.teekms.attest.gpu.GpuEvidence;
import org.teekms.attest.gpu.GpuEvidenceVerifier;
import org.teekms.attest.gpu.GpuResult;
import org.teekms.attest.gpu.GpuSimulator;
import org.teekms.attest.gpu.HopperReport;
import org.teekms.attest.gpu.HopperReportParser;
import org.teekms.attest.gpu.NvidiaRoots;
import org.teekms.attest.gpu.RevocationChecker;
import org.teekms.attest.gpu.RimStore;

/**
 * NVIDIA GPU reports verified per second (one thread). OCSP is excluded (network-bound and cached
 * in production); RIMs are loaded once, as a running KMS does. Fixtures: -Dteekms-fixtures=DIR
 * (default testdata).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class GpuVerificationBenchmark {
  private static final Instant AT = Instant.parse("2024-01-01T00:00:00Z");

  private byte[] report2025;
  private List<X509Certificate> chain2025;
  private byte[] nonce2025;
  private byte[] report2023;
  private List<X509Certificate> chain2023;
  private byte[] nonce2023;
  private GpuEvidenceVerifier plain;
  private GpuEvidenceVerifier withRims;
  private byte[] simulatedEvidence8;
  private byte[] simulatedNonce;
  private GpuEvidenceVerifier simulated;

  @Setup
  public void setup() throws Exception {
    Path fixtures = Path.of(System.getProperty("teekms-fixtures", "testdata"));
    report2025 = hex(fixtures.resolve("nvtrust/hopperAttestationReport.txt"));
    chain2025 =
        CertChainValidator.parsePem(
            Files.readString(fixtures.resolve("nvtrust/hopperCertChain.txt")));
    nonce2025 =
        HexFormat.of().parseHex("931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb");
    report2023 = hex(fixtures.resolve("nvtrust/attestationReport_2023.txt"));
    chain2023 =
        CertChainValidator.parsePem(
            Files.readString(fixtures.resolve("nvtrust/gpuAkCertChain_2023.txt")));
    nonce2023 =
        HexFormat.of().parseHex("4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e");
    plain = GpuEvidenceVerifier.nvidia().revocation(RevocationChecker.disabled()).build();
    Path rims = Files.createTempDirectory("bench-rims");
    for (String n :
        List.of("Driver_RIM_test_no_gpu.swidtag", "1010_0200_882_96005E0001_test_no_gpu.swidtag")) {
      Files.copy(fixtures.resolve("nvtrust/rims/" + n), rims.resolve(n));
    }
    withRims =
        GpuEvidenceVerifier.nvidia()
            .rimStore(RimStore.load(rims, NvidiaRoots.rimSigningRootCa()))
            .revocation(RevocationChecker.disabled())
            .build();
    GpuSimulator sim = GpuSimulator.create(8, new SecureRandom());
    simulatedNonce = new byte[32];
    simulatedEvidence8 = sim.evidence(simulatedNonce).encode();
    simulated =
        GpuEvidenceVerifier.builder(sim.deviceRoot())
            .revocation(RevocationChecker.disabled())
            .build();
    check(plain.verifyDevice(report2025, chain2025, null, nonce2025, AT));
    check(withRims.verifyDevice(report2023, chain2023, null, nonce2023, AT));
  }

  private static void check(GpuResult r) {
    if (!r.valid()) {
      throw new IllegalStateException("benchmark input does not verify: " + r.error());
    }
  }

  private static byte[] hex(Path p) throws Exception {
    return HexFormat.of()
        .parseHex(Files.readString(p, StandardCharsets.US_ASCII).replaceAll("\\s+", ""));
  }

  /** Parse only. */
  @Benchmark
  public HopperReport parseReport() throws Exception {
    return HopperReportParser.parse(report2025);
  }

  /** One GPU: report signature + 5-certificate chain + nonce + FWID (the 2025 sample). */
  @Benchmark
  public GpuResult verifyReport() {
    return plain.verifyDevice(report2025, chain2025, null, nonce2025, AT);
  }

  /** One GPU, plus RIM selection and comparison of 33 golden measurements (the 2023 sample). */
  @Benchmark
  public GpuResult verifyReportWithRims() {
    return withRims.verifyDevice(report2023, chain2023, null, nonce2023, AT);
  }

  /** A whole HGX node: decode the DER evidence of 8 simulated GPUs and verify all 8. */
  @Benchmark
  public List<GpuResult> verifyEightGpuEvidence() throws Exception {
    return simulated.verify(GpuEvidence.decode(simulatedEvidence8), simulatedNonce, AT);
  }
}
