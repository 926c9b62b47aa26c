package org.teekms.custody;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.teekms.keys.InsecureSecretAccess;
import org.teekms.keys.SecretBytes;

class BackupStoreTest {
  @TempDir Path dir;

  private RootBackup backup() throws CustodyException {
    SecretBytes root =
        SecretBytes.copyOf(
            Group.to32(Shamir.uniformScalar(new SeededRandom("r"))), InsecureSecretAccess.get());
    List<RecipientKey> keys =
        List.of(
            RecipientKeyPair.generate(new SeededRandom("a")).publicKey(),
            RecipientKeyPair.generate(new SeededRandom("b")).publicKey(),
            RecipientKeyPair.generate(new SeededRandom("c")).publicKey());
    return RootBackup.create(2, root, 2, keys, new SeededRandom("backup"));
  }

  @Test
  void aWrittenBackupReadsBackIdenticallyAndIsWrittenOnce() throws Exception {
    RootBackup b = backup();
    BackupStore store = new BackupStore(dir);
    store.write(b);
    RootBackup read = store.read(2);
    assertEquals(b.commitments(), read.commitments());
    assertEquals(3, read.shares().size());
    for (int i = 0; i < 3; i++) {
      assertEquals(b.shares().get(i).envelope(), read.shares().get(i).envelope());
      assertEquals(b.shares().get(i).custodian(), read.shares().get(i).custodian());
    }
    assertTrue(
        assertThrows(java.io.IOException.class, () -> store.write(b))
            .getMessage()
            .endsWith("already exists"));
  }

  @Test
  void aStagedBackupIsInvisibleUntilRevealedAndRevealIsIdempotent() throws Exception {
    RootBackup b = backup();
    BackupStore store = new BackupStore(dir);
    store.writeStaging(b, "00112233");
    store.writeStaging(b, "aabbccdd"); // an attempt that never committed
    assertTrue(
        assertThrows(CustodyException.class, () -> store.read(2)).getMessage().contains("missing"));
    assertEquals(List.of(store.stagingDir(2, "aabbccdd")), store.staleStaging(2, "00112233"));
    assertTrue(store.reveal(2, "00112233"));
    assertEquals(b.commitments(), store.read(2).commitments());
    assertEquals(
        false,
        store.reveal(2, "00112233")); // done before: a crash after the rename is redone harmlessly
    // another staged backup never replaces the visible one
    java.io.IOException both =
        assertThrows(java.io.IOException.class, () -> store.reveal(2, "aabbccdd"));
    assertTrue(both.getMessage().contains("already exists"), both.getMessage());
    BackupStore.deleteFolder(store.stagingDir(2, "aabbccdd"));
    assertEquals(List.of(), store.staleStaging(2, "00112233"));
    assertThrows(java.nio.file.NoSuchFileException.class, () -> store.reveal(3, "00112233"));
    assertThrows(IllegalArgumentException.class, () -> store.stagingDir(2, "../x"));
  }

  @Test
  void onlyRootsBelowTheGroupOrderAreShareable() {
    assertTrue(Shamir.isShareable(Group.to32(java.math.BigInteger.ONE)));
    assertTrue(Shamir.isShareable(Group.to32(Group.N.subtract(java.math.BigInteger.ONE))));
    assertEquals(false, Shamir.isShareable(new byte[32]));
    assertEquals(false, Shamir.isShareable(Group.to32(Group.N)));
    assertEquals(false, Shamir.isShareable(new byte[31]));
  }

  @Test
  void missingOversizedOrCorruptFilesAreOneLineErrors() throws Exception {
    BackupStore store = new BackupStore(dir);
    store.write(backup());
    Path g = store.generationDir(2);
    assertEquals(
        g.resolve("commitments.bin") + " is missing from the share store",
        assertThrows(CustodyException.class, () -> store.commitments(3))
            .getMessage()
            .replace("generation-3", "generation-2"));
    Files.write(g.resolve("custodian-2.pub"), new byte[65]);
    assertEquals(
        "recipient public key has point prefix 0x00",
        assertThrows(CustodyException.class, () -> store.read(2)).getMessage());
    Files.write(g.resolve("commitments.bin"), new byte[BackupStore.MAX_FILE + 1]);
    assertTrue(
        assertThrows(CustodyException.class, () -> store.commitments(2))
            .getMessage()
            .endsWith("is 16385 bytes, over 16384"));
    Files.delete(g.resolve("share-2.env"));
    Files.delete(g.resolve("share-3.env"));
    Files.write(g.resolve("commitments.bin"), backup().commitments().encode());
    assertEquals(
        "the store holds 1 share envelopes for generation 2, fewer than the threshold 2",
        assertThrows(CustodyException.class, () -> store.read(2)).getMessage());
  }
}
