package org.teekms.governance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.web3j.abi.FunctionEncoder;
import org.web3j.abi.FunctionReturnDecoder;
import org.web3j.abi.TypeReference;
import org.web3j.abi.datatypes.AbiTypes;
import org.web3j.abi.datatypes.Address;
import org.web3j.abi.datatypes.Array;
import org.web3j.abi.datatypes.Bool;
import org.web3j.abi.datatypes.BytesType;
import org.web3j.abi.datatypes.DynamicArray;
import org.web3j.abi.datatypes.DynamicBytes;
import org.web3j.abi.datatypes.DynamicStruct;
import org.web3j.abi.datatypes.NumericType;
import org.web3j.abi.datatypes.StaticStruct;
import org.web3j.abi.datatypes.Type;
import org.web3j.abi.datatypes.Utf8String;
import org.web3j.crypto.Hash;
import org.web3j.protocol.core.methods.response.Log;
import org.web3j.utils.Numeric;

/**
 * A contract's ABI, read from the JSON the Solidity compiler wrote at build time. Encodes calls and decodes results
 * and events by name from plain Java values, so the bindings cannot drift from the compiled contracts.
 *
 * <p>Java values: {@code address} = hex string, {@code bool} = Boolean, {@code uintN} = BigInteger (any Number in),
 * {@code bytesN}/{@code bytes} = byte[], {@code string} = String, {@code T[]} = List, {@code tuple} = List of its
 * components in order.
 */
public final class ContractAbi {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final String name;
  private final Map<String, JsonNode> functions = new HashMap<>();
  private final Map<String, JsonNode> eventsByTopic = new HashMap<>();
  private final Map<String, String> topicByEventName = new HashMap<>();
  private final JsonNode constructor;

  private ContractAbi(String name, JsonNode abi) {
    this.name = name;
    JsonNode ctor = null;
    for (JsonNode entry : abi) {
      switch (entry.path("type").asText()) {
        case "function" -> {
          if (functions.put(entry.get("name").asText(), entry) != null) {
            throw new IllegalStateException(name + ": overloaded function " + entry.get("name").asText());
          }
        }
        case "event" -> {
          String topic = eventSignatureTopic(entry);
          eventsByTopic.put(topic, entry);
          topicByEventName.put(entry.get("name").asText(), topic);
        }
        case "constructor" -> ctor = entry;
        default -> { }
      }
    }
    this.constructor = ctor;
  }

  /** Loads {@code org/teekms/governance/contracts/<name>.abi.json} from the class path. */
  public static ContractAbi load(String contractName) {
    String resource = "contracts/" + contractName + ".abi.json";
    try (InputStream in = ContractAbi.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("missing resource " + resource + " (the Maven build compiles the contracts)");
      }
      return new ContractAbi(contractName, JSON.readTree(in));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public String name() {
    return name;
  }

  /** ABI-encoded call data (selector + arguments). */
  public String encodeCall(String function, Object... args) {
    JsonNode f = function(function);
    return FunctionEncoder.encode(new org.web3j.abi.datatypes.Function(function, toTypes(f.get("inputs"), args),
        List.of()));
  }

  /** ABI-encoded constructor arguments (appended to the creation code). */
  public String encodeConstructor(Object... args) {
    if (constructor == null) {
      if (args.length != 0) throw new IllegalArgumentException(name + " has no constructor arguments");
      return "";
    }
    return FunctionEncoder.encodeConstructor(toTypes(constructor.get("inputs"), args));
  }

  /**
   * Decodes a call's return data into Java values, one per output. Malformed data is an IllegalArgumentException
   * (never another unchecked exception).
   */
  public List<Object> decodeResult(String function, String hex) {
    JsonNode outputs = function(function).get("outputs");
    try {
      return decodeOutputs(outputs, hex);
    } catch (IllegalArgumentException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(name + "." + function + ": malformed ABI data (" + e + ")", e);
    }
  }

  private List<Object> decodeOutputs(JsonNode outputs, String hex) {
    String data = Numeric.cleanHexPrefix(hex == null ? "" : hex);
    if (data.isEmpty() && outputs.size() > 0) {
      throw new IllegalArgumentException(name + " returned no data (no contract at that address and block?)");
    }
    // A single tuple output: web3j decodes structs only into generated classes, so decode its components directly.
    if (outputs.size() == 1 && outputs.get(0).get("type").asText().equals("tuple")) {
      JsonNode components = outputs.get(0).get("components");
      if (isDynamic(outputs.get(0))) {
        int offset = Numeric.toBigInt(data.substring(0, 64)).intValueExact();
        if (offset < 32 || offset % 32 != 0 || offset * 2L > data.length()) {
          throw new IllegalArgumentException("bad tuple offset " + offset);
        }
        data = data.substring(offset * 2);
      }
      return List.of(decode(components, data));
    }
    return decode(outputs, data);
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

  /** Decodes a log of this contract: the event name and its arguments by name, in declaration order. */
  public DecodedEvent decodeEvent(Log log) {
    if (!knowsEvent(log)) throw new IllegalArgumentException("not a " + name + " event: " + log.getTopics());
    try {
      return decodeKnownEvent(log);
    } catch (IllegalArgumentException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(name + ": malformed event data (" + e + ")", e);
    }
  }

  private DecodedEvent decodeKnownEvent(Log log) {
    JsonNode entry = eventsByTopic.get(log.getTopics().get(0));
    List<JsonNode> indexed = new ArrayList<>();
    List<JsonNode> plain = new ArrayList<>();
    for (JsonNode in : entry.get("inputs")) (in.get("indexed").asBoolean() ? indexed : plain).add(in);
    List<Object> plainValues = decode(JSON.valueToTree(plain), Numeric.cleanHexPrefix(log.getData()));
    Map<String, Object> args = new LinkedHashMap<>();
    int i = 0;
    int p = 0;
    for (JsonNode in : entry.get("inputs")) {
      if (in.get("indexed").asBoolean()) {
        String topic = log.getTopics().get(1 + i++);
        Type<?> v = FunctionReturnDecoder.decodeIndexedValue(topic, typeReference(in));
        args.put(in.get("name").asText(), toJava(v));
      } else {
        args.put(in.get("name").asText(), plainValues.get(p++));
      }
    }
    return new DecodedEvent(entry.get("name").asText(), args);
  }

  /** An event decoded from a log. */
  public record DecodedEvent(String name, Map<String, Object> args) {}

  // ---- encoding ----

  private JsonNode function(String function) {
    JsonNode f = functions.get(function);
    if (f == null) throw new IllegalArgumentException(name + " has no function " + function);
    return f;
  }

  @SuppressWarnings("rawtypes")
  private static List<Type> toTypes(JsonNode params, Object[] args) {
    if (params.size() != args.length) {
      throw new IllegalArgumentException("expected " + params.size() + " arguments, got " + args.length);
    }
    List<Type> out = new ArrayList<>();
    for (int i = 0; i < args.length; i++) out.add(toType(params.get(i), args[i]));
    return out;
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static Type toType(JsonNode param, Object value) {
    String type = param.get("type").asText();
    if (value == null) throw new IllegalArgumentException("null value for " + type);
    if (type.endsWith("[]")) {
      JsonNode element = elementOf(param);
      List<Type> items = new ArrayList<>();
      for (Object o : (List<?>) value) items.add(toType(element, o));
      Class<? extends Type> cls = element.get("type").asText().equals("tuple")
          ? (isDynamic(element) ? DynamicStruct.class : StaticStruct.class)
          : AbiTypes.getType(element.get("type").asText());
      return new DynamicArray(cls, items);
    }
    if (type.equals("tuple")) {
      List<Type> parts = toTypes(param.get("components"), ((List<?>) value).toArray());
      return isDynamic(param) ? new DynamicStruct(parts) : new StaticStruct(parts);
    }
    switch (type) {
      case "address":
        return new Address(value instanceof byte[] b ? Numeric.toHexString(b) : (String) value);
      case "bool":
        return new Bool((Boolean) value);
      case "string":
        return new Utf8String((String) value);
      case "bytes":
        return new DynamicBytes((byte[]) value);
      default:
        break;
    }
    Class<? extends Type> cls = AbiTypes.getType(type);
    try {
      if (type.startsWith("uint") || type.startsWith("int")) {
        BigInteger n = value instanceof BigInteger b ? b : BigInteger.valueOf(((Number) value).longValue());
        return cls.getConstructor(BigInteger.class).newInstance(n);
      }
      if (type.startsWith("bytes")) return cls.getConstructor(byte[].class).newInstance((byte[]) value);
    } catch (InvocationTargetException e) {
      throw new IllegalArgumentException(type + ": " + e.getCause().getMessage(), e.getCause());
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException(e);
    }
    throw new IllegalArgumentException("unsupported ABI type " + type);
  }

  // ---- decoding ----

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static List<Object> decode(JsonNode params, String data) {
    List<TypeReference<Type>> refs = new ArrayList<>();
    for (JsonNode p : params) {
      if (p.get("type").asText().startsWith("tuple")) {
        throw new IllegalArgumentException("nested tuple outputs are not supported");
      }
      refs.add((TypeReference) typeReference(p));
    }
    List<Object> out = new ArrayList<>();
    for (Type t : FunctionReturnDecoder.decode(data, refs)) out.add(toJava(t));
    if (out.size() != params.size()) {
      throw new IllegalArgumentException("malformed ABI data: expected " + params.size() + " values");
    }
    return out;
  }

  private static TypeReference<?> typeReference(JsonNode param) {
    try {
      return TypeReference.makeTypeReference(param.get("type").asText());
    } catch (ClassNotFoundException e) {
      throw new IllegalStateException("unsupported ABI type " + param.get("type").asText(), e);
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

  private static boolean isDynamic(JsonNode param) {
    String type = param.get("type").asText();
    if (type.endsWith("[]") || type.equals("string") || type.equals("bytes")) return true;
    if (type.equals("tuple")) {
      for (JsonNode c : param.get("components")) if (isDynamic(c)) return true;
    }
    return false;
  }

  private static JsonNode elementOf(JsonNode param) {
    var copy = param.deepCopy();
    String type = param.get("type").asText();
    ((com.fasterxml.jackson.databind.node.ObjectNode) copy).put("type", type.substring(0, type.length() - 2));
    return copy;
  }

  // topic0 = keccak256("Name(type1,type2,...)"); our events have no tuple parameters.
  private static String eventSignatureTopic(JsonNode entry) {
    List<String> types = new ArrayList<>();
    for (JsonNode in : entry.get("inputs")) types.add(in.get("type").asText());
    return Hash.sha3String(entry.get("name").asText() + "(" + String.join(",", types) + ")");
  }
}
