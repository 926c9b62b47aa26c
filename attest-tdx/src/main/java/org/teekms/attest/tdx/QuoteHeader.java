package org.teekms.attest.tdx;

import org.teekms.crypto.Bytes;

/**
 * The 48-byte quote header. Bytes 8..11 are QE_SVN and PCE_SVN in v3; v4/v5 TDX quotes carry zeros
 * there (reserved).
 */
public record QuoteHeader(
    int version,
    int attestationKeyType,
    TeeType teeType,
    int qeSvn,
    int pceSvn,
    Bytes qeVendorId,
    Bytes userData) {

  public static final int SIZE = 48;

  /**
   * ECDSA-256-with-P-256 curve: the only attestation key type DCAP defines for these quote
   * versions.
   */
  public static final int ATTESTATION_KEY_ECDSA_P256 = 2;

  /**
   * The QE ID: the first 16 bytes of user data, which Intel's quoting enclaves fill with their
   * platform-specific id. Two quotes with the same QE ID were produced by the same QE on the same
   * machine (dstack's local key provider relies on this to tie an SGX enclave to a TD).
   */
  public Bytes qeId() {
    return Bytes.copyOf(userData.toByteArray(), 0, 16);
  }
}
