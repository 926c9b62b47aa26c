package org.teekms.attest.tdx;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.teekms.crypto.Bytes;

/**
 * What verifying a quote established. When {@link #valid()} the quote is genuine (signed by a QE on
 * a platform that chains to the trust anchor), the collateral is current, and the platform's TCB
 * matched a level with {@link #status()}; whether that status, its advisories and the TD's fields
 * are acceptable is for a {@link QuotePolicy} to decide.
 *
 * <p>When invalid, {@link #failure()} and {@link #error()} say why. Fields that were established
 * before the failing check are still filled in (e.g. the parsed quote, or the status {@code
 * Revoked}); the others are {@code null} or empty.
 */
public record QuoteVerificationResult(
    boolean valid,
    VerificationFailure failure,
    String error,
    Instant verifiedAt,
    TdxQuote quote,
    PckExtension pck,
    TcbEvaluation tcb,
    Map<String, String> collateralDigests) {

  public QuoteVerificationResult {
    collateralDigests = collateralDigests == null ? Map.of() : Map.copyOf(collateralDigests);
  }

  /** The combined TCB status, or {@code null} if verification failed before TCB evaluation. */
  public TcbStatus status() {
    return tcb == null ? null : tcb.status();
  }

  public List<String> advisoryIds() {
    return tcb == null ? List.of() : tcb.advisoryIds();
  }

  /** The TD report, or {@code null} for SGX quotes or unparsable input. */
  public TdReport td() {
    return quote == null ? null : quote.tdReport();
  }

  public Bytes fmspc() {
    return pck == null ? null : pck.fmspc();
  }

  /** SHA-256 of the PCK certificate's PPID. */
  public Bytes deviceId() {
    return pck == null ? null : pck.deviceId();
  }
}
