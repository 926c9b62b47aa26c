package org.teekms.verifier;

import java.util.Objects;

/**
 * One named row of a verification: what was checked, whether it passed, and in one line why (or
 * what was found).
 *
 * @param name the check, e.g. {@code "signature"}, {@code "compose hash (on chain)"}
 * @param status PASS, FAIL, or SKIP when it could not run because an earlier check failed
 * @param code the failure code when it failed ({@code SIGNATURE_INVALID}, …), else null
 * @param detail one line: what was established, or why it failed
 */
public record Check(String name, Status status, String code, String detail) {
  /** The outcome of one check. */
  public enum Status {
    PASS,
    FAIL,
    SKIP
  }

  public Check {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(detail, "detail");
    if ((status == Status.FAIL) != (code != null)) {
      throw new IllegalArgumentException("a failed check has a code, no other check has one");
    }
  }

  public static Check pass(String name, String detail) {
    return new Check(name, Status.PASS, null, detail);
  }

  public static Check fail(String name, String code, String detail) {
    return new Check(name, Status.FAIL, code, detail);
  }

  public static Check skip(String name, String detail) {
    return new Check(name, Status.SKIP, null, detail);
  }

  public boolean passed() {
    return status == Status.PASS;
  }
}
