package org.teekms.governance;

import java.io.IOException;
import java.math.BigInteger;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import okhttp3.OkHttpClient;
import org.teekms.crypto.NetworkErrors;
import org.web3j.crypto.Credentials;
import org.web3j.crypto.RawTransaction;
import org.web3j.crypto.TransactionEncoder;
import org.web3j.protocol.Web3j;
import org.web3j.protocol.core.DefaultBlockParameter;
import org.web3j.protocol.core.DefaultBlockParameterName;
import org.web3j.protocol.core.Request;
import org.web3j.protocol.core.Response;
import org.web3j.protocol.core.methods.request.EthFilter;
import org.web3j.protocol.core.methods.request.Transaction;
import org.web3j.protocol.core.methods.response.EthBlock;
import org.web3j.protocol.core.methods.response.EthCall;
import org.web3j.protocol.core.methods.response.EthGetCode;
import org.web3j.protocol.core.methods.response.EthLog;
import org.web3j.protocol.core.methods.response.Log;
import org.web3j.protocol.core.methods.response.TransactionReceipt;
import org.web3j.protocol.http.HttpService;
import org.web3j.utils.Numeric;

/**
 * One JSON-RPC endpoint of one chain. Every operation first checks that the endpoint serves the
 * configured chain id; transactions are simulated before they are signed, so a revert is reported
 * with its reason and costs nothing.
 */
public final class ChainClient implements AutoCloseable {
  private static final BigInteger GAS_MARGIN_PERCENT = BigInteger.valueOf(125);

  private final Web3j web3j;
  private final HttpService service;
  private final long chainId;
  private final String rpcUrl;
  private final Duration receiptTimeout;

  private ChainClient(String rpcUrl, long chainId, Duration rpcTimeout, Duration receiptTimeout) {
    this.rpcUrl = rpcUrl;
    this.chainId = chainId;
    this.receiptTimeout = receiptTimeout;
    OkHttpClient http =
        new OkHttpClient.Builder()
            .connectTimeout(rpcTimeout.toMillis(), TimeUnit.MILLISECONDS)
            .readTimeout(rpcTimeout.toMillis(), TimeUnit.MILLISECONDS)
            .writeTimeout(rpcTimeout.toMillis(), TimeUnit.MILLISECONDS)
            .callTimeout(rpcTimeout.toMillis(), TimeUnit.MILLISECONDS)
            .retryOnConnectionFailure(false)
            .build();
    this.service = new HttpService(rpcUrl, http);
    this.web3j = Web3j.build(service);
  }

  /** A client for {@code rpcUrl} that expects chain {@code chainId}; no connection is made yet. */
  public static ChainClient connect(
      String rpcUrl, long chainId, Duration rpcTimeout, Duration receiptTimeout) {
    if (chainId <= 0) throw new IllegalArgumentException("chain id must be positive");
    return new ChainClient(rpcUrl, chainId, rpcTimeout, receiptTimeout);
  }

  public static ChainClient connect(String rpcUrl, long chainId) {
    return connect(rpcUrl, chainId, Duration.ofSeconds(10), Duration.ofSeconds(120));
  }

  public long chainId() {
    return chainId;
  }

  public String rpcUrl() {
    return rpcUrl;
  }

  /**
   * The web3j client (the generated wrappers need one; their calls and transactions still go
   * through this class).
   */
  Web3j web3j() {
    return web3j;
  }

  /** Fails with WRONG_CHAIN unless the endpoint reports the configured chain id. */
  public void checkChainId() throws GovernanceException {
    long actual = rpc(web3j.ethChainId(), "eth_chainId").getChainId().longValue();
    if (actual != chainId) {
      throw new GovernanceException(
          GovernanceException.Kind.WRONG_CHAIN,
          "wrong chain: " + rpcUrl + " serves chain id " + actual + ", expected " + chainId);
    }
  }

  /** eth_call at a block tag or number; a revert becomes REVERTED with the contract's reason. */
  public String call(String to, String data, DefaultBlockParameter block)
      throws GovernanceException {
    return callResult(
        rpc(web3j.ethCall(Transaction.createEthCallTransaction(null, to, data), block), null));
  }

  /**
   * eth_call at the block with this hash (EIP-1898, requireCanonical), so the state read is exactly
   * that block's.
   */
  public String callAtBlockHash(String to, String data, String blockHash)
      throws GovernanceException {
    Request<?, EthCall> request =
        new Request<>(
            "eth_call",
            List.of(
                Transaction.createEthCallTransaction(null, to, data),
                Map.of("blockHash", blockHash, "requireCanonical", true)),
            service,
            EthCall.class);
    return callResult(rpc(request, null));
  }

  /**
   * The runtime code of {@code address} at the block with this hash (EIP-1898, requireCanonical):
   * "0x" for an account without code (an EOA, or no contract yet at that block).
   */
  public String codeAtBlockHash(String address, String blockHash) throws GovernanceException {
    Request<?, EthGetCode> request =
        new Request<>(
            "eth_getCode",
            List.of(address, Map.of("blockHash", blockHash, "requireCanonical", true)),
            service,
            EthGetCode.class);
    String code = rpc(request, "eth_getCode").getCode();
    if (code == null || !code.startsWith("0x")) {
      throw new GovernanceException(
          GovernanceException.Kind.RPC, "eth_getCode returned no code field for " + address);
    }
    return code;
  }

  private static String callResult(EthCall result) throws GovernanceException {
    if (result.hasError()) {
      Response.Error e = result.getError();
      throw new GovernanceException(
          GovernanceException.Kind.REVERTED, RevertReason.decode(e.getData(), e.getMessage()));
    }
    if (result.isReverted()) {
      throw new GovernanceException(
          GovernanceException.Kind.REVERTED,
          RevertReason.decode(result.getValue(), "reverted without reason"));
    }
    return result.getValue();
  }

  /** A block by tag or number, or empty when the node has no such block. */
  public Optional<EthBlock.Block> block(DefaultBlockParameter which) throws GovernanceException {
    EthBlock reply = rpc(web3j.ethGetBlockByNumber(which, false), "eth_getBlockByNumber");
    return Optional.ofNullable(reply.getBlock());
  }

  public long blockNumber() throws GovernanceException {
    return rpc(web3j.ethBlockNumber(), "eth_blockNumber").getBlockNumber().longValueExact();
  }

  public BigInteger balance(String address) throws GovernanceException {
    return rpc(web3j.ethGetBalance(address, DefaultBlockParameterName.LATEST), "eth_getBalance")
        .getBalance();
  }

  /** Logs of one or more contracts, oldest first; topics as in eth_getLogs (null = any). */
  public List<Log> logs(List<String> addresses, List<List<String>> topics)
      throws GovernanceException {
    return logs(addresses, topics, DefaultBlockParameterName.LATEST);
  }

  /** As {@link #logs(List, List)}, up to and including block {@code to} (a pinned block). */
  public List<Log> logs(List<String> addresses, List<List<String>> topics, DefaultBlockParameter to)
      throws GovernanceException {
    EthFilter filter = new EthFilter(DefaultBlockParameterName.EARLIEST, to, addresses);
    for (List<String> position : topics) {
      if (position == null) {
        filter.addNullTopic();
      } else {
        filter.addOptionalTopics(position.toArray(String[]::new));
      }
    }
    EthLog reply = rpc(web3j.ethGetLogs(filter), "eth_getLogs");
    return reply.getLogs().stream().map(r -> (Log) r.get()).toList();
  }

  /**
   * Signs and sends a transaction ({@code to} == null deploys {@code data}) and waits for its
   * receipt. Simulates it first: a revert is REVERTED with the reason, an underfunded sender
   * INSUFFICIENT_FUNDS, both before signing.
   */
  public TxResult send(Credentials from, String to, String data) throws GovernanceException {
    return ChainTransactionManager.txResult(sendForReceipt(from, to, data));
  }

  private volatile boolean calldataOnly;
  private volatile java.util.function.Consumer<String> progress = line -> {};

  /**
   * Where progress of slow steps goes (one line each): a transaction not mined within a second,
   * then every 5 s until it is. The command line prints these on stderr; the default drops them.
   */
  public ChainClient progress(java.util.function.Consumer<String> sink) {
    this.progress = java.util.Objects.requireNonNull(sink);
    return this;
  }

  /**
   * From now on no transaction is simulated, signed or sent: the first one a command makes (encoded
   * by the contract's generated wrapper) ends it with a {@link GovernanceException.Kind#NOT_SENT}
   * that carries the call (target, value, data) for a multisig or another signer to propose. Reads
   * still go to the chain.
   */
  public ChainClient calldataOnly() {
    this.calldataOnly = true;
    return this;
  }

  public boolean isCalldataOnly() {
    return calldataOnly;
  }

  /** Stops here in calldata-only mode (see {@link #calldataOnly()}). */
  void checkNotCalldataOnly(String to, String data) throws GovernanceException {
    if (calldataOnly) {
      throw new GovernanceException(new GovernanceException.UnsentCall(to, BigInteger.ZERO, data));
    }
  }

  /** {@link #send}, returning web3j's receipt (what the generated contract wrappers expect). */
  TransactionReceipt sendForReceipt(Credentials from, String to, String data)
      throws GovernanceException {
    checkNotCalldataOnly(to, data);
    checkChainId();
    String sender = from.getAddress();
    Transaction simulation = new Transaction(sender, null, null, null, to, BigInteger.ZERO, data);
    var estimate = rpc(web3j.ethEstimateGas(simulation), null);
    if (estimate.hasError()) {
      Response.Error e = estimate.getError();
      String reason = RevertReason.decode(e.getData(), e.getMessage());
      if (isInsufficientFunds(reason)) throw insufficientFunds(sender, reason);
      throw new GovernanceException(GovernanceException.Kind.REVERTED, reason);
    }
    BigInteger gasLimit =
        estimate.getAmountUsed().multiply(GAS_MARGIN_PERCENT).divide(BigInteger.valueOf(100));
    BigInteger gasPrice = rpc(web3j.ethGasPrice(), "eth_gasPrice").getGasPrice();
    BigInteger maxCost = gasLimit.multiply(gasPrice);
    BigInteger balance = balance(sender);
    if (balance.compareTo(maxCost) < 0) {
      throw new GovernanceException(
          GovernanceException.Kind.INSUFFICIENT_FUNDS,
          "insufficient funds: "
              + sender
              + " has "
              + balance
              + " wei, this transaction may cost up to "
              + maxCost
              + " wei (gas limit "
              + gasLimit
              + " x gas price "
              + gasPrice
              + ")");
    }
    BigInteger nonce =
        rpc(
                web3j.ethGetTransactionCount(sender, DefaultBlockParameterName.PENDING),
                "eth_getTransactionCount")
            .getTransactionCount();
    RawTransaction tx =
        to == null
            ? RawTransaction.createContractTransaction(
                nonce, gasPrice, gasLimit, BigInteger.ZERO, data)
            : RawTransaction.createTransaction(
                nonce, gasPrice, gasLimit, to, BigInteger.ZERO, data);
    String signed = Numeric.toHexString(TransactionEncoder.signMessage(tx, chainId, from));
    var sent = rpc(web3j.ethSendRawTransaction(signed), null);
    if (sent.hasError()) {
      String message = sent.getError().getMessage();
      if (isInsufficientFunds(message)) throw insufficientFunds(sender, message);
      throw new GovernanceException(
          GovernanceException.Kind.RPC, "transaction rejected by the node: " + message);
    }
    return awaitReceipt(sent.getTransactionHash());
  }

  private TransactionReceipt awaitReceipt(String txHash) throws GovernanceException {
    long sentAt = System.nanoTime();
    long deadline = sentAt + receiptTimeout.toNanos();
    long sleepMs = 50;
    long nextReport = sentAt + 1_000_000_000L;
    while (true) {
      long now = System.nanoTime();
      if (now >= nextReport) {
        long waited = (now - sentAt) / 1_000_000_000L;
        progress.accept(
            waited <= 1
                ? "transaction " + txHash + " sent, waiting for it to be mined..."
                : "still waiting for "
                    + txHash
                    + " to be mined ("
                    + waited
                    + " s of at most "
                    + receiptTimeout.toSeconds()
                    + " s)");
        nextReport = now + 5_000_000_000L;
      }
      Optional<TransactionReceipt> receipt =
          rpc(web3j.ethGetTransactionReceipt(txHash), "eth_getTransactionReceipt")
              .getTransactionReceipt();
      if (receipt.isPresent()) {
        TransactionReceipt r = receipt.get();
        if (!r.isStatusOK()) {
          throw new GovernanceException(
              GovernanceException.Kind.REVERTED,
              "transaction "
                  + txHash
                  + " reverted in block "
                  + r.getBlockNumber()
                  + (r.getRevertReason() == null ? "" : ": " + r.getRevertReason()));
        }
        return r;
      }
      if (System.nanoTime() > deadline) {
        throw new GovernanceException(
            GovernanceException.Kind.TIMEOUT,
            "transaction "
                + txHash
                + " sent but not mined within "
                + receiptTimeout.toSeconds()
                + " s");
      }
      try {
        Thread.sleep(sleepMs);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new GovernanceException(
            GovernanceException.Kind.TIMEOUT, "interrupted waiting for " + txHash);
      }
      sleepMs = Math.min(1000, sleepMs * 2);
    }
  }

  private static boolean isInsufficientFunds(String message) {
    return message != null
        && message.toLowerCase(java.util.Locale.ROOT).contains("insufficient funds");
  }

  private GovernanceException insufficientFunds(String sender, String nodeMessage)
      throws GovernanceException {
    return new GovernanceException(
        GovernanceException.Kind.INSUFFICIENT_FUNDS,
        "insufficient funds: " + sender + " has " + balance(sender) + " wei (" + nodeMessage + ")");
  }

  /**
   * Sends a request. With {@code method} set, an RPC error answer is an RPC failure; with null, the
   * caller inspects the error itself (reverts). Transport failures are always RPC failures.
   */
  private <T extends Response<?>> T rpc(Request<?, T> request, String method)
      throws GovernanceException {
    T reply;
    try {
      reply = request.send();
    } catch (IOException | RuntimeException e) {
      throw new GovernanceException(
          GovernanceException.Kind.RPC,
          "chain RPC unreachable at " + rpcUrl + ": " + NetworkErrors.inWords(e),
          e);
    }
    if (method != null && reply.hasError()) {
      throw new GovernanceException(
          GovernanceException.Kind.RPC,
          method + " failed at " + rpcUrl + ": " + reply.getError().getMessage());
    }
    return reply;
  }

  @Override
  public void close() {
    web3j.shutdown();
  }
}
