package org.teekms.agent.boot;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.teekms.agent.HexField;
import org.teekms.agent.env.EnvVar;
import org.teekms.crypto.Bytes;
import org.teekms.crypto.Digests;
import org.teekms.keys.EthereumAddress;

/**
 * The app-compose.json the CVM boots: its compose hash is SHA-256 of the file's exact bytes (what
 * the KMS policy and dstack's {@code compose-hash} event name), its {@code name}, and the key
 * provider it trusts: {@code key_provider} ("kms") with an optional {@code key_provider_id}, the
 * 20-byte Ethereum address of the KMS root key the app pins; {@code allowed_envs}, the names of the
 * encrypted environment variables the app accepts (docs/env-secrets.md §4; absent = none), and
 * {@code public_sysinfo}, whether the signing proxy's public attestation report carries this
 * app-compose (absent = false). Other fields belong to the container runtime and are not
 * interpreted here; unknown fields are ignored (as dstack's own parser ignores them), but the
 * fields dstack's {@code AppCompose} declares ({@link #DSTACK_FIELDS}) must have dstack's JSON
 * types when present, since dstack's guest refuses to boot otherwise.
 */
public record AppCompose(
    Bytes bytes,
    Bytes composeHash,
    String name,
    String keyProvider,
    Optional<EthereumAddress> pinnedKmsRoot,
    List<String> allowedEnvs,
    boolean publicSysinfo) {
  public static final int MAX_BYTES = 1024 * 1024;

  /**
   * The fields of dstack's {@code AppCompose} (dstack-types) and their JSON types: a complete
   * app-compose names every one explicitly, so dstack's defaults (e.g. {@code public_tcbinfo} and
   * {@code secure_time} default to true) never decide silently. {@code manifest_version}, {@code
   * name} and {@code runner} are the ones dstack requires.
   */
  public static final java.util.Map<String, String> DSTACK_FIELDS =
      java.util.Map.ofEntries(
          java.util.Map.entry("manifest_version", "integer"),
          java.util.Map.entry("name", "string"),
          java.util.Map.entry("runner", "string"),
          java.util.Map.entry("docker_compose_file", "string"),
          java.util.Map.entry("kms_enabled", "boolean"),
          java.util.Map.entry("gateway_enabled", "boolean"),
          java.util.Map.entry("local_key_provider_enabled", "boolean"),
          java.util.Map.entry("key_provider", "string"),
          java.util.Map.entry("key_provider_id", "string"),
          java.util.Map.entry("public_logs", "boolean"),
          java.util.Map.entry("public_sysinfo", "boolean"),
          java.util.Map.entry("public_tcbinfo", "boolean"),
          java.util.Map.entry("allowed_envs", "array"),
          java.util.Map.entry("no_instance_id", "boolean"),
          java.util.Map.entry("secure_time", "boolean"));

  private static final ObjectMapper JSON = new ObjectMapper();

  public AppCompose {
    Objects.requireNonNull(bytes, "bytes");
    Objects.requireNonNull(composeHash, "composeHash");
    allowedEnvs = List.copyOf(allowedEnvs);
  }

  public static AppCompose parse(byte[] bytes) {
    if (bytes.length == 0 || bytes.length > MAX_BYTES) {
      throw new IllegalArgumentException(
          "app-compose is " + bytes.length + " bytes (allowed 1.." + MAX_BYTES + ")");
    }
    JsonNode root;
    try {
      root = JSON.readTree(bytes);
    } catch (IOException e) {
      throw new IllegalArgumentException("app-compose is not JSON: " + e.getMessage());
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException("app-compose must be a JSON object");
    }
    for (var f : DSTACK_FIELDS.entrySet()) {
      JsonNode n = root.get(f.getKey());
      if (n != null && !n.isNull() && !hasType(n, f.getValue())) {
        throw new IllegalArgumentException(
            "app-compose field "
                + f.getKey()
                + " must be "
                + (f.getValue().equals("integer")
                    ? "a non-negative integer"
                    : f.getValue().equals("array") ? "an array" : "a " + f.getValue()));
      }
    }
    String name = text(root, "name", "");
    String provider = text(root, "key_provider", "kms");
    if (!provider.equals("kms")) {
      throw new IllegalArgumentException(
          "key_provider '" + provider + "' is not supported (only \"kms\")");
    }
    String id = text(root, "key_provider_id", "");
    Optional<EthereumAddress> pinned =
        id.isEmpty()
            ? Optional.empty()
            : Optional.of(EthereumAddress.of(HexField.parse("key_provider_id", id, 20)));
    return new AppCompose(
        Bytes.copyOf(bytes),
        Bytes.copyOf(sha256(bytes)),
        name,
        provider,
        pinned,
        allowedEnvs(root),
        flag(root, "public_sysinfo"));
  }

  private static boolean hasType(JsonNode n, String type) {
    return switch (type) {
      case "integer" ->
          n.canConvertToLong()
              && n.isIntegralNumber()
              && n.asLong() >= 0
              && n.asLong() <= 0xFFFF_FFFFL;
      case "string" -> n.isTextual();
      case "boolean" -> n.isBoolean();
      case "array" -> n.isArray();
      default -> false;
    };
  }

  /** The {@link #DSTACK_FIELDS} an app-compose does not name (a complete one names them all). */
  public List<String> missingDstackFields() {
    JsonNode root;
    try {
      root = JSON.readTree(bytes.toByteArray());
    } catch (IOException e) {
      throw new IllegalStateException("parsed app-compose is no longer JSON", e);
    }
    return DSTACK_FIELDS.keySet().stream().filter(f -> !root.has(f)).sorted().toList();
  }

  private static List<String> allowedEnvs(JsonNode root) {
    JsonNode n = root.get("allowed_envs");
    if (n == null || n.isNull()) {
      return List.of();
    }
    if (!n.isArray()) {
      throw new IllegalArgumentException(
          "app-compose field allowed_envs must be an array of names");
    }
    Set<String> names = new LinkedHashSet<>();
    for (JsonNode e : n) {
      if (!e.isTextual() || !EnvVar.validName(e.asText())) {
        throw new IllegalArgumentException(
            "app-compose allowed_envs entry #"
                + names.size()
                + " is not a variable name ([A-Za-z_][A-Za-z0-9_]*)");
      }
      if (!names.add(e.asText())) {
        throw new IllegalArgumentException(
            "app-compose allowed_envs names " + e.asText() + " twice");
      }
    }
    return List.copyOf(names);
  }

  private static boolean flag(JsonNode root, String field) {
    JsonNode n = root.get(field);
    if (n == null || n.isNull()) {
      return false;
    }
    if (!n.isBoolean()) {
      throw new IllegalArgumentException("app-compose field " + field + " must be true or false");
    }
    return n.asBoolean();
  }

  private static String text(JsonNode root, String field, String absent) {
    JsonNode n = root.get(field);
    if (n == null || n.isNull()) {
      return absent;
    }
    if (!n.isTextual()) {
      throw new IllegalArgumentException("app-compose field " + field + " must be a string");
    }
    return n.asText();
  }

  /**
   * The payload of the {@code key-provider} event: {@code {"name":"kms","id":"<hex root address or
   * empty>"}}, so the KMS (and any verifier) sees which KMS the app pinned.
   */
  public String keyProviderJson() {
    return "{\"name\":\""
        + keyProvider
        + "\",\"id\":\""
        + pinnedKmsRoot.map(a -> HexField.hex(a.toBytes())).orElse("")
        + "\"}";
  }

  public String text() {
    return new String(bytes.toByteArray(), StandardCharsets.UTF_8);
  }

  static byte[] sha256(byte[] b) {
    return Digests.sha256(b);
  }
}
