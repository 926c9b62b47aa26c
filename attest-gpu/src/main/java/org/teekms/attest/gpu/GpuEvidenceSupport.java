package org.teekms.attest.gpu;

import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

/** Small conversions shared by providers and the simulator. */
public final class GpuEvidenceSupport {
  private GpuEvidenceSupport() {}

  public static List<byte[]> der(List<X509Certificate> chain) throws CertificateEncodingException {
    List<byte[]> out = new ArrayList<>(chain.size());
    for (X509Certificate c : chain) {
      out.add(c.getEncoded());
    }
    return out;
  }
}
