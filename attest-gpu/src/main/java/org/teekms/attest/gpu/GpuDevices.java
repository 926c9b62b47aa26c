package org.teekms.attest.gpu;

import java.io.ByteArrayInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * The set of physical GPUs a CVM measured at boot: the payload of the one-time RTMR3 event {@value
 * #RTMR3_EVENT_NAME} (docs/gpu-attestation.md, "Boot-time GPU devices"). A device's fingerprint is
 * the SHA-256 of its DER device-identity certificate (chain index 1, the same value as {@link
 * GpuResult#deviceId()}): it names the physical GPU and, unlike the per-report attestation key
 * certificate (index 0), does not change between reports. The payload is {@code SHA-384(fp_1 ‖ … ‖
 * fp_n)} over the n 32-byte fingerprints sorted in unsigned byte order, so it does not depend on
 * enumeration order.
 */
public final class GpuDevices {
  public static final String RTMR3_EVENT_NAME = "gpu-devices";
  public static final int DIGEST_BYTES = 48;

  private GpuDevices() {}

  /** The fingerprints of the devices in {@code evidence}, in evidence order. */
  public static List<byte[]> fingerprints(GpuEvidence evidence) throws GpuAttestationException {
    List<byte[]> out = new ArrayList<>();
    int i = 0;
    for (GpuEvidence.Device d : evidence.gpus()) {
      if (d.certChain().size() < 2) {
        throw new GpuAttestationException(
            GpuAttestationException.Reason.CERT_CHAIN_INVALID,
            "GPU " + i + ": the chain has no device identity certificate");
      }
      try {
        // Re-encode through the parser so the fingerprint equals the verifier's deviceId
        // (getEncoded()).
        byte[] der =
            CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(d.certChain().get(1).toByteArray()))
                .getEncoded();
        out.add(sha256(der));
      } catch (CertificateException | RuntimeException e) {
        // The JDK's DER parser can throw unchecked exceptions on mutated input: fail closed with a
        // reason.
        throw new GpuAttestationException(
            GpuAttestationException.Reason.CERT_CHAIN_INVALID,
            "GPU " + i + ": unreadable device identity certificate");
      }
      i++;
    }
    return out;
  }

  /** The {@value #RTMR3_EVENT_NAME} payload for the devices in {@code evidence}. */
  public static byte[] digest(GpuEvidence evidence) throws GpuAttestationException {
    return digest(fingerprints(evidence));
  }

  /**
   * The {@value #RTMR3_EVENT_NAME} payload for lowercase or uppercase hex fingerprints (e.g.
   * deviceIds).
   */
  public static byte[] digestOfHex(List<String> hexFingerprints) {
    List<byte[]> fps = new ArrayList<>();
    for (String h : hexFingerprints) {
      fps.add(HexFormat.of().parseHex(h));
    }
    return digest(fps);
  }

  /** SHA-384 over the 32-byte fingerprints sorted in unsigned byte order. */
  public static byte[] digest(List<byte[]> fingerprints) {
    List<byte[]> sorted = new ArrayList<>(fingerprints);
    for (byte[] f : sorted) {
      if (f.length != 32) {
        throw new IllegalArgumentException("a GPU fingerprint is 32 bytes, got " + f.length);
      }
    }
    sorted.sort(Arrays::compareUnsigned);
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-384");
      sorted.forEach(md::update);
      return md.digest();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static byte[] sha256(byte[] b) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(b);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
