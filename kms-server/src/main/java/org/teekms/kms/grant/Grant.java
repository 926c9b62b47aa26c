package org.teekms.kms.grant;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import org.teekms.crypto.Bytes;
import org.teekms.keys.AppId;

/**
 * A key release about to be recorded: who got which versions of which app's keys, under which
 * decision.
 */
public record Grant(
    UUID grantId,
    Kind kind,
    Optional<AppId> appId,
    Bytes instanceId,
    List<Integer> keyVersions,
    int rootGeneration,
    PolicyBlockRef policyBlock,
    Map<String, String> extraFacts) {

  public enum Kind {
    APP_KEYS,
    SIGN_CERT,
    ONBOARDING
  }

  public Grant {
    if (appId == null || appId.isPresent() == (kind == Kind.ONBOARDING)) {
      throw new IllegalArgumentException(
          "an app grant needs an app id, and an onboarding grant none");
    }
    Objects.requireNonNull(instanceId, "instanceId");
    keyVersions = List.copyOf(keyVersions);
    extraFacts = Map.copyOf(extraFacts);
  }

  /** The non-secret facts the audit entry records. */
  Map<String, Object> auditFacts() {
    Map<String, Object> facts = new LinkedHashMap<>(extraFacts);
    facts.put("instanceId", instanceId.hex());
    facts.put("keyVersions", keyVersions);
    facts.put("rootGeneration", rootGeneration);
    facts.put("chainId", policyBlock.chainId());
    facts.put("policyBlock", policyBlock.number());
    facts.put("policyBlockHash", policyBlock.hash().hex());
    return facts;
  }
}
