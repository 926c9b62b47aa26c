package org.teekms.cli;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.teekms.agent.boot.PublishedKmsIdentity;
import org.teekms.crypto.Bytes;
import org.teekms.governance.RootAnchor;
import org.teekms.keys.AppId;
import org.teekms.keys.AppRootCertificate;
import org.teekms.keys.DstackEnvKeySignature;
import org.teekms.keys.EthSignature;
import org.teekms.keys.EthereumAddress;
import org.teekms.keys.KeyAlgorithm;
import org.teekms.keys.KeyRequest;
import org.teekms.keys.Purpose;
import org.teekms.keys.PurposeKeyCertificate;
import org.teekms.keys.SignatureChain;
import org.teekms.keys.SignatureChainVerifier;
import org.teekms.proto.AppEnvEncryptPubKey;

/**
 * What {@code teekms env pubkey} checks in a KMS's AppEnv answer, in order (the first failure is
 * the reason):
 *
 * <ol>
 *   <li>shape: a 32-byte public key, 65-byte signatures ({@code ANSWER_MALFORMED});
 *   <li>freshness: the signed timestamp is at most {@code maxAge} old and at most 60 s ahead
 *       ({@code ANSWER_STALE});
 *   <li>dstack's {@code signature_v1} recovers a secp256k1 key K (the KMS root key), and the legacy
 *       signature recovers the same K ({@code SIGNATURE_INVALID});
 *   <li>the certificate chain: the app root certificate for (this app, the answer's key version and
 *       root generation) is signed by K, and it certifies purpose {@code env-encryption}, algorithm
 *       {@code x25519}, this public key ({@code CHAIN_INVALID});
 *   <li>with {@code expectedRoot}: K's address is that address ({@code KMS_ROOT_MISMATCH});
 *   <li>with the registry: {@code KmsRegistry.kmsIdentity(root_generation)} at a pinned block
 *       publishes K, and the generation is CURRENT or RETIRED there ({@code
 *       KMS_IDENTITY_UNAVAILABLE}, {@code KMS_IDENTITY_MISMATCH}).
 * </ol>
 *
 * Without 5 or 6 the key is only known to come from the KMS node whose RA-TLS certificate the
 * connection verified, with a root key of its own: the result says so ({@code kmsIdentityChecked:
 * false}).
 */
public final class EnvPubkeyCheck {
  static final Duration FUTURE_SKEW = Duration.ofSeconds(60);

  public record Result(
      String failure, String error, EthereumAddress kmsRoot, List<String> checked) {
    public boolean ok() {
      return failure == null;
    }
  }

  private EnvPubkeyCheck() {}

  public static Result verify(
      AppEnvEncryptPubKey a,
      AppId app,
      Instant now,
      Duration maxAge,
      Optional<EthereumAddress> expectedRoot,
      Optional<PublishedKmsIdentity.Registry> registry) {
    List<String> checked = new ArrayList<>();
    byte[] pub = a.getPublicKey().toByteArray();
    if (pub.length != 32 || a.getSignatureV1().size() != 65 || a.getSignature().size() != 65) {
      return new Result(
          "ANSWER_MALFORMED",
          "public key must be 32 bytes and signatures 65 bytes (got "
              + pub.length
              + ", "
              + a.getSignatureV1().size()
              + ", "
              + a.getSignature().size()
              + ")",
          null,
          checked);
    }
    Instant signedAt = Instant.ofEpochSecond(Math.min(a.getTimestamp(), Long.MAX_VALUE / 2));
    if (a.getTimestamp() < 0
        || signedAt.isBefore(now.minus(maxAge))
        || signedAt.isAfter(now.plus(FUTURE_SKEW))) {
      return new Result(
          "ANSWER_STALE",
          "signed at "
              + signedAt
              + ", outside [now - "
              + maxAge.toSeconds()
              + " s, now + "
              + FUTURE_SKEW.toSeconds()
              + " s] (now "
              + now
              + ")",
          null,
          checked);
    }
    checked.add("timestamp within " + maxAge.toSeconds() + " s");
    Optional<byte[]> k =
        DstackEnvKeySignature.recoverSigner(
            DstackEnvKeySignature.message(app, a.getTimestamp(), pub),
            a.getSignatureV1().toByteArray());
    Optional<byte[]> legacy =
        DstackEnvKeySignature.recoverSigner(
            DstackEnvKeySignature.legacyMessage(app, pub), a.getSignature().toByteArray());
    if (k.isEmpty()) {
      return new Result(
          "SIGNATURE_INVALID",
          "signature_v1 does not recover a key over (app, timestamp, public key)",
          null,
          checked);
    }
    EthereumAddress root = EthereumAddress.fromPublicKey(k.get());
    if (legacy.isEmpty() || !EthereumAddress.fromPublicKey(legacy.get()).equals(root)) {
      return new Result(
          "SIGNATURE_INVALID",
          "the legacy signature is not by the same key as signature_v1 ("
              + root.toChecksumString()
              + ")",
          root,
          checked);
    }
    checked.add("dstack signatures (v1 and legacy) by KMS root " + root.toChecksumString());
    try {
      var rc = a.getAppRootCertificate();
      AppRootCertificate appRoot =
          new AppRootCertificate(
              rc.getRootGeneration(),
              AppId.of(rc.getAppId().toByteArray()),
              rc.getKeyVersion(),
              Bytes.copyOf(rc.getAppRootPublicKey().toByteArray()),
              EthSignature.fromBytes(rc.getKmsSignature().toByteArray()));
      if (!appRoot.appId().equals(app)
          || appRoot.version() != a.getKeyVersion()
          || appRoot.generation() != a.getRootGeneration()) {
        return new Result(
            "CHAIN_INVALID",
            "the app root certificate is for app "
                + appRoot.appId()
                + " version "
                + appRoot.version()
                + " generation "
                + appRoot.generation()
                + ", not the answer's",
            root,
            checked);
      }
      var ec = a.getEnvEncryptionCertificate();
      if (!Purpose.ENV_ENCRYPTION.label().equals(ec.getPurpose())
          || !KeyAlgorithm.X25519.label().equals(ec.getAlgorithm())
          || !ec.getInstanceId().isEmpty()
          || !ec.getPublicKey().equals(a.getPublicKey())) {
        return new Result(
            "CHAIN_INVALID",
            "the purpose certificate is not an env-encryption x25519 certificate of this "
                + "public key",
            root,
            checked);
      }
      PurposeKeyCertificate env =
          new PurposeKeyCertificate(
              new KeyRequest(
                  a.getRootGeneration(),
                  Purpose.ENV_ENCRYPTION,
                  KeyAlgorithm.X25519,
                  app,
                  a.getKeyVersion(),
                  ec.getPath(),
                  null),
              Bytes.copyOf(pub),
              EthSignature.fromBytes(ec.getAppRootSignature().toByteArray()));
      SignatureChainVerifier.Result r =
          new SignatureChainVerifier(root).verify(new SignatureChain(appRoot, env));
      if (!r.valid()) {
        return new Result("CHAIN_INVALID", "certificate chain: " + r.detail(), root, checked);
      }
    } catch (RuntimeException e) {
      return new Result(
          "CHAIN_INVALID", "certificate chain malformed: " + e.getMessage(), root, checked);
    }
    checked.add(
        "certificate chain KMS root -> app root (version "
            + a.getKeyVersion()
            + ", generation "
            + a.getRootGeneration()
            + ") -> env-encryption x25519 key");
    if (expectedRoot.isPresent()) {
      if (!expectedRoot.get().equals(root)) {
        return new Result(
            "KMS_ROOT_MISMATCH",
            "signed by KMS root "
                + root.toChecksumString()
                + ", expected "
                + expectedRoot.get().toChecksumString(),
            root,
            checked);
      }
      checked.add("KMS root equals the expected root " + expectedRoot.get().toChecksumString());
    }
    if (registry.isPresent()) {
      PublishedKmsIdentity.Entry e;
      try {
        e = registry.get().read(a.getRootGeneration());
      } catch (Exception ex) {
        return new Result(
            "KMS_IDENTITY_UNAVAILABLE",
            "cannot read KmsRegistry.kmsIdentity("
                + a.getRootGeneration()
                + "): "
                + ex.getMessage(),
            root,
            checked);
      }
      EthereumAddress published;
      try {
        published = EthereumAddress.fromPublicKey(e.identity().rootPublicKeys().toByteArray());
      } catch (RuntimeException ex) {
        return new Result(
            "KMS_IDENTITY_UNAVAILABLE",
            "generation "
                + a.getRootGeneration()
                + " has no published root public key at block "
                + e.blockNumber(),
            root,
            checked);
      }
      if (!published.equals(root)) {
        return new Result(
            "KMS_IDENTITY_MISMATCH",
            "signed by KMS root "
                + root.toChecksumString()
                + ", but the registry publishes "
                + published.toChecksumString()
                + " for generation "
                + a.getRootGeneration()
                + " at block "
                + e.blockNumber(),
            root,
            checked);
      }
      if (e.state() != RootAnchor.State.CURRENT && e.state() != RootAnchor.State.RETIRED) {
        return new Result(
            "KMS_IDENTITY_MISMATCH",
            "the registry says root generation "
                + a.getRootGeneration()
                + " is "
                + e.state()
                + " at block "
                + e.blockNumber(),
            root,
            checked);
      }
      checked.add(
          "KMS root published on chain for generation "
              + a.getRootGeneration()
              + " ("
              + e.state()
              + ") at block "
              + e.blockNumber()
              + " "
              + e.blockHash());
    }
    return new Result(null, null, root, checked);
  }

  static String hex(byte[] b) {
    return HexFormat.of().formatHex(b);
  }
}
