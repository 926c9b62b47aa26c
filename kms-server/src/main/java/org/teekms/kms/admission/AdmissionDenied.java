package org.teekms.kms.admission;

/** A refusal with its code and a precise, non-secret detail (safe to send to the client and to log). */
public final class AdmissionDenied extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final DenyCode code;
  private final String detail;

  public AdmissionDenied(DenyCode code, String detail) {
    super(code.name() + ": " + detail, null, false, false);
    this.code = code;
    this.detail = detail;
  }

  public DenyCode code() {
    return code;
  }

  public String detail() {
    return detail;
  }
}
