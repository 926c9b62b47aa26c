package org.teekms.governance;

import java.io.IOException;
import java.math.BigInteger;
import java.util.Optional;
import org.web3j.crypto.Credentials;
import org.web3j.protocol.core.DefaultBlockParameter;
import org.web3j.protocol.core.RemoteCall;
import org.web3j.protocol.core.methods.response.EthGetCode;
import org.web3j.protocol.core.methods.response.EthSendTransaction;
import org.web3j.protocol.core.methods.response.TransactionReceipt;
import org.web3j.tx.TransactionManager;
import org.web3j.tx.gas.ContractGasProvider;
import org.web3j.tx.gas.StaticGasProvider;
import org.web3j.tx.response.TransactionReceiptProcessor;

/**
 * Routes the generated contract wrappers ({@code org.teekms.governance.contracts.*Contract}, web3j
 * codegen) through our own plumbing: their eth_calls go to a {@link Caller} (one endpoint at a
 * block tag, one endpoint at a pinned block hash, or the policy reader's quorum), their
 * transactions to {@link ChainClient#sendForReceipt} (chain-id check, simulation with the revert
 * reason before signing, gas estimate). The wrappers only encode and decode.
 *
 * <p>Our failures cross web3j's {@code IOException}-only signatures as a {@link Routed} and come
 * out again, unchanged, from {@link #get}.
 */
final class ChainTransactionManager extends TransactionManager {
  /**
   * Gas is estimated by {@link ChainClient#send}; the wrappers' gas provider is never consulted.
   */
  static final ContractGasProvider NO_GAS = new StaticGasProvider(BigInteger.ZERO, BigInteger.ZERO);

  /** Answers one eth_call (to, data) with the returned hex data. */
  @FunctionalInterface
  interface Caller {
    String call(String to, String data) throws Exception;
  }

  /** One of our exceptions, carried through web3j's signatures. */
  static final class Routed extends IOException {
    private static final long serialVersionUID = 1L;

    Routed(Exception cause) {
      super(cause.getMessage(), cause);
    }

    Exception original() {
      return (Exception) getCause();
    }
  }

  private final ChainClient chain;
  private final Credentials signer;
  private final Caller caller;

  /**
   * @param chain the endpoint transactions go to (null: read-only)
   * @param signer the key that signs transactions (null: read-only)
   */
  ChainTransactionManager(ChainClient chain, Credentials signer, Caller caller) {
    super((TransactionReceiptProcessor) null, signer == null ? null : signer.getAddress());
    this.chain = chain;
    this.signer = signer;
    this.caller = caller;
  }

  /**
   * Runs a wrapper's call or transaction; our own exceptions come out as they went in (web3j wraps
   * some, e.g. in deployments, so the cause chain is searched).
   */
  static <T> T get(RemoteCall<T> call) throws Exception {
    try {
      return call.send();
    } catch (Exception e) {
      for (Throwable t = e; t != null; t = t.getCause()) {
        if (t instanceof Routed r) throw r.original();
      }
      throw e;
    }
  }

  /**
   * Every view of our contracts returns data, so an empty answer means no contract at that address
   * and block.
   */
  @Override
  public String sendCall(String to, String data, DefaultBlockParameter ignored) throws IOException {
    String answer;
    try {
      answer = caller.call(to, data);
    } catch (Exception e) {
      throw new Routed(e);
    }
    if (answer == null || answer.isEmpty() || answer.equals("0x")) {
      throw new Routed(
          new GovernanceException(
              GovernanceException.Kind.RPC,
              to + " returned no data (no contract at that address and block?)"));
    }
    return answer;
  }

  @Override
  protected TransactionReceipt executeTransaction(
      BigInteger gasPrice,
      BigInteger gasLimit,
      String to,
      String data,
      BigInteger value,
      boolean constructor)
      throws IOException {
    if (value != null && value.signum() != 0)
      throw new IllegalArgumentException("governance calls carry no ether");
    if (chain != null && chain.isCalldataOnly()) {
      try {
        chain.checkNotCalldataOnly(
            constructor ? null : to, data); // no key needed: nothing is signed
      } catch (GovernanceException e) {
        throw new Routed(e);
      }
    }
    if (chain == null || signer == null) {
      throw new Routed(
          new GovernanceException(
              GovernanceException.Kind.INVALID_INPUT,
              "no signing key configured for this contract"));
    }
    if (value != null && value.signum() != 0)
      throw new IllegalArgumentException("governance calls carry no ether");
    try {
      return chain.sendForReceipt(signer, constructor ? null : to, data);
    } catch (GovernanceException e) {
      throw new Routed(e);
    }
  }

  @Override
  protected TransactionReceipt executeTransactionEIP1559(
      long chainId,
      BigInteger maxPriorityFeePerGas,
      BigInteger maxFeePerGas,
      BigInteger gasLimit,
      String to,
      String data,
      BigInteger value,
      boolean constructor)
      throws IOException {
    return executeTransaction(null, gasLimit, to, data, value, constructor);
  }

  @Override
  public EthSendTransaction sendTransaction(
      BigInteger gasPrice,
      BigInteger gasLimit,
      String to,
      String data,
      BigInteger value,
      boolean constructor) {
    throw new UnsupportedOperationException("transactions go through executeTransaction");
  }

  @Override
  public EthSendTransaction sendEIP1559Transaction(
      long chainId,
      BigInteger maxPriorityFeePerGas,
      BigInteger maxFeePerGas,
      BigInteger gasLimit,
      String to,
      String data,
      BigInteger value,
      boolean constructor) {
    throw new UnsupportedOperationException("transactions go through executeTransaction");
  }

  @Override
  public EthGetCode getCode(String contractAddress, DefaultBlockParameter block) {
    throw new UnsupportedOperationException("not used by the governance bindings");
  }

  /** A transaction's receipt as our result. */
  static TxResult txResult(TransactionReceipt r) {
    return new TxResult(
        r.getTransactionHash(),
        r.getBlockNumber().longValueExact(),
        r.getBlockHash(),
        r.getGasUsed().longValueExact(),
        Optional.ofNullable(r.getContractAddress()),
        r.getLogs());
  }
}
