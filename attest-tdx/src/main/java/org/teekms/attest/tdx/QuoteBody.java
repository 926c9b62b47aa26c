package org.teekms.attest.tdx;

import org.teekms.crypto.Bytes;

/** The attested report in a quote: a TD report (TDX 1.0 or 1.5) or an SGX enclave report. */
public sealed interface QuoteBody permits TdReport, EnclaveReport {
  /**
   * REPORTDATA: 64 bytes chosen by the attested software (for RA-TLS, a hash of its public key).
   */
  Bytes reportData();
}
