package org.teekms.attest.gpu;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.teekms.attest.Fixtures;

/** The real NVIDIA Hopper fixtures (testdata/nvtrust) and their documented nonces and RIM time. */
public final class GpuFixtures {
  public static final byte[] NONCE_2023 =
      HexFormat.of().parseHex("4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e");
  public static final byte[] NONCE_2025 =
      HexFormat.of().parseHex("931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb");

  /** Inside every L4 RIM signer's validity window (fixtures README). */
  public static final Instant RIM_TIME = Instant.parse("2024-01-01T00:00:00Z");

  private GpuFixtures() {}

  public static byte[] report2023() {
    return hex("nvtrust/attestationReport_2023.txt");
  }

  public static byte[] report2025() {
    return hex("nvtrust/hopperAttestationReport.txt");
  }

  public static List<X509Certificate> chain2023() throws GpuAttestationException {
    return CertChainValidator.parsePem(Fixtures.text("nvtrust/gpuAkCertChain_2023.txt"));
  }

  public static List<X509Certificate> chain2025() throws GpuAttestationException {
    return CertChainValidator.parsePem(Fixtures.text("nvtrust/hopperCertChain.txt"));
  }

  public static byte[] hex(String file) {
    return HexFormat.of().parseHex(Fixtures.text(file).replaceAll("\\s+", ""));
  }

  /** A fresh RIM directory holding copies of the named fixture RIMs. */
  public static Path rimDir(Path tmp, String... names) throws IOException {
    Path dir = Files.createTempDirectory(tmp, "rims");
    for (String n : names) {
      Files.copy(Fixtures.path("nvtrust/rims/" + n), dir.resolve(n));
    }
    return dir;
  }

  /** A device from raw report and DER chain bytes. */
  public static GpuEvidence.Device device(byte[] report, List<byte[]> chain) {
    return new GpuEvidence.Device(
        org.teekms.crypto.Bytes.copyOf(report),
        chain.stream().map(org.teekms.crypto.Bytes::copyOf).toList());
  }

  public static List<byte[]> der(List<X509Certificate> chain) throws Exception {
    List<byte[]> out = new ArrayList<>();
    for (X509Certificate c : chain) {
      out.add(c.getEncoded());
    }
    return out;
  }

  /**
   * OCSP stand-in for the real NVIDIA chains (no recorded NVIDIA responses exist): says GOOD and
   * records what it was asked.
   */
  public static final class RecordingRevocation implements RevocationChecker {
    final List<String> checked = new ArrayList<>();

    @Override
    public OcspResult check(List<X509Certificate> chain, int from, int to, Instant at) {
      List<OcspResult.CertStatus> out = new ArrayList<>();
      for (int i = from; i < to; i++) {
        X509Certificate c = chain.get(i);
        checked.add(c.getSubjectX500Principal().getName());
        out.add(
            new OcspResult.CertStatus(
                c.getSubjectX500Principal().getName(),
                c.getSerialNumber().toString(16),
                OcspResult.Status.GOOD,
                "mocked"));
      }
      return new OcspResult(OcspChecker.Mode.FAIL_CLOSED, out);
    }
  }
}
