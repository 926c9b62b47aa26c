package org.teekms.attest.ratls;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * dstack's binding of a TLS key into TDX REPORTDATA: {@code SHA-512("ratls-cert:" ‖ SubjectPublicKeyInfo DER)},
 * which fills the 64-byte REPORTDATA exactly.
 */
public final class ReportDataBinding {
  private static final byte[] LABEL = "ratls-cert:".getBytes(StandardCharsets.US_ASCII);

  private ReportDataBinding() {}

  public static byte[] forSpki(byte[] subjectPublicKeyInfoDer) {
    try {
      MessageDigest sha512 = MessageDigest.getInstance("SHA-512");
      sha512.update(LABEL);
      sha512.update(subjectPublicKeyInfoDer);
      return sha512.digest();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-512 is a mandatory JDK algorithm", e);
    }
  }

  /** Constant-time check that {@code reportData} binds exactly this key. */
  public static boolean binds(byte[] reportData, byte[] subjectPublicKeyInfoDer) {
    return MessageDigest.isEqual(reportData, forSpki(subjectPublicKeyInfoDer));
  }
}
