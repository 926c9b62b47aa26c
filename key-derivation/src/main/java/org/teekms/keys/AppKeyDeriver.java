package org.teekms.keys;

/**
 * Derives app-tier keys (app root signing key, {@code signing}, {@code user}) from an app root
 * secret: what a guest agent runs. Produces the same bytes as {@link KmsKeyDeriver} for the same
 * request. Refuses KMS-tier purposes and requests for another generation, app or version ({@link
 * KeyRefusedException}).
 */
public final class AppKeyDeriver {
  private final AppRootSecret appRoot;

  public AppKeyDeriver(AppRootSecret appRoot) {
    this.appRoot = appRoot;
  }

  public AppRootSecret appRoot() {
    return appRoot;
  }

  public DerivedKey derive(KeyRequest request) {
    if (request.isKmsTier()) {
      throw new KeyRefusedException(
          KeyRefusedException.Reason.WRONG_TIER,
          request.purpose().label()
              + "/"
              + request.algorithm().label()
              + " is derived by the KMS only");
    }
    if (request.generation() != appRoot.generation()
        || !request.appId().equals(appRoot.appId())
        || request.version() != appRoot.version()) {
      throw new KeyRefusedException(
          KeyRefusedException.Reason.CONTEXT_MISMATCH, request + " vs " + appRoot);
    }
    return DerivedKey.derive(appRoot.secret(), request);
  }

  /** The app root signing key (secp256k1), certified by the KMS root key. */
  public DerivedKey appRootSigningKey() {
    return derive(KeyRequest.appRootSigning(appRoot.ref()));
  }

  /** A {@code signing} key at {@code path}. */
  public DerivedKey signingKey(KeyAlgorithm algorithm, String path) {
    return derive(KeyRequest.signing(appRoot.ref(), algorithm, path));
  }

  /** A {@code user} path key. */
  public DerivedKey userKey(KeyAlgorithm algorithm, String path) {
    return derive(KeyRequest.user(appRoot.ref(), algorithm, path));
  }

  /** Certifies {@code key} with the app root signing key (second link of the signature chain). */
  public PurposeKeyCertificate certify(DerivedKey key) {
    try (DerivedKey signer = appRootSigningKey()) {
      return PurposeKeyCertificate.issue(signer, key);
    }
  }
}
