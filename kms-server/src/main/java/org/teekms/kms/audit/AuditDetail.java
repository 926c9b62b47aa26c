package org.teekms.kms.audit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.util.Map;

/**
 * Writes audit details as canonical JSON: object keys sorted, no whitespace. (The hash covers the
 * stored text as is, so canonical form is a convenience for readers and diffing, not a verification
 * requirement.) Callers pass facts only: identifiers, hashes, versions, block numbers — never key
 * material.
 */
public final class AuditDetail {

  private static final ObjectMapper JSON =
      new ObjectMapper().configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true);

  private AuditDetail() {}

  public static String json(Map<String, ?> facts) {
    try {
      return JSON.writeValueAsString(facts);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(
          "audit detail is not serialisable: " + e.getOriginalMessage(), e);
    }
  }
}
