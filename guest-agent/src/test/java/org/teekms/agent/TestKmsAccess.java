package org.teekms.agent;

import org.teekms.keys.AppId;
import org.teekms.keys.KeyVersionPolicy;
import org.teekms.keys.KmsKeyDeriver;
import org.teekms.proto.AppKeys;

/**
 * Builds honest AppKeys releases for tests outside this package (same derivation as {@link
 * TestKms}).
 */
public final class TestKmsAccess {
  private TestKmsAccess() {}

  public static AppKeys keys(
      KmsKeyDeriver deriver, AppId app, byte[] instance, int version, KeyVersionPolicy policy) {
    return TestKms.keys(deriver, app, instance, version, policy);
  }

  public static AppKeys keys(
      KmsKeyDeriver deriver,
      AppId app,
      byte[] instance,
      int version,
      KeyVersionPolicy policy,
      int generation) {
    return TestKms.keys(deriver, app, instance, version, policy, generation);
  }
}
