package org.teekms.attest.osimage;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

/**
 * A {@code sha256sum.txt} as dstack reads it ({@code dstack-types sha256sum_entry_hash}): UTF-8
 * lines, each trimmed; blank lines skipped; otherwise the first whitespace-separated field is the
 * hex SHA-256 and the second the file name, compared exactly (no {@code *} binary-mode marker
 * stripping). Further fields are ignored, as dstack ignores them.
 */
public final class ChecksumFile {
  private ChecksumFile() {}

  /** The SHA-256 listed for {@code filename}; exactly one line must name it. */
  public static byte[] entry(byte[] checksumFile, String filename) throws OsImageException {
    String text;
    try {
      text =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(checksumFile))
              .toString();
    } catch (CharacterCodingException e) {
      throw fail("checksum file is not valid UTF-8");
    }
    byte[] found = null;
    // Rust's str::lines (split on \n, a trailing \r dropped), trim and split_whitespace (Unicode
    // White_Space).
    String[] lines = text.split("\n", -1);
    for (int i = 0; i < lines.length; i++) {
      String[] parts =
          java.util.Arrays.stream(lines[i].split("(?U)\\s+"))
              .filter(s -> !s.isEmpty())
              .toArray(String[]::new);
      if (parts.length == 0) {
        continue;
      }
      if (parts.length < 2) {
        throw fail("checksum file line " + (i + 1) + " is missing a file name");
      }
      if (!parts[1].equals(filename)) {
        continue;
      }
      if (found != null) {
        throw fail("checksum file lists " + filename + " more than once");
      }
      byte[] hash;
      try {
        hash = HexFormat.of().parseHex(parts[0]);
      } catch (IllegalArgumentException e) {
        throw fail("checksum file hash of " + filename + " is not valid hex");
      }
      if (hash.length != 32) {
        throw fail(
            "checksum file hash of " + filename + " is " + hash.length + " bytes, expected 32");
      }
      found = hash;
    }
    if (found == null) {
      throw fail("checksum file does not list " + filename);
    }
    return found;
  }

  private static OsImageException fail(String message) {
    return new OsImageException(OsImageFailure.CHECKSUM_FILE_INVALID, message);
  }
}
