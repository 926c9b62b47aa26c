package org.teekms.custody;

import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.util.Arrays;
import java.util.HexFormat;
import org.bouncycastle.math.ec.ECPoint;

/**
 * A P-256 public key that share envelopes are sealed to: a custodian's registered key, or a
 * recovering node's attested RA-TLS key. Encoding: SEC1 uncompressed, 65 bytes ({@code 0x04 ‖ x ‖
 * y}), on the curve. Its id is SHA-256 of that encoding (what the RootCustody contract stores as
 * the custodian id).
 */
public final class RecipientKey {
  private final ECPoint point;
  private final byte[] encoded;

  private RecipientKey(ECPoint point) {
    this.point = point;
    this.encoded = point.getEncoded(false);
  }

  public static RecipientKey decode(byte[] encoded) throws CustodyException {
    return new RecipientKey(Group.decodeUncompressed(Group.P256, encoded, "recipient public key"));
  }

  /** A JCA P-256 public key (e.g. an RA-TLS certificate's); MALFORMED when it is not P-256. */
  public static RecipientKey of(PublicKey key) throws CustodyException {
    if (!(key instanceof ECPublicKey ec)
        || ec.getParams().getCurve().getField().getFieldSize() != 256
        || !ec.getParams().getOrder().equals(Group.P256.getN())) {
      throw new CustodyException(
          CustodyException.Reason.MALFORMED, "the key is not a P-256 public key");
    }
    byte[] enc = new byte[65];
    enc[0] = 4;
    System.arraycopy(Group.to32(ec.getW().getAffineX()), 0, enc, 1, 32);
    System.arraycopy(Group.to32(ec.getW().getAffineY()), 0, enc, 33, 32);
    return decode(enc);
  }

  ECPoint point() {
    return point;
  }

  public byte[] encode() {
    return encoded.clone();
  }

  /** SHA-256 of the encoding. */
  public byte[] id() {
    return Group.sha256(encoded);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RecipientKey k && Arrays.equals(encoded, k.encoded);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(encoded);
  }

  @Override
  public String toString() {
    return "RecipientKey[id " + HexFormat.of().formatHex(id()) + "]";
  }
}
