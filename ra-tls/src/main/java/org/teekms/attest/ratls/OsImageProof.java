package org.teekms.attest.ratls;

import java.util.Objects;
import java.util.Optional;
import org.teekms.crypto.Bytes;

/**
 * What an {@link OsImageCheck} established about the OS image a peer claims in RTMR3: a fact for
 * policy, not a decision. {@code proven} means a measurement document (vm_config) that the check
 * verified yields exactly the quote's MRTD and RTMR0-2 for the claimed OS image hash; anything else
 * ({@code proven == false}) leaves the image to the golden measurements registered on chain.
 *
 * @param proven whether the claimed image is proven by the quote's hardware measurements
 * @param detail one line: how it was proven, or why not (e.g. "no measurement document", "RTMR1
 *     differs")
 * @param imageHash the OS image hash the document proved (its {@code os_image_hash}), when the
 *     check names one: it is then the image identity to use, whatever the guest wrote into RTMR3
 *     (dstack 0.6 guests measure another value there)
 */
public record OsImageProof(boolean proven, String detail, Optional<Bytes> imageHash) {

  public OsImageProof {
    Objects.requireNonNull(detail, "detail");
    Objects.requireNonNull(imageHash, "imageHash");
    if (!proven && imageHash.isPresent()) {
      throw new IllegalArgumentException("an image hash only comes with a proof");
    }
  }

  /** The claimed image (the RTMR3 os-image-hash) is proven. */
  public static OsImageProof proven(String how) {
    return new OsImageProof(true, how, Optional.empty());
  }

  /** The image {@code imageHash} is proven by the hardware measurements. */
  public static OsImageProof proven(Bytes imageHash, String how) {
    return new OsImageProof(true, how, Optional.of(imageHash));
  }

  public static OsImageProof notProven(String why) {
    return new OsImageProof(false, why, Optional.empty());
  }
}
