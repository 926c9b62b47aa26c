package org.teekms.attest.tdx;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.teekms.crypto.Bytes;

/**
 * Decides, after verification, whether a verified quote is acceptable: which TCB statuses and
 * advisories are tolerated, whether the TD may be a debug TD (never, unless a test policy says so),
 * which TDX modules (MRSEAM) are allowed, and the TD attribute rules dcap-qvl also applies
 * (SEPT_VE_DISABLE set, no reserved bits, MIGRATABLE (bit 29) clear, no service TD). PKS, KL and
 * PERFMON are allowed, as dcap-qvl and Intel's QVL allow them: they enable CPU features inside the
 * TD and give the host no access to it. Build one with {@link #builder()}; the defaults are the
 * strictest setting.
 */
public record QuotePolicy(
    Set<TcbStatus> allowedStatuses,
    Set<String> allowedAdvisoryIds,
    boolean allowAnyAdvisory,
    boolean allowDebug,
    Set<Bytes> allowedMrSeams,
    boolean requireSeptVeDisable,
    boolean allowServiceTd,
    boolean allowSgx) {

  public QuotePolicy {
    allowedStatuses = Set.copyOf(allowedStatuses);
    allowedAdvisoryIds = Set.copyOf(allowedAdvisoryIds);
    allowedMrSeams = Set.copyOf(allowedMrSeams);
    if (allowedStatuses.contains(TcbStatus.Revoked)) {
      throw new IllegalArgumentException("a policy cannot allow the Revoked TCB status");
    }
  }

  /**
   * Which rule a quote breaks: callers that map refusals to their own codes switch on it, not on
   * the text.
   */
  public enum Rule {
    /**
     * The quote itself did not verify (only when evaluating a failed {@link
     * QuoteVerificationResult}).
     */
    NOT_VERIFIED,
    TCB_STATUS,
    ADVISORY,
    /** An SGX enclave quote where only TDX is allowed. */
    SGX,
    /** TD_ATTRIBUTES.DEBUG (or an SGX debug enclave). */
    DEBUG,
    /** Reserved or MIGRATABLE TD_ATTRIBUTES bits set, or SEPT_VE_DISABLE clear. */
    TD_ATTRIBUTES,
    /** The TDX module (MRSEAM) is not an allowed one. */
    MRSEAM,
    /** The TD is bound to a service TD. */
    SERVICE_TD
  }

  /** One broken rule and what exactly broke it. */
  public record Violation(Rule rule, String detail) {
    public Violation {
      java.util.Objects.requireNonNull(rule, "rule");
      java.util.Objects.requireNonNull(detail, "detail");
    }
  }

  /** The decision: allowed, or every rule the quote breaks, in evaluation order. */
  public record Decision(List<Violation> broken) {
    public Decision {
      broken = List.copyOf(broken);
    }

    public boolean allowed() {
      return broken.isEmpty();
    }

    /** The broken rules' details, in order. */
    public List<String> violations() {
      return broken.stream().map(Violation::detail).toList();
    }
  }

  public Decision evaluate(QuoteVerificationResult result) {
    if (!result.valid()) {
      return new Decision(
          List.of(
              new Violation(
                  Rule.NOT_VERIFIED,
                  "quote did not verify (" + result.failure() + "): " + result.error())));
    }
    TdReport td = result.td();
    if (td == null) {
      List<Violation> v = new ArrayList<>(platform(result.status(), result.advisoryIds()));
      if (!allowSgx) {
        v.add(new Violation(Rule.SGX, "SGX enclave quotes are not allowed"));
      } else if (!allowDebug && result.quote().enclaveReport().debug()) {
        v.add(new Violation(Rule.DEBUG, "debug enclave is not allowed"));
      }
      return new Decision(v);
    }
    return evaluate(result.status(), result.advisoryIds(), td);
  }

  /**
   * The policy for a TD whose quote verified (DCAP) with TCB status {@code status} and {@code
   * advisoryIds}: what a caller applies when the verification and the policy run in different
   * places (the KMS: evidence in the TLS handshake, policy in admission).
   */
  public Decision evaluate(TcbStatus status, List<String> advisoryIds, TdReport td) {
    java.util.Objects.requireNonNull(td, "td");
    List<Violation> v = new ArrayList<>(platform(status, advisoryIds));
    TdAttributes attrs = td.tdAttributes();
    if (attrs.debug() && !allowDebug) {
      v.add(new Violation(Rule.DEBUG, "debug TD is not allowed (TD_ATTRIBUTES.DEBUG is set)"));
    }
    if (attrs.reservedBitsSet()) {
      v.add(
          new Violation(
              Rule.TD_ATTRIBUTES, "reserved TD_ATTRIBUTES bits are set: " + attrs.raw().hex()));
    }
    // No option: a migratable TD's memory and keys may be exported to another platform through a
    // migration TD that
    // a TD 1.0 report does not name (dcap-qvl refuses bit 29 as reserved).
    if (attrs.migratable()) {
      v.add(
          new Violation(
              Rule.TD_ATTRIBUTES,
              "migratable TD is not allowed (TD_ATTRIBUTES.MIGRATABLE, bit 29, is set: "
                  + attrs.raw().hex()
                  + ")"));
    }
    if (requireSeptVeDisable && !attrs.septVeDisable()) {
      v.add(new Violation(Rule.TD_ATTRIBUTES, "TD_ATTRIBUTES.SEPT_VE_DISABLE is not set"));
    }
    if (!allowedMrSeams.isEmpty() && !allowedMrSeams.contains(td.mrSeam())) {
      v.add(
          new Violation(Rule.MRSEAM, "TDX module MRSEAM " + td.mrSeam().hex() + " is not allowed"));
    }
    if (td.isTd15() && !allowServiceTd && !td.mrServiceTd().isAllZero()) {
      v.add(
          new Violation(
              Rule.SERVICE_TD,
              "TD is bound to a service TD (MRSERVICETD " + td.mrServiceTd().hex() + ")"));
    }
    return new Decision(v);
  }

  private List<Violation> platform(TcbStatus status, List<String> advisoryIds) {
    List<Violation> v = new ArrayList<>();
    if (!allowedStatuses.contains(status)) {
      v.add(
          new Violation(
              Rule.TCB_STATUS,
              "TCB status " + status + " is not allowed (allowed: " + allowedStatuses + ")"));
    }
    if (!allowAnyAdvisory) {
      for (String id : advisoryIds) {
        if (!allowedAdvisoryIds.contains(id)) {
          v.add(new Violation(Rule.ADVISORY, "advisory " + id + " is not allowed"));
        }
      }
    }
    return v;
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Defaults: only UpToDate, no advisories, no debug, any MRSEAM, SEPT_VE_DISABLE required, no
   * service TD, TDX only.
   */
  public static final class Builder {
    private final Set<TcbStatus> statuses = EnumSet.of(TcbStatus.UpToDate);
    private final Set<String> advisories = new HashSet<>();
    private boolean anyAdvisory;
    private boolean debug;
    private final Set<Bytes> mrSeams = new HashSet<>();
    private boolean septVeDisable = true;
    private boolean serviceTd;
    private boolean sgx;

    public Builder allowStatuses(TcbStatus... s) {
      statuses.addAll(List.of(s));
      return this;
    }

    public Builder allowAdvisories(String... ids) {
      advisories.addAll(List.of(ids));
      return this;
    }

    public Builder allowAnyAdvisory() {
      anyAdvisory = true;
      return this;
    }

    /** For tests and development only: a debug TD's memory is open to the host. */
    public Builder allowDebugForTesting() {
      debug = true;
      return this;
    }

    public Builder requireMrSeam(Bytes... mrSeam) {
      mrSeams.addAll(List.of(mrSeam));
      return this;
    }

    public Builder requireSeptVeDisable(boolean required) {
      septVeDisable = required;
      return this;
    }

    public Builder allowServiceTd() {
      serviceTd = true;
      return this;
    }

    public Builder allowSgx() {
      sgx = true;
      return this;
    }

    public QuotePolicy build() {
      return new QuotePolicy(
          statuses, advisories, anyAdvisory, debug, mrSeams, septVeDisable, serviceTd, sgx);
    }
  }
}
