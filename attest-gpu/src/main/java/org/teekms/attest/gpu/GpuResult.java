package org.teekms.attest.gpu;

/**
 * What verifying one GPU's evidence established. {@code valid} means: the report parsed, its
 * signature verifies with the attestation key certificate, the chain leads to the configured device
 * root at the verification time, the nonce is the expected one, the FWID matches, revocation is
 * acceptable under the OCSP mode, and (when a RIM store is configured) every active measurement
 * matches. Otherwise {@code failure} and {@code error} say why, and the fields established before
 * the failure are still filled in (null where unknown).
 *
 * @param deviceId SHA-256 (hex) of the DER device-identity certificate (chain index 1, "GH100 A01
 *     GSP BROM"): stable for a physical GPU, unlike the leaf, which changes with firmware
 * @param simulated whether the device root is a simulator root ("SIMULATED" in its subject)
 */
public record GpuResult(
    boolean valid,
    GpuArchitecture arch,
    String driverVersion,
    String vbiosVersion,
    MeasurementResult measurements,
    OcspResult ocsp,
    String deviceId,
    boolean simulated,
    GpuAttestationException.Reason failure,
    String error) {

  public GpuResult {
    if (valid != (failure == null)) {
      throw new IllegalArgumentException("a valid result has no failure, an invalid one has one");
    }
  }
}
