package org.teekms.verifier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * A model id the near-model text commits to must read back from that text. An id starting with the
 * v2 tag and a space made a text that verifiers take for a v2 text and read no model from, so a
 * proxy signed what no verifier could check (found by the proxyRequest fuzz target, its input kept
 * as {@code ProxyRequestFuzzTestInputs/proxyRequest/crash-9a8143bd…}; docs/reliability.md §1).
 */
class ModelIdCommitmentTest {
  private static final byte[] REQ = SignedText.sha256(new byte[] {1});
  private static final byte[] RESP = SignedText.sha256(new byte[] {2});

  @Test
  void aModelIdStartingWithTheV2TagAndASpaceCannotBeCommittedTo() {
    String model = SignedText.V2_TAG + " llama";
    assertFalse(SignedText.validModelId(model));
    assertThrows(
        IllegalArgumentException.class,
        () -> SignedText.text(SignedText.Format.NEAR_MODEL, null, model, REQ, RESP));
  }

  @Test
  void everyCommittableModelIdReadsBackFromItsText() {
    for (String model :
        new String[] {"demo", "llama3:8b", SignedText.V2_TAG, SignedText.V2_TAG + "x", "a b"}) {
      assertTrue(SignedText.validModelId(model), model);
      String text = SignedText.text(SignedText.Format.NEAR_MODEL, null, model, REQ, RESP);
      assertEquals(model, SignedText.modelTextOf(text).orElseThrow().model(), text);
    }
  }
}
