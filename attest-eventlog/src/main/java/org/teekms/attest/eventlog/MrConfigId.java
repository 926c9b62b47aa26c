package org.teekms.attest.eventlog;

import java.security.MessageDigest;
import java.util.Optional;
import org.teekms.crypto.Bytes;

/**
 * dstack's MRCONFIGID binding of the app-compose: the host's VMM launches the TD with MRCONFIGID =
 * {@code 0x01 ‖ compose_hash ‖ 0x00 × 15} (48 bytes; dstack's {@code MrConfig::V1}), so the
 * hardware-measured launch configuration names the same compose the CVM measures into RTMR3 ({@code
 * compose-hash}). A zero MRCONFIGID means "unset" (dstack deployments that do not bind it) and is
 * accepted; anything else must be exactly version 1 over the measured compose hash. dstack's
 * versions 2 (a Keccak digest over compose hash, app id and key provider) and 3 (a digest of a JSON
 * launch document) are refused, not skipped: a binding we cannot check is not a binding we accept.
 * See docs/ra-tls.md (MRCONFIGID).
 */
public final class MrConfigId {
  public static final int LENGTH = 48;

  /** dstack's MRCONFIGID version 1: the compose hash. */
  public static final int V1 = 0x01;

  private MrConfigId() {}

  /**
   * {@code 0x01 ‖ composeHash ‖ 0x00 × 15}: what dstack's VMM sets for an app-compose with this
   * SHA-256.
   */
  public static byte[] v1(byte[] composeHash) {
    if (composeHash.length != 32) {
      throw new IllegalArgumentException("compose hash is 32 bytes, got " + composeHash.length);
    }
    byte[] id = new byte[LENGTH];
    id[0] = V1;
    System.arraycopy(composeHash, 0, id, 1, 32);
    return id;
  }

  /**
   * Why the quoted MRCONFIGID does not bind the measured compose hash, or empty when it is zero or
   * binds it. The reason is one line and names both values.
   */
  public static Optional<String> mismatch(Bytes mrConfigId, Bytes composeHash) {
    if (mrConfigId.length() != LENGTH) {
      return Optional.of("MRCONFIGID is " + mrConfigId.length() + " bytes, not 48");
    }
    if (mrConfigId.isAllZero()) {
      return Optional.empty();
    }
    int version = mrConfigId.get(0);
    if (version != V1) {
      return Optional.of(
          "MRCONFIGID version "
              + version
              + " is not accepted (only zero or version 1, 0x01 ‖ "
              + "compose hash): "
              + mrConfigId.hex());
    }
    byte[] expected = v1(composeHash.toByteArray());
    if (!MessageDigest.isEqual(expected, mrConfigId.toByteArray())) {
      return Optional.of(
          "MRCONFIGID "
              + mrConfigId.hex()
              + " does not bind the measured compose hash "
              + composeHash.hex()
              + " (expected "
              + Bytes.copyOf(expected).hex()
              + ")");
    }
    return Optional.empty();
  }
}
