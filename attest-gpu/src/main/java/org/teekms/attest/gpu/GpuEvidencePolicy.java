package org.teekms.attest.gpu;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * What an app requires of the GPUs attached to a CVM, applied to the verifier's facts ({@link
 * GpuResult}s) by an RA-TLS verifier that is also the policy (the CLI, the guest agent). Not the
 * on-chain GPU requirement ({@code org.teekms.governance.GpuPolicy}, the registry's struct), which
 * the KMS applies in admission. Every GPU in the evidence must be valid (an attached GPU that fails
 * verification is never ignored) and a distinct device (by {@link GpuResult#deviceId()}), and:
 *
 * @param requiredGpuCount at least this many GPUs (0 = GPUs optional)
 * @param architectures allowed architectures (empty = any)
 * @param minDriverVersion lowest driver version, numeric dotted comparison ("550.54.15"), or null
 * @param minVbiosVersion lowest VBIOS version, hexadecimal dotted comparison ("96.00.9f.00.01"), or
 *     null
 * @param rimMatchRequired measurements must have been compared with RIMs and matched
 * @param ocspRequired every checked certificate must have a GOOD OCSP answer (no skip, no grace)
 */
public record GpuEvidencePolicy(
    int requiredGpuCount,
    Set<GpuArchitecture> architectures,
    String minDriverVersion,
    String minVbiosVersion,
    boolean rimMatchRequired,
    boolean ocspRequired) {

  public GpuEvidencePolicy {
    if (requiredGpuCount < 0 || requiredGpuCount > GpuEvidence.MAX_GPUS) {
      throw new IllegalArgumentException("requiredGpuCount must be 0.." + GpuEvidence.MAX_GPUS);
    }
    architectures = architectures.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(architectures));
    if (minDriverVersion != null) {
      compareVersions(minDriverVersion, minDriverVersion, 10);
    }
    if (minVbiosVersion != null) {
      compareVersions(minVbiosVersion, minVbiosVersion, 16);
    }
  }

  /** The strictest useful default: {@code count} Hopper GPUs, RIM match and OCSP required. */
  public static GpuEvidencePolicy strict(int count) {
    return new GpuEvidencePolicy(count, Set.of(GpuArchitecture.HOPPER), null, null, true, true);
  }

  /** The decision and every reason for a denial. */
  public record Decision(boolean allowed, List<String> reasons) {
    public Decision {
      reasons = List.copyOf(reasons);
    }
  }

  public Decision apply(List<GpuResult> results) {
    Objects.requireNonNull(results, "results");
    List<String> reasons = new ArrayList<>();
    if (results.size() < requiredGpuCount) {
      reasons.add("policy requires " + requiredGpuCount + " GPUs, evidence has " + results.size());
    }
    java.util.Map<String, Integer> seen = new java.util.HashMap<>();
    for (int i = 0; i < results.size(); i++) {
      GpuResult r = results.get(i);
      String gpu =
          "GPU " + i + (r.deviceId() == null ? "" : " (" + r.deviceId().substring(0, 16) + "…)");
      if (!r.valid()) {
        reasons.add(gpu + " failed verification: " + r.error());
        continue;
      }
      // The same GPU's evidence listed twice must not count as two GPUs.
      Integer first = seen.putIfAbsent(r.deviceId(), i);
      if (first != null) {
        reasons.add(gpu + " is the same device as GPU " + first);
      }
      if (!architectures.isEmpty() && !architectures.contains(r.arch())) {
        reasons.add(gpu + " is " + r.arch() + ", policy allows " + architectures);
      }
      if (minDriverVersion != null
          && compareVersions(r.driverVersion(), minDriverVersion, 10) < 0) {
        reasons.add(gpu + " driver " + r.driverVersion() + " is older than " + minDriverVersion);
      }
      if (minVbiosVersion != null && compareVersions(r.vbiosVersion(), minVbiosVersion, 16) < 0) {
        reasons.add(gpu + " VBIOS " + r.vbiosVersion() + " is older than " + minVbiosVersion);
      }
      if (rimMatchRequired && !r.measurements().matched()) {
        reasons.add(
            gpu
                + " measurements were not matched against RIMs ("
                + r.measurements().status()
                + ")");
      }
      if (ocspRequired && !r.ocsp().allGood()) {
        reasons.add(gpu + " revocation status is not confirmed good (" + r.ocsp().summary() + ")");
      }
    }
    return new Decision(reasons.isEmpty(), reasons);
  }

  /**
   * Compares dotted versions component by component in {@code radix}; missing components count as
   * 0.
   */
  static int compareVersions(String a, String b, int radix) {
    String[] x = a.trim().split("\\.");
    String[] y = b.trim().split("\\.");
    for (int i = 0; i < Math.max(x.length, y.length); i++) {
      long p = i < x.length ? parse(x[i], radix, a) : 0;
      long q = i < y.length ? parse(y[i], radix, b) : 0;
      if (p != q) {
        return Long.compare(p, q);
      }
    }
    return 0;
  }

  private static long parse(String component, int radix, String version) {
    try {
      if (component.isEmpty() || component.length() > 8) {
        throw new NumberFormatException();
      }
      return Long.parseLong(component, radix);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "'" + version + "' is not a dotted version (radix " + radix + ")");
    }
  }
}
