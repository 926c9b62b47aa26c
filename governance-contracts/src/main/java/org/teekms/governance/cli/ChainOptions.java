package org.teekms.governance.cli;

import java.time.Duration;
import org.teekms.governance.ChainClient;
import picocli.CommandLine.Option;

/** Which chain: RPC URL and the chain id it must serve. */
public final class ChainOptions {
  @Option(
      names = "--rpc-url",
      paramLabel = "URL",
      defaultValue = "${env:TEEKMS_RPC_URL:-http://127.0.0.1:8545}",
      description = "JSON-RPC endpoint (env TEEKMS_RPC_URL; default ${DEFAULT-VALUE}).")
  String rpcUrl;

  @Option(
      names = "--chain-id",
      paramLabel = "ID",
      defaultValue = "${env:TEEKMS_CHAIN_ID}",
      description =
          "Chain id the endpoint must serve (env TEEKMS_CHAIN_ID); anything else is refused.")
  Long chainId;

  @Option(
      names = "--timeout",
      paramLabel = "SECONDS",
      defaultValue = "120",
      description = "How long to wait for a transaction to be mined (default ${DEFAULT-VALUE}).")
  long timeoutSeconds;

  ChainClient connect() {
    if (chainId == null)
      throw new IllegalArgumentException("--chain-id (or env TEEKMS_CHAIN_ID) is required");
    if (chainId <= 0) throw new IllegalArgumentException("--chain-id must be positive");
    if (timeoutSeconds <= 0) throw new IllegalArgumentException("--timeout must be positive");
    return ChainClient.connect(
        rpcUrl, chainId, Duration.ofSeconds(15), Duration.ofSeconds(timeoutSeconds));
  }
}
