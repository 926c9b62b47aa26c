package org.teekms.kms.wiring;

import static org.junit.jupiter.api.Assertions.*;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * teekms.chain.rpc-urls / quorum / rpc-url / allow-single-rpc: a single RPC endpoint decides only
 * where allowed.
 */
class ChainEndpointsTest {

  private static KmsConfig.Chain chain(
      List<String> urls, Integer quorum, String single, boolean allowSingle) {
    return new KmsConfig.Chain() {
      @Override
      public Optional<List<String>> rpcUrls() {
        return Optional.ofNullable(urls);
      }

      @Override
      public Optional<Integer> quorum() {
        return Optional.ofNullable(quorum);
      }

      @Override
      public Optional<String> rpcUrl() {
        return Optional.ofNullable(single);
      }

      @Override
      public boolean allowSingleRpc() {
        return allowSingle;
      }

      @Override
      public Duration maxBlockAge() {
        return Duration.ofMinutes(30);
      }

      @Override
      public long chainId() {
        return 8453;
      }

      @Override
      public Optional<String> registryAddress() {
        return Optional.of("0x" + "11".repeat(20));
      }

      @Override
      public int confirmations() {
        return 3;
      }

      @Override
      public Duration pinReuse() {
        return Duration.ofSeconds(1);
      }
    };
  }

  private static final List<String> THREE =
      List.of("https://a.example", "https://b.example", "https://c.example");

  @Test
  void severalEndpointsDefaultToAMajority() {
    ChainEndpoints e = ChainEndpoints.resolve(chain(THREE, null, null, false)).orElseThrow();
    assertEquals(THREE, e.urls());
    assertEquals(2, e.quorum());
    assertEquals(3, ChainEndpoints.resolve(chain(THREE, 3, null, false)).orElseThrow().quorum());
    assertEquals(
        3,
        ChainEndpoints.resolve(chain(List.of("a", "b", "c", "d"), null, null, false))
            .orElseThrow()
            .quorum());
  }

  @Test
  void aSingleEndpointIsRefusedUnlessExplicitlyAllowed() {
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> ChainEndpoints.resolve(chain(null, null, "https://a.example", false)));
    assertTrue(
        e.getMessage()
            .startsWith(
                "one chain RPC endpoint (https://a.example) would decide every admission "
                    + "alone"),
        e.getMessage());
    assertThrows(
        IllegalStateException.class,
        () -> ChainEndpoints.resolve(chain(List.of("https://a"), null, null, false)),
        "one entry in rpc-urls is one endpoint too");
    ChainEndpoints allowed =
        ChainEndpoints.resolve(chain(null, null, "https://a.example", true)).orElseThrow();
    assertEquals(List.of("https://a.example"), allowed.urls());
    assertEquals(1, allowed.quorum());
  }

  @Test
  void contradictoryOrImpossibleSettingsRefuseToStart() {
    assertEquals(
        "set teekms.chain.rpc-urls or teekms.chain.rpc-url, not both",
        assertThrows(
                IllegalStateException.class,
                () -> ChainEndpoints.resolve(chain(THREE, null, "https://a", true)))
            .getMessage());
    assertTrue(
        assertThrows(
                IllegalStateException.class,
                () -> ChainEndpoints.resolve(chain(THREE, 4, null, false)))
            .getMessage()
            .startsWith("teekms.chain.quorum must be between 1 and the 3 endpoints"));
    assertThrows(
        IllegalStateException.class, () -> ChainEndpoints.resolve(chain(THREE, 0, null, false)));
    assertThrows(
        IllegalStateException.class,
        () ->
            ChainEndpoints.resolve(
                chain(List.of("https://a", "https://a", "https://b"), null, null, false)));
    assertThrows(
        IllegalStateException.class, () -> ChainEndpoints.resolve(chain(null, 2, null, false)));
    assertTrue(
        ChainEndpoints.resolve(chain(null, null, null, false)).isEmpty(),
        "no chain: admissions refused later");
  }
}
