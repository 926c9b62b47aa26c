package org.teekms.governance;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.web3j.crypto.Credentials;
import org.web3j.crypto.WalletUtils;
import org.web3j.protocol.core.DefaultBlockParameter;
import org.web3j.protocol.core.DefaultBlockParameterName;
import org.web3j.protocol.core.methods.response.Log;

/** Common plumbing of the contract bindings: reads at a block, signed writes, ownership. */
public abstract class GovernanceContract {
  protected final ChainClient chain;
  protected final ContractAbi abi;
  protected final String address;
  private final Optional<Credentials> signer;

  protected GovernanceContract(ChainClient chain, ContractAbi abi, String address, Credentials signer) {
    if (!WalletUtils.isValidAddress(address)) throw new IllegalArgumentException("not an address: " + address);
    this.chain = chain;
    this.abi = abi;
    this.address = address.toLowerCase(java.util.Locale.ROOT);
    this.signer = Optional.ofNullable(signer);
  }

  public String address() {
    return address;
  }

  public ContractAbi abi() {
    return abi;
  }

  // ---- two-step ownership (both contracts) ----

  public String owner() throws GovernanceException {
    return (String) readOne("owner");
  }

  public String pendingOwner() throws GovernanceException {
    return (String) readOne("pendingOwner");
  }

  /** Proposes a new owner (address(0) cancels); the new owner must call {@link #acceptOwnership()}. */
  public TxResult transferOwnership(String newOwner) throws GovernanceException {
    return send("transferOwnership", newOwner);
  }

  public TxResult acceptOwnership() throws GovernanceException {
    return send("acceptOwnership");
  }

  /** All events this contract emitted, oldest first. */
  public List<ContractAbi.DecodedEvent> events() throws GovernanceException {
    List<ContractAbi.DecodedEvent> out = new ArrayList<>();
    for (Log log : chain.logs(List.of(address), List.of())) out.add(abi.decodeEvent(log));
    return out;
  }

  // ---- plumbing ----

  protected TxResult send(String function, Object... args) throws GovernanceException {
    Credentials from = signer.orElseThrow(() -> new GovernanceException(GovernanceException.Kind.INVALID_INPUT,
        "no signing key configured for " + abi.name() + "." + function));
    return chain.send(from, address, encode(function, args));
  }

  protected List<Object> read(String function, Object... args) throws GovernanceException {
    return read(DefaultBlockParameterName.LATEST, function, args);
  }

  protected List<Object> read(DefaultBlockParameter block, String function, Object... args)
      throws GovernanceException {
    String result = chain.call(address, encode(function, args), block);
    try {
      return abi.decodeResult(function, result);
    } catch (RuntimeException e) {
      throw new GovernanceException(GovernanceException.Kind.RPC,
          abi.name() + "." + function + " at " + address + ": " + e.getMessage(), e);
    }
  }

  protected Object readOne(String function, Object... args) throws GovernanceException {
    return read(function, args).get(0);
  }

  protected long readLong(String function, Object... args) throws GovernanceException {
    return ((BigInteger) readOne(function, args)).longValueExact();
  }

  protected boolean readBool(String function, Object... args) throws GovernanceException {
    return (Boolean) readOne(function, args);
  }

  @SuppressWarnings("unchecked")
  protected List<byte[]> readBytes32List(String function) throws GovernanceException {
    return (List<byte[]>) readOne(function);
  }

  private String encode(String function, Object[] args) throws GovernanceException {
    try {
      return abi.encodeCall(function, args);
    } catch (RuntimeException e) {
      throw new GovernanceException(GovernanceException.Kind.INVALID_INPUT,
          "cannot encode " + abi.name() + "." + function + ": " + e.getMessage(), e);
    }
  }

  /** The creation code compiled at build time for a contract (test contracts too, from the test resources). */
  public static String creationCode(String contractName) {
    String resource = "contracts/" + contractName + ".bin";
    try (InputStream in = GovernanceContract.class.getResourceAsStream(resource)) {
      if (in == null) throw new IllegalStateException("missing resource " + resource);
      return new String(in.readAllBytes(), StandardCharsets.US_ASCII).trim();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The verdict of an isAppAllowed / isKmsAllowed view. */
  public record Verdict(boolean allowed, String reason) {}

  static Verdict verdict(List<Object> result) {
    return new Verdict((Boolean) result.get(0), (String) result.get(1));
  }
}
