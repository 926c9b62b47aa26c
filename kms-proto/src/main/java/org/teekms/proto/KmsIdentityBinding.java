package org.teekms.proto;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;
import org.teekms.crypto.Bytes;
import org.teekms.crypto.Digests;

/**
 * What a KMS quote's REPORTDATA binds in GetKmsInfo (kms-server/README.md, "KMS identity"):
 *
 * <pre>
 * report_data = SHA-512( lp("tee-kms/kms-info/v2") ‖ lp(utf8(kms_id)) ‖ u32(n)
 *                        ‖ n × ( u32(generation) ‖ root_address[20] ‖ SHA-256(ca_certificate)[32] ) ‖ lp(nonce) )
 * </pre>
 *
 * with generations ascending, lp = 4-byte big-endian length prefix, nonce empty or 32 bytes. A
 * client recomputes it from the response and compares with the verified quote's REPORTDATA.
 */
public final class KmsIdentityBinding {

  /** One live generation: its KMS root address and its KMS CA certificate (DER). */
  public record Root(int generation, Bytes address, Bytes caCertificate) {
    public Root {
      Objects.requireNonNull(address, "address");
      Objects.requireNonNull(caCertificate, "caCertificate");
    }
  }

  private KmsIdentityBinding() {}

  public static byte[] reportData(String kmsId, List<Root> roots, byte[] nonce) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    lp(out, "tee-kms/kms-info/v2".getBytes(StandardCharsets.US_ASCII));
    lp(out, kmsId.getBytes(StandardCharsets.UTF_8));
    out.writeBytes(ByteBuffer.allocate(4).putInt(roots.size()).array());
    int previous = 0;
    for (Root r : roots) {
      if (r.generation() <= previous || r.address().length() != 20) {
        throw new IllegalArgumentException("generations must ascend and addresses be 20 bytes");
      }
      previous = r.generation();
      out.writeBytes(ByteBuffer.allocate(4).putInt(r.generation()).array());
      out.writeBytes(r.address().toByteArray());
      out.writeBytes(sha256(r.caCertificate().toByteArray()));
    }
    lp(out, nonce);
    return Digests.sha512(out.toByteArray());
  }

  private static byte[] sha256(byte[] b) {
    return Digests.sha256(b);
  }

  private static void lp(ByteArrayOutputStream out, byte[] b) {
    out.writeBytes(ByteBuffer.allocate(4).putInt(b.length).array());
    out.writeBytes(b);
  }
}
