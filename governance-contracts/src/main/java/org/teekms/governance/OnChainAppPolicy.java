package org.teekms.governance;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * What an end user or auditor checks a response against: an app's policy and the registry's
 * platform policy, every field read at one pinned block through the quorum ({@link
 * ChainPolicyReader#appPolicy}). Hex strings are lower-case with {@code 0x}.
 *
 * @param failure why the policy could not be read (then every other field is empty or zero); empty
 *     when it was
 * @param status the app's registration in the registry
 * @param osImages allowed OS image hash → the golden mrSystem values registered for it
 * @param tcbStatuses TCB statuses the registry accepts
 * @param advisoryIds Intel advisory IDs the registry accepts
 * @param requireTcbUpToDate whether the app accepts only UpToDate
 * @param gpuPolicy the GPU policy that applies to the app (its own, or the registry default)
 * @param keys the app's key-version (rotation) state
 * @param rotationDue whether a rotation period is set and has elapsed
 */
public record OnChainAppPolicy(
    long chainId,
    String registry,
    String app,
    long blockNumber,
    String blockHash,
    Optional<String> failure,
    KmsRegistry.AppStatus status,
    boolean disabled,
    List<String> composeHashes,
    Map<String, List<String>> osImages,
    List<String> tcbStatuses,
    List<String> advisoryIds,
    boolean requireTcbUpToDate,
    GpuPolicy gpuPolicy,
    AppKeyVersions keys,
    boolean rotationDue) {

  public OnChainAppPolicy {
    Objects.requireNonNull(registry, "registry");
    Objects.requireNonNull(app, "app");
    Objects.requireNonNull(failure, "failure");
    Objects.requireNonNull(status, "status");
    composeHashes = List.copyOf(composeHashes);
    Map<String, List<String>> images = new LinkedHashMap<>();
    osImages.forEach((k, v) -> images.put(k, List.copyOf(v)));
    osImages = java.util.Collections.unmodifiableMap(images);
    tcbStatuses = List.copyOf(tcbStatuses);
    advisoryIds = List.copyOf(advisoryIds);
    Objects.requireNonNull(gpuPolicy, "gpuPolicy");
  }

  static OnChainAppPolicy unavailable(
      long chainId,
      String registry,
      String app,
      long blockNumber,
      String blockHash,
      String reason) {
    return new OnChainAppPolicy(
        chainId,
        registry,
        app,
        blockNumber,
        blockHash,
        Optional.of(reason),
        KmsRegistry.AppStatus.NONE,
        false,
        List.of(),
        Map.of(),
        List.of(),
        List.of(),
        false,
        GpuPolicy.NONE,
        null,
        false);
  }

  /** Where it was read, in words: {@code chain 31337, registry 0x…, app 0x…, block 42 (0xab…)}. */
  public String source() {
    return "chain "
        + chainId
        + ", registry "
        + registry
        + ", app "
        + app
        + ", block "
        + blockNumber
        + (blockHash == null || blockHash.isEmpty() ? "" : " (" + blockHash + ")");
  }

  /** Why the app itself may not run (not registered, deregistered, disabled); empty when it may. */
  public Optional<String> appRefusal() {
    return switch (status) {
      case NONE -> Optional.of("app " + app + " is not registered in registry " + registry);
      case DEREGISTERED ->
          Optional.of("app " + app + " was deregistered from registry " + registry);
      case REGISTERED ->
          disabled ? Optional.of("app " + app + " is disabled on chain") : Optional.empty();
    };
  }
}
