package org.teekms.custody;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.teekms.crypto.Bytes;

/**
 * The share store as a directory custodians fetch from (docs/root-custody.md §5.2): per generation
 * G, a folder {@code generation-G/} holding {@code commitments.bin}, and for each index i {@code
 * share-i.env} (the envelope) and {@code custodian-i.pub} (the custodian's 65-byte key). Everything
 * in it is public; a store that serves other bytes is caught by the digests on chain.
 */
public final class BackupStore {
  /** Largest file the reader accepts (commitments of t = 255 are 8,417 bytes). */
  static final int MAX_FILE = 16_384;

  private final Path root;

  public BackupStore(Path root) {
    this.root = root;
  }

  public Path generationDir(long generation) {
    return root.resolve("generation-" + generation);
  }

  /**
   * The staging folder of a backup not yet visible to custodians ({@code
   * .staging-generation-G-TAG}): a KMS writes here, records the backup in its database, and only
   * then makes it visible with {@link #reveal} (crash-safe ordering: kms-server's RootBackups).
   */
  public Path stagingDir(long generation, String tag) {
    if (!tag.matches("[0-9a-f]{8,64}"))
      throw new IllegalArgumentException("staging tag must be 8-64 hex digits");
    return root.resolve(".staging-generation-" + generation + "-" + tag);
  }

  /**
   * Writes a backup into its staging folder, every file and the folder forced to disk; an existing
   * staging folder of the same tag is replaced.
   */
  public Path writeStaging(RootBackup backup, String tag) throws IOException {
    Path dir = stagingDir(backup.generation(), tag);
    deleteFolder(dir);
    Files.createDirectories(dir);
    writeDurably(dir.resolve("commitments.bin"), backup.commitments().encode());
    for (RootBackup.SealedShare s : backup.shares()) {
      writeDurably(dir.resolve("share-" + s.index() + ".env"), s.envelope().toByteArray());
      writeDurably(dir.resolve("custodian-" + s.index() + ".pub"), s.custodian().encode());
    }
    force(dir);
    force(root);
    return dir;
  }

  /**
   * Makes a staged backup visible as {@code generation-G} (one atomic rename). Idempotent: returns
   * false when the staging folder is gone and {@code generation-G} exists (an earlier call renamed
   * it). IOException when neither exists, or both do (the visible one is never replaced).
   */
  public boolean reveal(long generation, String tag) throws IOException {
    Path staged = stagingDir(generation, tag);
    Path dir = generationDir(generation);
    boolean hasStaged = Files.isDirectory(staged);
    boolean visible = Files.exists(dir);
    if (!hasStaged && visible) return false;
    if (!hasStaged)
      throw new NoSuchFileException(staged + " (and " + dir + ") are missing from the share store");
    if (visible)
      throw new IOException(
          dir
              + " already exists: the share store already shows a backup of generation "
              + generation
              + " that is not "
              + staged.getFileName());
    Files.move(staged, dir, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    force(root);
    return true;
  }

  /**
   * Staging folders of {@code generation} other than {@code keepTag}: leftovers of attempts that
   * never committed.
   */
  public List<Path> staleStaging(long generation, String keepTag) throws IOException {
    String prefix = ".staging-generation-" + generation + "-";
    List<Path> out = new ArrayList<>();
    if (!Files.isDirectory(root)) return out;
    try (var entries = Files.list(root)) {
      entries
          .filter(p -> p.getFileName().toString().startsWith(prefix))
          .filter(p -> !p.getFileName().toString().equals(prefix + keepTag))
          .forEach(out::add);
    }
    return out;
  }

  /**
   * Deletes a folder of the store and its files (staging leftovers only; the store holds no
   * sub-folders).
   */
  public static void deleteFolder(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) return;
    try (var files = Files.list(dir)) {
      for (Path f : files.toList()) Files.delete(f);
    }
    Files.delete(dir);
  }

  private static void writeDurably(Path file, byte[] bytes) throws IOException {
    try (java.nio.channels.FileChannel ch =
        java.nio.channels.FileChannel.open(
            file,
            java.nio.file.StandardOpenOption.CREATE_NEW,
            java.nio.file.StandardOpenOption.WRITE)) {
      java.nio.ByteBuffer buf = java.nio.ByteBuffer.wrap(bytes);
      while (buf.hasRemaining()) ch.write(buf);
      ch.force(true);
    }
  }

  /** fsync of a directory (its entries); a no-op where the platform cannot open directories. */
  private static void force(Path dir) {
    try (java.nio.channels.FileChannel ch =
        java.nio.channels.FileChannel.open(dir, java.nio.file.StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException e) {
      // Not every file system lets a directory be opened; the rename is still atomic.
    }
  }

  /** Writes a backup (refuses to overwrite an existing generation: a backup is published once). */
  public void write(RootBackup backup) throws IOException {
    Path dir = generationDir(backup.generation());
    if (Files.exists(dir)) throw new IOException(dir + " already exists");
    Path tmp = Files.createDirectories(root).resolve(".tmp-generation-" + backup.generation());
    Files.createDirectories(tmp);
    Files.write(tmp.resolve("commitments.bin"), backup.commitments().encode());
    for (RootBackup.SealedShare s : backup.shares()) {
      Files.write(tmp.resolve("share-" + s.index() + ".env"), s.envelope().toByteArray());
      Files.write(tmp.resolve("custodian-" + s.index() + ".pub"), s.custodian().encode());
    }
    Files.move(tmp, dir, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  public Commitments commitments(long generation) throws CustodyException {
    return Commitments.decode(read(generationDir(generation).resolve("commitments.bin")));
  }

  public byte[] envelope(long generation, int index) throws CustodyException {
    return read(generationDir(generation).resolve("share-" + index + ".env"));
  }

  public RecipientKey custodian(long generation, int index) throws CustodyException {
    return RecipientKey.decode(
        read(generationDir(generation).resolve("custodian-" + index + ".pub")));
  }

  /** The backup as stored: every index 1..n present in order (MALFORMED otherwise). */
  public RootBackup read(long generation) throws CustodyException {
    Commitments c = commitments(generation);
    List<RootBackup.SealedShare> shares = new ArrayList<>();
    for (int i = 1; i <= Share.MAX_INDEX; i++) {
      if (!Files.exists(generationDir(generation).resolve("share-" + i + ".env"))) break;
      shares.add(
          new RootBackup.SealedShare(
              i, custodian(generation, i), Bytes.copyOf(envelope(generation, i))));
    }
    if (shares.size() < c.threshold()) {
      throw new CustodyException(
          CustodyException.Reason.MALFORMED,
          "the store holds "
              + shares.size()
              + " share envelopes for generation "
              + generation
              + ", fewer than the threshold "
              + c.threshold());
    }
    return new RootBackup(generation, c, shares);
  }

  private static byte[] read(Path file) throws CustodyException {
    try {
      long size = Files.size(file);
      if (size > MAX_FILE) {
        throw new CustodyException(
            CustodyException.Reason.MALFORMED, file + " is " + size + " bytes, over " + MAX_FILE);
      }
      return Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new CustodyException(
          CustodyException.Reason.MALFORMED, file + " is missing from the share store");
    } catch (IOException e) {
      throw new CustodyException(
          CustodyException.Reason.MALFORMED, "cannot read " + file + ": " + e.getMessage());
    }
  }
}
