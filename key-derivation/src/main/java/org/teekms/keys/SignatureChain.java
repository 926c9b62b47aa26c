package org.teekms.keys;

import java.util.Objects;

/**
 * KMS root key → app root key → purpose key. Verify with {@link SignatureChainVerifier} against the
 * KMS root address you trust (e.g. from the governance contract).
 */
public record SignatureChain(AppRootCertificate appRoot, PurposeKeyCertificate key) {
  public SignatureChain {
    Objects.requireNonNull(appRoot, "appRoot");
    Objects.requireNonNull(key, "key");
  }
}
