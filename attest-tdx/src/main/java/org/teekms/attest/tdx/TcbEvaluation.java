package org.teekms.attest.tdx;

import java.time.Instant;
import java.util.List;

/**
 * The outcome of Intel's TCB evaluation: the combined status and advisories, and the parts they
 * came from (the TDX module status is {@code null} for SGX quotes and for TDX modules without a
 * module identity level).
 */
public record TcbEvaluation(
    TcbStatus status,
    List<String> advisoryIds,
    TcbStatus platformStatus,
    Instant platformTcbDate,
    TcbStatus tdxModuleStatus,
    TcbStatus qeStatus) {

  public TcbEvaluation {
    advisoryIds = List.copyOf(advisoryIds);
  }
}
