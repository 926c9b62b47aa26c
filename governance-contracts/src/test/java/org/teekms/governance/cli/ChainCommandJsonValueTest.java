package org.teekms.governance.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.teekms.crypto.Bytes;

/** The gov commands print {@link Bytes} exactly as they printed the byte arrays it replaced. */
class ChainCommandJsonValueTest {

  @Test
  void bytesPrintAsTheSameHexAsAByteArray() {
    byte[] raw = {0, 1, (byte) 0xab};
    assertEquals("0x0001ab", ChainCommand.jsonValue(raw));
    assertEquals("0x0001ab", ChainCommand.jsonValue(Bytes.copyOf(raw)));
    assertEquals(ChainCommand.jsonValue(new byte[0]), ChainCommand.jsonValue(Bytes.EMPTY));
  }

  @Test
  void bytesInsideListsAndMapsPrintAsHex() {
    Bytes b = Bytes.fromHex("ff00");
    assertEquals(List.of("0xff00"), ChainCommand.jsonValue(List.of(b)));
    assertEquals(Map.of("id", "0xff00"), ChainCommand.jsonValue(Map.of("id", b)));
  }
}
