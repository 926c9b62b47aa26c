package org.teekms.custody;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigInteger;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.teekms.keys.InsecureSecretAccess;
import org.teekms.keys.SecretBytes;

/**
 * Builds docs/root-custody-vectors.json from the fixed seed (docs/root-custody.md §8): a 3-of-5
 * backup of root generation 3 and a recovery from custodians 1, 2 and 4. Intermediate values
 * (coefficients, ephemeral scalars, nonces, AES keys, associated data) are replayed from the same
 * byte stream, in the order the spec states.
 */
final class CustodyVectors {
  static final Path FILE =
      Path.of(System.getProperty("teekms.docs", "../docs"), "root-custody-vectors.json");
  static final String SEED = "teekms-custody-vectors-v1";
  static final long GENERATION = 3;
  static final int THRESHOLD = 3;
  static final int COUNT = 5;
  static final List<Integer> RECOVERY_INDICES = List.of(1, 2, 4);
  static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final HexFormat HEX = HexFormat.of();
  private static final InsecureSecretAccess ACCESS = InsecureSecretAccess.get();

  private CustodyVectors() {}

  static ObjectNode build() throws CustodyException {
    ObjectNode root = JSON.createObjectNode();
    root.put(
        "description",
        "tee-kms root custody test vectors (docs/root-custody.md); all hex is lowercase");
    ObjectNode rng = root.putObject("rng");
    rng.put(
        "definition",
        "stream(label) = SHA-256(label ASCII || u64be(0)) || SHA-256(label || u64be(1)) || ...");
    rng.put("seed", SEED);

    SecretBytes secret;
    try (SecretBytes raw =
        SecretBytes.copyOf(
            Group.to32(Shamir.uniformScalar(new SeededRandom(SEED + "/root"))), ACCESS)) {
      secret = SecretBytes.copyOf(raw.toByteArray(ACCESS), ACCESS);
    }
    root.put("generation", GENERATION);
    root.put("threshold", THRESHOLD);
    root.put("rootSecretStream", SEED + "/root");
    root.put("rootSecret", HEX.formatHex(secret.toByteArray(ACCESS)));
    root.put("kmsRootPublicKey", HEX.formatHex(RootRecovery.rootPublicKey(GENERATION, secret)));

    List<RecipientKeyPair> custodians = new ArrayList<>();
    ArrayNode cs = root.putArray("custodians");
    for (int i = 1; i <= COUNT; i++) {
      RecipientKeyPair k = RecipientKeyPair.generate(new SeededRandom(SEED + "/custodian/" + i));
      custodians.add(k);
      ObjectNode c = cs.addObject();
      c.put("index", i);
      c.put("privateKeyStream", SEED + "/custodian/" + i);
      c.put("privateKey", HEX.formatHex(k.encodePrivate(ACCESS)));
      c.put("publicKey", HEX.formatHex(k.publicKey().encode()));
      c.put("id", HEX.formatHex(k.publicKey().id()));
    }

    String backupStream = SEED + "/backup";
    RootBackup backup =
        RootBackup.create(
            GENERATION,
            secret,
            THRESHOLD,
            custodians.stream().map(RecipientKeyPair::publicKey).toList(),
            new SeededRandom(backupStream));
    ObjectNode b = root.putObject("backup");
    b.put("stream", backupStream);
    // replay the stream: a_1..a_{t-1}, then per index: ephemeral scalar, nonce
    SeededRandom replay = new SeededRandom(backupStream);
    List<BigInteger> coefficients =
        new ArrayList<>(List.of(new BigInteger(1, secret.toByteArray(ACCESS))));
    ArrayNode co = b.putArray("coefficients");
    for (int j = 1; j < THRESHOLD; j++) {
      BigInteger a = Shamir.uniformScalar(replay);
      coefficients.add(a);
      co.add(HEX.formatHex(Group.to32(a)));
    }
    b.put("commitments", HEX.formatHex(backup.commitments().encode()));
    b.put("commitmentsDigest", HEX.formatHex(backup.commitments().digest()));
    ArrayNode shares = b.putArray("shares");
    for (RootBackup.SealedShare s : backup.shares()) {
      ObjectNode o = shares.addObject();
      int i = s.index();
      BigInteger y = Shamir.evaluate(coefficients, i);
      byte[] encoded = Share.ofScalar(i, y).encode(ACCESS);
      BigInteger e = envelopeScalar(replay);
      byte[] nonce = new byte[12];
      replay.nextBytes(nonce);
      o.put("index", i);
      o.put("value", HEX.formatHex(Group.to32(y)));
      o.put("encoding", HEX.formatHex(encoded));
      envelopeDetails(
          o,
          e,
          nonce,
          custodians.get(i - 1).publicKey(),
          EnvelopeContext.backup(GENERATION, i, backup.commitments().digest()));
      o.put("envelope", s.envelope().hex());
      o.put("envelopeDigest", HEX.formatHex(s.digest()));
    }

    ObjectNode r = root.putObject("recovery");
    RecipientKeyPair node = RecipientKeyPair.generate(new SeededRandom(SEED + "/node"));
    byte[] requestId =
        Group.sha256((SEED + "/request").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    r.put("nodePrivateKeyStream", SEED + "/node");
    r.put("nodePrivateKey", HEX.formatHex(node.encodePrivate(ACCESS)));
    r.put("nodePublicKey", HEX.formatHex(node.publicKey().encode()));
    r.put("requestId", HEX.formatHex(requestId));
    ArrayNode re = r.putArray("envelopes");
    for (int i : RECOVERY_INDICES) {
      RootBackup.SealedShare s = backup.shares().get(i - 1);
      String stream = SEED + "/reseal/" + i;
      byte[] env =
          CustodianShare.reencrypt(
              custodians.get(i - 1),
              GENERATION,
              i,
              backup.commitments(),
              s.envelope().toByteArray(),
              s.digest(),
              node.publicKey(),
              requestId,
              new SeededRandom(stream));
      SeededRandom rr = new SeededRandom(stream);
      BigInteger e = envelopeScalar(rr);
      byte[] nonce = new byte[12];
      rr.nextBytes(nonce);
      ObjectNode o = re.addObject();
      o.put("index", i);
      o.put("stream", stream);
      envelopeDetails(
          o,
          e,
          nonce,
          node.publicKey(),
          EnvelopeContext.recovery(GENERATION, i, backup.commitments().digest(), requestId));
      o.put("envelope", HEX.formatHex(env));
    }
    return root;
  }

  private static BigInteger envelopeScalar(SeededRandom r) {
    byte[] b = new byte[32];
    while (true) {
      r.nextBytes(b);
      BigInteger k = new BigInteger(1, b);
      if (k.signum() > 0 && k.compareTo(Group.P256.getN()) < 0) return k;
    }
  }

  private static void envelopeDetails(
      ObjectNode o, BigInteger e, byte[] nonce, RecipientKey recipient, EnvelopeContext ctx) {
    byte[] ephemeral =
        new org.bouncycastle.math.ec.FixedPointCombMultiplier()
            .multiply(Group.P256.getG(), e)
            .normalize()
            .getEncoded(false);
    o.put("ephemeralScalar", HEX.formatHex(Group.to32(e)));
    o.put("ephemeralPublicKey", HEX.formatHex(ephemeral));
    o.put("nonce", HEX.formatHex(nonce));
    o.put("aad", HEX.formatHex(ctx.aad(recipient.id(), ephemeral)));
  }
}
