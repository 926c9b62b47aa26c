package org.teekms.governance;

import java.math.BigInteger;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.teekms.crypto.Bytes;
import org.teekms.governance.contracts.RootCustodyContract;
import org.web3j.abi.EventEncoder;
import org.web3j.crypto.Credentials;
import org.web3j.protocol.core.methods.response.Log;

/**
 * Binding of the RootCustody contract (docs/root-custody.md §5–6) over its generated wrapper {@link
 * RootCustodyContract}: custodians, per-generation backups (commitments and envelope digests) and
 * owner-authorized recovery requests. Writes need a signer (the registry owner, or a multisig's
 * signer through its wallet); reads do not. The contract has no owner of its own: whoever owns the
 * registry governs it.
 */
public final class RootCustody extends GovernanceContract {
  /** The custody contract's events by name (history, audits). */
  public static final ContractEvents EVENTS = ContractEvents.load("RootCustody");

  /** Custodian kinds, in the contract's order (NONE = unregistered). */
  public enum Kind {
    NONE,
    KMS_CLUSTER,
    HSM,
    OPERATOR
  }

  /** A registered custodian; id = SHA-256(publicKey). */
  public record Custodian(
      Bytes id, Bytes publicKey, Kind kind, String name, boolean active, long registeredAtBlock) {
    public Custodian {
      Objects.requireNonNull(id, "id");
      Objects.requireNonNull(publicKey, "publicKey");
    }
  }

  /**
   * A published backup: share i + 1 belongs to custodianIds[i], its envelope has
   * envelopeDigests[i].
   */
  public record Backup(
      long generation,
      int threshold,
      Bytes commitments,
      List<Bytes> custodianIds,
      List<Bytes> envelopeDigests,
      long publishedAtBlock) {
    public Backup {
      Objects.requireNonNull(commitments, "commitments");
      custodianIds = List.copyOf(custodianIds);
      envelopeDigests = List.copyOf(envelopeDigests);
    }
  }

  /** An authorized recovery request. */
  public record Recovery(
      Bytes requestId,
      long generation,
      Bytes nodeKeyId,
      long authorizedAtBlock,
      long expiresAtBlock,
      boolean revoked) {
    public Recovery {
      Objects.requireNonNull(requestId, "requestId");
      Objects.requireNonNull(nodeKeyId, "nodeKeyId");
    }
  }

  /**
   * The contract's answer to "may custodians answer this request now?", with its reason when not.
   */
  public record Authorization(boolean authorized, String reason) {}

  private final RootCustodyContract contract;

  private RootCustody(
      ChainClient chain, String address, Credentials signer, ChainTransactionManager.Caller reads) {
    super(chain, address, signer, reads);
    this.contract =
        RootCustodyContract.load(address, chain.web3j(), manager(), ChainTransactionManager.NO_GAS);
  }

  /** The contract at {@code address}; {@code signer} may be null for read-only use. */
  public static RootCustody at(ChainClient chain, String address, Credentials signer) {
    return new RootCustody(chain, address, signer, latest(chain));
  }

  /**
   * Deploys a RootCustody governed by the owner of {@code registry}; returns it bound to {@code
   * deployer}.
   */
  public static RootCustody deploy(ChainClient chain, Credentials deployer, String registry)
      throws GovernanceException {
    RootCustodyContract deployed;
    try {
      deployed =
          ChainTransactionManager.get(
              RootCustodyContract.deploy(
                  chain.web3j(),
                  new ChainTransactionManager(chain, deployer, latest(chain)),
                  ChainTransactionManager.NO_GAS,
                  registry));
    } catch (GovernanceException e) {
      throw e;
    } catch (Exception e) {
      throw new GovernanceException(
          GovernanceException.Kind.RPC, "RootCustody deployment failed: " + e.getMessage(), e);
    }
    return new RootCustody(chain, deployed.getContractAddress(), deployer, latest(chain));
  }

  /**
   * The same contract, read-only, with every read at exactly the block with this hash (EIP-1898,
   * requireCanonical), so that several reads (custodian ids, then each custodian) see one state:
   * what a KMS pins its reads to.
   */
  public RootCustody atBlockHash(String blockHash) {
    return new RootCustody(chain, address, null, atHash(chain, blockHash));
  }

  /** This binding with another signer (e.g. a custodian reading, or a second owner key). */
  public RootCustody withSigner(Credentials signer) {
    return new RootCustody(chain, address, signer, latest(chain));
  }

  @Override
  protected String contractName() {
    return "RootCustody";
  }

  @Override
  public ContractEvents eventTypes() {
    return EVENTS;
  }

  public String registry() throws GovernanceException {
    return read(contract.registry());
  }

  @Override
  public String owner() throws GovernanceException {
    return KmsRegistry.at(chain, registry(), null).owner();
  }

  @Override
  public String pendingOwner() throws GovernanceException {
    return KmsRegistry.at(chain, registry(), null).pendingOwner();
  }

  /** Ownership is the registry's: transfer it there. */
  @Override
  public TxResult transferOwnership(String newOwner) throws GovernanceException {
    throw new GovernanceException(
        GovernanceException.Kind.INVALID_INPUT,
        "RootCustody is governed by the owner of its registry "
            + registry()
            + ": transfer ownership there");
  }

  @Override
  public TxResult acceptOwnership() throws GovernanceException {
    throw new GovernanceException(
        GovernanceException.Kind.INVALID_INPUT,
        "RootCustody is governed by the owner of its registry "
            + registry()
            + ": accept ownership there");
  }

  /**
   * The calldata of an owner call, for a multisig to propose ({@code teekms gov …
   * --calldata-only}): the same function names and arguments as this binding's methods.
   */
  public String calldata(String function, Object... a) throws GovernanceException {
    return switch (function) {
      case "registerCustodian" ->
          contract
              .registerCustodian(
                  (byte[]) a[0], BigInteger.valueOf(((Number) a[1]).longValue()), (String) a[2])
              .encodeFunctionCall();
      case "deactivateCustodian" ->
          contract.deactivateCustodian((byte[]) a[0]).encodeFunctionCall();
      case "publishBackup" ->
          publishBackupCall(
                  ((Number) a[0]).longValue(), (byte[]) a[1], bytesList(a[2]), bytesList(a[3]))
              .encodeFunctionCall();
      case "authorizeRecovery" ->
          contract
              .authorizeRecovery(
                  BigInteger.valueOf(((Number) a[0]).longValue()),
                  (byte[]) a[1],
                  BigInteger.valueOf(((Number) a[2]).longValue()))
              .encodeFunctionCall();
      case "revokeRecovery" -> contract.revokeRecovery((byte[]) a[0]).encodeFunctionCall();
      default ->
          throw new GovernanceException(
              GovernanceException.Kind.INVALID_INPUT, "RootCustody has no owner call " + function);
    };
  }

  @SuppressWarnings("unchecked")
  private static List<byte[]> bytesList(Object o) {
    return (List<byte[]>) o;
  }

  // ---- custodians ----

  public TxResult registerCustodian(byte[] publicKey, Kind kind, String name)
      throws GovernanceException {
    if (kind == Kind.NONE)
      throw new GovernanceException(GovernanceException.Kind.INVALID_INPUT, "kind NONE");
    return send(contract.registerCustodian(publicKey, BigInteger.valueOf(kind.ordinal()), name));
  }

  public TxResult deactivateCustodian(byte[] id) throws GovernanceException {
    return send(contract.deactivateCustodian(id));
  }

  public Custodian custodian(byte[] id) throws GovernanceException {
    RootCustodyContract.Custodian c = read(contract.custodian(id));
    return new Custodian(
        Bytes.copyOf(id),
        Bytes.copyOf(c.publicKey),
        kind(c.kind),
        c.name,
        c.active,
        c.registeredAtBlock.longValueExact());
  }

  public List<byte[]> custodianIds() throws GovernanceException {
    return KmsRegistry.bytes32List(read(contract.custodianIds()));
  }

  // ---- backups ----

  public TxResult publishBackup(
      long generation, byte[] commitments, List<byte[]> custodianIds, List<byte[]> envelopeDigests)
      throws GovernanceException {
    return send(publishBackupCall(generation, commitments, custodianIds, envelopeDigests));
  }

  private org.web3j.protocol.core.RemoteFunctionCall<
          org.web3j.protocol.core.methods.response.TransactionReceipt>
      publishBackupCall(
          long generation,
          byte[] commitments,
          List<byte[]> custodianIds,
          List<byte[]> envelopeDigests) {
    return contract.publishBackup(
        BigInteger.valueOf(generation), commitments, custodianIds, envelopeDigests);
  }

  public Backup backup(long generation) throws GovernanceException {
    RootCustodyContract.Backup b = read(contract.backup(BigInteger.valueOf(generation)));
    return new Backup(
        generation,
        b.threshold.intValueExact(),
        Bytes.copyOf(b.commitments),
        b.custodianIds.stream().map(Bytes::copyOf).toList(),
        b.envelopeDigests.stream().map(Bytes::copyOf).toList(),
        b.publishedAtBlock.longValueExact());
  }

  public List<Long> generations() throws GovernanceException {
    return ((List<?>) read(contract.generations()))
        .stream()
            .map(
                v ->
                    v instanceof BigInteger b
                        ? b
                        : ((org.web3j.abi.datatypes.NumericType) v).getValue())
            .map(BigInteger::longValueExact)
            .toList();
  }

  // ---- recovery ----

  /** Authorizes a recovery; the request id is read from the RecoveryAuthorized event. */
  public Recovery authorizeRecovery(long generation, byte[] nodeKeyId, long validForBlocks)
      throws GovernanceException {
    TxResult tx =
        send(
            contract.authorizeRecovery(
                BigInteger.valueOf(generation), nodeKeyId, BigInteger.valueOf(validForBlocks)));
    return recoveryFrom(tx)
        .orElseThrow(
            () ->
                new GovernanceException(
                    GovernanceException.Kind.RPC,
                    "authorizeRecovery " + tx.txHash() + " emitted no RecoveryAuthorized"));
  }

  /**
   * The recovery a transaction authorized (e.g. the multisig call that executed it), read back from
   * the contract; empty when the transaction emitted no RecoveryAuthorized of this contract.
   */
  public Optional<Recovery> recoveryFrom(TxResult tx) throws GovernanceException {
    String topic = EventEncoder.encode(RootCustodyContract.RECOVERYAUTHORIZED_EVENT);
    for (Log log : tx.logs()) {
      if (log.getAddress().equalsIgnoreCase(address) && log.getTopics().get(0).equals(topic)) {
        return Optional.of(recovery((byte[]) EVENTS.decode(log).args().get("requestId")));
      }
    }
    return Optional.empty();
  }

  public TxResult revokeRecovery(byte[] requestId) throws GovernanceException {
    return send(contract.revokeRecovery(requestId));
  }

  public Recovery recovery(byte[] requestId) throws GovernanceException {
    RootCustodyContract.Recovery r = read(contract.recovery(requestId));
    return new Recovery(
        Bytes.copyOf(requestId),
        r.generation.longValueExact(),
        Bytes.copyOf(r.nodeKeyId),
        r.authorizedAtBlock.longValueExact(),
        r.expiresAtBlock.longValueExact(),
        r.revoked);
  }

  /** May custodians answer {@code requestId} for {@code generation} and this node key now? */
  public Authorization isRecoveryAuthorized(byte[] requestId, long generation, byte[] nodeKeyId)
      throws GovernanceException {
    var r =
        read(contract.isRecoveryAuthorized(requestId, BigInteger.valueOf(generation), nodeKeyId));
    return new Authorization(r.component1(), r.component2());
  }

  private static Kind kind(BigInteger v) {
    int i = v.intValueExact();
    return i < Kind.values().length ? Kind.values()[i] : Kind.NONE;
  }
}
