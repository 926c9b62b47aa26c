package org.teekms.kms.admission;

import java.util.List;
import java.util.Objects;
import java.util.UUID;
import org.teekms.crypto.Bytes;
import org.teekms.keys.AppId;
import org.teekms.kms.grant.PolicyBlockRef;
import org.teekms.kms.keys.ReleasedAppKeys;

/** A successful GetAppKeys: the recorded grant and the released keys (destroy them once sent). */
public record AppKeysGrant(
    UUID grantId,
    AppId appId,
    Bytes instanceId,
    int currentVersion,
    int minVersion,
    List<ReleasedAppKeys> keys,
    PolicyBlockRef policyBlock) {

  public AppKeysGrant {
    Objects.requireNonNull(appId, "appId");
    Objects.requireNonNull(instanceId, "instanceId");
    keys = List.copyOf(keys);
  }

  public void destroyKeys() {
    keys.forEach(ReleasedAppKeys::destroy);
  }
}
