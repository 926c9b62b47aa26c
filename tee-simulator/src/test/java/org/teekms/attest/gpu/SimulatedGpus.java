package org.teekms.attest.gpu;

import java.io.IOException;
import java.math.BigInteger;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.teekms.crypto.Bytes;

/**
 * Test helpers over a {@link GpuSimulator} for other modules' tests: chosen GPUs, tampered
 * firmware, an OCSP responder.
 */
public final class SimulatedGpus {
  private SimulatedGpus() {}

  /**
   * Evidence of the simulator's GPUs {@code indexes} (in that order, repeats allowed), reports made
   * for {@code nonce}.
   */
  public static GpuEvidence evidence(GpuSimulator sim, byte[] nonce, int... indexes) {
    List<GpuEvidence.Device> out = new ArrayList<>();
    try {
      for (int i : indexes) {
        out.add(
            new GpuEvidence.Device(
                Bytes.copyOf(sim.report(i, nonce)), GpuEvidenceSupport.der(sim.chain(i))));
      }
    } catch (java.security.cert.CertificateEncodingException e) {
      throw new IllegalStateException(e);
    }
    return new GpuEvidence(GpuArchitecture.HOPPER, out);
  }

  /** A provider of {@link #evidence} for whatever nonce the caller asks. */
  public static GpuEvidenceProvider provider(GpuSimulator sim, int... indexes) {
    return nonce -> evidence(sim, nonce, indexes);
  }

  /**
   * Changes measurement block {@code index} (0-based) of every later report: firmware the RIMs do
   * not describe.
   */
  public static void tamperMeasurement(GpuSimulator sim, int index) {
    sim.tamperMeasurement(index);
  }

  /**
   * The certificate of GPU {@code gpu}'s device identity (chain index 1, what OCSP and device ids
   * are about).
   */
  public static X509Certificate deviceCertificate(GpuSimulator sim, int gpu) {
    return sim.chain(gpu).get(1);
  }

  /**
   * A real OCSP responder on 127.0.0.1:{@code port} answering GOOD (unless told otherwise) for
   * every device and RIM certificate of {@code sim}, signed by each certificate's simulated issuer.
   */
  public static LocalOcspResponder ocspResponder(GpuSimulator sim, int port) throws IOException {
    List<X509Certificate> all = new ArrayList<>();
    for (int i = 0; i < sim.gpuCount(); i++) {
      all.addAll(sim.chain(i));
    }
    all.addAll(sim.rimSignerChain());
    Instant now = Instant.now();
    return new LocalOcspResponder(
        serial -> signerFor(sim, all, serial),
        now.minus(Duration.ofMinutes(5)),
        now.plus(Duration.ofDays(1)),
        port);
  }

  private static LocalOcspResponder.Signer signerFor(
      GpuSimulator sim, List<X509Certificate> all, BigInteger serial) {
    for (X509Certificate c : all) {
      if (c.getSerialNumber().equals(serial)) {
        for (X509Certificate issuer : all) {
          if (issuer.getSubjectX500Principal().equals(c.getIssuerX500Principal())) {
            return new LocalOcspResponder.Signer(issuer, sim.caKeyOrRim(issuer));
          }
        }
      }
    }
    throw new IllegalArgumentException("no simulated certificate with serial " + serial);
  }
}
