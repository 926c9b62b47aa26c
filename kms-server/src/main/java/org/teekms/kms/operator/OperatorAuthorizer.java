package org.teekms.kms.operator;

import java.math.BigInteger;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import org.teekms.proto.OperatorRequest;
import org.teekms.proto.OperatorRequestMessage;
import org.web3j.crypto.Keys;
import org.web3j.crypto.Sign;

/**
 * Checks everything about an operator request that needs no database: well-formed, meant for this KMS, chain and
 * registry, fresh, and signed (EIP-191) by the registry owner read at a pinned block. The single-use nonce is spent
 * by the caller in the transaction that acts on the request. Fails closed: every path that is not a full match throws
 * {@link OperatorDenied}.
 */
public final class OperatorAuthorizer {

  private final String kmsId;
  private final long chainId;
  private final String registry;
  private final RegistryOwnerPort owner;
  private final Clock clock;
  private final Duration maxSkew;

  /** @param registry the configured KmsRegistry address, or null when no chain is configured (every request denied) */
  public OperatorAuthorizer(String kmsId, long chainId, String registry, RegistryOwnerPort owner, Clock clock,
      Duration maxSkew) {
    this.kmsId = kmsId;
    this.chainId = chainId;
    this.registry = registry == null ? null : registry.toLowerCase(Locale.ROOT);
    this.owner = owner;
    this.clock = clock;
    this.maxSkew = maxSkew;
  }

  public Duration maxSkew() {
    return maxSkew;
  }

  /** An authorized request: who signed it and at which block they owned the registry. */
  public record Authorized(String signer, long ownerBlock, String ownerBlockHash) {}

  /** Authorizes a request for {@code action} (an RPC accepts only its own action: no signature is reusable across). */
  public Authorized authorize(OperatorRequest request, String action) throws OperatorDenied {
    if (!action.equals(request.getAction())) {
      throw new OperatorDenied(OperatorDenied.Code.MALFORMED, "this RPC takes action " + action + ", the request is for '"
          + request.getAction() + "'");
    }
    return authorize(request);
  }

  /** The app's on-chain key versions at the block the owner was read at (SYNC_APP). */
  public RegistryOwnerPort.AppVersionsRead appVersions(byte[] appId, Authorized ok) throws OperatorDenied {
    RegistryOwnerPort.AppVersionsRead v = owner.appVersions(appId, ok.ownerBlockHash());
    if (v.failure() != null) {
      throw new OperatorDenied(v.failure().contains("is not REGISTERED") ? OperatorDenied.Code.APP_NOT_REGISTERED
          : OperatorDenied.Code.CHAIN_UNAVAILABLE, v.failure());
    }
    if (v.current() < 1 || v.minimum() < 1 || v.minimum() > v.current() || v.current() > Integer.MAX_VALUE) {
      throw new OperatorDenied(OperatorDenied.Code.CHAIN_UNAVAILABLE, "the chain reports unusable key versions: current "
          + v.current() + ", minimum " + v.minimum());
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
      throw new OperatorDenied(OperatorDenied.Code.CHAIN_UNAVAILABLE,
          "no chain configured on this KMS (teekms.chain.*): the registry owner cannot be checked");
    }
    if (!kmsId.equals(request.getKmsId())) {
      throw new OperatorDenied(OperatorDenied.Code.WRONG_DOMAIN,
          "signed for KMS '" + request.getKmsId() + "', this is '" + kmsId + "'");
    }
    if (request.getChainId() != chainId) {
      throw new OperatorDenied(OperatorDenied.Code.WRONG_DOMAIN,
          "signed for chain " + Long.toUnsignedString(request.getChainId()) + ", this KMS is on chain " + chainId);
    }
    if (!registry.equals(request.getRegistry().toLowerCase(Locale.ROOT))) {
      throw new OperatorDenied(OperatorDenied.Code.WRONG_DOMAIN,
          "signed for registry " + request.getRegistry() + ", this KMS follows " + registry);
    }
    long skew = Math.abs(clock.millis() - request.getTimestampMillis());
    if (skew > maxSkew.toMillis()) {
      throw new OperatorDenied(OperatorDenied.Code.STALE, "timestamp " + request.getTimestampMillis() + " is "
          + skew + " ms from the KMS clock, more than the accepted " + maxSkew.toMillis() + " ms");
    }
    String signer = recover(message, request.getSignature().toByteArray());
    RegistryOwnerPort.OwnerRead read = owner.owner();
    if (read.failure() != null) {
      throw new OperatorDenied(OperatorDenied.Code.CHAIN_UNAVAILABLE, read.failure());
    }
    if (!signer.equals(read.owner())) {
      throw new OperatorDenied(OperatorDenied.Code.NOT_OWNER, "signer " + signer + " is not the registry owner "
          + read.owner() + " at block " + read.blockNumber());
    }
    return new Authorized(signer, read.blockNumber(), read.blockHash());
  }

  /** The lower-case 0x address whose key made this EIP-191 signature of {@code message}. */
  static String recover(byte[] message, byte[] signature) throws OperatorDenied {
    if (signature.length != 65) {
      throw new OperatorDenied(OperatorDenied.Code.BAD_SIGNATURE, "signature must be 65 bytes (r||s||v), got "
          + signature.length);
    }
    byte v = signature[64];
    if (v != 27 && v != 28) {
      throw new OperatorDenied(OperatorDenied.Code.BAD_SIGNATURE, "signature v must be 27 or 28, got " + (v & 0xff));
    }
    // Low-s only (EIP-2): the high-s twin of a signature is another encoding of the same authorization.
    BigInteger s = new BigInteger(1, Arrays.copyOfRange(signature, 32, 64));
    if (s.signum() == 0 || s.compareTo(Sign.CURVE_PARAMS.getN().shiftRight(1)) > 0) {
      throw new OperatorDenied(OperatorDenied.Code.BAD_SIGNATURE, "signature s is zero or not in the lower half order");
    }
    try {
      BigInteger key = Sign.signedPrefixedMessageToKey(message, new Sign.SignatureData(v,
          Arrays.copyOfRange(signature, 0, 32), Arrays.copyOfRange(signature, 32, 64)));
      return "0x" + Keys.getAddress(key).toLowerCase(Locale.ROOT);
    } catch (java.security.SignatureException | RuntimeException e) {
      throw new OperatorDenied(OperatorDenied.Code.BAD_SIGNATURE, "no key recovers from the signature: " + e.getMessage());
    }
  }
}
