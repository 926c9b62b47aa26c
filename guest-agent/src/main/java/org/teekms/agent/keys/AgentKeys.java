package org.teekms.agent.keys;

import java.util.Collections;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.TreeMap;
import org.teekms.keys.AppId;
import org.teekms.keys.AppKeyDeriver;
import org.teekms.keys.AppRootCertificate;
import org.teekms.keys.DerivedKey;
import org.teekms.keys.EthereumAddress;
import org.teekms.keys.InsecureSecretAccess;
import org.teekms.keys.InstanceId;
import org.teekms.keys.KeyAlgorithm;
import org.teekms.keys.PurposeKeyCertificate;
import org.teekms.keys.SecretBytes;
import org.teekms.keys.SignatureChain;

/**
 * The keys the KMS released to this CVM, held in memory only (never written anywhere) and destroyed
 * on {@link #close()}. Built and checked by {@code AppKeysVerifier}. App-tier keys are derived
 * locally from the app root secret of the current version with the rules of docs/key-derivation.md.
 */
public final class AgentKeys implements AutoCloseable {
  /**
   * Path of the response-signing key (purpose {@code signing}, secp256k1): stable until the key
   * version rotates.
   */
  public static final String RESPONSE_SIGNING_PATH = "teekms/response-signing";

  /** The keys of one key version. */
  public record VersionKeys(
      int version,
      int generation,
      AppKeyDeriver deriver,
      AppRootCertificate appRootCertificate,
      SecretBytes diskKey,
      SecretBytes envEncryptionKey,
      PurposeKeyCertificate envEncryptionCertificate,
      SecretBytes appCaKey,
      PurposeKeyCertificate appCaCertificate) {

    void destroy() {
      deriver.appRoot().destroy();
      if (diskKey != null) {
        diskKey.destroy();
      }
      envEncryptionKey.destroy();
      appCaKey.destroy();
    }

    @Override
    public String toString() {
      return "VersionKeys[v=" + version + ", gen=" + generation + ", secrets=<redacted>]";
    }
  }

  private final AppId appId;
  private final InstanceId instanceId;
  private final Map<Integer, EthereumAddress> kmsRoots;
  private final int currentVersion;
  private final int minVersion;
  private final String grantId;
  private final NavigableMap<Integer, VersionKeys> versions;

  /**
   * @param kmsRoots the KMS root address that certified the released versions, per root generation
   */
  public AgentKeys(
      AppId appId,
      InstanceId instanceId,
      Map<Integer, EthereumAddress> kmsRoots,
      int currentVersion,
      int minVersion,
      String grantId,
      Map<Integer, VersionKeys> versions) {
    this.appId = Objects.requireNonNull(appId);
    this.instanceId = Objects.requireNonNull(instanceId);
    this.kmsRoots = Collections.unmodifiableNavigableMap(new TreeMap<>(kmsRoots));
    this.currentVersion = currentVersion;
    this.minVersion = minVersion;
    this.grantId = grantId;
    this.versions = Collections.unmodifiableNavigableMap(new TreeMap<>(versions));
    if (!this.versions.containsKey(currentVersion)) {
      throw new IllegalArgumentException(
          "the KMS did not release the current key version " + currentVersion);
    }
    for (VersionKeys v : this.versions.values()) {
      if (!this.kmsRoots.containsKey(v.generation())) {
        throw new IllegalArgumentException("no KMS root for root generation " + v.generation());
      }
    }
  }

  public AppId appId() {
    return appId;
  }

  public InstanceId instanceId() {
    return instanceId;
  }

  /**
   * The KMS root address that certified the current version's app root (what clients verify the
   * signature chains of the current keys against).
   */
  public EthereumAddress kmsRootAddress() {
    return kmsRoots.get(current().generation());
  }

  /** The KMS root address per root generation of the released versions. */
  public Map<Integer, EthereumAddress> kmsRoots() {
    return kmsRoots;
  }

  public int currentVersion() {
    return currentVersion;
  }

  public int minVersion() {
    return minVersion;
  }

  public String grantId() {
    return grantId;
  }

  public VersionKeys current() {
    return versions.get(currentVersion);
  }

  public NavigableMap<Integer, VersionKeys> versions() {
    return versions;
  }

  /** The response-signing key of the current version (caller closes it). */
  public DerivedKey responseSigningKey() {
    return current().deriver().signingKey(KeyAlgorithm.SECP256K1, RESPONSE_SIGNING_PATH);
  }

  /** The signature chain of {@code key} (a key derived from the current version's app root). */
  public SignatureChain chainOf(DerivedKey key) {
    return new SignatureChain(current().appRootCertificate(), current().deriver().certify(key));
  }

  /**
   * The LUKS2 passphrase of the current version's disk key: its 64 lowercase hex characters
   * (docs/key-derivation.md §5). The caller destroys the returned secret.
   */
  public SecretBytes diskPassphrase() {
    SecretBytes disk = current().diskKey();
    if (disk == null) {
      throw new IllegalStateException(
          "the KMS released no disk key (the app runs without an instance id)");
    }
    InsecureSecretAccess access = InsecureSecretAccess.get();
    byte[] raw = disk.toByteArray(access);
    byte[] ascii = new byte[raw.length * 2];
    final byte[] digits = "0123456789abcdef".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    for (int i = 0; i < raw.length; i++) {
      ascii[2 * i] = digits[(raw[i] >> 4) & 0xf];
      ascii[2 * i + 1] = digits[raw[i] & 0xf];
    }
    java.util.Arrays.fill(raw, (byte) 0);
    SecretBytes out = SecretBytes.copyOf(ascii, access);
    java.util.Arrays.fill(ascii, (byte) 0);
    return out;
  }

  @Override
  public void close() {
    versions.values().forEach(VersionKeys::destroy);
  }

  @Override
  public String toString() {
    return "AgentKeys[app="
        + appId
        + ", instance="
        + instanceId
        + ", current="
        + currentVersion
        + ", versions="
        + versions.keySet()
        + ", secrets=<redacted>]";
  }
}
