package org.teekms.agent;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;

/**
 * The agent's configuration: a Java properties file (default {@code /etc/teekms/agent.properties});
 * every key is documented in guest-agent/README.md. Unknown keys are an error (a typo must not
 * silently drop a setting).
 */
public final class AgentConfig {
  static final Set<String> KNOWN =
      Set.of(
          "app.id",
          "app.instance-id",
          "app.os-image-hash",
          "app.compose-file",
          "kms.host",
          "kms.port",
          "kms.registered-measurements",
          "kms.registry.rpc-url",
          "kms.registry.chain-id",
          "kms.registry.address",
          "kms.retry.initial-ms",
          "kms.retry.max-ms",
          "kms.retry.attempts",
          "kms.call-timeout-ms",
          "attestation.provider",
          "attestation.configfs-path",
          "attestation.rtmr-path",
          "attestation.collateral",
          "attestation.pccs",
          "attestation.root-ca",
          "attestation.certificate-validity-hours",
          "attestation.simulator.seed",
          "attestation.simulator.mrtd",
          "attestation.simulator.mr-config-id",
          "gpu.provider",
          "gpu.command",
          "gpu.simulator.count",
          "gpu.simulator.seed",
          "api.socket",
          "api.socket-mode",
          "api.socket-owner",
          "api.socket-group",
          "api.max-body-bytes",
          "admin.socket",
          "disk.cryptsetup",
          "disk.timeout-s",
          "env.encrypted-file",
          "env.required",
          "env.output-dir",
          "env.require-tmpfs",
          "proxy.enabled",
          "proxy.host",
          "proxy.port",
          "proxy.upstream",
          "proxy.upstream-api-key-file",
          "proxy.upstream-api-key-env",
          "proxy.auth-token-file",
          "proxy.max-request-bytes",
          "proxy.max-response-bytes",
          "proxy.signature-ttl-s",
          "proxy.signature-max-entries",
          "proxy.signature-wait-ms",
          "proxy.upstream-timeout-s",
          "proxy.report-requests-per-minute",
          "proxy.report-burst",
          "proxy.report-max-sources",
          "proxy.report-concurrent",
          "proxy.report-cache-ms",
          "proxy.signed-text");

  private final Properties p;

  public AgentConfig(Properties p) {
    Set<String> unknown = new TreeSet<>(p.stringPropertyNames());
    unknown.removeAll(KNOWN);
    if (!unknown.isEmpty()) {
      throw new IllegalArgumentException("unknown configuration keys: " + unknown);
    }
    this.p = p;
  }

  public static AgentConfig load(Path file) throws IOException {
    Properties p = new Properties();
    try (InputStream in = Files.newInputStream(file)) {
      p.load(in);
    }
    return new AgentConfig(p);
  }

  public String required(String key) {
    String v = p.getProperty(key);
    if (v == null || v.isBlank()) {
      throw new IllegalArgumentException("configuration key " + key + " is required");
    }
    return v.trim();
  }

  public String get(String key, String dflt) {
    String v = p.getProperty(key);
    return v == null || v.isBlank() ? dflt : v.trim();
  }

  public Optional<String> optional(String key) {
    return Optional.ofNullable(get(key, null));
  }

  /** {@code true} or {@code false} (anything else is an error, not false). */
  public boolean bool(String key, boolean dflt) {
    String v = get(key, null);
    if (v == null) {
      return dflt;
    }
    return switch (v) {
      case "true" -> true;
      case "false" -> false;
      default -> throw new IllegalArgumentException(key + " must be true or false, got " + v);
    };
  }

  public int integer(String key, int dflt) {
    String v = get(key, null);
    try {
      return v == null ? dflt : Integer.parseInt(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + " must be an integer, got " + v);
    }
  }

  /**
   * The first line of a secret file (tokens live in files with tight modes, never in this file).
   */
  public Optional<String> secretFile(String key) throws IOException {
    Optional<String> path = optional(key);
    if (path.isEmpty()) {
      return Optional.empty();
    }
    String first = Files.readAllLines(Path.of(path.get())).stream().findFirst().orElse("").strip();
    if (first.isEmpty()) {
      throw new IllegalArgumentException(key + " points to an empty file");
    }
    return Optional.of(first);
  }
}
