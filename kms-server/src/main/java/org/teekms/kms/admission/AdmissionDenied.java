package org.teekms.kms.admission;

import java.util.Optional;
import org.teekms.kms.grant.PolicyBlockRef;

/**
 * A refusal with its code and a precise, non-secret detail (safe to send to the client and to log),
 * and the chain block the policy was read at when the refusal came after that read (audited with
 * it).
 */
public final class AdmissionDenied extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final DenyCode code;
  private final String detail;
  private final transient PolicyBlockRef block;

  public AdmissionDenied(DenyCode code, String detail) {
    this(code, detail, null);
  }

  private AdmissionDenied(DenyCode code, String detail, PolicyBlockRef block) {
    super(code.name() + ": " + detail, null, false, false);
    this.code = code;
    this.detail = detail;
    this.block = block;
  }

  public DenyCode code() {
    return code;
  }

  public String detail() {
    return detail;
  }

  /**
   * The block the refused decision read the chain at; empty when the refusal came before (or
   * without) that read.
   */
  public Optional<PolicyBlockRef> block() {
    return Optional.ofNullable(block);
  }

  /**
   * This refusal, decided with the policy read at {@code at} (a block already recorded is kept).
   */
  public AdmissionDenied at(Optional<PolicyBlockRef> at) {
    if (block != null || at.isEmpty()) {
      return this;
    }
    return new AdmissionDenied(code, detail, at.get());
  }
}
