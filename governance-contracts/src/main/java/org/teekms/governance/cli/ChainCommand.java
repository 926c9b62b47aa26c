package org.teekms.governance.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.math.BigInteger;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.teekms.crypto.Bytes;
import org.teekms.governance.ChainClient;
import org.teekms.governance.GovernanceException;
import org.teekms.governance.TxResult;
import org.web3j.utils.Numeric;
import picocli.CommandLine;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * A {@code gov} subcommand: connects, checks the chain id, runs, prints one JSON object. Failures
 * print {@code {"ok":false,"kind":…,"error":…}} and exit 1; usage errors exit 2.
 */
abstract class ChainCommand implements Callable<Integer> {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  @Mixin ChainOptions chainOptions;
  @Spec CommandSpec spec;

  /** Whether this run only prints its transaction (--print-calldata). */
  boolean printCalldata() {
    return false;
  }

  /** Does the work; returns the fields to print after {@code "ok": true}. */
  abstract Map<String, Object> run(ChainClient chain) throws GovernanceException;

  @Override
  public final Integer call() {
    ChainClient chain;
    try {
      chain = chainOptions.connect();
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    }
    if (printCalldata()) {
      chain.calldataOnly();
    }
    java.io.PrintWriter err = spec.commandLine().getErr();
    chain.progress(
        line -> {
          err.println("teekms gov " + spec.name() + ": " + line);
          err.flush();
        });
    try (chain) {
      chain.checkChainId();
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("ok", true);
      out.putAll(run(chain));
      print(out);
      return Boolean.FALSE.equals(out.get("allowed"))
          ? 1
          : 0; // a policy check that denies is "invalid"

    } catch (GovernanceException e) {
      if (e.kind() == GovernanceException.Kind.NOT_SENT && e.unsent().isPresent()) {
        print(unsent(chain.chainId(), e.unsent().get()));
        return 0;
      }
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("ok", false);
      out.put("kind", e.kind().name());
      out.put("error", e.getMessage());
      print(out);
      spec.commandLine().getErr().println("teekms gov " + spec.name() + ": " + e.getMessage());
      return 1;
    }
  }

  private void print(Map<String, Object> out) {
    try {
      spec.commandLine().getOut().println(JSON.writeValueAsString(jsonValue(out)));
      spec.commandLine().getOut().flush();
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * What --print-calldata prints: the unsigned call a multisig proposes (value in wei, always 0
   * here).
   */
  static Map<String, Object> unsent(long chainId, GovernanceException.UnsentCall call) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("ok", true);
    out.put("sent", false);
    out.put("chainId", chainId);
    out.put("to", call.to()); // null: a contract creation
    out.put("value", call.value().toString());
    out.put("data", call.data());
    return out;
  }

  /** The fields every transaction prints. */
  static Map<String, Object> tx(TxResult tx) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("txHash", tx.txHash());
    out.put("blockNumber", tx.blockNumber());
    out.put("blockHash", tx.blockHash());
    out.put("gasUsed", tx.gasUsed());
    return out;
  }

  static Map<String, Object> tx(TxResult tx, Object... keyValues) {
    Map<String, Object> out = new LinkedHashMap<>();
    for (int i = 0; i < keyValues.length; i += 2) out.put((String) keyValues[i], keyValues[i + 1]);
    out.putAll(tx(tx));
    return out;
  }

  /** byte[] and Bytes as 0x-hex, big numbers as strings, collections recursively. */
  static Object jsonValue(Object v) {
    if (v instanceof byte[] b) return Numeric.toHexString(b);
    if (v instanceof Bytes b) return "0x" + b.hex();
    if (v instanceof BigInteger n)
      return n.bitLength() < 63 ? (Object) n.longValue() : n.toString();
    if (v instanceof Map<?, ?> m) {
      Map<String, Object> out = new LinkedHashMap<>();
      m.forEach((k, val) -> out.put(String.valueOf(k), jsonValue(val)));
      return out;
    }
    if (v instanceof List<?> l) return l.stream().map(ChainCommand::jsonValue).toList();
    return v;
  }
}
