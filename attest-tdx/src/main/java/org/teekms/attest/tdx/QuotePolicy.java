package org.teekms.attest.tdx;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Decides, after verification, whether a verified quote is acceptable: which TCB statuses and advisories are
 * tolerated, whether the TD may be a debug TD (never, unless a test policy says so), which TDX modules (MRSEAM) are
 * allowed, and the TD attribute rules dcap-qvl also applies (SEPT_VE_DISABLE set, no reserved bits, MIGRATABLE (bit 29)
 * clear, no service TD). PKS, KL and PERFMON are allowed, as dcap-qvl and Intel's QVL allow them: they enable CPU
 * features inside the TD and give the host no access to it. Build one with {@link #builder()}; the defaults are the
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

  /** The decision: allowed, or the list of every rule the quote breaks. */
  public record Decision(boolean allowed, List<String> violations) {
    public Decision {
      violations = List.copyOf(violations);
    }
  }

  public Decision evaluate(QuoteVerificationResult result) {
    List<String> v = new ArrayList<>();
    if (!result.valid()) {
      v.add("quote did not verify (" + result.failure() + "): " + result.error());
      return new Decision(false, v);
    }
    if (!allowedStatuses.contains(result.status())) {
      v.add("TCB status " + result.status() + " is not allowed (allowed: " + allowedStatuses + ")");
    }
    if (!allowAnyAdvisory) {
      for (String id : result.advisoryIds()) {
        if (!allowedAdvisoryIds.contains(id)) {
          v.add("advisory " + id + " is not allowed");
        }
      }
    }
    TdReport td = result.td();
    if (td == null) {
      if (!allowSgx) {
        v.add("SGX enclave quotes are not allowed");
      } else if (!allowDebug && result.quote().enclaveReport().debug()) {
        v.add("debug enclave is not allowed");
      }
      return new Decision(v.isEmpty(), v);
    }
    TdAttributes attrs = td.tdAttributes();
    if (attrs.debug() && !allowDebug) {
      v.add("debug TD is not allowed (TD_ATTRIBUTES.DEBUG is set)");
    }
    if (attrs.reservedBitsSet()) {
      v.add("reserved TD_ATTRIBUTES bits are set: " + attrs.raw().hex());
    }
    // No option: a migratable TD's memory and keys may be exported to another platform through a migration TD that
    // a TD 1.0 report does not name (dcap-qvl refuses bit 29 as reserved).
    if (attrs.migratable()) {
      v.add("migratable TD is not allowed (TD_ATTRIBUTES.MIGRATABLE, bit 29, is set: " + attrs.raw().hex() + ")");
    }
    if (requireSeptVeDisable && !attrs.septVeDisable()) {
      v.add("TD_ATTRIBUTES.SEPT_VE_DISABLE is not set");
    }
    if (!allowedMrSeams.isEmpty() && !allowedMrSeams.contains(td.mrSeam())) {
      v.add("TDX module MRSEAM " + td.mrSeam().hex() + " is not allowed");
    }
    if (td.isTd15() && !allowServiceTd && !td.mrServiceTd().isAllZero()) {
      v.add("TD is bound to a service TD (MRSERVICETD " + td.mrServiceTd().hex() + ")");
    }
    return new Decision(v.isEmpty(), v);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Defaults: only UpToDate, no advisories, no debug, any MRSEAM, SEPT_VE_DISABLE required, no service TD, TDX only. */
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
      return new QuotePolicy(statuses, advisories, anyAdvisory, debug, mrSeams, septVeDisable, serviceTd, sgx);
    }
  }
}
