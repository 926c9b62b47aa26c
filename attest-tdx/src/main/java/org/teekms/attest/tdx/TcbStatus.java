package org.teekms.attest.tdx;

/**
 * Intel's TCB status values. A status is a set of facts (out of date, configuration needed, SW
 * hardening needed, revoked); {@link #combine} merges two statuses by taking the union of those
 * facts, which is how Intel's QVL converges the platform, TDX module and QE statuses (e.g. QE
 * OutOfDate with platform ConfigurationNeeded gives OutOfDateConfigurationNeeded). "Out of date"
 * absorbs "SW hardening needed": Intel defines no status with both.
 */
public enum TcbStatus {
  UpToDate(false, false, false),
  SWHardeningNeeded(false, false, true),
  ConfigurationNeeded(false, true, false),
  ConfigurationAndSWHardeningNeeded(false, true, true),
  OutOfDate(true, false, false),
  OutOfDateConfigurationNeeded(true, true, false),
  Revoked(false, false, false);

  private final boolean outOfDate;
  private final boolean configurationNeeded;
  private final boolean swHardeningNeeded;

  TcbStatus(boolean outOfDate, boolean configurationNeeded, boolean swHardeningNeeded) {
    this.outOfDate = outOfDate;
    this.configurationNeeded = configurationNeeded;
    this.swHardeningNeeded = swHardeningNeeded;
  }

  /** Parses Intel's spelling exactly; an unknown status is an error (fail closed). */
  public static TcbStatus parse(String s) {
    for (TcbStatus t : values()) {
      if (t.name().equals(s)) {
        return t;
      }
    }
    throw new IllegalArgumentException("unknown TCB status \"" + s + "\"");
  }

  public TcbStatus combine(TcbStatus other) {
    if (this == Revoked || other == Revoked) {
      return Revoked;
    }
    boolean ood = outOfDate || other.outOfDate;
    boolean cfg = configurationNeeded || other.configurationNeeded;
    boolean sw = swHardeningNeeded || other.swHardeningNeeded;
    if (ood) {
      return cfg ? OutOfDateConfigurationNeeded : OutOfDate;
    }
    if (cfg) {
      return sw ? ConfigurationAndSWHardeningNeeded : ConfigurationNeeded;
    }
    return sw ? SWHardeningNeeded : UpToDate;
  }
}
