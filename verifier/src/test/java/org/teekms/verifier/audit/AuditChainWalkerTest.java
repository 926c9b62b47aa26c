package org.teekms.verifier.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.teekms.crypto.Bytes;

class AuditChainWalkerTest {

  private static final Bytes APP = Bytes.fromHex("00000000000000000000000000000000000000aa");

  /**
   * docs/audit-log.md, "Test vectors" (computed there with an independent Python implementation).
   */
  @Test
  void docVectorsRecompute() {
    AuditRecord e1 =
        record(
            1,
            "00000000-0000-4000-8000-000000000001",
            1767225600000L,
            "GRANT_APP_KEYS",
            "ALLOWED",
            "",
            "{\"instanceId\":\"0102\",\"keyVersions\":[1],\"policyBlock\":42}",
            AuditChainHash.GENESIS,
            Bytes.fromHex("757f1eda0c77b83c321c5e102e7ba03a50e77b4b71fce22817ddf9d0d157b868"));
    AuditRecord e2 =
        record(
            2,
            "00000000-0000-4000-8000-000000000002",
            1767225601000L,
            "DENY_APP_KEYS",
            "DENIED",
            "COMPOSE_HASH_NOT_ALLOWED",
            "{\"composeHash\":\"ff\"}",
            e1.entryHash(),
            Bytes.fromHex("bb721dafca01015ce73e63bc417e6e72da26216bb4e682cc123eca8232284778"));
    assertEquals(e1.entryHash(), AuditChainHash.of(e1));
    assertEquals(e2.entryHash(), AuditChainHash.of(e2));
    AuditChainReport r =
        walk(List.of(e1, e2), List.of(new AuditCheckpoint("anchor", 2, e2.entryHash())));
    assertTrue(r.valid(), r.problem());
    assertEquals(2, r.entriesChecked());
    assertEquals(e2.entryHash(), r.headHash());
    assertEquals(2, r.checkpoints().get(0).atSeq());
  }

  @Test
  void editedEntryIsCaughtAtThatEntry() {
    List<AuditRecord> chain = chain(5);
    AuditRecord e = chain.get(1);
    chain.set(1, AuditRecordBuilder.from(e).outcome("ALLOWED").reason("").build());
    AuditChainReport r = walk(chain, List.of());
    assertFalse(r.valid());
    assertEquals(2, r.firstBadSeq());
    assertTrue(r.problem().contains("entry_hash does not match"), r.problem());
    assertEquals(1, r.entriesChecked());
  }

  @Test
  void editedEntryWithRecomputedHashIsCaughtAtTheNextEntry() {
    List<AuditRecord> chain = chain(5);
    chain.set(1, rehash(chain.get(1), "{\"forged\":true}", chain.get(1).prevHash()));
    AuditChainReport r = walk(chain, List.of());
    assertFalse(r.valid());
    assertEquals(3, r.firstBadSeq());
    assertTrue(r.problem().contains("prev_hash"), r.problem());
  }

  @Test
  void deletedEntryIsASequenceGap() {
    List<AuditRecord> chain = chain(5);
    chain.remove(3);
    AuditChainReport r = walk(chain, List.of());
    assertFalse(r.valid());
    assertEquals(4, r.firstBadSeq());
    assertTrue(r.problem().contains("sequence gap"), r.problem());
  }

  @Test
  void reorderedEntriesAreCaught() {
    List<AuditRecord> chain = chain(5);
    AuditRecord two = chain.get(1);
    chain.set(1, chain.get(2));
    chain.set(2, two);
    AuditChainReport r = walk(chain, List.of());
    assertFalse(r.valid());
    assertEquals(2, r.firstBadSeq());
  }

  @Test
  void reorderedEntriesWithRenumberedSeqAreCaughtByTheirHashes() {
    List<AuditRecord> chain = chain(5);
    AuditRecord two = chain.get(1);
    AuditRecord three = chain.get(2);
    chain.set(1, renumber(three, 2));
    chain.set(2, renumber(two, 3));
    AuditChainReport r = walk(chain, List.of());
    assertFalse(r.valid());
    assertEquals(2, r.firstBadSeq());
  }

  @Test
  void wholeHistoryRewrittenConsistentlyIsCaughtOnlyByACheckpoint() {
    List<AuditRecord> original = chain(6);
    Bytes saved = original.get(3).entryHash();
    List<AuditRecord> rewritten = new ArrayList<>(original.subList(0, 1));
    for (int i = 1; i < original.size(); i++) {
      rewritten.add(
          rehash(
              original.get(i),
              i == 2 ? "{\"forged\":true}" : original.get(i).detailJson(),
              rewritten.get(i - 1).entryHash()));
    }
    assertTrue(
        walk(rewritten, List.of()).valid(), "self-consistent: the KMS's own word would say valid");
    AuditChainReport saved4 = walk(rewritten, List.of(AuditCheckpoint.savedHead(saved)));
    assertFalse(saved4.valid());
    assertTrue(saved4.problem().contains("saved head"), saved4.problem());
    AuditChainReport anchored =
        walk(rewritten, List.of(new AuditCheckpoint("on-chain anchor", 4, saved)));
    assertFalse(anchored.valid());
    assertEquals(4, anchored.firstBadSeq());
    assertTrue(anchored.problem().contains("history rewritten"), anchored.problem());
    assertTrue(walk(original, List.of(AuditCheckpoint.savedHead(saved))).valid());
  }

  @Test
  void truncatedTailIsCaughtByAnAnchorBeyondTheEnd() {
    List<AuditRecord> chain = chain(6);
    AuditCheckpoint anchor = new AuditCheckpoint("on-chain anchor", 6, chain.get(5).entryHash());
    AuditChainReport r = walk(chain.subList(0, 4), List.of(anchor));
    assertFalse(r.valid());
    assertTrue(r.problem().contains("ends at seq 4"), r.problem());
    assertTrue(walk(chain, List.of(anchor)).valid());
  }

  @Test
  void emptyChainPassesTheGenesisCheckpointOnly() {
    assertTrue(
        walk(List.of(), List.of(new AuditCheckpoint("anchor", 0, AuditChainHash.GENESIS))).valid());
    assertTrue(walk(List.of(), List.of(AuditCheckpoint.savedHead(AuditChainHash.GENESIS))).valid());
    assertFalse(
        walk(List.of(), List.of(AuditCheckpoint.savedHead(Bytes.fromHex("01".repeat(32)))))
            .valid());
    assertThrows(
        IllegalArgumentException.class,
        () -> new AuditCheckpoint("x", 0, Bytes.fromHex("01".repeat(32))));
    assertThrows(
        IllegalArgumentException.class, () -> new AuditCheckpoint("x", 3, Bytes.fromHex("01")));
  }

  /** Seeded random single-field mutations of a valid chain: every one is caught, none throws. */
  @Test
  void randomMutationsAreAllCaught() {
    Random random = new Random(15);
    for (int round = 0; round < 500; round++) {
      List<AuditRecord> chain = chain(8);
      int i = random.nextInt(chain.size());
      AuditRecord e = chain.get(i);
      byte[] h = e.entryHash().toByteArray();
      h[random.nextInt(32)] ^= (byte) (1 << random.nextInt(8));
      AuditRecord m =
          switch (random.nextInt(6)) {
            case 0 -> AuditRecordBuilder.from(e).eventTimeMillis(e.eventTimeMillis() + 1).build();
            case 1 -> AuditRecordBuilder.from(e).kind(e.kind() + "X").build();
            case 2 -> AuditRecordBuilder.from(e).appId(Bytes.EMPTY).build();
            case 3 -> AuditRecordBuilder.from(e).eventId(UUID.randomUUID()).build();
            case 4 -> AuditRecordBuilder.from(e).entryHash(Bytes.copyOf(h)).build();
            default -> AuditRecordBuilder.from(e).detailJson(e.detailJson() + " ").build();
          };
      chain.set(i, m);
      Bytes last = chain(8).get(7).entryHash();
      AuditChainReport r = walk(chain, List.of(new AuditCheckpoint("anchor", 8, last)));
      assertFalse(r.valid(), "round " + round);
      assertEquals(i + 1, r.firstBadSeq(), "round " + round + ": " + r.problem());
    }
  }

  private static AuditChainReport walk(
      List<AuditRecord> entries, List<AuditCheckpoint> checkpoints) {
    AuditChainWalker w = new AuditChainWalker(checkpoints);
    for (AuditRecord e : entries) {
      if (!w.accept(e)) {
        break;
      }
    }
    return w.finish();
  }

  /** A valid chain of {@code n} entries (deterministic). */
  private static List<AuditRecord> chain(int n) {
    List<AuditRecord> out = new ArrayList<>();
    Bytes prev = AuditChainHash.GENESIS;
    for (int i = 1; i <= n; i++) {
      AuditRecord r =
          rehash(
              new AuditRecord(
                  i,
                  new UUID(0x4000, i),
                  1767225600000L + i,
                  i % 2 == 0 ? "DENY_APP_KEYS" : "GRANT_APP_KEYS",
                  APP,
                  i % 2 == 0 ? "DENIED" : "ALLOWED",
                  i % 2 == 0 ? "DEBUG_TD" : "",
                  "{\"n\":" + i + "}",
                  prev,
                  AuditChainHash.GENESIS),
              "{\"n\":" + i + "}",
              prev);
      out.add(r);
      prev = r.entryHash();
    }
    return out;
  }

  private static AuditRecord rehash(AuditRecord e, String detail, Bytes prev) {
    AuditRecordBuilder unhashed =
        AuditRecordBuilder.from(e)
            .detailJson(detail)
            .prevHash(prev)
            .entryHash(AuditChainHash.GENESIS);
    return unhashed.entryHash(AuditChainHash.of(unhashed.build())).build();
  }

  private static AuditRecord renumber(AuditRecord e, long seq) {
    return AuditRecordBuilder.from(e).seq(seq).build();
  }

  private static AuditRecord record(
      long seq,
      String id,
      long time,
      String kind,
      String outcome,
      String reason,
      String detail,
      Bytes prev,
      Bytes hash) {
    return new AuditRecord(
        seq, UUID.fromString(id), time, kind, APP, outcome, reason, detail, prev, hash);
  }
}
