package org.teekms.attest.ratls;

import java.util.Objects;

/**
 * What an {@link OsImageCheck} established about the OS image a peer claims in RTMR3: a fact for policy, not a
 * decision. {@code proven} means a measurement document (vm_config) that the check verified yields exactly the
 * quote's MRTD and RTMR0-2 for the claimed OS image hash; anything else ({@code proven == false}) leaves the image to
 * the golden measurements registered on chain.
 *
 * @param proven whether the claimed image is proven by the quote's hardware measurements
 * @param detail one line: how it was proven, or why not (e.g. "no measurement document", "RTMR1 differs")
 */
public record OsImageProof(boolean proven, String detail) {

  public OsImageProof {
    Objects.requireNonNull(detail, "detail");
  }

  public static OsImageProof proven(String how) {
    return new OsImageProof(true, how);
  }

  public static OsImageProof notProven(String why) {
    return new OsImageProof(false, why);
  }
}
