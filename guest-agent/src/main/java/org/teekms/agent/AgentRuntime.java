package org.teekms.agent;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import org.teekms.agent.api.GuestApi;
import org.teekms.agent.api.GuestApiServer;
import org.teekms.agent.boot.AgentBoot;
import org.teekms.agent.boot.AppCompose;
import org.teekms.agent.boot.Backoff;
import org.teekms.agent.boot.ChainKmsRegistry;
import org.teekms.agent.boot.CvmIdentity;
import org.teekms.agent.boot.KmsAuthorizer;
import org.teekms.agent.boot.PublishedKmsIdentity;
import org.teekms.agent.disk.Cryptsetup;
import org.teekms.agent.disk.DiskAdminApi;
import org.teekms.agent.env.EnvSettings;
import org.teekms.agent.proxy.AttestationReporter;
import org.teekms.agent.proxy.ResponseSigner;
import org.teekms.agent.proxy.SignatureStore;
import org.teekms.agent.proxy.SigningProxy;
import org.teekms.attest.gpu.CommandGpuEvidenceProvider;
import org.teekms.attest.gpu.GpuEvidenceProvider;
import org.teekms.attest.gpu.GpuSimulation;
import org.teekms.attest.provider.ConfigfsTsmQuoteProvider;
import org.teekms.attest.provider.QuoteProvider;
import org.teekms.attest.provider.RuntimeEventLog;
import org.teekms.attest.provider.SysfsRtmrExtender;
import org.teekms.attest.provider.TdxSimulation;
import org.teekms.attest.ratls.RaTlsVerifier;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.Pem;
import org.teekms.attest.tdx.QuotePolicy;
import org.teekms.attest.tdx.collateral.CachingCollateralSource;
import org.teekms.attest.tdx.collateral.CollateralDirectory;
import org.teekms.attest.tdx.collateral.CollateralSource;
import org.teekms.attest.tdx.collateral.DcapQvlCollateralFile;
import org.teekms.attest.tdx.collateral.PcsCollateralClient;
import org.teekms.crypto.Bytes;
import org.teekms.governance.ChainPolicyReader;
import org.teekms.governance.PolicyReaderConfig;
import org.teekms.keys.AppId;
import org.teekms.keys.InstanceId;

/**
 * The agent as {@code teekms-agent run} starts it from its configuration: attestation providers
 * (configfs-tsm and sysfs RTMRs, or, only when {@code attestation.provider=simulator}, a seeded TDX
 * simulator), the boot, then the key API socket, the admin socket and (optionally) the signing
 * proxy. {@link #close()} stops them and destroys the keys.
 */
public final class AgentRuntime implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(AgentRuntime.class.getName());

  private final Vertx vertx;
  private final RunningAgent agent;
  private final GuestApiServer api;
  private final GuestApiServer admin;
  private final SigningProxy proxy;
  private final ResponseSigner signer;

  private AgentRuntime(
      Vertx vertx,
      RunningAgent agent,
      GuestApiServer api,
      GuestApiServer admin,
      SigningProxy proxy,
      ResponseSigner signer) {
    this.vertx = vertx;
    this.agent = agent;
    this.api = api;
    this.admin = admin;
    this.proxy = proxy;
    this.signer = signer;
  }

  /**
   * The simulated host's MRCONFIGID ({@code attestation.simulator.mr-config-id}): {@code compose}
   * (default) is what dstack's VMM sets, {@code 0x01 ‖ SHA-256(app-compose)}; {@code zero} a launch
   * without it; or 48 bytes of hex.
   */
  static byte[] simulatedMrConfigId(AgentConfig c, CvmIdentity identity) {
    String v = c.get("attestation.simulator.mr-config-id", "compose");
    return switch (v) {
      case "compose" -> org.teekms.attest.eventlog.MrConfigId.v1(identity.compose().composeHash());
      case "zero" -> new byte[48];
      default ->
          HexField.parse(
              "attestation.simulator.mr-config-id (compose, zero or 48 bytes of hex)", v, 48);
    };
  }

  public static AgentRuntime start(AgentConfig c, Backoff.Sleeper sleeper) throws Exception {
    CvmIdentity identity =
        new CvmIdentity(
            AppId.fromHex(c.required("app.id")),
            InstanceId.fromHex(c.required("app.instance-id")),
            HexField.parse("app.os-image-hash", c.required("app.os-image-hash"), 32),
            AppCompose.parse(Files.readAllBytes(Path.of(c.required("app.compose-file")))));
    Clock clock = Clock.systemUTC();
    QuoteProvider quotes;
    RuntimeEventLog log;
    DcapQuoteVerifier dcap;
    CollateralSource collateral;
    switch (c.get("attestation.provider", "configfs-tsm")) {
      case "configfs-tsm" -> {
        quotes =
            new ConfigfsTsmQuoteProvider(
                Path.of(
                    c.get(
                        "attestation.configfs-path",
                        ConfigfsTsmQuoteProvider.DEFAULT_BASE.toString())),
                "tdx_guest");
        log =
            new RuntimeEventLog(
                new SysfsRtmrExtender(
                    Path.of(
                        c.get("attestation.rtmr-path", SysfsRtmrExtender.DEFAULT_BASE.toString()))),
                List.of());
        dcap = rootCa(c).orElseGet(DcapQuoteVerifier::withIntelRoot);
        collateral = collateral(c, clock);
      }
      case "simulator" -> {
        TdxSimulation.Platform tdx =
            TdxSimulation.load("attestation.provider=simulator")
                .enable(
                    "attestation.provider=simulator",
                    clock,
                    java.util.Optional.of(
                        HexField.parse(
                            "attestation.simulator.seed",
                            c.required("attestation.simulator.seed"),
                            -1)));
        TdxSimulation.Cvm cvm =
            tdx.newCvm(
                HexField.parse(
                    "attestation.simulator.mrtd",
                    c.get("attestation.simulator.mrtd", "00".repeat(48)),
                    48),
                simulatedMrConfigId(c, identity));
        quotes = cvm;
        log = new RuntimeEventLog(cvm, List.of());
        dcap = rootCa(c).orElseGet(() -> new DcapQuoteVerifier(tdx.rootCertificate()));
        collateral =
            c.optional("attestation.collateral").isPresent()
                    || c.optional("attestation.pccs").isPresent()
                ? collateral(c, clock)
                : tdx.collateralSource();
      }
      default ->
          throw new IllegalArgumentException(
              "attestation.provider must be configfs-tsm or simulator");
    }
    GpuEvidenceProvider gpu =
        switch (c.get("gpu.provider", "none")) {
          case "none" -> null;
          case "command" ->
              new CommandGpuEvidenceProvider(
                  Arrays.asList(c.required("gpu.command").split("\\s+")), Duration.ofSeconds(60));
          // A seeded simulator shares its roots with a KMS given the same seed
          // (teekms.simulator.seed).
          case "simulator" ->
              GpuSimulation.load("gpu.provider=simulator")
                  .evidenceProvider(
                      c.integer("gpu.simulator.count", 1),
                      c.optional("gpu.simulator.seed").map(java.util.HexFormat.of()::parseHex));
          default ->
              throw new IllegalArgumentException("gpu.provider must be none, command or simulator");
        };
    Set<Bytes> registered = new HashSet<>();
    for (String m : c.get("kms.registered-measurements", "").split(",")) {
      if (!m.isBlank()) {
        registered.add(Bytes.copyOf(HexField.parse("kms.registered-measurements", m.trim(), 32)));
      }
    }
    var settings =
        new AgentBoot.Settings(
            c.required("kms.host"),
            c.integer("kms.port", 8443),
            new Backoff(
                Duration.ofMillis(c.integer("kms.retry.initial-ms", 500)),
                Duration.ofMillis(c.integer("kms.retry.max-ms", 30_000)),
                c.integer("kms.retry.attempts", 20)),
            Duration.ofMillis(c.integer("kms.call-timeout-ms", 30_000)),
            Duration.ofHours(c.integer("attestation.certificate-validity-hours", 24)),
            envSettings(c));
    KmsAuthorizer.KmsRegistry registry = KmsAuthorizer.KmsRegistry.allowing(registered);
    PublishedKmsIdentity.Registry published = null;
    if (c.optional("kms.registry.rpc-url").isPresent()) {
      PolicyReaderConfig chain =
          PolicyReaderConfig.defaults(
              c.required("kms.registry.rpc-url"),
              Long.parseLong(c.required("kms.registry.chain-id")),
              c.required("kms.registry.address"));
      registry = registry.or(new ChainKmsRegistry(new ChainPolicyReader(chain)));
      published = PublishedKmsIdentity.onChain(chain);
    }
    RunningAgent agent =
        AgentBoot.boot(
            identity,
            quotes,
            log,
            gpu,
            RaTlsVerifier.builder(dcap, collateral)
                .quotePolicy(QuotePolicy.builder().build())
                .clock(clock),
            registry,
            published,
            settings,
            clock,
            sleeper);
    Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true));
    GuestApiServer apiServer = null;
    GuestApiServer adminServer = null;
    SigningProxy proxy = null;
    ResponseSigner signer = null;
    try {
      GuestApi api = new GuestApi(agent);
      apiServer =
          GuestApiServer.start(
              vertx,
              api,
              new GuestApiServer.Settings(
                  Path.of(c.get("api.socket", "/var/run/dstack.sock")),
                  c.get("api.socket-mode", "rw-rw----"),
                  c.optional("api.socket-owner"),
                  c.optional("api.socket-group"),
                  c.integer("api.max-body-bytes", 65536)));
      adminServer =
          GuestApiServer.start(
              vertx,
              new DiskAdminApi(
                  agent.keys(),
                  new Cryptsetup(
                      Path.of(c.get("disk.cryptsetup", "/usr/sbin/cryptsetup")),
                      Duration.ofSeconds(c.integer("disk.timeout-s", 300)))),
              new GuestApiServer.Settings(
                  Path.of(c.get("admin.socket", "/run/teekms-agent/admin.sock")),
                  "rw-------",
                  Optional.empty(),
                  Optional.empty(),
                  4096));
      if (Boolean.parseBoolean(c.get("proxy.enabled", "false"))) {
        signer =
            ResponseSigner.forAgent(
                agent.keys(),
                org.teekms.verifier.SignedText.Format.ofConfig(
                    c.get("proxy.signed-text", "teekms-v2")));
        proxy =
            SigningProxy.start(
                vertx,
                new SigningProxy.Settings(
                    c.get("proxy.host", "0.0.0.0"),
                    c.integer("proxy.port", 8080),
                    URI.create(c.required("proxy.upstream")),
                    upstreamApiKey(c, agent),
                    c.secretFile("proxy.auth-token-file"),
                    c.integer("proxy.max-request-bytes", 1 << 20),
                    c.integer("proxy.max-response-bytes", 16 << 20),
                    Duration.ofMillis(c.integer("proxy.signature-wait-ms", 5000)),
                    Duration.ofSeconds(c.integer("proxy.upstream-timeout-s", 600))),
                signer,
                new SignatureStore(
                    c.integer("proxy.signature-max-entries", 100_000),
                    Duration.ofSeconds(c.integer("proxy.signature-ttl-s", 3600)),
                    clock),
                new AttestationReporter(
                    agent,
                    signer,
                    api,
                    new org.teekms.agent.proxy.ReportLimits(
                        c.integer(
                            "proxy.report-requests-per-minute",
                            org.teekms.agent.proxy.ReportLimits.DEFAULT.requestsPerMinute()),
                        c.integer(
                            "proxy.report-burst",
                            org.teekms.agent.proxy.ReportLimits.DEFAULT.burst()),
                        c.integer(
                            "proxy.report-max-sources",
                            org.teekms.agent.proxy.ReportLimits.DEFAULT.maxSources()),
                        c.integer(
                            "proxy.report-concurrent",
                            org.teekms.agent.proxy.ReportLimits.DEFAULT.concurrent()),
                        Duration.ofMillis(
                            c.integer(
                                "proxy.report-cache-ms",
                                (int)
                                    org.teekms.agent.proxy.ReportLimits.DEFAULT
                                        .cacheTtl()
                                        .toMillis())))));
      }
    } catch (Exception e) {
      new AgentRuntime(vertx, agent, apiServer, adminServer, proxy, signer).close();
      throw e;
    }
    LOG.info("teekms-agent ready: key API on " + apiServer.socket());
    return new AgentRuntime(vertx, agent, apiServer, adminServer, proxy, signer);
  }

  /**
   * The encrypted environment: without {@code env.encrypted-file} nothing is read or written
   * (unless {@code env.output-dir} is set: then empty files); with it, the files go to {@code
   * env.output-dir} (default {@code /run/teekms-agent/env}).
   */
  static EnvSettings envSettings(AgentConfig c) {
    Optional<Path> encrypted = c.optional("env.encrypted-file").map(Path::of);
    Optional<Path> out =
        c.optional("env.output-dir")
            .map(Path::of)
            .or(() -> encrypted.map(e -> Path.of("/run/teekms-agent/env")));
    return new EnvSettings(
        encrypted, c.bool("env.required", false), out, c.bool("env.require-tmpfs", true));
  }

  /**
   * The upstream's API key: from a file ({@code proxy.upstream-api-key-file}) or from a variable of
   * the decrypted environment ({@code proxy.upstream-api-key-env}, which must then be present); not
   * both.
   */
  static Optional<String> upstreamApiKey(AgentConfig c, RunningAgent agent)
      throws java.io.IOException {
    Optional<String> env = c.optional("proxy.upstream-api-key-env");
    if (env.isEmpty()) {
      return c.secretFile("proxy.upstream-api-key-file");
    }
    if (c.optional("proxy.upstream-api-key-file").isPresent()) {
      throw new IllegalArgumentException(
          "set proxy.upstream-api-key-file or proxy.upstream-api-key-env, not both");
    }
    return Optional.of(
        agent
            .env()
            .value(env.get())
            .orElseThrow(
                () ->
                    new IllegalArgumentException(
                        "proxy.upstream-api-key-env names "
                            + env.get()
                            + ", which the decrypted environment does not hold "
                            + agent.env().names())));
  }

  private static Optional<DcapQuoteVerifier> rootCa(AgentConfig c) {
    return c.optional("attestation.root-ca")
        .map(
            p -> {
              try {
                return new DcapQuoteVerifier(
                    Pem.certificates(Files.readAllBytes(Path.of(p))).get(0));
              } catch (Exception e) {
                throw new IllegalArgumentException("attestation.root-ca: " + e.getMessage());
              }
            });
  }

  private static CollateralSource collateral(AgentConfig c, Clock clock) throws Exception {
    Optional<String> pccs = c.optional("attestation.pccs");
    if (pccs.isPresent()) {
      return new CachingCollateralSource(new PcsCollateralClient(pccs.get()), clock);
    }
    Path p = Path.of(c.required("attestation.collateral"));
    return Files.isDirectory(p) ? CollateralDirectory.load(p) : DcapQvlCollateralFile.load(p);
  }

  public RunningAgent agent() {
    return agent;
  }

  public Optional<SigningProxy> proxy() {
    return Optional.ofNullable(proxy);
  }

  public Path apiSocket() {
    return api.socket();
  }

  @Override
  public void close() {
    if (proxy != null) {
      proxy.close();
    }
    if (signer != null) {
      signer.close();
    }
    if (admin != null) {
      admin.close();
    }
    if (api != null) {
      api.close();
    }
    agent.close(); // destroys the keys
    try {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      LOG.warning("closing Vert.x: " + e);
    }
  }
}
