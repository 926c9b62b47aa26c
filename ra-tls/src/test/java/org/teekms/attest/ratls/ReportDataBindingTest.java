package org.teekms.attest.ratls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class ReportDataBindingTest {
  /**
   * docs/ra-tls.md test vector: a P-256 SPKI whose point bytes are all 0x11 (computed independently
   * in Python).
   */
  static final byte[] SPKI =
      HexFormat.of()
          .parseHex("3059301306072a8648ce3d020106082a8648ce3d03010703420004" + "11".repeat(64));

  @Test
  void matchesTheDocumentedVector() {
    assertEquals(
        "0f14933881427f10f0311957df6e1974dee5a8657b1498dc756f05e0c1171d2406d27a3e35490a43c988d3bd24c94b98"
            + "312086fc015e0769c2b1c10c0180e284",
        HexFormat.of().formatHex(ReportDataBinding.forSpki(SPKI)));
    assertTrue(ReportDataBinding.binds(ReportDataBinding.forSpki(SPKI), SPKI));
    byte[] other = SPKI.clone();
    other[other.length - 1] ^= 1;
    assertFalse(ReportDataBinding.binds(ReportDataBinding.forSpki(SPKI), other));
  }
}
