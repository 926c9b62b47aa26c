package org.teekms.attest.osimage;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.teekms.attest.eventlog.QuotedMeasurements;
import org.teekms.crypto.Bytes;

/**
 * MRTD and RTMR0-2 (48 bytes each): the registers that measure firmware, kernel, command line and
 * initrd.
 */
public record TdxMeasurements(Bytes mrtd, Bytes rtmr0, Bytes rtmr1, Bytes rtmr2) {
  /** The register names in order, as they appear in verdicts and JSON. */
  public static final List<String> NAMES = List.of("MRTD", "RTMR0", "RTMR1", "RTMR2");

  public TdxMeasurements {
    for (Bytes b : new Bytes[] {mrtd, rtmr0, rtmr1, rtmr2}) {
      Objects.requireNonNull(b, "register");
      if (b.length() != 48) {
        throw new IllegalArgumentException("measurement registers are 48 bytes");
      }
    }
  }

  /** MRTD and RTMR0-2 of a quote's TD report. */
  public static TdxMeasurements of(QuotedMeasurements q) {
    return new TdxMeasurements(q.mrTd(), q.rtmrs().get(0), q.rtmrs().get(1), q.rtmrs().get(2));
  }

  /** The register by position in {@link #NAMES}. */
  public Bytes get(int index) {
    return switch (index) {
      case 0 -> mrtd;
      case 1 -> rtmr0;
      case 2 -> rtmr1;
      case 3 -> rtmr2;
      default -> throw new IndexOutOfBoundsException(index);
    };
  }

  /** The names of the registers that differ from {@code other}'s, in order. */
  public List<String> differences(TdxMeasurements other) {
    java.util.ArrayList<String> out = new java.util.ArrayList<>();
    for (int i = 0; i < NAMES.size(); i++) {
      if (!get(i).equals(other.get(i))) {
        out.add(NAMES.get(i));
      }
    }
    return List.copyOf(out);
  }

  /** {@code {"mrtd": hex, "rtmr0": hex, "rtmr1": hex, "rtmr2": hex}} in this order. */
  public Map<String, String> toHexMap() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("mrtd", mrtd.hex());
    m.put("rtmr0", rtmr0.hex());
    m.put("rtmr1", rtmr1.hex());
    m.put("rtmr2", rtmr2.hex());
    return m;
  }
}
