package org.teekms.governance;

/**
 * Why a policy view ({@code KmsRegistry.isAppAllowed} / {@code isKmsAllowed}, {@code
 * AppPolicy.isAppAllowed}) denied a boot: the Solidity enum {@code Denial} of GovernanceTypes.sol,
 * returned as a uint8 next to the reason in words, in the same order (the ordinal is the on-chain
 * value; values are only ever appended). {@link #NONE} means allowed. Callers branch on this, never
 * on the reason string (docs/governance.md, "Denial codes").
 */
public enum ChainDenial {
  /** 0: allowed. */
  NONE,
  /** 1: no app with this id was ever registered. */
  APP_NOT_REGISTERED,
  /** 2: the app was deregistered (for good). */
  APP_DEREGISTERED,
  /** 3: the OS image hash is not in the registry's list. */
  OS_IMAGE_NOT_ALLOWED,
  /**
   * 4: the OS image is neither proven by a measurement document nor a registered golden mrSystem
   * for it.
   */
  OS_IMAGE_MEASUREMENT_MISMATCH,
  /** 5: the DCAP TCB status is not in the registry's TCB policy. */
  TCB_STATUS_NOT_ALLOWED,
  /** 6: an Intel advisory reported for the platform is not tolerated by the registry. */
  ADVISORY_NOT_ALLOWED,
  /** 7: AppPolicy.isAppAllowed was asked about another app's boot. */
  APP_ID_MISMATCH,
  /** 8: the app owner disabled the app. */
  APP_DISABLED,
  /** 9: the compose hash is not in the app's list. */
  COMPOSE_HASH_NOT_ALLOWED,
  /** 10: the device id is not in the app's list (and the app does not allow any device). */
  DEVICE_NOT_ALLOWED,
  /** 11: the app requires TCB status UpToDate. */
  TCB_NOT_UP_TO_DATE,
  /** 12: fewer attested GPUs than the effective GPU policy requires. */
  GPU_COUNT_BELOW_REQUIRED,
  /** 13: the attested GPUs are not of the required architecture. */
  GPU_ARCHITECTURE_NOT_ALLOWED,
  /** 14: the lowest attested GPU driver version is below the required minimum. */
  GPU_DRIVER_BELOW_MINIMUM,
  /** 15: isKmsAllowed: mrAggregated is not a registered KMS measurement. */
  KMS_MEASUREMENT_NOT_ALLOWED,
  /** 16: isKmsAllowed: the device id is not a registered KMS device. */
  KMS_DEVICE_NOT_ALLOWED;

  private static final ChainDenial[] VALUES = values();

  /**
   * The enum for an on-chain value. A value this build does not know (a newer contract) is an
   * IllegalArgumentException: the caller treats the answer as malformed and denies (fail closed).
   */
  public static ChainDenial ofCode(long code) {
    if (code < 0 || code >= VALUES.length) {
      throw new IllegalArgumentException(
          "unknown denial code " + code + " (this build knows 0.." + (VALUES.length - 1) + ")");
    }
    return VALUES[(int) code];
  }

  /** The on-chain uint8 value. */
  public int code() {
    return ordinal();
  }
}
