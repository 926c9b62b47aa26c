package org.teekms.agent.boot;

import java.util.Objects;
import org.teekms.crypto.Bytes;
import org.teekms.keys.AppId;
import org.teekms.keys.InstanceId;

/**
 * What this CVM measures about itself at boot (docs/ra-tls.md §1.3): the app id (20 bytes, the
 * app's policy contract address), the instance id (20 bytes, stable for the instance: its disk key
 * depends on it), the OS image hash (32 bytes) and the app-compose file.
 */
public record CvmIdentity(
    AppId appId, InstanceId instanceId, Bytes osImageHash, AppCompose compose) {
  public CvmIdentity {
    Objects.requireNonNull(appId, "appId");
    Objects.requireNonNull(instanceId, "instanceId");
    Objects.requireNonNull(compose, "compose");
    if (instanceId.toBytes().length != 20) {
      throw new IllegalArgumentException("instance id must be 20 bytes");
    }
    if (osImageHash.length() != 32) {
      throw new IllegalArgumentException(
          "OS image hash must be 32 bytes, got " + osImageHash.length());
    }
  }
}
