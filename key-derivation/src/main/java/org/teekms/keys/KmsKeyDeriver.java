package org.teekms.keys;

/**
 * The KMS side of derivation: derives any key from the root keyring, enforcing the app's version
 * policy. App-tier keys go through the app root secret, so they equal what an {@link AppKeyDeriver}
 * holding that secret derives.
 */
public final class KmsKeyDeriver {
  private final RootKeyring keyring;

  public KmsKeyDeriver(RootKeyring keyring) {
    this.keyring = keyring;
  }

  public RootKeyring keyring() {
    return keyring;
  }

  /** The KMS root signing key (secp256k1) of a generation; its address is what clients trust. */
  public DerivedKey kmsRootKey(int generation) {
    return deriveFromRoot(KeyRequest.kmsRoot(generation));
  }

  /**
   * The KMS's audit-anchoring account key (secp256k1) of a generation; only a KMS holding the root
   * can anchor.
   */
  public DerivedKey kmsAuditAnchorKey(int generation) {
    return deriveFromRoot(KeyRequest.kmsAuditAnchor(generation));
  }

  /**
   * The KMS CA key (P-256) of a generation: issues X.509 certificates for app CA keys
   * (docs/key-derivation.md §10).
   */
  public DerivedKey kmsCaKey(int generation) {
    return deriveFromRoot(KeyRequest.kmsCa(generation));
  }

  /** The app root secret A of (generation, app, version), if the policy serves that version. */
  public AppRootSecret appRootSecret(VersionRef v, KeyVersionPolicy policy) {
    policy.check(v.version());
    try (DerivedKey a = deriveFromRoot(KeyRequest.appRootSecret(v))) {
      return new AppRootSecret(v, SecretBytes.wrap(a.privateKeyBytes(InsecureSecretAccess.get())));
    }
  }

  /**
   * The key for {@code request} if {@code policy} (the policy of the request's app) serves its
   * version; otherwise {@link KeyRefusedException} with the reason. Not for the KMS keys (use
   * {@link #kmsRootKey}, {@link #kmsCaKey}, {@link #kmsAuditAnchorKey}).
   */
  public DerivedKey derive(KeyRequest request, KeyVersionPolicy policy) {
    if (request.purpose().isKmsKey()) {
      throw new KeyRefusedException(
          KeyRefusedException.Reason.WRONG_TIER,
          request.purpose().label() + " is not an app key; use kmsRootKey / kmsCaKey");
    }
    policy.check(request.version());
    if (request.isKmsTier()) {
      return deriveFromRoot(request);
    }
    try (AppRootSecret a = appRootSecret(request.versionRef().orElseThrow(), policy)) {
      return new AppKeyDeriver(a).derive(request);
    }
  }

  /**
   * First link of the signature chain: the generation's KMS root key certifies the app root public
   * key.
   */
  public AppRootCertificate certifyAppRoot(VersionRef v, KeyVersionPolicy policy) {
    try (AppRootSecret a = appRootSecret(v, policy);
        DerivedKey appRootSigning = new AppKeyDeriver(a).appRootSigningKey();
        DerivedKey kmsRoot = kmsRootKey(v.generation())) {
      return AppRootCertificate.issue(kmsRoot, appRootSigning);
    }
  }

  private DerivedKey deriveFromRoot(KeyRequest request) {
    try (SecretBytes root = keyring.secretCopy(request.generation())) {
      return DerivedKey.derive(root, request);
    }
  }
}
