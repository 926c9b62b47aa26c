package org.teekms.custody;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The share store as a directory custodians fetch from (docs/root-custody.md §5.2): per generation G, a folder
 * {@code generation-G/} holding {@code commitments.bin}, and for each index i {@code share-i.env} (the envelope)
 * and {@code custodian-i.pub} (the custodian's 65-byte key). Everything in it is public; a store that serves other
 * bytes is caught by the digests on chain.
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

  /** Writes a backup (refuses to overwrite an existing generation: a backup is published once). */
  public void write(RootBackup backup) throws IOException {
    Path dir = generationDir(backup.generation());
    if (Files.exists(dir)) throw new IOException(dir + " already exists");
    Path tmp = Files.createDirectories(root).resolve(".tmp-generation-" + backup.generation());
    Files.createDirectories(tmp);
    Files.write(tmp.resolve("commitments.bin"), backup.commitments().encode());
    for (RootBackup.SealedShare s : backup.shares()) {
      Files.write(tmp.resolve("share-" + s.index() + ".env"), s.envelope());
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
    return RecipientKey.decode(read(generationDir(generation).resolve("custodian-" + index + ".pub")));
  }

  /** The backup as stored: every index 1..n present in order (MALFORMED otherwise). */
  public RootBackup read(long generation) throws CustodyException {
    Commitments c = commitments(generation);
    List<RootBackup.SealedShare> shares = new ArrayList<>();
    for (int i = 1; i <= Share.MAX_INDEX; i++) {
      if (!Files.exists(generationDir(generation).resolve("share-" + i + ".env"))) break;
      shares.add(new RootBackup.SealedShare(i, custodian(generation, i), envelope(generation, i)));
    }
    if (shares.size() < c.threshold()) {
      throw new CustodyException(CustodyException.Reason.MALFORMED, "the store holds " + shares.size()
          + " share envelopes for generation " + generation + ", fewer than the threshold " + c.threshold());
    }
    return new RootBackup(generation, c, shares);
  }

  private static byte[] read(Path file) throws CustodyException {
    try {
      long size = Files.size(file);
      if (size > MAX_FILE) {
        throw new CustodyException(CustodyException.Reason.MALFORMED, file + " is " + size + " bytes, over "
            + MAX_FILE);
      }
      return Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new CustodyException(CustodyException.Reason.MALFORMED, file + " is missing from the share store");
    } catch (IOException e) {
      throw new CustodyException(CustodyException.Reason.MALFORMED, "cannot read " + file + ": " + e.getMessage());
    }
  }
}
