package org.teekms.verifier;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Optional;
import org.teekms.crypto.Bytes;
import org.teekms.keys.Ed25519SigningKey;
import org.teekms.keys.EthereumAddress;

/**
 * The key a signed response names as its signer, in one of the two algorithms a proxy signs with
 * (docs/verifiable-inference.md §2):
 *
 * <ul>
 *   <li>{@code ecdsa}: {@code signing_address} is a 20-byte Ethereum address ({@code 0x}-prefixed,
 *       any case); the signature is EIP-191 {@code personal_sign}, {@code 0x ‖ r ‖ s ‖ v};
 *   <li>{@code ed25519}: {@code signing_address} is the 32-byte RFC 8032 public key as 64 hex
 *       digits (no prefix); the signature is pure Ed25519 over the text's UTF-8 bytes, 128 hex
 *       digits.
 * </ul>
 *
 * The report's REPORTDATA starts with {@link #raw()} right-padded with zeros to 32 bytes.
 */
public record SignerIdentity(String algo, Bytes raw) {
  public SignerIdentity {
    if (!SignedText.SIGNING_ALGO.equals(algo) && !SignedText.ED25519.equals(algo)) {
      throw new IllegalArgumentException("signing_algo must be ecdsa or ed25519");
    }
    int want = SignedText.SIGNING_ALGO.equals(algo) ? 20 : 32;
    if (raw == null || raw.length() != want) {
      throw new IllegalArgumentException(algo + " signing address must be " + want + " bytes");
    }
  }

  /**
   * The signer {@code address} names under {@code algo}, or empty when either is malformed or
   * unsupported.
   */
  public static Optional<SignerIdentity> parse(String algo, String address) {
    if (algo == null || address == null) {
      return Optional.empty();
    }
    try {
      if (SignedText.SIGNING_ALGO.equals(algo)) {
        return Optional.of(
            new SignerIdentity(algo, Bytes.copyOf(EthereumAddress.parse(address).toBytes())));
      }
      if (SignedText.ED25519.equals(algo) && address.length() == 64) {
        return Optional.of(
            new SignerIdentity(algo, Bytes.copyOf(HexFormat.of().parseHex(address))));
      }
    } catch (RuntimeException malformed) {
      return Optional.empty();
    }
    return Optional.empty();
  }

  /**
   * The address as a proxy serves it: EIP-55 checksummed, or lowercase hex of the Ed25519 public
   * key.
   */
  public String display() {
    return SignedText.SIGNING_ALGO.equals(algo)
        ? EthereumAddress.of(raw.toByteArray()).toChecksumString()
        : raw.hex().toLowerCase(Locale.ROOT);
  }

  /**
   * Whether {@code signatureHex} is this signer's signature over {@code text}; false for anything
   * malformed.
   */
  public boolean signed(String text, String signatureHex) {
    if (text == null || signatureHex == null) {
      return false;
    }
    if (SignedText.SIGNING_ALGO.equals(algo)) {
      return SignedText.recover(text, signatureHex)
          .map(a -> Bytes.copyOf(a.toBytes()).equals(raw))
          .orElse(false);
    }
    try {
      String h = signatureHex.startsWith("0x") ? signatureHex.substring(2) : signatureHex;
      return Ed25519SigningKey.verify(
          raw.toByteArray(), text.getBytes(StandardCharsets.UTF_8), HexFormat.of().parseHex(h));
    } catch (IllegalArgumentException malformed) {
      return false;
    }
  }

  /**
   * REPORTDATA for this signer and {@code nonce32}: the raw address right-padded to 32 bytes, then
   * the nonce.
   */
  public byte[] reportData(byte[] nonce32) {
    return reportData(raw.toByteArray(), nonce32);
  }

  /**
   * REPORTDATA of an attestation report: the raw signer ({@code address20} for ecdsa, the 32-byte
   * key for ed25519) right-padded with zeros to 32 bytes, then {@code nonce32}.
   */
  public static byte[] reportData(byte[] raw, byte[] nonce32) {
    if (raw.length > 32 || nonce32.length != 32) {
      throw new IllegalArgumentException(
          "REPORTDATA takes a signer of at most 32 bytes and a 32-byte nonce");
    }
    byte[] rd = java.util.Arrays.copyOf(raw, 64);
    System.arraycopy(nonce32, 0, rd, 32, 32);
    return rd;
  }
}
