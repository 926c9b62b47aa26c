package org.teekms.kms.onboarding;

import java.security.MessageDigest;
import java.util.HexFormat;
import org.teekms.governance.PublishedRootKeys;
import org.teekms.keys.DerivedKey;
import org.teekms.keys.InsecureSecretAccess;
import org.teekms.keys.KmsKeyDeriver;
import org.teekms.keys.RootKeyring;
import org.teekms.keys.SecretBytes;

/**
 * Does a received root secret belong to the root generation the registry published? The KMS root
 * public key derived from it (docs/key-derivation.md, what {@code teekms kms bootstrap --publish}
 * writes with {@code setKmsIdentity}) must equal {@code kmsIdentity(generation).rootPublicKeys}.
 */
public final class PublishedRootCheck {

  private PublishedRootCheck() {}

  /** Null when the secret matches the published key; otherwise the one-line reason to refuse. */
  static String check(PublishedRootsPort published, int generation, byte[] secret) {
    PublishedRootKeys onChain;
    try {
      onChain = published.rootPublicKeys(generation);
    } catch (RuntimeException e) {
      onChain = PublishedRootKeys.unavailable(generation, "reader failed: " + e.getMessage());
    }
    switch (onChain.status()) {
      case UNAVAILABLE:
        return "the root public key published on chain for generation "
            + generation
            + " is unreadable: "
            + onChain.reason();
      case NOT_PUBLISHED:
        return "root generation "
            + generation
            + " is not published on chain ("
            + onChain.reason()
            + "): refusing roots that nothing binds";
      default:
        break;
    }
    byte[] derived = rootPublicKey(generation, secret);
    byte[] expected = onChain.rootPublicKeys().orElseThrow().toByteArray();
    if (!MessageDigest.isEqual(derived, expected)) {
      HexFormat hex = HexFormat.of();
      return "root generation "
          + generation
          + " is not the one published on chain at block "
          + onChain.blockNumber()
          + ": received root key 0x"
          + hex.formatHex(derived)
          + ", published 0x"
          + hex.formatHex(expected, 0, Math.min(expected.length, 65));
    }
    return null;
  }

  /** The KMS root public key of {@code generation} derived from its root secret. */
  public static byte[] rootPublicKey(int generation, byte[] secret) {
    try (RootKeyring keyring =
            new RootKeyring(generation, SecretBytes.copyOf(secret, InsecureSecretAccess.get()));
        DerivedKey root = new KmsKeyDeriver(keyring).kmsRootKey(generation)) {
      return root.publicKey();
    }
  }
}
