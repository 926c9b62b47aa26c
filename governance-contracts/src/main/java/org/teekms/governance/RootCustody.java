package org.teekms.governance;

import java.math.BigInteger;
import java.util.List;
import org.web3j.crypto.Credentials;
import org.web3j.protocol.core.methods.response.Log;

/**
 * Binding of the RootCustody contract (docs/root-custody.md §5–6): custodians, per-generation backups (commitments
 * and envelope digests) and owner-authorized recovery requests. Writes need a signer (the registry owner, or a
 * multisig's signer through its wallet); reads do not.
 */
public final class RootCustody extends GovernanceContract {
  public static final ContractAbi ABI = ContractAbi.load("RootCustody");

  /** Custodian kinds, in the contract's order (NONE = unregistered). */
  public enum Kind { NONE, KMS_CLUSTER, HSM, OPERATOR }

  /** A registered custodian; id = SHA-256(publicKey). */
  public record Custodian(byte[] id, byte[] publicKey, Kind kind, String name, boolean active,
      long registeredAtBlock) {}

  /** A published backup: share i + 1 belongs to custodianIds[i], its envelope has envelopeDigests[i]. */
  public record Backup(long generation, int threshold, byte[] commitments, List<byte[]> custodianIds,
      List<byte[]> envelopeDigests, long publishedAtBlock) {
    public Backup {
      custodianIds = List.copyOf(custodianIds);
      envelopeDigests = List.copyOf(envelopeDigests);
    }
  }

  /** An authorized recovery request. */
  public record Recovery(byte[] requestId, long generation, byte[] nodeKeyId, long authorizedAtBlock,
      long expiresAtBlock, boolean revoked) {}

  private RootCustody(ChainClient chain, String address, Credentials signer) {
    super(chain, ABI, address, signer);
  }

  /** The contract at {@code address}; {@code signer} may be null for read-only use. */
  public static RootCustody at(ChainClient chain, String address, Credentials signer) {
    return new RootCustody(chain, address, signer);
  }

  /** Deploys a RootCustody governed by the owner of {@code registry}; returns it bound to {@code deployer}. */
  public static RootCustody deploy(ChainClient chain, Credentials deployer, String registry)
      throws GovernanceException {
    TxResult tx = chain.send(deployer, null, creationCode("RootCustody") + ABI.encodeConstructor(registry));
    String address = tx.contractAddress().orElseThrow(() -> new GovernanceException(
        GovernanceException.Kind.RPC, "deployment " + tx.txHash() + " has no contract address"));
    return new RootCustody(chain, address, deployer);
  }

  /** This binding with another signer (e.g. a custodian reading, or a second owner key). */
  public RootCustody withSigner(Credentials signer) {
    return new RootCustody(chain, address, signer);
  }

  public String registry() throws GovernanceException {
    return (String) readOne("registry");
  }

  /** The contract has no owner of its own: whoever owns the registry governs it. */
  @Override
  public String owner() throws GovernanceException {
    return KmsRegistry.at(chain, registry(), null).owner();
  }

  // ---- custodians ----

  public TxResult registerCustodian(byte[] publicKey, Kind kind, String name) throws GovernanceException {
    if (kind == Kind.NONE) throw new GovernanceException(GovernanceException.Kind.INVALID_INPUT, "kind NONE");
    return send("registerCustodian", publicKey, kind.ordinal(), name);
  }

  public TxResult deactivateCustodian(byte[] id) throws GovernanceException {
    return send("deactivateCustodian", (Object) id);
  }

  @SuppressWarnings("unchecked")
  public Custodian custodian(byte[] id) throws GovernanceException {
    List<Object> t = (List<Object>) readOne("custodian", (Object) id);
    return new Custodian(id.clone(), (byte[]) t.get(0), kind(t.get(1)), (String) t.get(2), (Boolean) t.get(3),
        ((BigInteger) t.get(4)).longValueExact());
  }

  public List<byte[]> custodianIds() throws GovernanceException {
    return readBytes32List("custodianIds");
  }

  // ---- backups ----

  public TxResult publishBackup(long generation, byte[] commitments, List<byte[]> custodianIds,
      List<byte[]> envelopeDigests) throws GovernanceException {
    return send("publishBackup", generation, commitments, custodianIds, envelopeDigests);
  }

  @SuppressWarnings("unchecked")
  public Backup backup(long generation) throws GovernanceException {
    List<Object> t = (List<Object>) readOne("backup", generation);
    return new Backup(generation, ((BigInteger) t.get(0)).intValueExact(), (byte[]) t.get(1),
        (List<byte[]>) t.get(2), (List<byte[]>) t.get(3), ((BigInteger) t.get(4)).longValueExact());
  }

  @SuppressWarnings("unchecked")
  public List<Long> generations() throws GovernanceException {
    return ((List<BigInteger>) readOne("generations")).stream().map(BigInteger::longValueExact).toList();
  }

  // ---- recovery ----

  /** Authorizes a recovery; the request id is read from the RecoveryAuthorized event. */
  public Recovery authorizeRecovery(long generation, byte[] nodeKeyId, long validForBlocks)
      throws GovernanceException {
    TxResult tx = send("authorizeRecovery", generation, nodeKeyId, validForBlocks);
    return recoveryFrom(tx).orElseThrow(() -> new GovernanceException(GovernanceException.Kind.RPC,
        "authorizeRecovery " + tx.txHash() + " emitted no RecoveryAuthorized"));
  }

  /**
   * The recovery a transaction authorized (e.g. the multisig call that executed it), read back from the contract;
   * empty when the transaction emitted no RecoveryAuthorized of this contract.
   */
  public java.util.Optional<Recovery> recoveryFrom(TxResult tx) throws GovernanceException {
    String topic = ABI.eventTopic("RecoveryAuthorized");
    for (Log log : tx.logs()) {
      if (log.getAddress().equalsIgnoreCase(address) && log.getTopics().get(0).equals(topic)) {
        return java.util.Optional.of(recovery((byte[]) ABI.decodeEvent(log).args().get("requestId")));
      }
    }
    return java.util.Optional.empty();
  }

  public TxResult revokeRecovery(byte[] requestId) throws GovernanceException {
    return send("revokeRecovery", (Object) requestId);
  }

  @SuppressWarnings("unchecked")
  public Recovery recovery(byte[] requestId) throws GovernanceException {
    List<Object> t = (List<Object>) readOne("recovery", (Object) requestId);
    return new Recovery(requestId.clone(), ((BigInteger) t.get(0)).longValueExact(), (byte[]) t.get(1),
        ((BigInteger) t.get(2)).longValueExact(), ((BigInteger) t.get(3)).longValueExact(), (Boolean) t.get(4));
  }

  /** May custodians answer {@code requestId} for {@code generation} and this node key now? */
  public Verdict isRecoveryAuthorized(byte[] requestId, long generation, byte[] nodeKeyId)
      throws GovernanceException {
    return verdict(read("isRecoveryAuthorized", requestId, generation, nodeKeyId));
  }

  private static Kind kind(Object v) {
    int i = ((BigInteger) v).intValueExact();
    return i < Kind.values().length ? Kind.values()[i] : Kind.NONE;
  }
}
