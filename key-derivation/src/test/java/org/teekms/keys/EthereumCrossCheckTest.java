package org.teekms.keys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;
import org.bouncycastle.crypto.params.ECDomainParameters;
import org.bouncycastle.crypto.params.ECPublicKeyParameters;
import org.bouncycastle.crypto.signers.ECDSASigner;
import org.junit.jupiter.api.Test;
import org.web3j.crypto.ECKeyPair;
import org.web3j.crypto.Keys;
import org.web3j.crypto.Sign;

/**
 * Our secp256k1 / Ethereum code against published vectors and against independent implementations
 * (web3j for addresses, EIP-55 and recoverable signatures; BouncyCastle's ECDSASigner for plain
 * ECDSA verification).
 */
class EthereumCrossCheckTest {
  private static final HexFormat HEX = HexFormat.of();

  private static DerivedKey keyWithScalar(BigInteger d) {
    // A secp256k1 DerivedKey with a chosen scalar, built the same way derivation builds one.
    KeyRequest r =
        KeyRequest.user(
            new VersionRef(1, AppId.fromHex("00".repeat(20)), 1), KeyAlgorithm.SECP256K1, "test");
    return DerivedKey.fromScalar(r, d);
  }

  @Test
  void eip55PublishedExamples() {
    String[] examples = {
      "0x52908400098527886E0F7030069857D2E4169EE7", "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
      "0xde709f2102306220921060314715629080e2fb77", "0x27b1fdb04752bbc536007a920d24acb045561c26",
      "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
      "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    };
    for (String e : examples) {
      EthereumAddress a = EthereumAddress.parse(e);
      boolean mixed =
          !e.equals(e.toLowerCase()) && !e.substring(2).equals(e.substring(2).toUpperCase());
      if (mixed) {
        assertEquals(e, a.toChecksumString());
      }
      assertEquals(Keys.toChecksumAddress(e.toLowerCase()), a.toChecksumString());
    }
  }

  @Test
  void eip55RefusesBadChecksum() {
    assertThrows(
        IllegalArgumentException.class,
        () -> EthereumAddress.parse("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"));
    assertThrows(
        IllegalArgumentException.class,
        () -> EthereumAddress.parse("5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"));
    assertThrows(
        IllegalArgumentException.class,
        () -> EthereumAddress.parse("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeA"));
  }

  @Test
  void privateKeyOneIsTheKnownAddress() {
    try (DerivedKey k = keyWithScalar(BigInteger.ONE)) {
      assertEquals("0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf", k.ethereumAddress().toString());
      // generator point G, uncompressed
      assertEquals(
          "0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
              + "483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8",
          HEX.formatHex(k.uncompressedPublicKey()));
    }
    try (DerivedKey k = keyWithScalar(BigInteger.TWO)) {
      assertEquals("0x2B5AD5c4795c026514f8317c7a215E218DcCD6cF", k.ethereumAddress().toString());
    }
  }

  @Test
  void rfc6979Secp256k1PublishedVectors() throws Exception {
    // Widely used RFC 6979 vectors for secp256k1 / SHA-256 (private key 1).
    assertSig(
        BigInteger.ONE,
        "Satoshi Nakamoto",
        "934b1ea10a4b3c1757e2b0c017d0b6143ce3c9a7e6a4a49860d7a6ab210ee3d8",
        "2442ce9d2b916064108014783e923ec36b49743e2ffa1c4496f01a512aafd9e5");
    assertSig(
        BigInteger.ONE,
        "All those moments will be lost in time, like tears in rain. Time to die...",
        "8600dbd41e348fe5c9465ab92d23e3db8b98b873beecd930736488696438cb6b",
        "547fe64427496db33bf66019dacbf0039c04199abb0122918601db38a72cfc21");
  }

  private static void assertSig(BigInteger d, String msg, String r, String s) throws Exception {
    byte[] digest =
        MessageDigest.getInstance("SHA-256").digest(msg.getBytes(StandardCharsets.US_ASCII));
    try (DerivedKey k = keyWithScalar(d)) {
      EthSignature sig = k.signDigest(digest);
      assertEquals(r, HEX.formatHex(Curves.to32(sig.r())));
      assertEquals(s, HEX.formatHex(Curves.to32(sig.s())));
    }
  }

  @Test
  void signaturesMatchWeb3jAndVerifyAndRecover() {
    Random rnd = new Random(42);
    ECDomainParameters dom = new ECDomainParameters(Curves.SECP256K1.params);
    for (int i = 0; i < 40; i++) {
      BigInteger d =
          new BigInteger(256, rnd).mod(Secp256k1.N.subtract(BigInteger.ONE)).add(BigInteger.ONE);
      byte[] message = new byte[rnd.nextInt(200)];
      rnd.nextBytes(message);
      try (DerivedKey k = keyWithScalar(d)) {
        EthSignature ours = k.signMessage(message);
        // web3j: keccak256 + RFC 6979 + low s + v = 27/28, computed independently.
        Sign.SignatureData theirs = Sign.signMessage(message, ECKeyPair.create(d), true);
        assertEquals(HEX.formatHex(theirs.getR()), HEX.formatHex(Curves.to32(ours.r())));
        assertEquals(HEX.formatHex(theirs.getS()), HEX.formatHex(Curves.to32(ours.s())));
        assertEquals(theirs.getV()[0] & 0xFF, ours.v());
        // plain ECDSA verification by BouncyCastle against the known public key
        ECDSASigner verifier = new ECDSASigner();
        verifier.init(
            false, new ECPublicKeyParameters(dom.getCurve().decodePoint(k.publicKey()), dom));
        assertTrue(
            verifier.verifySignature(EthereumAddress.keccak256(message), ours.r(), ours.s()));
        // our recovery equals web3j's ecrecover and the signer's address
        EthereumAddress recovered = Secp256k1.recoverAddress(message, ours).orElseThrow();
        assertEquals(k.ethereumAddress(), recovered);
        assertEquals(
            "0x" + Keys.getAddress(ECKeyPair.create(d)), recovered.toString().toLowerCase());
        assertEquals(
            Keys.toChecksumAddress(Keys.getAddress(ECKeyPair.create(d))),
            k.ethereumAddress().toString());
      }
    }
  }

  @Test
  void recoveryRefusesNonCanonicalSignatures() {
    byte[] message = "hello".getBytes(StandardCharsets.US_ASCII);
    try (DerivedKey k = keyWithScalar(BigInteger.valueOf(12345))) {
      EthSignature sig = k.signMessage(message);
      EthSignature highS = new EthSignature(sig.r(), Secp256k1.N.subtract(sig.s()), 55 - sig.v());
      assertTrue(Secp256k1.recoverAddress(message, highS).isEmpty());
      assertTrue(
          Secp256k1.recoverAddress(message, new EthSignature(sig.r(), sig.s(), 29)).isEmpty());
      assertTrue(
          Secp256k1.recoverAddress(message, new EthSignature(BigInteger.ZERO, sig.s(), sig.v()))
              .isEmpty());
      assertTrue(
          Secp256k1.recoverAddress(message, new EthSignature(Secp256k1.N, sig.s(), sig.v()))
              .isEmpty());
      // the other recovery id recovers someone else
      EthereumAddress other =
          Secp256k1.recoverAddress(message, new EthSignature(sig.r(), sig.s(), 55 - sig.v()))
              .orElse(null);
      assertFalse(k.ethereumAddress().equals(other));
    }
  }
}
