package org.teekms.agent.boot;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.teekms.agent.HexField;
import org.teekms.crypto.Digests;
import org.teekms.keys.EthereumAddress;

/**
 * The app-compose.json the CVM boots: its compose hash is SHA-256 of the file's exact bytes (what the KMS policy and
 * dstack's {@code compose-hash} event name), its {@code name}, and the key provider it trusts: {@code key_provider}
 * ("kms") with an optional {@code key_provider_id}, the 20-byte Ethereum address of the KMS root key the app pins.
 * Other fields belong to the container runtime and are not interpreted here.
 */
public record AppCompose(byte[] bytes, byte[] composeHash, String name, String keyProvider,
    Optional<EthereumAddress> pinnedKmsRoot) {
  public static final int MAX_BYTES = 1024 * 1024;
  private static final ObjectMapper JSON = new ObjectMapper();

  public AppCompose {
    bytes = bytes.clone();
    composeHash = composeHash.clone();
  }

  public static AppCompose parse(byte[] bytes) {
    if (bytes.length == 0 || bytes.length > MAX_BYTES) {
      throw new IllegalArgumentException("app-compose is " + bytes.length + " bytes (allowed 1.." + MAX_BYTES + ")");
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
    String name = text(root, "name", "");
    String provider = text(root, "key_provider", "kms");
    if (!provider.equals("kms")) {
      throw new IllegalArgumentException("key_provider '" + provider + "' is not supported (only \"kms\")");
    }
    String id = text(root, "key_provider_id", "");
    Optional<EthereumAddress> pinned = id.isEmpty() ? Optional.empty()
        : Optional.of(EthereumAddress.of(HexField.parse("key_provider_id", id, 20)));
    return new AppCompose(bytes, sha256(bytes), name, provider, pinned);
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
   * The payload of the {@code key-provider} event: {@code {"name":"kms","id":"<hex root address or empty>"}}, so the
   * KMS (and any verifier) sees which KMS the app pinned.
   */
  public String keyProviderJson() {
    return "{\"name\":\"" + keyProvider + "\",\"id\":\""
        + pinnedKmsRoot.map(a -> HexField.hex(a.toBytes())).orElse("") + "\"}";
  }

  public String text() {
    return new String(bytes, StandardCharsets.UTF_8);
  }

  static byte[] sha256(byte[] b) {
    return Digests.sha256(b);
  }

  @Override
  public byte[] bytes() {
    return bytes.clone();
  }

  @Override
  public byte[] composeHash() {
    return composeHash.clone();
  }
}
