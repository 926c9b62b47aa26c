package org.teekms.governance;

import java.util.List;

/**
 * Defensive copies for the byte arrays that chain snapshots carry, so a record holding them is a
 * value: nobody changes it afterwards, and its equals (by {@link java.util.Arrays#deepEquals})
 * compares contents.
 */
final class ByteArrays {
  private ByteArrays() {}

  /** An unmodifiable list of copies of {@code arrays}. */
  static List<byte[]> copy(List<byte[]> arrays) {
    return arrays.stream().map(byte[]::clone).toList();
  }

  /** The list as an array of arrays, for {@code Arrays.deepEquals}/{@code deepHashCode}. */
  static Object[] deep(List<byte[]> arrays) {
    return arrays.toArray();
  }
}
