package org.teekms.attest.gpu;

import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;

/** Checks revocation of {@code chain[from..to)}, each against its issuer {@code chain[i + 1]}. */
@FunctionalInterface
public interface RevocationChecker {
  OcspResult check(List<X509Certificate> chain, int from, int to, Instant at);

  /**
   * No revocation checking: results say SKIPPED, and a policy with {@code ocspRequired} will refuse
   * them.
   */
  static RevocationChecker disabled() {
    return (chain, from, to, at) -> OcspResult.skipped();
  }
}
