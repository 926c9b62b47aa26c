package org.teekms.kms.admission;

/**
 * Why an admission was refused. Names equal kms-proto's {@code DenyReason} (the gRPC layer maps by
 * name) and are what the audit log's {@code reason} column holds. {@link #unavailable()} marks
 * refusals caused by a dependency being down (gRPC UNAVAILABLE: the client may retry) rather than
 * by policy (PERMISSION_DENIED).
 */
public enum DenyCode {
  NO_CLIENT_CERTIFICATE(false),
  ATTESTATION_INVALID(false),
  DEBUG_TD(false),
  TCB_NOT_ACCEPTED(false),
  GPU_POLICY_UNMET(false),
  APP_NOT_REGISTERED(false),
  COMPOSE_HASH_NOT_ALLOWED(false),
  DEVICE_NOT_ALLOWED(false),
  OS_IMAGE_NOT_ALLOWED(false),
  POLICY_DENIED(false),
  CHAIN_UNAVAILABLE(true),
  KEY_VERSION_NOT_SERVED(false),
  KMS_UNAVAILABLE(true),
  KMS_NOT_ALLOWED(false),
  REQUEST_INVALID(false),
  KMS_KEY_PROVIDER_MISMATCH(false),
  /**
   * The OS image claimed in RTMR3 is not proven by MRTD/RTMR0-2: no golden mrSystem registered for
   * it matches.
   */
  OS_IMAGE_MEASUREMENT_MISMATCH(false),
  /**
   * The RA-TLS certificate of the connection expired after its handshake (HTTP/2 keeps connections
   * open): the client must re-connect with a fresh certificate. Not "unavailable": retrying on the
   * same connection cannot succeed.
   */
  ATTESTATION_EXPIRED(false),
  /**
   * The database's root generations contradict the registry's anchor (a restored backup or a
   * rollback).
   */
  ROOT_ANCHOR_MISMATCH(false),
  GPU_EVIDENCE_MISSING(false),
  GPU_EVIDENCE_INVALID(false),
  GPU_NOT_MEASURED(false),
  GPU_NONCE_MISMATCH(false),
  GPU_MEASUREMENT_MISMATCH(false),
  GPU_RIM_UNAVAILABLE(false),
  GPU_REVOKED(false),
  GPU_REVOCATION_UNAVAILABLE(true),
  GPU_COUNT(false),
  GPU_DUPLICATE_DEVICE(false),
  GPU_ARCHITECTURE(false),
  GPU_DRIVER_VERSION(false),
  GPU_VERIFIER_NOT_CONFIGURED(false),
  /**
   * The quote verified but the KMS's quote policy refuses the TD itself: TD attributes (MIGRATABLE,
   * reserved bits, SEPT_VE_DISABLE clear), a TDX module (MRSEAM) not allowed, or a service-TD
   * binding.
   */
  TD_NOT_ACCEPTED(false),
  /**
   * An unauthenticated read (AppEnv) exceeded its source's budget (gRPC RESOURCE_EXHAUSTED; retry
   * later).
   */
  RATE_LIMITED(true),
  /**
   * The GPU evidence presented is not from the devices the CVM measured at boot (RTMR3 {@code
   * gpu-devices}).
   */
  GPU_DEVICE_CHANGED(false),
  /**
   * The TD's MRCONFIGID (the host's launch configuration) is non-zero and is not {@code 0x01 ‖
   * SHA-256} of the app-compose the CVM measured: the host launched it for another compose, or with
   * a binding we cannot check.
   */
  MR_CONFIG_ID_MISMATCH(false),
  /**
   * The client's RA-TLS certificate is not yet valid by this KMS's clock, beyond the clock-skew
   * allowance ({@code teekms.ratls.clock-skew-allowance}), and nothing says this KMS's clock is the
   * wrong one: the client's clock is ahead.
   */
  CERTIFICATE_NOT_YET_VALID(false),
  /**
   * This KMS's clock is off the chain's (the latest block's timestamp, read through the RPC quorum)
   * by more than the clock-skew allowance, in the direction that explains why the client's
   * certificate looks not yet valid (or expired): the fault is the KMS's, so the client may retry
   * (another node, or after the operator fixes the clock).
   */
  KMS_CLOCK_SKEW(true);

  private final boolean unavailable;

  DenyCode(boolean unavailable) {
    this.unavailable = unavailable;
  }

  public boolean unavailable() {
    return unavailable;
  }
}
