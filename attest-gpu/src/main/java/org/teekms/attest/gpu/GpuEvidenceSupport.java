package org.teekms.attest.gpu;

import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import org.teekms.crypto.Bytes;

/** Small conversions shared by providers and the simulator. */
public final class GpuEvidenceSupport {
  private GpuEvidenceSupport() {}

  public static List<Bytes> der(List<X509Certificate> chain) throws CertificateEncodingException {
    List<Bytes> out = new ArrayList<>(chain.size());
    for (X509Certificate c : chain) {
      out.add(Bytes.copyOf(c.getEncoded()));
    }
    return out;
  }
}
