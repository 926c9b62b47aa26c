package org.teekms.verifier;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.teekms.attest.tdx.QuotePolicy;
import org.teekms.crypto.Bytes;

/**
 * Who the user expects to have answered: without one, a valid signature proves only that
 * <em>some</em> TDX VM running <em>some</em> code signed the response. Either read from the app's
 * on-chain policy at one pinned block (by the caller: this module knows nothing of the chain) or
 * given explicitly.
 *
 * @param source where the expectation comes from, in words ({@code "chain 31337, registry 0x…, app
 *     0x…, block 42 (0xab…)"} or {@code "explicit"}); shown with every verdict
 * @param onChain whether it was read from the chain (the compose-hash row then says "(on chain)")
 * @param appId the app the CVM must belong to (its {@code app-id} event), when known
 * @param appRefusal why the app itself is not allowed (not registered, deregistered, disabled),
 *     when it is not
 * @param composeHashes the compose hashes allowed (exactly one when explicit)
 * @param osImages allowed OS image hash → the golden mrSystem values (SHA-256(MRTD ‖ RTMR0-2))
 *     registered for it
 * @param tcb the TCB statuses, advisories and TD attributes accepted
 * @param gpu what the GPUs must show
 * @param unavailable why no expectation could be established (the chain could not be read): every
 *     check that needs one then fails with {@code POLICY_UNAVAILABLE}; empty otherwise
 */
public record ExpectedIdentity(
    String source,
    boolean onChain,
    Optional<Bytes> appId,
    Optional<String> appRefusal,
    Set<Bytes> composeHashes,
    Map<Bytes, Set<Bytes>> osImages,
    QuotePolicy tcb,
    GpuRequirement gpu,
    Optional<String> unavailable) {

  public ExpectedIdentity {
    Objects.requireNonNull(source, "source");
    Objects.requireNonNull(appId, "appId");
    Objects.requireNonNull(appRefusal, "appRefusal");
    composeHashes = Set.copyOf(composeHashes);
    Map<Bytes, Set<Bytes>> images = new LinkedHashMap<>();
    osImages.forEach((k, v) -> images.put(Objects.requireNonNull(k), Set.copyOf(v)));
    osImages = java.util.Collections.unmodifiableMap(images);
    Objects.requireNonNull(tcb, "tcb");
    Objects.requireNonNull(gpu, "gpu");
    Objects.requireNonNull(unavailable, "unavailable");
    appId.ifPresent(a -> require(a, 20, "app id"));
    composeHashes.forEach(h -> require(h, 32, "compose hash"));
    osImages.forEach(
        (k, v) -> {
          require(k, 32, "OS image hash");
          v.forEach(m -> require(m, 32, "mrSystem"));
        });
  }

  /**
   * The user's own expectation: this compose hash, this OS image proven by one of these golden
   * mrSystem values.
   *
   * @param appId the app id the CVM must show, when the user knows it
   */
  public static ExpectedIdentity explicit(
      Optional<Bytes> appId,
      Bytes composeHash,
      Bytes osImageHash,
      Set<Bytes> mrSystems,
      QuotePolicy tcb,
      GpuRequirement gpu) {
    return new ExpectedIdentity(
        "explicit (--compose-hash " + composeHash.hex() + ", --os-image " + osImageHash.hex() + ")",
        false,
        appId,
        Optional.empty(),
        Set.of(composeHash),
        Map.of(osImageHash, mrSystems),
        tcb,
        gpu,
        Optional.empty());
  }

  /** No expectation could be established, for this reason: the verdict is a failure naming it. */
  public static ExpectedIdentity unavailable(String source, boolean onChain, String reason) {
    return new ExpectedIdentity(
        source,
        onChain,
        Optional.empty(),
        Optional.empty(),
        Set.of(),
        Map.of(),
        QuotePolicy.builder().build(),
        GpuRequirement.NONE,
        Optional.of(reason));
  }

  private static void require(Bytes b, int length, String what) {
    if (b.length() != length) {
      throw new IllegalArgumentException(what + " must be " + length + " bytes, got " + b.length());
    }
  }
}
