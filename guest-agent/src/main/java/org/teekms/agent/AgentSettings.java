package org.teekms.agent;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithConverter;
import io.smallrye.config.WithDefault;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.teekms.agent.AgentConverters.Hex;
import org.teekms.agent.AgentConverters.Hex32;
import org.teekms.agent.AgentConverters.Hex32List;
import org.teekms.agent.AgentConverters.Hex48;
import org.teekms.agent.AgentConverters.HexAppId;
import org.teekms.agent.AgentConverters.HexInstanceId;
import org.teekms.crypto.Bytes;
import org.teekms.keys.AppId;
import org.teekms.keys.InstanceId;

/**
 * Every key of the agent's configuration file, typed, with its default (SmallRye Config
 * {@code @ConfigMapping}; names are the methods in kebab case under their group: {@code
 * kms.retry.initial-ms}). {@link AgentConfig} loads it and words its errors; guest-agent/README.md
 * documents each key. A key that is required only with some other setting (the proxy's upstream,
 * the simulator's seed) is {@code Optional} here and checked where that setting is applied.
 */
@ConfigMapping(prefix = "")
public interface AgentSettings {
  App app();

  Kms kms();

  Attestation attestation();

  Gpu gpu();

  Api api();

  Admin admin();

  Disk disk();

  Env env();

  Proxy proxy();

  /** The app this CVM runs. */
  interface App {
    @WithConverter(HexAppId.class)
    AppId id();

    @WithConverter(HexInstanceId.class)
    InstanceId instanceId();

    @WithConverter(Hex32.class)
    Bytes osImageHash();

    Path composeFile();
  }

  /** The KMS and how it is trusted and called. */
  interface Kms {
    String host();

    @WithDefault("8443")
    int port();

    /** {@code mrAggregated} of KMS nodes trusted without the chain, comma-separated. */
    @WithConverter(Hex32List.class)
    Optional<List<Bytes>> registeredMeasurements();

    Registry registry();

    Retry retry();

    @WithDefault("30000")
    int callTimeoutMs();

    /** The chain's KmsRegistry; all three keys, or none. */
    interface Registry {
      Optional<String> rpcUrl();

      Optional<Long> chainId();

      Optional<String> address();
    }

    /** Backoff of the boot's KMS calls. */
    interface Retry {
      @WithDefault("500")
      int initialMs();

      @WithDefault("30000")
      int maxMs();

      @WithDefault("20")
      int attempts();
    }
  }

  /** The agent's own TDX evidence, and how it verifies the KMS's. */
  interface Attestation {
    @WithDefault("configfs-tsm")
    TeeProvider provider();

    Optional<Path> configfsPath();

    Optional<Path> rtmrPath();

    Optional<Path> collateral();

    Optional<String> pccs();

    Optional<Path> rootCa();

    @WithDefault("24")
    int certificateValidityHours();

    Simulator simulator();

    /** Development only ({@code provider=simulator}). */
    interface Simulator {
      @WithConverter(Hex.class)
      Optional<Bytes> seed();

      @WithDefault(
          "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000")
      @WithConverter(Hex48.class)
      Bytes mrtd();

      /** {@code compose}, {@code zero} or 48 bytes of hex ({@link AgentRuntime}). */
      @WithDefault("compose")
      String mrConfigId();
    }
  }

  /** Where TDX quotes and RTMR extensions come from. */
  enum TeeProvider {
    CONFIGFS_TSM,
    SIMULATOR
  }

  /** GPU evidence. */
  interface Gpu {
    @WithDefault("none")
    GpuProvider provider();

    /** The collector's command line, split on white space. */
    Optional<String> command();

    Simulator simulator();

    /** Development only ({@code provider=simulator}). */
    interface Simulator {
      @WithDefault("1")
      int count();

      @WithConverter(Hex.class)
      Optional<Bytes> seed();
    }
  }

  /** Where GPU evidence comes from. */
  enum GpuProvider {
    NONE,
    COMMAND,
    SIMULATOR
  }

  /** The dstack-compatible key API socket. */
  interface Api {
    @WithDefault("/var/run/dstack.sock")
    Path socket();

    @WithDefault("rw-rw----")
    String socketMode();

    Optional<String> socketOwner();

    Optional<String> socketGroup();

    @WithDefault("65536")
    int maxBodyBytes();
  }

  /** The disk commands' socket. */
  interface Admin {
    @WithDefault("/run/teekms-agent/admin.sock")
    Path socket();
  }

  /** cryptsetup for the disk commands. */
  interface Disk {
    @WithDefault("/usr/sbin/cryptsetup")
    Path cryptsetup();

    @WithDefault("300")
    int timeoutS();
  }

  /** The encrypted environment (docs/env-secrets.md). */
  interface Env {
    Optional<Path> encryptedFile();

    @WithDefault("false")
    boolean required();

    Optional<Path> outputDir();

    @WithDefault("true")
    boolean requireTmpfs();
  }

  /** The signing proxy. */
  interface Proxy {
    @WithDefault("false")
    boolean enabled();

    @WithDefault("0.0.0.0")
    String host();

    @WithDefault("8080")
    int port();

    Optional<URI> upstream();

    Optional<Path> upstreamApiKeyFile();

    Optional<String> upstreamApiKeyEnv();

    Optional<Path> authTokenFile();

    @WithDefault("1048576")
    int maxRequestBytes();

    @WithDefault("16777216")
    int maxResponseBytes();

    @WithDefault("3600")
    int signatureTtlS();

    @WithDefault("100000")
    int signatureMaxEntries();

    @WithDefault("5000")
    int signatureWaitMs();

    @WithDefault("600")
    int upstreamTimeoutS();

    /** Public report requests per minute and source (ReportLimits.DEFAULT). */
    @WithDefault("120")
    int reportRequestsPerMinute();

    @WithDefault("60")
    int reportBurst();

    @WithDefault("10000")
    int reportMaxSources();

    @WithDefault("2")
    int reportConcurrent();

    @WithDefault("5000")
    int reportCacheMs();

    @WithDefault("teekms-v2")
    String signedText();
  }
}
