package org.teekms.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** FIPS 180 "abc" vectors; concatenation of parts; one provider instance. */
class DigestsTest {
  private static final byte[] ABC = "abc".getBytes(StandardCharsets.US_ASCII);
  private static final HexFormat HEX = HexFormat.of();

  @Test
  void fips180AbcVectors() {
    assertEquals("a9993e364706816aba3e25717850c26c9cd0d89d", HEX.formatHex(Digests.sha1(ABC)));
    assertEquals(
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", Digests.sha256Hex(ABC));
    assertEquals(
        "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
        HEX.formatHex(Digests.sha384(ABC)));
    assertEquals(
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd"
            + "454d4423643ce80e2a9ac94fa54ca49f",
        HEX.formatHex(Digests.sha512(ABC)));
  }

  @Test
  void partsAreConcatenated() {
    byte[] a = {'a'};
    byte[] bc = {'b', 'c'};
    assertArrayEquals(Digests.sha256(ABC), Digests.sha256(a, bc));
    assertArrayEquals(Digests.sha256(ABC), Digests.sha256(a, new byte[0], bc));
    java.security.MessageDigest md = Digests.newSha256();
    md.update(a);
    md.update(bc);
    assertArrayEquals(Digests.sha256(ABC), md.digest());
  }

  @Test
  void unknownAlgorithmIsABrokenRuntimeNotAnInputError() {
    assertThrows(IllegalStateException.class, () -> Digests.newDigest("SHA-999"));
  }

  @Test
  void oneProviderInstance() {
    assertEquals("BC", BouncyCastle.PROVIDER.getName());
  }
}
