package org.teekms.attest.ratls;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import org.teekms.crypto.Digests;

/**
 * dstack's binding of a TLS key into TDX REPORTDATA: {@code SHA-512("ratls-cert:" ‖
 * SubjectPublicKeyInfo DER)}, which fills the 64-byte REPORTDATA exactly.
 */
public final class ReportDataBinding {
  private static final byte[] LABEL = "ratls-cert:".getBytes(StandardCharsets.US_ASCII);

  private ReportDataBinding() {}

  public static byte[] forSpki(byte[] subjectPublicKeyInfoDer) {
    return Digests.sha512(LABEL, subjectPublicKeyInfoDer);
  }

  /** Constant-time check that {@code reportData} binds exactly this key. */
  public static boolean binds(byte[] reportData, byte[] subjectPublicKeyInfoDer) {
    return MessageDigest.isEqual(reportData, forSpki(subjectPublicKeyInfoDer));
  }
}
