package org.teekms.kms.keys;

import java.util.Optional;
import org.teekms.keys.AppKeyDeriver;
import org.teekms.keys.AppRootCertificate;
import org.teekms.keys.AppRootSecret;
import org.teekms.keys.DerivedKey;
import org.teekms.keys.InsecureSecretAccess;
import org.teekms.keys.InstanceId;
import org.teekms.keys.KeyRequest;
import org.teekms.keys.KeyVersionPolicy;
import org.teekms.keys.KmsKeyDeriver;
import org.teekms.keys.PurposeKeyCertificate;
import org.teekms.keys.VersionRef;

/**
 * Derives what GetAppKeys releases for one key version (docs/key-derivation.md): the instance's
 * disk key, the app root secret and its certificate by the KMS root key, the env-encryption key and
 * the app CA key, each certified by the app root signing key; the app CA key also gets an X.509
 * certificate by the KMS CA of its generation ({@link KmsCertificateAuthority}). The version policy
 * is checked by the deriver itself (refusal = KeyRefusedException).
 */
public final class AppKeyIssuer {

  private AppKeyIssuer() {}

  /**
   * @param instance the CVM's instance id; without one no disk key is released
   */
  public static ReleasedAppKeys issue(
      KmsKeyDeriver deriver,
      VersionRef ref,
      Optional<InstanceId> instance,
      KeyVersionPolicy policy) {
    InsecureSecretAccess access = InsecureSecretAccess.get();
    byte[] disk = null;
    if (instance.isPresent()) {
      try (DerivedKey d = deriver.derive(KeyRequest.disk(ref, instance.get(), ""), policy)) {
        disk = d.privateKeyBytes(access);
      }
    }
    AppRootCertificate rootCert = deriver.certifyAppRoot(ref, policy);
    try (AppRootSecret appRoot = deriver.appRootSecret(ref, policy);
        DerivedKey env = deriver.derive(KeyRequest.envEncryption(ref), policy);
        DerivedKey ca = deriver.derive(KeyRequest.tlsCa(ref), policy);
        DerivedKey kmsCa = deriver.kmsCaKey(ref.generation());
        DerivedKey kmsRoot = deriver.kmsRootKey(ref.generation())) {
      AppKeyDeriver app = new AppKeyDeriver(appRoot);
      PurposeKeyCertificate envCert = app.certify(env);
      PurposeKeyCertificate caCert = app.certify(ca);
      String rootAddress = kmsRoot.ethereumAddress().toString();
      byte[] kmsCaX509 = KmsCertificateAuthority.kmsCaCertificate(kmsCa, rootAddress);
      byte[] appCaX509 = KmsCertificateAuthority.appCaCertificate(kmsCa, rootAddress, ca);
      return new ReleasedAppKeys(
          ref.version(),
          ref.generation(),
          disk,
          appRoot.toByteArray(access),
          rootCert,
          env.privateKeyBytes(access),
          envCert,
          ca.privateKeyBytes(access),
          caCert,
          appCaX509,
          kmsCaX509);
    }
  }
}
