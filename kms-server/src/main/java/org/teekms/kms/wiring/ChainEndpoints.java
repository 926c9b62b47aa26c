package org.teekms.kms.wiring;

import java.util.List;

/**
 * The RPC endpoints the KMS reads the chain from, and how many must agree, resolved from {@code
 * teekms.chain.*}. A single endpoint would decide every admission alone (a lying provider could
 * allow any app), so it is refused unless {@code teekms.chain.allow-single-rpc=true}.
 *
 * @param urls the endpoints (n)
 * @param quorum how many must answer alike (k)
 */
record ChainEndpoints(List<String> urls, int quorum) {

  /**
   * Empty when no endpoint is configured; IllegalStateException (refusing startup) when
   * misconfigured.
   */
  static java.util.Optional<ChainEndpoints> resolve(KmsConfig.Chain chain) {
    List<String> urls =
        chain
            .rpcUrls()
            .map(l -> l.stream().map(String::strip).filter(u -> !u.isEmpty()).toList())
            .orElse(List.of());
    if (!urls.isEmpty() && chain.rpcUrl().isPresent()) {
      throw new IllegalStateException(
          "set teekms.chain.rpc-urls or teekms.chain.rpc-url, not both");
    }
    if (urls.isEmpty()) {
      if (chain.rpcUrl().isEmpty()) {
        if (chain.quorum().isPresent())
          throw new IllegalStateException("teekms.chain.quorum is set without rpc-urls");
        return java.util.Optional.empty();
      }
      urls = List.of(chain.rpcUrl().get().strip());
    }
    int k = chain.quorum().orElse(urls.size() / 2 + 1);
    if (k < 1 || k > urls.size()) {
      throw new IllegalStateException(
          "teekms.chain.quorum must be between 1 and the "
              + urls.size()
              + " endpoints of teekms.chain.rpc-urls, got "
              + k);
    }
    if (urls.size() == 1 && !chain.allowSingleRpc()) {
      throw new IllegalStateException(
          "one chain RPC endpoint ("
              + urls.get(0)
              + ") would decide every admission "
              + "alone, and a lying endpoint could allow any app: list endpoints of independent providers in "
              + "teekms.chain.rpc-urls (with teekms.chain.quorum), or set teekms.chain.allow-single-rpc=true "
              + "(development and tests only)");
    }
    if (urls.stream().distinct().count() != urls.size()) {
      throw new IllegalStateException("teekms.chain.rpc-urls lists an endpoint twice: " + urls);
    }
    return java.util.Optional.of(new ChainEndpoints(List.copyOf(urls), k));
  }

  /** The first endpoint: for reads not (yet) made through the quorum (see docs/security.md). */
  String first() {
    return urls.get(0);
  }
}
