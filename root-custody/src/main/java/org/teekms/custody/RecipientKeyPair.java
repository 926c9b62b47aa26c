package org.teekms.custody;

import java.math.BigInteger;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.interfaces.ECPrivateKey;
import java.util.Arrays;
import java.util.Objects;
import javax.security.auth.Destroyable;
import org.bouncycastle.math.ec.FixedPointCombMultiplier;
import org.teekms.keys.InsecureSecretAccess;
import org.teekms.keys.SecretBytes;

/**
 * A P-256 private key that opens share envelopes (a custodian's, or a recovering node's RA-TLS
 * key), with its public {@link RecipientKey}. The private scalar is {@link SecretBytes}; {@link
 * #destroy()} zeroizes it. Encoding of the private key (custodian key files): the 32-byte
 * big-endian scalar in [1, n-1].
 */
public final class RecipientKeyPair implements Destroyable, AutoCloseable {
  private final SecretBytes scalar;
  private final RecipientKey publicKey;

  private RecipientKeyPair(SecretBytes scalar, RecipientKey publicKey) {
    this.scalar = scalar;
    this.publicKey = publicKey;
  }

  /**
   * A fresh key pair: the scalar is a 32-byte string from {@code random} below n, by rejection
   * sampling.
   */
  public static RecipientKeyPair generate(SecureRandom random) {
    byte[] b = new byte[32];
    try {
      while (true) {
        random.nextBytes(b);
        BigInteger d = new BigInteger(1, b);
        if (d.signum() > 0 && d.compareTo(Group.P256.getN()) < 0) {
          return fromPrivate(b, InsecureSecretAccess.get());
        }
      }
    } catch (CustodyException impossible) {
      throw new IllegalStateException(impossible.getMessage(), impossible);
    } finally {
      Arrays.fill(b, (byte) 0);
    }
  }

  /** From a 32-byte private scalar (copied). MALFORMED unless it is in [1, n-1]. */
  public static RecipientKeyPair fromPrivate(byte[] scalar32, InsecureSecretAccess access)
      throws CustodyException {
    Objects.requireNonNull(access, "access");
    if (scalar32.length != 32) {
      throw new CustodyException(
          CustodyException.Reason.MALFORMED,
          "a P-256 private key must be 32 bytes, got " + scalar32.length);
    }
    BigInteger d = new BigInteger(1, scalar32);
    if (d.signum() == 0 || d.compareTo(Group.P256.getN()) >= 0) {
      throw new CustodyException(
          CustodyException.Reason.MALFORMED, "the P-256 private key is out of range");
    }
    RecipientKey pub =
        RecipientKey.decode(
            new FixedPointCombMultiplier()
                .multiply(Group.P256.getG(), d)
                .normalize()
                .getEncoded(false));
    return new RecipientKeyPair(SecretBytes.copyOf(scalar32, access), pub);
  }

  /** From a JCA P-256 private key and its public key (e.g. the node's RA-TLS credentials). */
  public static RecipientKeyPair of(PrivateKey key) throws CustodyException {
    if (!(key instanceof ECPrivateKey ec) || !ec.getParams().getOrder().equals(Group.P256.getN())) {
      throw new CustodyException(
          CustodyException.Reason.MALFORMED, "the key is not a P-256 private key");
    }
    byte[] b = Group.to32(ec.getS());
    try {
      return fromPrivate(b, InsecureSecretAccess.get());
    } finally {
      Arrays.fill(b, (byte) 0);
    }
  }

  public RecipientKey publicKey() {
    return publicKey;
  }

  BigInteger scalar() {
    byte[] b = scalar.toByteArray(InsecureSecretAccess.get());
    try {
      return new BigInteger(1, b);
    } finally {
      Arrays.fill(b, (byte) 0);
    }
  }

  /** The 32-byte private scalar; the caller zeroizes it. */
  public byte[] encodePrivate(InsecureSecretAccess access) {
    return scalar.toByteArray(access);
  }

  @Override
  public void destroy() {
    scalar.destroy();
  }

  @Override
  public boolean isDestroyed() {
    return scalar.isDestroyed();
  }

  @Override
  public void close() {
    destroy();
  }

  @Override
  public String toString() {
    return "RecipientKeyPair[" + publicKey + ", private key redacted]";
  }
}
