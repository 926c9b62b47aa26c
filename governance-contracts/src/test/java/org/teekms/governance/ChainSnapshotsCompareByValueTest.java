package org.teekms.governance;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.teekms.crypto.Bytes;

/**
 * Chain snapshots hold byte arrays; two reads of the same chain state must be equal, and nobody may
 * change one.
 */
class ChainSnapshotsCompareByValueTest {

  private static Bytes bytes(int fill) {
    return Bytes.copyOf(b(fill));
  }

  private static byte[] b(int fill) {
    byte[] a = new byte[32];
    java.util.Arrays.fill(a, (byte) fill);
    return a;
  }

  /**
   * Equal contents in distinct arrays are equal with equal hash codes; one different byte is not
   * equal.
   */
  private static <T> void assertValue(Function<byte[], T> make) {
    T one = make.apply(b(1));
    T same = make.apply(b(1));
    assertEquals(one, same);
    assertEquals(one.hashCode(), same.hashCode());
    assertNotEquals(one, make.apply(b(2)));
  }

  @Test
  void kmsIdentitiesWithTheSameBytesAreEqual() {
    assertValue(x -> new KmsRegistry.KmsIdentity(Bytes.copyOf(x), bytes(3), bytes(4), 7));
    assertValue(x -> new KmsRegistry.KmsIdentity(bytes(3), bytes(4), Bytes.copyOf(x), 7));
  }

  @Test
  void publishedKmsIdentitiesWithTheSameBytesAreEqual() {
    assertValue(
        x ->
            new KmsRegistry.PublishedKmsIdentity(
                1, bytes(3), Bytes.copyOf(x), bytes(4), 9, "0xabc"));
  }

  @Test
  void auditAnchorsWithTheSameHeadAreEqual() {
    assertValue(x -> new KmsRegistry.AuditAnchor(Bytes.copyOf(x), 5, 9));
  }

  @Test
  void publishedRootKeysWithTheSameKeysAreEqual() {
    assertValue(x -> PublishedRootKeys.published(1, Bytes.copyOf(x), 9, "0xabc"));
    assertEquals(
        PublishedRootKeys.unavailable(1, "rpc down"), PublishedRootKeys.unavailable(1, "rpc down"));
  }

  @Test
  void custodiansRecoveriesAndBackupsWithTheSameBytesAreEqual() {
    assertValue(
        x ->
            new RootCustody.Custodian(
                Bytes.copyOf(x), bytes(3), RootCustody.Kind.HSM, "hsm-1", true, 4));
    assertValue(x -> new RootCustody.Recovery(bytes(3), 1, Bytes.copyOf(x), 4, 5, false));
    assertValue(
        x ->
            new RootCustody.Backup(
                1,
                2,
                bytes(3),
                List.of(bytes(4), Bytes.copyOf(x)),
                List.of(bytes(5), bytes(6)),
                8));
    assertValue(
        x ->
            new RootCustody.Backup(1, 2, bytes(3), List.of(bytes(4)), List.of(Bytes.copyOf(x)), 8));
  }

  @Test
  void appPolicySnapshotsWithTheSameHashesAreEqual() {
    assertValue(x -> snapshot(List.of(Bytes.copyOf(x)), List.of(bytes(9))));
    assertValue(x -> snapshot(List.of(bytes(9)), List.of(bytes(8), Bytes.copyOf(x))));
  }

  @Test
  void snapshotsCannotBeChangedThroughTheirInputsOrAccessors() {
    byte[] head = b(1);
    KmsRegistry.AuditAnchor anchor = new KmsRegistry.AuditAnchor(Bytes.copyOf(head), 5, 9);
    head[0] = 9;
    anchor.head().toByteArray()[1] = 9;
    assertArrayEquals(b(1), anchor.head().toByteArray());

    List<Bytes> hashes = new ArrayList<>(List.of(bytes(1)));
    AppPolicy.Snapshot s = snapshot(hashes, List.of());
    hashes.add(bytes(2));
    assertEquals(1, s.composeHashes().size());
    assertEquals(bytes(1), s.composeHashes().get(0));
  }

  private static AppPolicy.Snapshot snapshot(List<Bytes> composeHashes, List<Bytes> devices) {
    return new AppPolicy.Snapshot(
        "0xapp",
        "0xowner",
        "",
        "0xregistry",
        KmsRegistry.AppStatus.REGISTERED,
        false,
        composeHashes,
        false,
        devices,
        true,
        false,
        GpuPolicy.NONE,
        GpuPolicy.NONE,
        2,
        1,
        86400,
        0,
        false);
  }
}
