package org.teekms.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.smallrye.config.WithDefault;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Map;
import java.util.Optional;
import org.teekms.kms.wiring.KmsConfig;

/**
 * What a KMS with {@code teekms.tee.quote-provider=configfs-tsm} uses in its TD: the configfs-tsm
 * report directory (written), the CCEL ACPI table and data (read), dstack's runtime event log and
 * the RTMR registers (written: the KMS measures its trust configuration into RTMR3 and appends the
 * event, docs/trust-config.md). The paths are kms-server's own defaults, read from its
 * configuration mapping (and ra-tls's RTMR sysfs base), so a moved default breaks this check rather
 * than a deployment.
 */
final class TdMounts {
  private TdMounts() {}

  static void assertCovers(String where, Collection<String> mounts, Map<String, Boolean> readOnly) {
    check(where, mounts, readOnly, teeDefault("configfsPath"), false);
    check(where, mounts, readOnly, teeDefault("ccelTable"), true);
    check(where, mounts, readOnly, teeDefault("ccelData"), true);
    check(where, mounts, readOnly, teeDefault("runtimeEventLog"), false);
    check(
        where,
        mounts,
        readOnly,
        Optional.of(org.teekms.attest.provider.SysfsRtmrExtender.DEFAULT_BASE.toString()),
        false);
  }

  /** The @WithDefault of a teekms.tee.* property, read from kms-server's configuration mapping. */
  static Optional<String> teeDefault(String method) {
    try {
      WithDefault d = KmsConfig.Tee.class.getMethod(method).getAnnotation(WithDefault.class);
      return Optional.ofNullable(d).map(WithDefault::value);
    } catch (NoSuchMethodException e) {
      return Optional.empty();
    }
  }

  private static void check(
      String where,
      Collection<String> mounts,
      Map<String, Boolean> readOnly,
      Optional<String> path,
      boolean mayBeReadOnly) {
    assertTrue(path.isPresent(), "kms-server has no default for a TD path");
    Path p = Path.of(path.get());
    String covering =
        mounts.stream()
            .filter(m -> p.startsWith(Path.of(m)))
            .findFirst()
            .orElseThrow(
                () -> new AssertionError(where + ": nothing mounts " + p + " from the TD"));
    if (!mayBeReadOnly) {
      assertEquals(
          false,
          readOnly.getOrDefault(covering, false),
          where + ": " + covering + " must be writable");
    } else {
      assertEquals(
          true,
          readOnly.getOrDefault(covering, false),
          where + ": " + covering + " should be read-only");
    }
  }
}
