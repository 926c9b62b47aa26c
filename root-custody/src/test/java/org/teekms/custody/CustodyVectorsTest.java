package org.teekms.custody;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.teekms.keys.InsecureSecretAccess;

/**
 * docs/root-custody-vectors.json: regenerating from the seed gives the committed bytes, and the
 * committed values alone (keys, envelopes, commitments) open, verify and reconstruct. Rewrite the
 * file with {@code -Dtest=CustodyVectorsTest#write -Dteekms.regenerateVectors=true}.
 */
class CustodyVectorsTest {
  private static final HexFormat HEX = HexFormat.of();
  private static final InsecureSecretAccess ACCESS = InsecureSecretAccess.get();

  @Test
  void regeneratingFromTheSeedGivesTheCommittedFile() throws Exception {
    String regenerated = CustodyVectors.JSON.writeValueAsString(CustodyVectors.build()) + "\n";
    assertTrue(
        regenerated.equals(Files.readString(CustodyVectors.FILE)),
        "docs/root-custody-vectors.json differs from what the seed gives");
  }

  @Test
  void theCommittedValuesOpenVerifyAndReconstruct() throws Exception {
    JsonNode v = CustodyVectors.JSON.readTree(CustodyVectors.FILE.toFile());
    long generation = v.get("generation").asLong();
    Commitments c = Commitments.decode(hex(v.at("/backup/commitments")));
    assertEquals(v.get("threshold").asInt(), c.threshold());
    assertArrayEquals(hex(v.at("/backup/commitmentsDigest")), c.digest());
    for (JsonNode s : v.at("/backup/shares")) {
      int i = s.get("index").asInt();
      JsonNode custodian = v.get("custodians").get(i - 1);
      RecipientKeyPair key = RecipientKeyPair.fromPrivate(hex(custodian.get("privateKey")), ACCESS);
      assertArrayEquals(hex(custodian.get("publicKey")), key.publicKey().encode());
      assertArrayEquals(hex(custodian.get("id")), key.publicKey().id());
      try (Share share =
          CustodianShare.open(
              key, generation, i, c, hex(s.get("envelope")), hex(s.get("envelopeDigest")))) {
        assertArrayEquals(hex(s.get("encoding")), share.encode(ACCESS));
      }
    }
    RecipientKeyPair node =
        RecipientKeyPair.fromPrivate(hex(v.at("/recovery/nodePrivateKey")), ACCESS);
    Map<Integer, byte[]> envelopes = new TreeMap<>();
    for (JsonNode e : v.at("/recovery/envelopes"))
      envelopes.put(e.get("index").asInt(), hex(e.get("envelope")));
    try (Shamir.Recovered r =
        RootRecovery.recover(
            generation,
            c,
            hex(v.at("/recovery/requestId")),
            node,
            envelopes,
            hex(v.get("kmsRootPublicKey")))) {
      assertArrayEquals(hex(v.get("rootSecret")), r.secret().toByteArray(ACCESS));
      assertTrue(r.badIndices().isEmpty());
    }
  }

  @Test
  @EnabledIfSystemProperty(named = "teekms.regenerateVectors", matches = "true")
  void write() throws Exception {
    Files.writeString(
        CustodyVectors.FILE, CustodyVectors.JSON.writeValueAsString(CustodyVectors.build()) + "\n");
  }

  private static byte[] hex(JsonNode n) {
    return HEX.parseHex(n.asText());
  }
}
