package org.teekms.governance;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.web3j.crypto.Credentials;
import org.web3j.crypto.WalletUtils;
import org.web3j.protocol.core.DefaultBlockParameter;
import org.web3j.protocol.core.DefaultBlockParameterName;
import org.web3j.protocol.core.RemoteCall;
import org.web3j.protocol.core.methods.response.Log;
import org.web3j.protocol.core.methods.response.TransactionReceipt;

/**
 * Common plumbing of the contract bindings over the wrappers web3j's codegen generates at build
 * time ({@code org.teekms.governance.contracts.KmsRegistryContract}, {@code AppPolicyContract}):
 * reads at the latest block, at a block number or at a pinned block hash, signed writes, ownership,
 * events.
 */
public abstract class GovernanceContract {
  protected final ChainClient chain;
  protected final String address;
  private final Optional<Credentials> signer;
  private final ChainTransactionManager.Caller reads;

  protected GovernanceContract(
      ChainClient chain, String address, Credentials signer, ChainTransactionManager.Caller reads) {
    if (!WalletUtils.isValidAddress(address))
      throw new IllegalArgumentException("not an address: " + address);
    this.chain = chain;
    this.address = address.toLowerCase(Locale.ROOT);
    this.signer = Optional.ofNullable(signer);
    this.reads = reads;
  }

  /** Reads answered by one endpoint at a block tag or number. */
  static ChainTransactionManager.Caller at(ChainClient chain, DefaultBlockParameter block) {
    return (to, data) -> chain.call(to, data, block);
  }

  static ChainTransactionManager.Caller latest(ChainClient chain) {
    return at(chain, DefaultBlockParameterName.LATEST);
  }

  /**
   * Reads answered by one endpoint at exactly the block with this hash (EIP-1898,
   * requireCanonical).
   */
  static ChainTransactionManager.Caller atHash(ChainClient chain, String blockHash) {
    return (to, data) -> chain.callAtBlockHash(to, data, blockHash);
  }

  public String address() {
    return address;
  }

  /** The contract's name in messages ("KmsRegistry", "AppPolicy"). */
  protected abstract String contractName();

  /** The events this contract's ABI declares (decoding logs by name for history and audits). */
  public abstract ContractEvents eventTypes();

  /** The manager the generated wrapper of this binding runs on. */
  protected ChainTransactionManager manager() {
    return new ChainTransactionManager(chain, signer.orElse(null), reads);
  }

  // ---- two-step ownership (both contracts, OpenZeppelin Ownable2Step) ----

  public abstract String owner() throws GovernanceException;

  public abstract String pendingOwner() throws GovernanceException;

  /**
   * Proposes a new owner (address(0) cancels); the new owner must call {@link #acceptOwnership()}.
   */
  public abstract TxResult transferOwnership(String newOwner) throws GovernanceException;

  public abstract TxResult acceptOwnership() throws GovernanceException;

  /** All events this contract emitted, oldest first. */
  public List<ContractEvents.DecodedEvent> events() throws GovernanceException {
    List<ContractEvents.DecodedEvent> out = new ArrayList<>();
    for (Log log : chain.logs(List.of(address), List.of())) out.add(eventTypes().decode(log));
    return out;
  }

  // ---- plumbing ----

  /**
   * A view through the generated wrapper. Our own failures (revert, RPC, wrong chain) come out
   * unchanged; whatever else goes wrong (an answer that does not decode, no contract there) is an
   * RPC failure naming the contract.
   */
  protected <T> T read(RemoteCall<T> call) throws GovernanceException {
    try {
      return ChainTransactionManager.get(call);
    } catch (GovernanceException e) {
      throw e;
    } catch (Exception e) {
      throw new GovernanceException(
          GovernanceException.Kind.RPC,
          contractName()
              + " at "
              + address
              + ": malformed or empty answer ("
              + e.getMessage()
              + ")",
          e);
    }
  }

  /** A transaction through the generated wrapper, signed by this binding's key. */
  protected TxResult send(RemoteCall<TransactionReceipt> call) throws GovernanceException {
    if (signer.isEmpty() && (chain == null || !chain.isCalldataOnly())) {
      throw new GovernanceException(
          GovernanceException.Kind.INVALID_INPUT,
          "no signing key configured for " + contractName() + " at " + address);
    }
    try {
      return ChainTransactionManager.txResult(ChainTransactionManager.get(call));
    } catch (GovernanceException e) {
      throw e;
    } catch (Exception e) {
      throw new GovernanceException(
          GovernanceException.Kind.RPC,
          contractName() + " at " + address + ": transaction failed (" + e.getMessage() + ")",
          e);
    }
  }

  /**
   * The verdict of an isAppAllowed / isKmsAllowed view: the denial code (NONE exactly when allowed)
   * and its words.
   */
  public record Verdict(boolean allowed, ChainDenial denial, String reason) {
    public Verdict {
      if (allowed != (denial == ChainDenial.NONE)) {
        throw new IllegalArgumentException(
            "inconsistent verdict: allowed=" + allowed + ", denial " + denial);
      }
    }
  }

  static Verdict verdict(
      org.web3j.tuples.generated.Tuple3<Boolean, java.math.BigInteger, String> r) {
    return new Verdict(
        r.component1(), ChainDenial.ofCode(r.component2().longValueExact()), r.component3());
  }
}
