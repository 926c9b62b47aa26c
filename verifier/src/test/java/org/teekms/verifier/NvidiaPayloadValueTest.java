package org.teekms.verifier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.teekms.attest.gpu.GpuArchitecture;
import org.teekms.attest.gpu.GpuEvidence;
import org.teekms.crypto.Bytes;

class NvidiaPayloadValueTest {

  private static final GpuEvidence EVIDENCE =
      new GpuEvidence(
          GpuArchitecture.HOPPER,
          List.of(
              new GpuEvidence.Device(
                  Bytes.copyOf(new byte[] {1}), List.of(Bytes.copyOf(new byte[] {2})))));

  @Test
  void payloadsWithTheSameNonceAndEvidenceAreEqual() {
    NvidiaPayload a = new NvidiaPayload(Bytes.copyOf(new byte[] {5, 6}), EVIDENCE);
    NvidiaPayload b = new NvidiaPayload(Bytes.copyOf(new byte[] {5, 6}), EVIDENCE);
    assertEquals(a, b);
    assertEquals(a.hashCode(), b.hashCode());
    assertNotEquals(a, new NvidiaPayload(Bytes.copyOf(new byte[] {5, 7}), EVIDENCE));
  }
}
