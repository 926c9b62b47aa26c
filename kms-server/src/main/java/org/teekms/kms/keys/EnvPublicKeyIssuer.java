package org.teekms.kms.keys;

import java.util.Objects;
import org.teekms.crypto.Bytes;
import org.teekms.keys.AppId;
import org.teekms.keys.AppKeyDeriver;
import org.teekms.keys.AppRootCertificate;
import org.teekms.keys.AppRootSecret;
import org.teekms.keys.DerivedKey;
import org.teekms.keys.DstackEnvKeySignature;
import org.teekms.keys.KeyRequest;
import org.teekms.keys.KeyVersionPolicy;
import org.teekms.keys.KmsKeyDeriver;
import org.teekms.keys.PurposeKeyCertificate;
import org.teekms.keys.VersionRef;

/**
 * The public half of an app's env-encryption key for one key version (docs/env-secrets.md §3): the
 * X25519 public key (the same key GetAppKeys releases privately for that version), dstack's two
 * signatures by the KMS root key of the version's generation, and the tee-kms certificate chain
 * binding it to (app, version, purpose). Nothing secret leaves: the derived private keys are
 * destroyed before this returns.
 */
public final class EnvPublicKeyIssuer {

  /** What AppEnv answers (before encoding). */
  public record EnvPublicKey(
      Bytes publicKey,
      int version,
      int generation,
      long timestampSeconds,
      Bytes legacySignature,
      Bytes signatureV1,
      AppRootCertificate appRootCertificate,
      PurposeKeyCertificate envCertificate) {
    public EnvPublicKey {
      Objects.requireNonNull(publicKey, "publicKey");
      Objects.requireNonNull(legacySignature, "legacySignature");
      Objects.requireNonNull(signatureV1, "signatureV1");
    }
  }

  private EnvPublicKeyIssuer() {}

  public static EnvPublicKey issue(
      KmsKeyDeriver deriver, VersionRef ref, KeyVersionPolicy policy, long timestampSeconds) {
    AppId appId = ref.app();
    int version = ref.version();
    int generation = ref.generation();
    AppRootCertificate rootCert = deriver.certifyAppRoot(ref, policy);
    try (DerivedKey env = deriver.derive(KeyRequest.envEncryption(ref), policy);
        AppRootSecret appRoot = deriver.appRootSecret(ref, policy);
        DerivedKey kmsRoot = deriver.kmsRootKey(generation)) {
      PurposeKeyCertificate envCert = new AppKeyDeriver(appRoot).certify(env);
      byte[] pub = env.publicKey();
      return new EnvPublicKey(
          Bytes.copyOf(pub),
          version,
          generation,
          timestampSeconds,
          Bytes.copyOf(
              DstackEnvKeySignature.sign(kmsRoot, DstackEnvKeySignature.legacyMessage(appId, pub))),
          Bytes.copyOf(
              DstackEnvKeySignature.sign(
                  kmsRoot, DstackEnvKeySignature.message(appId, timestampSeconds, pub))),
          rootCert,
          envCert);
    }
  }
}
