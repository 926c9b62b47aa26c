package org.teekms.kms.admission;

import java.util.HexFormat;
import java.util.Optional;

/**
 * The nonce a client sends with GetAppKeys ({@code client_nonce}, at most 64 bytes), echoed as hex
 * into the audit entry of the grant or denial (detail key {@value #AUDIT_KEY}), so that the client
 * can find its own entry in the hash-chained log. It is the client's value: recorded, never trusted
 * for anything else.
 */
public final class ClientNonce {

  /** The longest nonce accepted (kms.proto). */
  public static final int MAX_BYTES = 64;

  /** The audit detail key that holds it. */
  public static final String AUDIT_KEY = "clientNonce";

  /** No nonce sent: nothing is recorded. */
  public static final ClientNonce NONE = new ClientNonce("");

  private final String hex;

  private ClientNonce(String hex) {
    this.hex = hex;
  }

  /**
   * @throws AdmissionDenied REQUEST_INVALID when longer than {@link #MAX_BYTES}
   */
  public static ClientNonce of(byte[] nonce) {
    if (nonce.length > MAX_BYTES) {
      throw new AdmissionDenied(
          DenyCode.REQUEST_INVALID,
          "client_nonce longer than " + MAX_BYTES + " bytes (" + nonce.length + ")");
    }
    return nonce.length == 0 ? NONE : new ClientNonce(HexFormat.of().formatHex(nonce));
  }

  /** Lower-case hex, empty when no nonce was sent. */
  public Optional<String> hex() {
    return hex.isEmpty() ? Optional.empty() : Optional.of(hex);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ClientNonce n && n.hex.equals(hex);
  }

  @Override
  public int hashCode() {
    return hex.hashCode();
  }

  @Override
  public String toString() {
    return "ClientNonce[" + hex + "]";
  }
}
