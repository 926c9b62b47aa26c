package org.teekms.agent.boot;

import java.util.Arrays;
import java.util.Objects;
import org.teekms.keys.AppId;
import org.teekms.keys.InstanceId;

/**
 * What this CVM measures about itself at boot (docs/ra-tls.md §1.3): the app id (20 bytes, the
 * app's policy contract address), the instance id (20 bytes, stable for the instance: its disk key
 * depends on it), the OS image hash (32 bytes) and the app-compose file.
 */
public record CvmIdentity(
    AppId appId, InstanceId instanceId, byte[] osImageHash, AppCompose compose) {
  public CvmIdentity {
    Objects.requireNonNull(appId, "appId");
    Objects.requireNonNull(instanceId, "instanceId");
    Objects.requireNonNull(compose, "compose");
    if (instanceId.toBytes().length != 20) {
      throw new IllegalArgumentException("instance id must be 20 bytes");
    }
    if (osImageHash.length != 32) {
      throw new IllegalArgumentException(
          "OS image hash must be 32 bytes, got " + osImageHash.length);
    }
    osImageHash = osImageHash.clone();
  }

  @Override
  public byte[] osImageHash() {
    return osImageHash.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CvmIdentity c
        && appId.equals(c.appId)
        && instanceId.equals(c.instanceId)
        && Arrays.equals(osImageHash, c.osImageHash)
        && compose.equals(c.compose);
  }

  @Override
  public int hashCode() {
    return (appId.hashCode() * 31 + instanceId.hashCode()) * 31 + Arrays.hashCode(osImageHash);
  }
}
