package org.teekms.attest.gpu;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;

/**
 * NVIDIA's public trust anchors, shipped as resources (copied from NVIDIA/nvtrust's local GPU
 * verifier): the "NVIDIA Device Identity CA" that roots every GPU device-identity chain, and the
 * "NVIDIA CoRIM signing Root CA" that roots every RIM signer chain. Deployments may configure other
 * anchors instead.
 */
public final class NvidiaRoots {
  private static final X509Certificate DEVICE_IDENTITY = load("nvidia_device_identity_ca.pem");
  private static final X509Certificate RIM_SIGNING = load("nvidia_rim_root_ca.pem");

  private NvidiaRoots() {}

  /** NVIDIA Device Identity CA (valid 2021-11-05 .. 9999-12-31). */
  public static X509Certificate deviceIdentityCa() {
    return DEVICE_IDENTITY;
  }

  /** NVIDIA CoRIM signing Root CA (valid 2023-03-16 .. 2053-03-08). */
  public static X509Certificate rimSigningRootCa() {
    return RIM_SIGNING;
  }

  private static X509Certificate load(String resource) {
    try (InputStream in = NvidiaRoots.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("missing resource " + resource);
      }
      return CertChainValidator.parsePem(new String(in.readAllBytes(), StandardCharsets.US_ASCII))
          .get(0);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (GpuAttestationException e) {
      throw new IllegalStateException("bad built-in root " + resource + ": " + e.getMessage(), e);
    }
  }
}
