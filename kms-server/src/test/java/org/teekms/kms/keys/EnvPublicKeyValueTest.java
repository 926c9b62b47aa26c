package org.teekms.kms.keys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import org.junit.jupiter.api.Test;
import org.teekms.crypto.Bytes;

/** The AppEnv answer compares by content (its byte arrays compared by identity before). */
class EnvPublicKeyValueTest {

  private static EnvPublicKeyIssuer.EnvPublicKey key(int first) {
    byte[] pub = new byte[33];
    pub[0] = (byte) first;
    return new EnvPublicKeyIssuer.EnvPublicKey(
        Bytes.copyOf(pub),
        3,
        1,
        1_800_000_000L,
        Bytes.copyOf(new byte[65]),
        Bytes.copyOf(new byte[65]),
        null,
        null);
  }

  @Test
  void envPublicKeysWithTheSameBytesAreEqual() {
    assertEquals(key(2), key(2));
    assertEquals(key(2).hashCode(), key(2).hashCode());
    assertNotEquals(key(2), key(3));
  }
}
