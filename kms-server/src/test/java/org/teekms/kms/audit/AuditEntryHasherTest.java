package org.teekms.kms.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.teekms.crypto.Bytes;
import org.teekms.keys.AppId;

/** Checks the documented vectors in docs/audit-log.md and the encoding's unambiguity. */
class AuditEntryHasherTest {

  private static final HexFormat HEX = HexFormat.of();
  private static final byte[] APP = HEX.parseHex("00000000000000000000000000000000000000aa");
  private static final String DETAIL_1 =
      "{\"instanceId\":\"0102\",\"keyVersions\":[1],\"policyBlock\":42}";

  @Test
  void documentedVectors() {
    UUID id1 = UUID.fromString("00000000-0000-4000-8000-000000000001");
    byte[] encoded =
        AuditEntryHasher.encode(
            1, id1, 1767225600000L, "GRANT_APP_KEYS", APP, "ALLOWED", "", DETAIL_1, new byte[32]);
    assertEquals(
        "000000107465652d6b6d732f61756469742f76310000000000000001000000000000400080000000000000010000019b76daa8"
            + "000000000e4752414e545f4150505f4b4559530000001400000000000000000000000000000000000000aa00000007414c4c4f5745"
            + "4400000000000000387b22696e7374616e63654964223a2230313032222c226b657956657273696f6e73223a5b315d2c22706f6c"
            + "696379426c6f636b223a34327d0000000000000000000000000000000000000000000000000000000000000000",
        HEX.formatHex(encoded));
    byte[] h1 =
        AuditEntryHasher.hash(
            1, id1, 1767225600000L, "GRANT_APP_KEYS", APP, "ALLOWED", "", DETAIL_1, new byte[32]);
    assertEquals(
        "757f1eda0c77b83c321c5e102e7ba03a50e77b4b71fce22817ddf9d0d157b868", HEX.formatHex(h1));
    byte[] h2 =
        AuditEntryHasher.hash(
            2,
            UUID.fromString("00000000-0000-4000-8000-000000000002"),
            1767225601000L,
            "DENY_APP_KEYS",
            APP,
            "DENIED",
            "COMPOSE_HASH_NOT_ALLOWED",
            "{\"composeHash\":\"ff\"}",
            h1);
    assertEquals(
        "bb721dafca01015ce73e63bc417e6e72da26216bb4e682cc123eca8232284778", HEX.formatHex(h2));
  }

  @Test
  void typedEntriesHashToTheDocumentedVectorAndCompareByValue() {
    UUID id1 = UUID.fromString("00000000-0000-4000-8000-000000000001");
    AuditDraft draft =
        new AuditDraft(
            id1,
            "GRANT_APP_KEYS",
            Optional.of(AppId.of(APP)),
            AuditDraft.Outcome.ALLOWED,
            "",
            DETAIL_1);
    assertEquals(Bytes.copyOf(APP), draft.appIdBytes());
    AuditEntry entry = entry(draft, new byte[32]);
    assertEquals(
        "757f1eda0c77b83c321c5e102e7ba03a50e77b4b71fce22817ddf9d0d157b868",
        HEX.formatHex(AuditEntryHasher.hash(entry)));
    // Built again from fresh arrays: equal by value, with the same hash code.
    AuditDraft again =
        new AuditDraft(
            id1,
            "GRANT_APP_KEYS",
            Optional.of(AppId.of(APP.clone())),
            AuditDraft.Outcome.ALLOWED,
            "",
            DETAIL_1);
    assertEquals(draft, again);
    assertEquals(entry, entry(again, new byte[32]));
    assertEquals(entry.hashCode(), entry(again, new byte[32]).hashCode());
    assertNotEquals(entry, entry(again, HEX.parseHex("01".repeat(32))));
    // An entry about no app stores (and hashes) an empty app id.
    AuditDraft none = AuditDraft.allowed("ROOT_GENERATION", null, "{}");
    assertEquals(Bytes.EMPTY, none.appIdBytes());
    assertEquals(Bytes.EMPTY, entry(none, new byte[32]).appId());
  }

  private static AuditEntry entry(AuditDraft d, byte[] prev) {
    Bytes app = d.appIdBytes();
    byte[] hash =
        AuditEntryHasher.hash(
            1,
            d.eventId(),
            1767225600000L,
            d.kind(),
            app.toByteArray(),
            d.outcome().name(),
            d.reason(),
            d.detailJson(),
            prev);
    return new AuditEntry(
        1,
        d.eventId(),
        1767225600000L,
        d.kind(),
        app,
        d.outcome(),
        d.reason(),
        d.detailJson(),
        Bytes.copyOf(prev),
        Bytes.copyOf(hash));
  }

  @Test
  void fieldBoundariesAreUnambiguous() {
    UUID id = UUID.randomUUID();
    byte[] a =
        AuditEntryHasher.hash(1, id, 0, "AB", new byte[0], "ALLOWED", "c", "{}", new byte[32]);
    byte[] b =
        AuditEntryHasher.hash(1, id, 0, "A", new byte[0], "ALLOWED", "Bc", "{}", new byte[32]);
    assertFalse(Arrays.equals(a, b));
  }

  @Test
  void everyFieldChangesTheHash() {
    UUID id = UUID.randomUUID();
    byte[] base = AuditEntryHasher.hash(1, id, 5, "K", APP, "ALLOWED", "", "{}", new byte[32]);
    byte[] prev = new byte[32];
    prev[31] = 1;
    byte[][] variants = {
      AuditEntryHasher.hash(2, id, 5, "K", APP, "ALLOWED", "", "{}", new byte[32]),
      AuditEntryHasher.hash(1, UUID.randomUUID(), 5, "K", APP, "ALLOWED", "", "{}", new byte[32]),
      AuditEntryHasher.hash(1, id, 6, "K", APP, "ALLOWED", "", "{}", new byte[32]),
      AuditEntryHasher.hash(1, id, 5, "J", APP, "ALLOWED", "", "{}", new byte[32]),
      AuditEntryHasher.hash(1, id, 5, "K", new byte[20], "ALLOWED", "", "{}", new byte[32]),
      AuditEntryHasher.hash(1, id, 5, "K", APP, "DENIED", "", "{}", new byte[32]),
      AuditEntryHasher.hash(1, id, 5, "K", APP, "ALLOWED", "x", "{}", new byte[32]),
      AuditEntryHasher.hash(1, id, 5, "K", APP, "ALLOWED", "", "{ }", new byte[32]),
      AuditEntryHasher.hash(1, id, 5, "K", APP, "ALLOWED", "", "{}", prev),
    };
    for (byte[] v : variants) {
      assertFalse(Arrays.equals(base, v));
    }
  }

  @Test
  void prevHashMustBe32Bytes() {
    assertThrows(
        IllegalArgumentException.class,
        () ->
            AuditEntryHasher.hash(
                1, UUID.randomUUID(), 0, "K", APP, "ALLOWED", "", "{}", new byte[31]));
  }
}
