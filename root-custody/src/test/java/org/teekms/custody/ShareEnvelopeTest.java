package org.teekms.custody;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.teekms.keys.InsecureSecretAccess;

class ShareEnvelopeTest {
  private static final InsecureSecretAccess ACCESS = InsecureSecretAccess.get();
  private static final byte[] DIGEST = Group.sha256(new byte[] {1});
  private static final byte[] REQUEST = Group.sha256(new byte[] {2});

  private static Share share(int index) throws CustodyException {
    return Share.of(
        index, Group.to32(Shamir.uniformScalar(new SeededRandom("share" + index))), ACCESS);
  }

  @Test
  void sealedShareOpensOnlyWithTheRecipientsKeyAndTheSameContext() throws Exception {
    RecipientKeyPair custodian = RecipientKeyPair.generate(new SeededRandom("custodian"));
    RecipientKeyPair other = RecipientKeyPair.generate(new SeededRandom("other"));
    EnvelopeContext ctx = EnvelopeContext.backup(7, 3, DIGEST);
    try (Share s = share(3)) {
      byte[] env = ShareEnvelope.seal(custodian.publicKey(), ctx, s, new SeededRandom("seal"));
      assertEquals(ShareEnvelope.ENCODED_LENGTH, env.length);
      try (Share opened = ShareEnvelope.open(custodian, ctx, env)) {
        assertTrue(opened.equalsShare(s));
      }
      List<EnvelopeContext> wrong =
          List.of(
              EnvelopeContext.backup(8, 3, DIGEST),
              EnvelopeContext.backup(7, 3, Group.sha256(new byte[] {9})),
              EnvelopeContext.recovery(7, 3, DIGEST, new byte[32]),
              EnvelopeContext.recovery(7, 3, DIGEST, REQUEST));
      for (EnvelopeContext w : wrong) {
        CustodyException e =
            assertThrows(CustodyException.class, () -> ShareEnvelope.open(custodian, w, env));
        assertEquals(CustodyException.Reason.ENVELOPE_REJECTED, e.reason(), w.toString());
        assertEquals(
            "share envelope 3 does not authenticate for this recipient, generation, index and request",
            e.getMessage());
        assertEquals(List.of(3), e.badIndices());
      }
      CustodyException otherIndex =
          assertThrows(
              CustodyException.class,
              () -> ShareEnvelope.open(custodian, EnvelopeContext.backup(7, 4, DIGEST), env));
      assertEquals(List.of(4), otherIndex.badIndices());
      assertEquals(
          CustodyException.Reason.ENVELOPE_REJECTED,
          assertThrows(CustodyException.class, () -> ShareEnvelope.open(other, ctx, env)).reason());
    }
  }

  @Test
  void sealingUnderAnotherIndexIsAProgrammingError() throws Exception {
    RecipientKeyPair k = RecipientKeyPair.generate(new SeededRandom("k"));
    try (Share s = share(1)) {
      assertThrows(
          IllegalArgumentException.class,
          () ->
              ShareEnvelope.seal(
                  k.publicKey(), EnvelopeContext.backup(1, 2, DIGEST), s, new SeededRandom("x")));
    }
  }

  @Test
  void everySingleBitFlipIsRejectedWithoutAnUncheckedException() throws Exception {
    RecipientKeyPair k = RecipientKeyPair.generate(new SeededRandom("k"));
    EnvelopeContext ctx = EnvelopeContext.recovery(1, 2, DIGEST, REQUEST);
    try (Share s = share(2)) {
      byte[] env = ShareEnvelope.seal(k.publicKey(), ctx, s, new SeededRandom("seal"));
      for (int bit = 0; bit < env.length * 8; bit++) {
        byte[] m = env.clone();
        m[bit / 8] ^= (byte) (1 << (bit % 8));
        CustodyException e =
            assertThrows(CustodyException.class, () -> ShareEnvelope.open(k, ctx, m), "bit " + bit);
        assertEquals(List.of(2), e.badIndices());
        assertTrue(
            !e.getMessage().contains("\n") && !e.getMessage().contains("Exception"),
            e.getMessage());
      }
    }
  }

  @Test
  void truncatedOversizedAndRandomEnvelopesAreOneLineErrors() {
    RecipientKeyPair k = RecipientKeyPair.generate(new SeededRandom("k"));
    EnvelopeContext ctx = EnvelopeContext.backup(1, 1, DIGEST);
    assertEquals(
        "share envelope 1 must be 128 bytes, got 127",
        assertThrows(CustodyException.class, () -> ShareEnvelope.open(k, ctx, new byte[127]))
            .getMessage());
    assertEquals(
        "share envelope 1 must be 128 bytes, got 129",
        assertThrows(CustodyException.class, () -> ShareEnvelope.open(k, ctx, new byte[129]))
            .getMessage());
    assertEquals(
        "share envelope 1 has version 0, expected 1",
        assertThrows(CustodyException.class, () -> ShareEnvelope.open(k, ctx, new byte[128]))
            .getMessage());
    java.util.Random r = new java.util.Random(21);
    for (int i = 0; i < 2000; i++) {
      byte[] junk = new byte[r.nextInt(3) == 0 ? r.nextInt(300) : 128];
      r.nextBytes(junk);
      if (junk.length > 0 && r.nextBoolean()) junk[0] = 1;
      if (junk.length > 1 && r.nextBoolean()) junk[1] = 4;
      assertThrows(CustodyException.class, () -> ShareEnvelope.open(k, ctx, junk));
    }
  }

  @Test
  void recipientKeysDecodeOnlyValidUncompressedP256Points() throws Exception {
    RecipientKeyPair k = RecipientKeyPair.generate(new SeededRandom("k"));
    byte[] enc = k.publicKey().encode();
    assertEquals(k.publicKey(), RecipientKey.decode(enc));
    byte[] offCurve = enc.clone();
    offCurve[64] ^= 1;
    assertEquals(
        "recipient public key is not a point on the curve",
        assertThrows(CustodyException.class, () -> RecipientKey.decode(offCurve)).getMessage());
    byte[] compressed = new byte[33];
    compressed[0] = 2;
    assertEquals(
        "recipient public key must be 65 bytes, got 33",
        assertThrows(CustodyException.class, () -> RecipientKey.decode(compressed)).getMessage());
    byte[] prefix = enc.clone();
    prefix[0] = 6;
    assertEquals(
        "recipient public key has point prefix 0x06",
        assertThrows(CustodyException.class, () -> RecipientKey.decode(prefix)).getMessage());
    assertEquals(
        "the P-256 private key is out of range",
        assertThrows(
                CustodyException.class,
                () -> RecipientKeyPair.fromPrivate(Group.to32(Group.P256.getN()), ACCESS))
            .getMessage());
    byte[] priv = k.encodePrivate(ACCESS);
    assertEquals(k.publicKey(), RecipientKeyPair.fromPrivate(priv, ACCESS).publicKey());
  }

  @Test
  void jcaP256KeysAreAcceptedAndOtherCurvesRefused() throws Exception {
    java.security.KeyPairGenerator g = java.security.KeyPairGenerator.getInstance("EC");
    g.initialize(new java.security.spec.ECGenParameterSpec("secp256r1"));
    java.security.KeyPair kp = g.generateKeyPair();
    RecipientKeyPair pair = RecipientKeyPair.of(kp.getPrivate());
    assertEquals(RecipientKey.of(kp.getPublic()), pair.publicKey());
    g.initialize(new java.security.spec.ECGenParameterSpec("secp384r1"));
    java.security.KeyPair p384 = g.generateKeyPair();
    assertEquals(
        "the key is not a P-256 public key",
        assertThrows(CustodyException.class, () -> RecipientKey.of(p384.getPublic())).getMessage());
    assertEquals(
        "the key is not a P-256 private key",
        assertThrows(CustodyException.class, () -> RecipientKeyPair.of(p384.getPrivate()))
            .getMessage());
  }
}
