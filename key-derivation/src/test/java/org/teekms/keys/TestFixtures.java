package org.teekms.keys;

import java.util.HexFormat;

/** Fixed test inputs (test values only, never real secrets). */
final class TestFixtures {
  static final AppId APP_A = AppId.fromHex("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed");
  static final AppId APP_B = AppId.fromHex("fb6916095ca1df60bb79ce92ce3ea74c37c5d359");
  static final InstanceId INSTANCE_1 =
      InstanceId.fromHex("0123456789abcdef0123456789abcdef01234567");

  private TestFixtures() {}

  /**
   * Root secret of a test generation: 32 consecutive byte values starting at 32 * (generation - 1).
   */
  static SecretBytes rootSecret(int generation) {
    byte[] b = new byte[32];
    for (int i = 0; i < 32; i++) {
      b[i] = (byte) (32 * (generation - 1) + i);
    }
    return SecretBytes.copyOf(b, InsecureSecretAccess.get());
  }

  static String rootSecretHex(int generation) {
    try (SecretBytes s = rootSecret(generation)) {
      return HexFormat.of().formatHex(s.toByteArray(InsecureSecretAccess.get()));
    }
  }

  /** Generations 1 (retained) and 2 (current). */
  static RootKeyring keyring() {
    RootKeyring k = new RootKeyring(1, rootSecret(1));
    k.addCurrent(2, rootSecret(2));
    return k;
  }

  /** Serves versions 1..3. */
  static final KeyVersionPolicy POLICY_V3 = new KeyVersionPolicy(3, 1, java.util.Set.of());
}
