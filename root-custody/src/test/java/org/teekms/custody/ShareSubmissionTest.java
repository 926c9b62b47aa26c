package org.teekms.custody;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.SecureRandom;
import org.junit.jupiter.api.Test;

/** The custodian's signature over a share sent to a recovering node (docs/root-custody.md §6.4). */
class ShareSubmissionTest {

  private final RecipientKeyPair custodian = RecipientKeyPair.generate(new SecureRandom());
  private final byte[] request = filled(32, 0x11);
  private final byte[] node = filled(32, 0x22);
  private final byte[] envelope = filled(128, 0x33);

  private static byte[] filled(int n, int v) {
    byte[] b = new byte[n];
    java.util.Arrays.fill(b, (byte) v);
    return b;
  }

  @Test
  void theCustodiansSignatureVerifiesUnderItsKeyOnlyAndIsDeterministic() {
    byte[] message = ShareSubmission.message(3, 2, request, node, envelope);
    assertEquals(24 + 4 + 1 + 96, message.length);
    byte[] signature = ShareSubmission.sign(custodian, message);
    assertEquals(64, signature.length);
    assertTrue(ShareSubmission.verify(custodian.publicKey(), message, signature));
    assertArrayEquals(
        signature,
        ShareSubmission.sign(custodian, message),
        "RFC 6979: the same message, the same k");
    assertFalse(
        ShareSubmission.verify(
            RecipientKeyPair.generate(new SecureRandom()).publicKey(), message, signature));
  }

  @Test
  void aSignatureDoesNotCoverAnotherIndexRequestNodeOrEnvelope() {
    byte[] signature =
        ShareSubmission.sign(custodian, ShareSubmission.message(3, 2, request, node, envelope));
    byte[] otherEnvelope = envelope.clone();
    otherEnvelope[0] ^= 1;
    assertFalse(
        ShareSubmission.verify(
            custodian.publicKey(),
            ShareSubmission.message(3, 1, request, node, envelope),
            signature));
    assertFalse(
        ShareSubmission.verify(
            custodian.publicKey(),
            ShareSubmission.message(4, 2, request, node, envelope),
            signature));
    assertFalse(
        ShareSubmission.verify(
            custodian.publicKey(), ShareSubmission.message(3, 2, node, node, envelope), signature));
    assertFalse(
        ShareSubmission.verify(
            custodian.publicKey(),
            ShareSubmission.message(3, 2, request, request, envelope),
            signature));
    assertFalse(
        ShareSubmission.verify(
            custodian.publicKey(),
            ShareSubmission.message(3, 2, request, node, otherEnvelope),
            signature));
  }

  @Test
  void malformedSignaturesAreRejectedNotThrown() {
    byte[] message = ShareSubmission.message(3, 2, request, node, envelope);
    assertFalse(ShareSubmission.verify(custodian.publicKey(), message, null));
    assertFalse(ShareSubmission.verify(custodian.publicKey(), message, new byte[63]));
    assertFalse(ShareSubmission.verify(custodian.publicKey(), message, new byte[64]));
    assertFalse(ShareSubmission.verify(custodian.publicKey(), message, filled(64, 0xff)));
  }
}
