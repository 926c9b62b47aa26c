package org.teekms.kms.operator;

import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.teekms.keys.AppId;
import org.teekms.keys.EthSignature;
import org.teekms.keys.Secp256k1SigningKey;
import org.teekms.proto.OperatorRequest;
import org.teekms.proto.OperatorRequestMessage;

/**
 * Checks everything about an operator request that needs no database: well-formed, meant for this
 * KMS, chain and registry, fresh, and signed by the registry owner read at a pinned block: an EOA
 * owner by an EIP-191 signature, a contract owner (a multisig, a smart account) by its EIP-1271
 * {@code isValidSignature} at that same block, asked for {@link OperatorRequestMessage#digest}. The
 * single-use nonce is spent by the caller in the transaction that acts on the request. Fails
 * closed: every path that is not a full match throws {@link OperatorDenied}.
 *
 * <p>Cheap checks first, so a stranger's request costs no chain RPC (docs/reliability.md §2). In
 * order:
 *
 * <ol>
 *   <li>the message is well-formed, a chain is configured, domain (KMS, chain, registry) and
 *       timestamp match;
 *   <li>the signature is 1..{@link #MAX_CONTRACT_SIGNATURE} bytes (no owner of either kind accepts
 *       anything else);
 *   <li>against the owner of the last chain read, when that owner had no contract code: a request
 *       it cannot have signed (no valid low-s EIP-191 signature, or one that recovers to another
 *       address) is either a forgery or comes from a new owner after a transfer; such a request may
 *       cause a chain read at most once per {@code ownerRecheck} ({@code
 *       teekms.limits.operator-owner-recheck}), all others are refused at once;
 *   <li>when the owner of the last chain read is a contract: a request whose (owner, digest,
 *       signature) that contract refused within {@code verdictTtl} is refused again from that
 *       verdict, without a chain call ({@code teekms.limits.operator-verdict-ttl}; at most {@link
 *       ContractCalls#verdicts} remembered, least recently used forgotten first);
 *   <li>a chain-call slot is free: at most {@code teekms.limits.operator-owner-calls} requests read
 *       the owner (and ask a contract owner) at once; one more is refused CHAIN_UNAVAILABLE at once
 *       ("retry shortly"), it never waits;
 *   <li>the owner is read afresh at a pinned block (every accepted request sees the chain of its
 *       time) and the signature is checked against it (EIP-191, or EIP-1271 for a contract owner).
 * </ol>
 *
 * So any number of badly signed requests causes at most one owner read per {@code ownerRecheck}; a
 * new owner's first request after a transfer is served at once unless a flood spent that read, then
 * it is refused (NOT_OWNER, saying when to retry) for at most {@code ownerRecheck}. A contract
 * owner's answer cannot be predicted, so each distinct request that passes 1–2 asks it once per
 * {@code verdictTtl} (a replayed forgery costs one owner read and one eth_call per TTL), never more
 * than {@code operator-owner-calls} at once, and the Rotation service's per-source budget bounds
 * their rate. Only refusals are remembered: an approval is never reused, so an accepted request is
 * always approved by the owner at the block it was read at (its nonce is single-use anyway).
 */
public final class OperatorAuthorizer {

  private final String kmsId;
  private final long chainId;
  private final String registry;
  private final RegistryOwnerPort owner;
  private final Clock clock;
  private final Duration maxSkew;
  private final Duration ownerRecheck;
  private final ContractCalls calls;

  /** Chain-call slots: owner reads (and a contract owner's isValidSignature) in flight. */
  private final java.util.concurrent.Semaphore ownerCalls;

  /**
   * A contract owner's recent refusals, by (owner, digest, SHA-256 of the signature): the detail it
   * was refused with.
   */
  private final com.github.benmanes.caffeine.cache.Cache<Verdict, String> contractRefusals;

  /** The key of a remembered contract verdict (hex strings: equality by value). */
  private record Verdict(String owner, String digest, String signatureSha256) {}

  /**
   * Bounds on the chain calls operator requests cause ({@code teekms.limits.operator-owner-calls},
   * {@code teekms.limits.operator-verdict-ttl}).
   *
   * @param concurrent owner reads (with a contract owner's EIP-1271 call) in flight at once, ≥ 1
   * @param verdictTtl how long a contract owner's refusal of one (digest, signature) is reused;
   *     zero remembers none
   * @param verdicts how many such refusals are remembered at most, ≥ 1
   */
  public record ContractCalls(int concurrent, Duration verdictTtl, int verdicts) {
    /** The defaults: 4 calls at once, refusals remembered 10 s, up to 4,096 of them. */
    public static final ContractCalls DEFAULT = new ContractCalls(4, Duration.ofSeconds(10), 4096);

    public ContractCalls {
      if (concurrent < 1) {
        throw new IllegalArgumentException(
            "teekms.limits.operator-owner-calls must be at least 1, got " + concurrent);
      }
      if (verdictTtl.isNegative()) {
        throw new IllegalArgumentException(
            "teekms.limits.operator-verdict-ttl must not be negative, got " + verdictTtl);
      }
      if (verdicts < 1) {
        throw new IllegalArgumentException(
            "the operator verdict cache must hold at least 1 entry, got " + verdicts);
      }
    }
  }

  /** The owner of the last successful chain read; null before the first. */
  private volatile RegistryOwnerPort.OwnerRead known;

  /**
   * When a request the known owner cannot have signed last caused a chain read (Long.MIN_VALUE:
   * never).
   */
  private final java.util.concurrent.atomic.AtomicLong lastStrangerRead =
      new java.util.concurrent.atomic.AtomicLong(Long.MIN_VALUE);

  /** With the default owner recheck (1 s). */
  public OperatorAuthorizer(
      String kmsId,
      long chainId,
      String registry,
      RegistryOwnerPort owner,
      Clock clock,
      Duration maxSkew) {
    this(kmsId, chainId, registry, owner, clock, maxSkew, Duration.ofSeconds(1));
  }

  /**
   * @param registry the configured KmsRegistry address, or null when no chain is configured (every
   *     request denied)
   * @param ownerRecheck the least time between two chain reads caused by requests the last-read
   *     owner cannot have signed ({@code teekms.limits.operator-owner-recheck}); zero reads the
   *     chain for every well-formed request
   */
  public OperatorAuthorizer(
      String kmsId,
      long chainId,
      String registry,
      RegistryOwnerPort owner,
      Clock clock,
      Duration maxSkew,
      Duration ownerRecheck) {
    this(kmsId, chainId, registry, owner, clock, maxSkew, ownerRecheck, ContractCalls.DEFAULT);
  }

  /**
   * @param calls bounds on the owner chain calls ({@code teekms.limits.operator-owner-calls},
   *     {@code operator-verdict-ttl})
   */
  public OperatorAuthorizer(
      String kmsId,
      long chainId,
      String registry,
      RegistryOwnerPort owner,
      Clock clock,
      Duration maxSkew,
      Duration ownerRecheck,
      ContractCalls calls) {
    if (ownerRecheck.isNegative()) {
      throw new IllegalArgumentException(
          "teekms.limits.operator-owner-recheck must not be negative, got " + ownerRecheck);
    }
    this.kmsId = kmsId;
    this.chainId = chainId;
    this.registry = registry == null ? null : registry.toLowerCase(Locale.ROOT);
    this.owner = owner;
    this.clock = clock;
    this.maxSkew = maxSkew;
    this.ownerRecheck = ownerRecheck;
    this.calls = calls;
    this.ownerCalls = new java.util.concurrent.Semaphore(calls.concurrent());
    this.contractRefusals =
        com.github.benmanes.caffeine.cache.Caffeine.newBuilder()
            .maximumSize(calls.verdicts())
            .expireAfterWrite(calls.verdictTtl())
            .ticker(() -> TimeUnit.MILLISECONDS.toNanos(clock.millis()))
            .build();
  }

  public Duration maxSkew() {
    return maxSkew;
  }

  /**
   * Longest signature handed to an owner contract (a multisig's concatenated signatures fit many
   * times over).
   */
  public static final int MAX_CONTRACT_SIGNATURE = 8192;

  /** How the owner's approval was checked. */
  public enum Scheme {
    /** An EOA owner: the signer recovered from the EIP-191 signature is the owner. */
    EIP191,
    /**
     * A contract owner: its {@code isValidSignature(digest, signature)} returned 0x1626ba7e at the
     * owner's block.
     */
    EIP1271
  }

  /**
   * An authorized request: who approved it (the owner; for a contract owner, the contract itself),
   * how, and at which block they owned the registry.
   */
  public record Authorized(String signer, Scheme scheme, long ownerBlock, String ownerBlockHash) {}

  /**
   * Authorizes a request for {@code action} (an RPC accepts only its own action: no signature is
   * reusable across).
   */
  public Authorized authorize(OperatorRequest request, String action) throws OperatorDenied {
    if (!action.equals(request.getAction())) {
      throw new OperatorDenied(
          OperatorDenied.Code.MALFORMED,
          "this RPC takes action " + action + ", the request is for '" + request.getAction() + "'");
    }
    return authorize(request);
  }

  /** The app's on-chain key versions at the block the owner was read at (SYNC_APP). */
  public RegistryOwnerPort.AppVersionsRead appVersions(AppId appId, Authorized ok)
      throws OperatorDenied {
    RegistryOwnerPort.AppVersionsRead v = owner.appVersions(appId, ok.ownerBlockHash());
    if (v.failure() != null) {
      throw new OperatorDenied(
          v.failure().contains("is not REGISTERED")
              ? OperatorDenied.Code.APP_NOT_REGISTERED
              : OperatorDenied.Code.CHAIN_UNAVAILABLE,
          v.failure());
    }
    if (v.current() < 1
        || v.minimum() < 1
        || v.minimum() > v.current()
        || v.current() > Integer.MAX_VALUE) {
      throw new OperatorDenied(
          OperatorDenied.Code.CHAIN_UNAVAILABLE,
          "the chain reports unusable key versions: current "
              + v.current()
              + ", minimum "
              + v.minimum());
    }
    return v;
  }

  public Authorized authorize(OperatorRequest request) throws OperatorDenied {
    byte[] message;
    try {
      message = OperatorRequestMessage.bytes(request);
    } catch (IllegalArgumentException e) {
      throw new OperatorDenied(OperatorDenied.Code.MALFORMED, e.getMessage());
    }
    if (registry == null) {
      throw new OperatorDenied(
          OperatorDenied.Code.CHAIN_UNAVAILABLE,
          "no chain configured on this KMS (teekms.chain.*): the registry owner cannot be checked");
    }
    if (!kmsId.equals(request.getKmsId())) {
      throw new OperatorDenied(
          OperatorDenied.Code.WRONG_DOMAIN,
          "signed for KMS '" + request.getKmsId() + "', this is '" + kmsId + "'");
    }
    if (request.getChainId() != chainId) {
      throw new OperatorDenied(
          OperatorDenied.Code.WRONG_DOMAIN,
          "signed for chain "
              + Long.toUnsignedString(request.getChainId())
              + ", this KMS is on chain "
              + chainId);
    }
    if (!registry.equals(request.getRegistry().toLowerCase(Locale.ROOT))) {
      throw new OperatorDenied(
          OperatorDenied.Code.WRONG_DOMAIN,
          "signed for registry " + request.getRegistry() + ", this KMS follows " + registry);
    }
    long skew = Math.abs(clock.millis() - request.getTimestampMillis());
    if (skew > maxSkew.toMillis()) {
      throw new OperatorDenied(
          OperatorDenied.Code.STALE,
          "timestamp "
              + request.getTimestampMillis()
              + " is "
              + skew
              + " ms from the KMS clock, more than the accepted "
              + maxSkew.toMillis()
              + " ms");
    }
    byte[] signature = request.getSignature().toByteArray();
    if (signature.length == 0 || signature.length > MAX_CONTRACT_SIGNATURE) {
      throw new OperatorDenied(
          OperatorDenied.Code.BAD_SIGNATURE,
          "signature must be 65 bytes (EIP-191) or 1.."
              + MAX_CONTRACT_SIGNATURE
              + " bytes for a contract owner (EIP-1271), got "
              + signature.length);
    }
    refuseAgainstKnownOwner(message, signature);
    refuseFromRecentContractVerdict(request, signature);
    if (!ownerCalls.tryAcquire()) {
      throw new OperatorDenied(
          OperatorDenied.Code.CHAIN_UNAVAILABLE,
          "all "
              + calls.concurrent()
              + " registry-owner chain calls for operator requests are in flight "
              + "(teekms.limits.operator-owner-calls); retry shortly");
    }
    try {
      return checkAgainstOwner(request, message, signature);
    } finally {
      ownerCalls.release();
    }
  }

  /** Step 6: a fresh owner read at a pinned block, and the signature checked against it. */
  private Authorized checkAgainstOwner(OperatorRequest request, byte[] message, byte[] signature)
      throws OperatorDenied {
    RegistryOwnerPort.OwnerRead read = owner.owner();
    if (read.failure() != null) {
      throw new OperatorDenied(OperatorDenied.Code.CHAIN_UNAVAILABLE, read.failure());
    }
    known = read;
    if (read.contract()) {
      return contractApproved(request, read, signature);
    }
    String signer;
    try {
      signer = recover(message, signature);
    } catch (OperatorDenied d) {
      throw new OperatorDenied(
          d.code(),
          d.detail()
              + " (registry owner "
              + read.owner()
              + " has no contract code at block "
              + read.blockNumber()
              + ", so only its EIP-191 signature is accepted)");
    }
    if (!signer.equals(read.owner())) {
      throw new OperatorDenied(
          OperatorDenied.Code.NOT_OWNER,
          "signer "
              + signer
              + " is not the registry owner "
              + read.owner()
              + " at block "
              + read.blockNumber());
    }
    return new Authorized(signer, Scheme.EIP191, read.blockNumber(), read.blockHash());
  }

  /**
   * Step 3: a request the owner of the last read (an EOA) cannot have signed is refused without a
   * chain call, unless no such request caused a read within {@code ownerRecheck} (it may come from
   * a new owner: that read finds out).
   */
  private void refuseAgainstKnownOwner(byte[] message, byte[] signature) throws OperatorDenied {
    RegistryOwnerPort.OwnerRead k = known;
    if (k == null || k.contract()) {
      return;
    }
    OperatorDenied refusal;
    try {
      String signer = recover(message, signature);
      if (signer.equals(k.owner())) {
        return;
      }
      refusal =
          new OperatorDenied(
              OperatorDenied.Code.NOT_OWNER, "signer " + signer + " is not the registry owner");
    } catch (OperatorDenied d) {
      refusal = d;
    }
    long now = clock.millis();
    long last = lastStrangerRead.get();
    long next = last == Long.MIN_VALUE ? now : last + ownerRecheck.toMillis();
    if (now >= next && lastStrangerRead.compareAndSet(last, now)) {
      return;
    }
    throw new OperatorDenied(
        refusal.code(),
        refusal.detail()
            + " (registry owner "
            + k.owner()
            + " at block "
            + k.blockNumber()
            + ", an account without contract code; if ownership was transferred since, retry in "
            + Math.max(1, next - now)
            + " ms: the owner is read again for such a request at most every "
            + ownerRecheck.toMillis()
            + " ms, teekms.limits.operator-owner-recheck)");
  }

  /**
   * Step 4: when the owner of the last read is a contract that refused this very (digest,
   * signature) within the verdict TTL, the request is refused again without a chain call.
   */
  private void refuseFromRecentContractVerdict(OperatorRequest request, byte[] signature)
      throws OperatorDenied {
    RegistryOwnerPort.OwnerRead k = known;
    if (k == null || !k.contract()) {
      return;
    }
    String refused = contractRefusals.getIfPresent(verdict(k.owner(), request, signature));
    if (refused != null) {
      throw new OperatorDenied(
          OperatorDenied.Code.CONTRACT_REJECTED,
          refused
              + " (the same digest and signature were refused within the last "
              + calls.verdictTtl().toMillis()
              + " ms, teekms.limits.operator-verdict-ttl; not asked again)");
    }
  }

  private static Verdict verdict(String owner, OperatorRequest request, byte[] signature) {
    try {
      return new Verdict(
          owner,
          HexFormat.of().formatHex(OperatorRequestMessage.digest(request)),
          HexFormat.of()
              .formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(signature)));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }

  /**
   * EIP-1271 at the owner's block: only the exact magic value authorizes; a revert or any other
   * answer denies (and is remembered for the verdict TTL).
   */
  private Authorized contractApproved(
      OperatorRequest request, RegistryOwnerPort.OwnerRead read, byte[] signature)
      throws OperatorDenied {
    if (signature.length == 0 || signature.length > MAX_CONTRACT_SIGNATURE) {
      throw new OperatorDenied(
          OperatorDenied.Code.BAD_SIGNATURE,
          "signature for contract owner "
              + read.owner()
              + " must be 1.."
              + MAX_CONTRACT_SIGNATURE
              + " bytes, got "
              + signature.length);
    }
    RegistryOwnerPort.ContractSignatureRead answer =
        owner.isValidSignature(
            read.owner(), OperatorRequestMessage.digest(request), signature, read.blockHash());
    switch (answer.outcome()) {
      case VALID:
        return new Authorized(read.owner(), Scheme.EIP1271, read.blockNumber(), read.blockHash());
      case UNAVAILABLE:
        throw new OperatorDenied(OperatorDenied.Code.CHAIN_UNAVAILABLE, answer.detail());
      default:
        String detail =
            "registry owner "
                + read.owner()
                + " is a contract (block "
                + read.blockNumber()
                + ") and did not approve the request: "
                + answer.detail();
        if (!calls.verdictTtl().isZero()) {
          contractRefusals.put(verdict(read.owner(), request, signature), detail);
        }
        throw new OperatorDenied(OperatorDenied.Code.CONTRACT_REJECTED, detail);
    }
  }

  /** The lower-case 0x address whose key made this EIP-191 signature of {@code message}. */
  static String recover(byte[] message, byte[] signature) throws OperatorDenied {
    if (signature.length != 65) {
      throw new OperatorDenied(
          OperatorDenied.Code.BAD_SIGNATURE,
          "signature must be 65 bytes (r||s||v), got " + signature.length);
    }
    byte v = signature[64];
    if (v != 27 && v != 28) {
      throw new OperatorDenied(
          OperatorDenied.Code.BAD_SIGNATURE, "signature v must be 27 or 28, got " + (v & 0xff));
    }
    // Low-s only (EIP-2): the high-s twin of a signature is another encoding of the same
    // authorization.
    EthSignature sig = EthSignature.fromBytes(signature);
    if (!sig.hasLowS()) {
      throw new OperatorDenied(
          OperatorDenied.Code.BAD_SIGNATURE, "signature s is zero or not in the lower half order");
    }
    return Secp256k1SigningKey.recoverPersonalSigner(message, sig)
        .map(a -> "0x" + HexFormat.of().formatHex(a.toBytes()))
        .orElseThrow(
            () ->
                new OperatorDenied(
                    OperatorDenied.Code.BAD_SIGNATURE,
                    "no key recovers from the signature (r out of range or not on the curve)"));
  }
}
