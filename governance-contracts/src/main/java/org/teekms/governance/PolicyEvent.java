package org.teekms.governance;

import java.util.Map;

/**
 * One policy change as recorded in a log: which contract emitted which event, in which transaction,
 * with its arguments (by name: who, what, old and new values).
 */
public record PolicyEvent(
    long blockNumber,
    String blockHash,
    String txHash,
    long logIndex,
    String emitter,
    String contract,
    String event,
    Map<String, Object> args) {
  public PolicyEvent {
    args = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(args));
  }
}
