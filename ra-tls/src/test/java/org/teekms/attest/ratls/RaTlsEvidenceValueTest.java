package org.teekms.attest.ratls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.teekms.crypto.Bytes;

class RaTlsEvidenceValueTest {

  private static RaTlsEvidence evidence(byte quoteByte, Optional<byte[]> vmConfig) {
    return new RaTlsEvidence(
        Bytes.copyOf(new byte[] {quoteByte, 2}),
        Bytes.copyOf("[]".getBytes()),
        Optional.of(Bytes.copyOf(new byte[] {7})),
        1,
        Bytes.copyOf(new byte[] {3, 4}),
        vmConfig.map(Bytes::copyOf));
  }

  @Test
  void evidenceWithTheSameBytesIsEqual() {
    RaTlsEvidence a = evidence((byte) 1, Optional.of(new byte[] {9}));
    RaTlsEvidence b = evidence((byte) 1, Optional.of(new byte[] {9}));
    assertEquals(a, b);
    assertEquals(a.hashCode(), b.hashCode());
    assertNotEquals(a, evidence((byte) 5, Optional.of(new byte[] {9})));
    assertNotEquals(a, evidence((byte) 1, Optional.of(new byte[] {8})));
    assertNotEquals(a, evidence((byte) 1, Optional.empty()));
  }

  @Test
  void evidenceCannotBeChangedThroughItsAccessors() {
    RaTlsEvidence a = evidence((byte) 1, Optional.empty());
    a.quote().toByteArray()[0] = 9;
    a.gpuEvidence().orElseThrow().toByteArray()[0] = 9;
    assertArrayEquals(new byte[] {1, 2}, a.quote().toByteArray());
    assertArrayEquals(new byte[] {7}, a.gpuEvidence().orElseThrow().toByteArray());
  }
}
