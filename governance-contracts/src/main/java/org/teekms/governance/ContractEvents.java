package org.teekms.governance;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.web3j.abi.FunctionReturnDecoder;
import org.web3j.abi.TypeReference;
import org.web3j.abi.datatypes.Address;
import org.web3j.abi.datatypes.Array;
import org.web3j.abi.datatypes.Bool;
import org.web3j.abi.datatypes.BytesType;
import org.web3j.abi.datatypes.NumericType;
import org.web3j.abi.datatypes.Type;
import org.web3j.abi.datatypes.Utf8String;
import org.web3j.crypto.Hash;
import org.web3j.protocol.core.methods.response.Log;
import org.web3j.utils.Numeric;

/**
 * The events of a contract, read from the ABI JSON the Solidity compiler wrote at build time, for
 * decoding any log by name with its arguments by name (policy history, audits, tests). Calls and
 * typed event access go through the wrappers web3j's codegen generates from the same ABI; this
 * class exists because those wrappers name no event parameters at run time.
 *
 * <p>Java values: {@code address} = hex string, {@code bool} = Boolean, {@code uintN} = BigInteger,
 * {@code bytesN}/{@code bytes} = byte[], {@code string} = String, {@code T[]} = List.
 */
public final class ContractEvents {
  private static final ObjectMapper JSON =
      new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

  /** One entry of the compiler's ABI JSON (function, event, error, …); only events are kept. */
  record AbiEntry(String type, String name, List<AbiParam> inputs) {}

  /** One parameter of an ABI entry. */
  record AbiParam(String name, String type, boolean indexed) {}

  private final String name;
  private final Map<String, AbiEntry> eventsByTopic = new HashMap<>();
  private final Map<String, String> topicByEventName = new HashMap<>();

  private ContractEvents(String name, AbiEntry[] abi) {
    this.name = name;
    for (AbiEntry entry : abi) {
      if ("event".equals(entry.type())) {
        String topic = eventSignatureTopic(entry);
        eventsByTopic.put(topic, entry);
        topicByEventName.put(entry.name(), topic);
      }
    }
  }

  /** Loads {@code org/teekms/governance/contracts/<name>.abi.json} from the class path. */
  public static ContractEvents load(String contractName) {
    String resource = "contracts/" + contractName + ".abi.json";
    try (InputStream in = ContractEvents.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException(
            "missing resource " + resource + " (the Maven build compiles the contracts)");
      }
      return new ContractEvents(contractName, JSON.readValue(in, AbiEntry[].class));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public String name() {
    return name;
  }

  /** The topic0 of an event. */
  public String eventTopic(String event) {
    String topic = topicByEventName.get(event);
    if (topic == null) throw new IllegalArgumentException(name + " has no event " + event);
    return topic;
  }

  /** True if this log is one of this contract's events. */
  public boolean knowsEvent(Log log) {
    return !log.getTopics().isEmpty() && eventsByTopic.containsKey(log.getTopics().get(0));
  }

  /**
   * Decodes a log of this contract: the event name and its arguments by name, in declaration order.
   */
  public DecodedEvent decode(Log log) {
    if (!knowsEvent(log))
      throw new IllegalArgumentException("not a " + name + " event: " + log.getTopics());
    try {
      return decodeKnownEvent(log);
    } catch (IllegalArgumentException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(name + ": malformed event data (" + e + ")", e);
    }
  }

  private DecodedEvent decodeKnownEvent(Log log) {
    AbiEntry entry = eventsByTopic.get(log.getTopics().get(0));
    List<AbiParam> plain = entry.inputs().stream().filter(in -> !in.indexed()).toList();
    List<Object> plainValues = decode(plain, Numeric.cleanHexPrefix(log.getData()));
    Map<String, Object> args = new LinkedHashMap<>();
    int i = 0;
    int p = 0;
    for (AbiParam in : entry.inputs()) {
      if (in.indexed()) {
        String topic = log.getTopics().get(1 + i++);
        Type<?> v = FunctionReturnDecoder.decodeIndexedValue(topic, typeReference(in));
        args.put(in.name(), toJava(v));
      } else {
        args.put(in.name(), plainValues.get(p++));
      }
    }
    return new DecodedEvent(entry.name(), args);
  }

  /** An event decoded from a log. */
  public record DecodedEvent(String name, Map<String, Object> args) {}

  // ---- decoding ----

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static List<Object> decode(List<AbiParam> params, String data) {
    List<TypeReference<Type>> refs = new ArrayList<>();
    for (AbiParam p : params) {
      if (p.type().startsWith("tuple")) {
        throw new IllegalArgumentException("nested tuple outputs are not supported");
      }
      refs.add((TypeReference) typeReference(p));
    }
    List<Object> out = new ArrayList<>();
    for (Type t : FunctionReturnDecoder.decode(data, refs)) out.add(toJava(t));
    if (out.size() != params.size()) {
      throw new IllegalArgumentException(
          "malformed ABI data: expected " + params.size() + " values");
    }
    return out;
  }

  private static TypeReference<?> typeReference(AbiParam param) {
    try {
      return TypeReference.makeTypeReference(param.type());
    } catch (ClassNotFoundException e) {
      throw new IllegalStateException("unsupported ABI type " + param.type(), e);
    }
  }

  private static Object toJava(Type<?> t) {
    if (t instanceof Address a) return a.getValue();
    if (t instanceof Bool b) return b.getValue();
    if (t instanceof NumericType n) return n.getValue();
    if (t instanceof BytesType b) return b.getValue();
    if (t instanceof Utf8String s) return s.getValue();
    if (t instanceof Array<?> a) {
      List<Object> out = new ArrayList<>();
      for (Type<?> item : a.getValue()) out.add(toJava(item));
      return out;
    }
    throw new IllegalArgumentException("unsupported decoded type " + t.getTypeAsString());
  }

  // topic0 = keccak256("Name(type1,type2,...)"); our events have no tuple parameters.
  private static String eventSignatureTopic(AbiEntry entry) {
    List<String> types = entry.inputs().stream().map(AbiParam::type).toList();
    return Hash.sha3String(entry.name() + "(" + String.join(",", types) + ")");
  }
}
