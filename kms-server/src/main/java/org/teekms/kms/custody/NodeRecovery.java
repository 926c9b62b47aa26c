package org.teekms.kms.custody;

import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import org.teekms.custody.Commitments;
import org.teekms.custody.CustodyException;
import org.teekms.custody.EnvelopeContext;
import org.teekms.custody.RecipientKey;
import org.teekms.custody.RecipientKeyPair;
import org.teekms.custody.RootRecovery;
import org.teekms.custody.Shamir;
import org.teekms.custody.Share;
import org.teekms.custody.ShareEnvelope;
import org.teekms.custody.ShareSubmission;
import org.teekms.governance.PublishedRootKeys;
import org.teekms.governance.RootCustody;
import org.teekms.keys.InsecureSecretAccess;
import org.teekms.kms.onboarding.PublishedRootsPort;

/**
 * A fresh KMS node recovering root generation G from its custodians (docs/root-custody.md
 * §6.3–6.4): the node's attested key (its RA-TLS key when recovery started, the one the registry
 * owner authorized) opens the re-encrypted shares custodians send; each is checked as it arrives,
 * so a wrong share is identified by its index at once; once t valid shares of one authorized
 * request are in, the root is reconstructed here, checked against the generation's published
 * identity and handed to the {@link Sink} (sealed under this node's sealing key, audited).
 * Thread-safe; {@link #submit} blocks on chain reads (call it from a worker thread).
 *
 * <p>Holds: the node key (destroyed once the root is stored or recovery failed), the valid shares
 * received (destroyed likewise). Never logs or returns a secret.
 */
public final class NodeRecovery {

  /** Where the recovery stands. */
  public enum State {
    /** Waiting for shares: fewer than t valid shares of any authorized request. */
    RECOVERING,
    /**
     * The root was reconstructed, matched the published identity and was stored: the node serves.
     */
    RECOVERED,
    /**
     * For good: the reconstructed root is not the published one, or storing it failed (detail says
     * why).
     */
    FAILED
  }

  /** Why a submission was refused; stable codes for the caller and the audit. */
  public enum Refusal {
    /** Request id, index or envelope is malformed. */
    MALFORMED,
    /** The node is not recovering any more (already recovered or failed). */
    NOT_RECOVERING,
    /** No backup of the generation is published on chain, or it has no share of that index. */
    NO_SUCH_SHARE,
    /**
     * The submission is not signed by the key the on-chain backup names as this index's custodian.
     */
    SENDER_NOT_CUSTODIAN,
    /**
     * The registry owner did not authorize this request for this generation and this node's key (or
     * revoked it).
     */
    RECOVERY_NOT_AUTHORIZED,
    /**
     * The envelope does not open with this node's key, or the share does not verify against the
     * commitments.
     */
    SHARE_INVALID,
    /** The chain could not be read (retry later). */
    CHAIN_UNAVAILABLE
  }

  /** A submission refused; {@link #code()} is the stable reason, the message one line. */
  public static final class Refused extends Exception {
    private static final long serialVersionUID = 1L;
    private final Refusal code;

    Refused(Refusal code, String message) {
      super(message);
      this.code = code;
    }

    public Refusal code() {
      return code;
    }
  }

  /** A share found wrong, by index, with the reason. */
  public record BadShare(int index, String reason) {}

  /** What an operator or custodian sees: never a secret. */
  public record Progress(
      State state,
      int generation,
      int threshold,
      List<Integer> validIndices,
      List<BadShare> badShares,
      Optional<String> requestId,
      String detail) {
    public Progress {
      validIndices = List.copyOf(validIndices);
      badShares = List.copyOf(badShares);
    }
  }

  /**
   * Stores the recovered root (sealed under this node's sealing key, with the backup record and the
   * audit entry, in one transaction). Must not keep {@code root}; the caller zeroizes it
   * afterwards.
   */
  @FunctionalInterface
  public interface Sink {
    void store(
        int generation,
        byte[] root,
        RootCustody.Backup backup,
        byte[] requestId,
        List<BadShare> bad)
        throws Exception;
  }

  private static final HexFormat HEX = HexFormat.of();

  private final int generation;
  private final RecipientKeyPair nodeKey;
  private final X509Certificate nodeCertificate;
  private final CustodyChainPort chain;
  private final PublishedRootsPort published;
  private final Sink sink;
  private final CompletableFuture<Void> done = new CompletableFuture<>();

  /**
   * The chain facts a submission's signature is checked against, read at most once per TTL: the
   * generation's published backup (or that none is), and custodian keys by id (or that none is
   * registered). Failures to read are never kept.
   */
  private final com.github.benmanes.caffeine.cache.Cache<String, Optional<RootCustody.Backup>>
      backups;

  private final com.github.benmanes.caffeine.cache.Cache<String, Optional<RecipientKey>>
      custodianKeys;

  private final java.time.Duration chainFactsTtl;

  /** The default {@code teekms.custody.recovery-chain-facts-ttl}. */
  public static final java.time.Duration DEFAULT_CHAIN_FACTS_TTL = java.time.Duration.ofSeconds(30);

  /** Custodian keys remembered at most (a backup names at most 255 custodians). */
  static final int MAX_CUSTODIAN_KEYS = 256;

  private State state = State.RECOVERING;
  private String detail;
  private int threshold;

  /** Valid shares by request id (hex) and index, in arrival order of the requests. */
  private final Map<String, TreeMap<Integer, Share>> valid = new LinkedHashMap<>();

  private final TreeMap<Integer, BadShare> bad = new TreeMap<>();
  private String lastRequest;
  private List<Integer> usedIndices = List.of();

  /**
   * What {@link #progress()} answers without the lock (a submission may hold it while it reads the
   * chain).
   */
  private volatile Progress snapshot;

  /**
   * @param nodeKey this node's attested key (destroyed by this object when recovery ends); its
   *     SHA-256 is the node key id the registry owner authorizes ({@code teekms gov
   *     authorize-recovery --node-cert})
   * @param nodeCertificate the RA-TLS certificate that binds {@code nodeKey} to this node's quote
   *     (custodians verify it)
   */
  public NodeRecovery(
      int generation,
      RecipientKeyPair nodeKey,
      X509Certificate nodeCertificate,
      CustodyChainPort chain,
      PublishedRootsPort published,
      Sink sink) {
    this(
        generation,
        nodeKey,
        nodeCertificate,
        chain,
        published,
        sink,
        java.time.Clock.systemUTC(),
        DEFAULT_CHAIN_FACTS_TTL);
  }

  /**
   * @param clock the clock the chain facts' TTL is measured on
   * @param chainFactsTtl how long the published backup and custodian keys read from the chain are
   *     reused before a submission reads them again ({@code
   *     teekms.custody.recovery-chain-facts-ttl}); zero reads them for every submission
   */
  public NodeRecovery(
      int generation,
      RecipientKeyPair nodeKey,
      X509Certificate nodeCertificate,
      CustodyChainPort chain,
      PublishedRootsPort published,
      Sink sink,
      java.time.Clock clock,
      java.time.Duration chainFactsTtl) {
    if (generation < 1) throw new IllegalArgumentException("generation must be ≥ 1");
    if (chainFactsTtl.isNegative()) {
      throw new IllegalArgumentException(
          "teekms.custody.recovery-chain-facts-ttl must not be negative, got " + chainFactsTtl);
    }
    this.chainFactsTtl = chainFactsTtl;
    com.github.benmanes.caffeine.cache.Ticker ticker =
        () -> java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(clock.millis());
    this.backups =
        com.github.benmanes.caffeine.cache.Caffeine.newBuilder()
            .maximumSize(1)
            .expireAfterWrite(chainFactsTtl)
            .ticker(ticker)
            .build();
    this.custodianKeys =
        com.github.benmanes.caffeine.cache.Caffeine.newBuilder()
            .maximumSize(MAX_CUSTODIAN_KEYS)
            .expireAfterWrite(chainFactsTtl)
            .ticker(ticker)
            .build();
    this.generation = generation;
    this.nodeKey = nodeKey;
    this.nodeCertificate = nodeCertificate;
    this.chain = chain;
    this.published = published;
    this.sink = sink;
    this.detail =
        "recovering root generation "
            + generation
            + ": waiting for the registry owner's authorization "
            + "(teekms gov authorize-recovery) and for the custodians' shares";
    this.snapshot = current();
  }

  public int generation() {
    return generation;
  }

  /** The RA-TLS certificate whose key the shares must be sealed to. */
  public X509Certificate nodeCertificate() {
    return nodeCertificate;
  }

  /** SHA-256 of this node's uncompressed P-256 key: what {@code authorizeRecovery} names. */
  public byte[] nodeKeyId() {
    return nodeKey.publicKey().id();
  }

  /** Completes when the root is stored; fails when recovery failed for good. */
  public CompletableFuture<Void> done() {
    return done;
  }

  /** The status as of the last submission; never waits. */
  public Progress progress() {
    return snapshot;
  }

  private Progress current() {
    List<Integer> indices =
        state == State.RECOVERED
            ? usedIndices
            : lastRequest == null ? List.of() : List.copyOf(valid.get(lastRequest).keySet());
    return new Progress(
        state,
        generation,
        threshold,
        indices,
        List.copyOf(bad.values()),
        Optional.ofNullable(lastRequest).map(r -> "0x" + r),
        detail);
  }

  /**
   * One custodian's released share. Checks, in order (the first failure is the reason):
   *
   * <ol>
   *   <li>the node is still RECOVERING (NOT_RECOVERING);
   *   <li>request id 32 bytes, index 1..255, envelope 1..1024 bytes, signature 64 bytes r ‖ s with
   *       r, s in [1, n−1] (MALFORMED): everything that needs no chain read comes first;
   *   <li>the generation's backup is published on chain and has a share {@code index}
   *       (NO_SUCH_SHARE);
   *   <li>{@code signature} verifies ({@link ShareSubmission}) under the key registered on chain
   *       for the custodian id the backup names at {@code index} (SENDER_NOT_CUSTODIAN);
   *   <li>{@code isRecoveryAuthorized(requestId, generation, nodeKeyId)} (RECOVERY_NOT_AUTHORIZED,
   *       with the contract's reason);
   *   <li>the envelope opens under (RECOVERY, generation, index, on-chain commitments digest,
   *       request id, this node's key) and the share verifies against the on-chain commitments
   *       (SHARE_INVALID: the index is recorded as bad and reported).
   * </ol>
   *
   * The backup (3) and the custodian's key (4) are chain facts read at most once per {@code
   * chainFactsTtl} (answers "none published" and "not registered" included; a failed read is not
   * kept), so a flood of forged submissions costs no chain read after the first; the authorization
   * (5) is read only for a submission its custodian signed. A valid share is kept; with t valid
   * shares of this request the root is reconstructed (the authorization is read again first),
   * checked against {@code kmsIdentity(generation).rootPublicKeys} and stored through the sink.
   * Chain read failures are CHAIN_UNAVAILABLE.
   *
   * @return the progress after this share
   */
  public synchronized Progress submit(
      byte[] requestId, int index, byte[] envelope, byte[] signature) throws Refused {
    try {
      return check(requestId, index, envelope, signature);
    } finally {
      snapshot = current();
    }
  }

  private Progress check(byte[] requestId, int index, byte[] envelope, byte[] signature)
      throws Refused {
    if (state != State.RECOVERING) {
      throw new Refused(
          Refusal.NOT_RECOVERING,
          "this node is not recovering any more (" + state + "): " + detail);
    }
    if (requestId == null || requestId.length != 32)
      throw new Refused(Refusal.MALFORMED, "request id must be 32 bytes");
    if (index < 1 || index > Share.MAX_INDEX)
      throw new Refused(Refusal.MALFORMED, "share index must be 1..255");
    if (envelope == null || envelope.length == 0 || envelope.length > 1024) {
      throw new Refused(Refusal.MALFORMED, "envelope must be 1..1024 bytes");
    }
    if (!ShareSubmission.wellFormed(signature)) {
      throw new Refused(
          Refusal.MALFORMED,
          "signature must be "
              + ShareSubmission.SIGNATURE_LENGTH
              + " bytes, r ‖ s each in [1, n−1] of P-256");
    }
    try {
      RootCustody.Backup backup =
          publishedBackup()
              .orElseThrow(
                  () ->
                      new Refused(
                          Refusal.NO_SUCH_SHARE,
                          "no backup of root generation " + generation + " is published on chain"));
      if (index > backup.custodianIds().size()) {
        throw new Refused(
            Refusal.NO_SUCH_SHARE,
            "the backup of root generation "
                + generation
                + " has "
                + backup.custodianIds().size()
                + " shares, not "
                + index);
      }
      byte[] custodianId = backup.custodianIds().get(index - 1).toByteArray();
      RecipientKey custodian =
          custodianKey(custodianId)
              .orElseThrow(
                  () ->
                      new Refused(
                          Refusal.SENDER_NOT_CUSTODIAN,
                          "custodian 0x"
                              + HEX.formatHex(custodianId)
                              + " of share "
                              + index
                              + " is not registered on chain"));
      byte[] message = ShareSubmission.message(generation, index, requestId, nodeKeyId(), envelope);
      if (!ShareSubmission.verify(custodian, message, signature)) {
        throw new Refused(
            Refusal.SENDER_NOT_CUSTODIAN,
            "share "
                + index
                + " is not signed by its custodian's key "
                + "registered on chain (0x"
                + HEX.formatHex(custodianId)
                + ")");
      }
      checkAuthorized(requestId);
      threshold = backup.threshold();
      Commitments commitments;
      try {
        commitments = Commitments.decode(backup.commitments().toByteArray());
      } catch (CustodyException e) {
        throw new Refused(
            Refusal.NO_SUCH_SHARE,
            "the on-chain commitments of generation "
                + generation
                + " are malformed: "
                + e.getMessage());
      }
      String request = HEX.formatHex(requestId);
      Share share;
      try {
        share =
            ShareEnvelope.open(
                nodeKey,
                EnvelopeContext.recovery(generation, index, commitments.digest(), requestId),
                envelope);
      } catch (CustodyException e) {
        throw badShare(
            index,
            "the envelope does not open with this node's key for request 0x"
                + request
                + ": "
                + e.getMessage());
      }
      if (!commitments.verify(share)) {
        share.destroy();
        throw badShare(
            index,
            "share "
                + index
                + " does not verify against the on-chain commitments of generation "
                + generation);
      }
      TreeMap<Integer, Share> shares = valid.computeIfAbsent(request, r -> new TreeMap<>());
      Share previous = shares.put(index, share);
      if (previous != null) previous.destroy();
      bad.remove(index);
      lastRequest = request;
      if (shares.size() < threshold) {
        detail =
            "recovering root generation "
                + generation
                + ": "
                + shares.size()
                + " of "
                + threshold
                + " valid shares (indices "
                + shares.keySet()
                + ") for request 0x"
                + request
                + (bad.isEmpty() ? "" : "; bad shares " + bad.keySet());
        return current();
      }
      checkAuthorized(requestId);
      reconstruct(commitments, backup, requestId, new ArrayList<>(shares.values()));
      return current();
    } catch (CustodyUnavailable e) {
      throw new Refused(Refusal.CHAIN_UNAVAILABLE, e.getMessage());
    }
  }

  /** The generation's published backup: a chain fact reused for {@code chainFactsTtl}. */
  private Optional<RootCustody.Backup> publishedBackup() {
    if (chainFactsTtl.isZero()) {
      return chain.publishedBackup(generation);
    }
    // CustodyUnavailable escapes the loader: nothing is kept, the next submission reads again.
    return backups.get("backup", g -> chain.publishedBackup(generation));
  }

  /** Custodian {@code id}'s registered key: a chain fact reused for {@code chainFactsTtl}. */
  private Optional<RecipientKey> custodianKey(byte[] id) {
    if (chainFactsTtl.isZero()) {
      return chain.custodianKey(id);
    }
    return custodianKeys.get(HEX.formatHex(id), k -> chain.custodianKey(id));
  }

  private void checkAuthorized(byte[] requestId) throws Refused {
    RootCustody.Authorization a = chain.recoveryAuthorization(requestId, generation, nodeKeyId());
    if (!a.authorized()) {
      throw new Refused(
          Refusal.RECOVERY_NOT_AUTHORIZED,
          "recovery request 0x"
              + HEX.formatHex(requestId)
              + " is not authorized on chain for generation "
              + generation
              + " and this node's key 0x"
              + HEX.formatHex(nodeKeyId())
              + ": "
              + a.reason());
    }
  }

  private Refused badShare(int index, String reason) {
    bad.put(index, new BadShare(index, reason));
    detail =
        "recovering root generation " + generation + ": bad share " + index + " (" + reason + ")";
    return new Refused(Refusal.SHARE_INVALID, reason);
  }

  private void reconstruct(
      Commitments commitments, RootCustody.Backup backup, byte[] requestId, List<Share> shares) {
    byte[] root = null;
    try (Shamir.Recovered recovered = Shamir.reconstruct(commitments, shares)) {
      PublishedRootKeys onChain = published.rootPublicKeys(generation);
      if (onChain.status() != PublishedRootKeys.Status.PUBLISHED) {
        // Not for good: the registry may be readable later; keep the shares and say why.
        detail =
            "recovering root generation "
                + generation
                + ": "
                + shares.size()
                + " valid shares, but the "
                + "generation's published root public key is "
                + onChain.status()
                + " ("
                + onChain.reason()
                + ")";
        return;
      }
      byte[] derived = RootRecovery.rootPublicKey(generation, recovered.secret());
      if (!MessageDigest.isEqual(derived, onChain.rootPublicKeys().orElseThrow().toByteArray())) {
        fail(
            "the reconstructed root is not generation "
                + generation
                + "'s published identity (KMS root public key "
                + "at block "
                + onChain.blockNumber()
                + "): the backup and the registry disagree; refused for good");
        return;
      }
      root = recovered.secret().toByteArray(InsecureSecretAccess.get());
      sink.store(generation, root, backup, requestId, List.copyOf(bad.values()));
      usedIndices = shares.stream().map(Share::index).toList();
      state = State.RECOVERED;
      detail =
          "root generation "
              + generation
              + " recovered from "
              + shares.size()
              + " custodian shares (request 0x"
              + HEX.formatHex(requestId)
              + ") and sealed under this node's sealing key"
              + (bad.isEmpty() ? "" : "; bad shares reported: " + bad.keySet());
      end();
      snapshot = current();
      done.complete(null);
    } catch (CustodyException e) {
      fail("reconstruction refused: " + e.reason() + ": " + e.getMessage());
    } catch (Exception e) {
      fail("storing the recovered root failed: " + e.getMessage());
    } finally {
      if (root != null) java.util.Arrays.fill(root, (byte) 0);
    }
  }

  private void fail(String why) {
    state = State.FAILED;
    detail = "recovery of root generation " + generation + " failed: " + why;
    end();
    snapshot = current();
    done.completeExceptionally(new IllegalStateException(detail));
  }

  private void end() {
    valid.values().forEach(m -> m.values().forEach(Share::destroy));
    valid.values().forEach(TreeMap::clear);
    nodeKey.destroy();
  }
}
