package org.teekms.kms.keys;

import java.util.Arrays;
import java.util.Optional;
import javax.security.auth.Destroyable;
import org.teekms.keys.AppRootCertificate;
import org.teekms.keys.PurposeKeyCertificate;

/**
 * The keys of one (app, version) as released to an admitted CVM. Holds secret bytes: the gRPC layer
 * copies them into the response and calls {@link #destroy()}; {@code toString} shows no secret.
 */
public final class ReleasedAppKeys implements Destroyable {

  private final int version;
  private final int generation;
  private final byte[] diskKey;
  private final byte[] appRootSecret;
  private final AppRootCertificate appRootCertificate;
  private final byte[] envEncryptionKey;
  private final PurposeKeyCertificate envEncryptionCertificate;
  private final byte[] appCaKey;
  private final PurposeKeyCertificate appCaCertificate;
  private final byte[] appCaX509;
  private final byte[] kmsCaX509;
  private boolean destroyed;

  ReleasedAppKeys(
      int version,
      int generation,
      byte[] diskKey,
      byte[] appRootSecret,
      AppRootCertificate appRootCertificate,
      byte[] envEncryptionKey,
      PurposeKeyCertificate envEncryptionCertificate,
      byte[] appCaKey,
      PurposeKeyCertificate appCaCertificate,
      byte[] appCaX509,
      byte[] kmsCaX509) {
    this.version = version;
    this.generation = generation;
    this.diskKey = diskKey;
    this.appRootSecret = appRootSecret;
    this.appRootCertificate = appRootCertificate;
    this.envEncryptionKey = envEncryptionKey;
    this.envEncryptionCertificate = envEncryptionCertificate;
    this.appCaKey = appCaKey;
    this.appCaCertificate = appCaCertificate;
    this.appCaX509 = appCaX509;
    this.kmsCaX509 = kmsCaX509;
  }

  /**
   * X.509 certificate (DER) of the app CA key, issued by the KMS CA of this version's root
   * generation.
   */
  public byte[] appCaX509() {
    return appCaX509.clone();
  }

  /** The self-signed KMS CA certificate (DER) of this version's root generation. */
  public byte[] kmsCaX509() {
    return kmsCaX509.clone();
  }

  public int version() {
    return version;
  }

  public int generation() {
    return generation;
  }

  /** Empty when the CVM measured no instance id (disk keys are bound to one). */
  public Optional<byte[]> diskKey() {
    check();
    return Optional.ofNullable(diskKey).map(byte[]::clone);
  }

  public byte[] appRootSecret() {
    check();
    return appRootSecret.clone();
  }

  public AppRootCertificate appRootCertificate() {
    return appRootCertificate;
  }

  public byte[] envEncryptionKey() {
    check();
    return envEncryptionKey.clone();
  }

  public PurposeKeyCertificate envEncryptionCertificate() {
    return envEncryptionCertificate;
  }

  public byte[] appCaKey() {
    check();
    return appCaKey.clone();
  }

  public PurposeKeyCertificate appCaCertificate() {
    return appCaCertificate;
  }

  private void check() {
    if (destroyed) {
      throw new IllegalStateException("released keys were destroyed");
    }
  }

  @Override
  public void destroy() {
    for (byte[] b : new byte[][] {diskKey, appRootSecret, envEncryptionKey, appCaKey}) {
      if (b != null) {
        Arrays.fill(b, (byte) 0);
      }
    }
    destroyed = true;
  }

  @Override
  public boolean isDestroyed() {
    return destroyed;
  }

  @Override
  public String toString() {
    return "ReleasedAppKeys[version="
        + version
        + ", generation="
        + generation
        + ", <secrets redacted>]";
  }
}
