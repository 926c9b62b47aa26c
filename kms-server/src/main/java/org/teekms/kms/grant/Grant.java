package org.teekms.kms.grant;

import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** A key release about to be recorded: who got which versions of which app's keys, under which decision. */
public record Grant(UUID grantId, Kind kind, byte[] appId, byte[] instanceId, List<Integer> keyVersions,
    int rootGeneration, PolicyBlockRef policyBlock, Map<String, String> extraFacts) {

  public enum Kind { APP_KEYS, SIGN_CERT, ONBOARDING }

  public Grant {
    if (appId == null || (appId.length != 20 && kind != Kind.ONBOARDING) || (kind == Kind.ONBOARDING && appId.length != 0)) {
      throw new IllegalArgumentException("app id must be 20 bytes (empty for onboarding)");
    }
    appId = appId.clone();
    instanceId = instanceId.clone();
    keyVersions = List.copyOf(keyVersions);
    extraFacts = Map.copyOf(extraFacts);
  }

  @Override
  public byte[] appId() {
    return appId.clone();
  }

  @Override
  public byte[] instanceId() {
    return instanceId.clone();
  }

  /** The non-secret facts the audit entry records. */
  Map<String, Object> auditFacts() {
    Map<String, Object> facts = new LinkedHashMap<>(extraFacts);
    facts.put("instanceId", HexFormat.of().formatHex(instanceId));
    facts.put("keyVersions", keyVersions);
    facts.put("rootGeneration", rootGeneration);
    facts.put("chainId", policyBlock.chainId());
    facts.put("policyBlock", policyBlock.number());
    facts.put("policyBlockHash", policyBlock.hash().hex());
    return facts;
  }
}
