package org.teekms.governance;

import java.util.List;
import java.util.Optional;
import org.web3j.protocol.core.methods.response.Log;

/**
 * A mined, successful transaction.
 *
 * @param contractAddress the created contract for a deployment, else empty
 * @param logs the receipt's logs (events)
 */
public record TxResult(
    String txHash,
    long blockNumber,
    String blockHash,
    long gasUsed,
    Optional<String> contractAddress,
    List<Log> logs) {
  public TxResult {
    logs = List.copyOf(logs);
  }
}
