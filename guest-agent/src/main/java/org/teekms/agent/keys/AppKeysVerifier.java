package org.teekms.agent.keys;

import java.security.MessageDigest;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.teekms.crypto.Bytes;
import org.teekms.keys.AppId;
import org.teekms.keys.AppKeyDeriver;
import org.teekms.keys.AppRootCertificate;
import org.teekms.keys.AppRootSecret;
import org.teekms.keys.DerivedKey;
import org.teekms.keys.EthSignature;
import org.teekms.keys.EthereumAddress;
import org.teekms.keys.InsecureSecretAccess;
import org.teekms.keys.InstanceId;
import org.teekms.keys.KeyAlgorithm;
import org.teekms.keys.KeyRequest;
import org.teekms.keys.Purpose;
import org.teekms.keys.PurposeKeyCertificate;
import org.teekms.keys.Secp256k1;
import org.teekms.keys.SecretBytes;
import org.teekms.keys.SignatureChainVerifier;
import org.teekms.keys.VersionRef;
import org.teekms.proto.AppKeys;
import org.teekms.proto.GetAppKeysResponse;

/**
 * Checks a GetAppKeys response before the agent uses it, and turns it into {@link AgentKeys}: it is
 * for our app and instance; every version's app root certificate is signed by the KMS root key of
 * its root generation (one root per generation; the pinned one for every version when app-compose
 * pins it) and names the public key of the app root signing key derived from the released app root
 * secret (so the sender knew a secret only the KMS root can derive); the env-encryption and app CA
 * certificates verify under that app root key and name the right purposes. Any mismatch is a {@link
 * KeysRejected}.
 */
public final class AppKeysVerifier {
  /** The response cannot be trusted; the message says which check failed. */
  public static final class KeysRejected extends Exception {
    private static final long serialVersionUID = 1L;

    public KeysRejected(String message) {
      super(message);
    }
  }

  private AppKeysVerifier() {}

  public static AgentKeys verify(
      GetAppKeysResponse r,
      AppId appId,
      InstanceId instanceId,
      Optional<EthereumAddress> pinnedRoot)
      throws KeysRejected {
    if (!MessageDigest.isEqual(r.getAppId().toByteArray(), appId.toBytes())) {
      throw new KeysRejected(
          "keys are for app " + hex(r.getAppId().toByteArray()) + ", we are " + appId.toHex());
    }
    if (!MessageDigest.isEqual(r.getInstanceId().toByteArray(), instanceId.toBytes())) {
      throw new KeysRejected(
          "keys are for instance "
              + hex(r.getInstanceId().toByteArray())
              + ", we are "
              + instanceId.toHex());
    }
    if (r.getKeysCount() == 0) {
      throw new KeysRejected("the KMS released no key version");
    }
    Map<Integer, AgentKeys.VersionKeys> versions = new HashMap<>();
    // After a root rotation the served versions span root generations, each certified by its
    // generation's KMS root;
    // within one generation every version must name the same root.
    Map<Integer, EthereumAddress> roots = new HashMap<>();
    try {
      for (AppKeys k : r.getKeysList()) {
        AgentKeys.VersionKeys v = version(k, appId, instanceId);
        versions.put(v.version(), v);
        EthereumAddress signer = verifyAppRoot(v.appRootCertificate(), pinnedRoot);
        EthereumAddress known = roots.putIfAbsent(v.generation(), signer);
        if (known != null && !known.equals(signer)) {
          throw new KeysRejected(
              "key versions of root generation "
                  + v.generation()
                  + " are certified by different KMS roots: "
                  + known
                  + " and "
                  + signer);
        }
      }
      return new AgentKeys(
          appId,
          instanceId,
          roots,
          r.getCurrentVersion(),
          r.getMinVersion(),
          r.getGrantId(),
          versions);
    } catch (KeysRejected | RuntimeException e) {
      versions.values().forEach(AgentKeys.VersionKeys::destroy);
      if (e instanceof KeysRejected kr) {
        throw kr;
      }
      throw new KeysRejected("malformed key release: " + e.getMessage());
    }
  }

  private static AgentKeys.VersionKeys version(AppKeys k, AppId appId, InstanceId instanceId)
      throws KeysRejected {
    InsecureSecretAccess access = InsecureSecretAccess.get();
    int v = k.getKeyVersion();
    int g = k.getRootGeneration();
    org.teekms.proto.AppRootCertificate pc = k.getAppRootCertificate();
    if (pc.getKeyVersion() != v
        || pc.getRootGeneration() != g
        || !MessageDigest.isEqual(pc.getAppId().toByteArray(), appId.toBytes())) {
      throw new KeysRejected(
          "version " + v + ": app root certificate is for another (generation, app, version)");
    }
    AppRootCertificate cert =
        new AppRootCertificate(
            g,
            appId,
            v,
            Bytes.copyOf(pc.getAppRootPublicKey().toByteArray()),
            EthSignature.fromBytes(pc.getKmsSignature().toByteArray()));
    byte[] a = k.getAppRootSecret().toByteArray();
    AppRootSecret appRoot =
        new AppRootSecret(new VersionRef(g, appId, v), SecretBytes.copyOf(a, access));
    java.util.Arrays.fill(a, (byte) 0);
    AppKeyDeriver deriver = new AppKeyDeriver(appRoot);
    try (DerivedKey signing = deriver.appRootSigningKey()) {
      if (!MessageDigest.isEqual(signing.publicKey(), cert.appRootPublicKey().toByteArray())) {
        appRoot.destroy();
        throw new KeysRejected(
            "version " + v + ": the app root secret does not match the certified app root key");
      }
    }
    SecretBytes disk =
        k.getDiskKey().isEmpty() ? null : secret(k.getDiskKey().toByteArray(), 32, "disk key", v);
    SecretBytes env = secret(k.getEnvEncryptionKey().toByteArray(), 32, "env-encryption key", v);
    SecretBytes ca = secret(k.getAppCaKey().toByteArray(), 32, "app CA key", v);
    PurposeKeyCertificate envCert = purposeCert(k.getEnvEncryptionCertificate(), g, appId, v);
    PurposeKeyCertificate caCert = purposeCert(k.getAppCaCertificate(), g, appId, v);
    SignatureChainVerifier any =
        new SignatureChainVerifier(cert.appRootAddress()); // key links only
    for (PurposeKeyCertificate pk : new PurposeKeyCertificate[] {envCert, caCert}) {
      SignatureChainVerifier.Result res = any.verifyKey(cert, pk);
      if (!res.valid()) {
        throw new KeysRejected(
            "version " + v + ": " + pk.key().purpose().label() + " certificate: " + res.detail());
      }
    }
    if (envCert.key().purpose() != Purpose.ENV_ENCRYPTION
        || caCert.key().purpose() != Purpose.TLS_CA) {
      throw new KeysRejected("version " + v + ": certificates name the wrong purposes");
    }
    if (instanceId.toBytes().length > 0 && disk == null) {
      throw new KeysRejected("version " + v + ": no disk key for this instance");
    }
    return new AgentKeys.VersionKeys(v, g, deriver, cert, disk, env, envCert, ca, caCert);
  }

  private static EthereumAddress verifyAppRoot(
      AppRootCertificate cert, Optional<EthereumAddress> pinned) throws KeysRejected {
    if (pinned.isPresent()) {
      SignatureChainVerifier.Result res =
          new SignatureChainVerifier(pinned.get()).verifyAppRoot(cert);
      if (!res.valid()) {
        throw new KeysRejected(
            "version "
                + cert.version()
                + ": app root key is not certified by the pinned KMS root "
                + pinned.get().toChecksumString()
                + ": "
                + res.detail());
      }
      return pinned.get();
    }
    Optional<EthereumAddress> signer =
        Secp256k1.recoverAddress(cert.message(), cert.kmsSignature());
    if (signer.isEmpty()) {
      throw new KeysRejected(
          "version " + cert.version() + ": the KMS signature on the app root key is invalid");
    }
    return signer.get();
  }

  private static PurposeKeyCertificate purposeCert(
      org.teekms.proto.PurposeKeyCertificate p, int g, AppId appId, int v) {
    Purpose purpose = Purpose.fromLabel(p.getPurpose());
    KeyAlgorithm alg = KeyAlgorithm.fromLabel(p.getAlgorithm());
    InstanceId inst =
        p.getInstanceId().isEmpty() ? null : InstanceId.of(p.getInstanceId().toByteArray());
    KeyRequest req = new KeyRequest(g, purpose, alg, appId, v, p.getPath(), inst);
    return new PurposeKeyCertificate(
        req,
        Bytes.copyOf(p.getPublicKey().toByteArray()),
        EthSignature.fromBytes(p.getAppRootSignature().toByteArray()));
  }

  private static SecretBytes secret(byte[] b, int length, String what, int v) throws KeysRejected {
    try {
      if (b.length != length) {
        throw new KeysRejected(
            "version " + v + ": " + what + " is " + b.length + " bytes, expected " + length);
      }
      return SecretBytes.copyOf(b, InsecureSecretAccess.get());
    } finally {
      java.util.Arrays.fill(b, (byte) 0);
    }
  }

  private static String hex(byte[] b) {
    return java.util.HexFormat.of().formatHex(b);
  }
}
