package org.teekms.agent;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
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
import org.teekms.agent.proxy.ReportLimits;
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
  static byte[] simulatedMrConfigId(AgentSettings c, CvmIdentity identity) {
    String v = c.attestation().simulator().mrConfigId();
    return switch (v) {
      case "compose" ->
          org.teekms.attest.eventlog.MrConfigId.v1(identity.compose().composeHash().toByteArray());
      case "zero" -> new byte[48];
      default ->
          HexField.parse(
              "attestation.simulator.mr-config-id (compose, zero or 48 bytes of hex)", v, 48);
    };
  }

  public static AgentRuntime start(AgentConfig config, Backoff.Sleeper sleeper) throws Exception {
    AgentSettings c = config.settings();
    CvmIdentity identity =
        new CvmIdentity(
            c.app().id(),
            c.app().instanceId(),
            c.app().osImageHash(),
            AppCompose.parse(Files.readAllBytes(c.app().composeFile())));
    Clock clock = Clock.systemUTC();
    QuoteProvider quotes;
    RuntimeEventLog log;
    DcapQuoteVerifier dcap;
    CollateralSource collateral;
    AgentSettings.Attestation attestation = c.attestation();
    switch (attestation.provider()) {
      case CONFIGFS_TSM -> {
        quotes =
            new ConfigfsTsmQuoteProvider(
                attestation.configfsPath().orElse(ConfigfsTsmQuoteProvider.DEFAULT_BASE),
                "tdx_guest");
        log =
            new RuntimeEventLog(
                new SysfsRtmrExtender(
                    attestation.rtmrPath().orElse(SysfsRtmrExtender.DEFAULT_BASE)),
                List.of());
        dcap = rootCa(c).orElseGet(DcapQuoteVerifier::withIntelRoot);
        collateral = collateral(c, clock);
      }
      case SIMULATOR -> {
        TdxSimulation.Platform tdx =
            TdxSimulation.load("attestation.provider=simulator")
                .enable(
                    "attestation.provider=simulator",
                    clock,
                    Optional.of(
                        AgentConfig.required(
                                "attestation.simulator.seed", attestation.simulator().seed())
                            .toByteArray()));
        TdxSimulation.Cvm cvm =
            tdx.newCvm(
                attestation.simulator().mrtd().toByteArray(), simulatedMrConfigId(c, identity));
        quotes = cvm;
        log = new RuntimeEventLog(cvm, List.of());
        dcap = rootCa(c).orElseGet(() -> new DcapQuoteVerifier(tdx.rootCertificate()));
        collateral =
            attestation.collateral().isPresent() || attestation.pccs().isPresent()
                ? collateral(c, clock)
                : tdx.collateralSource();
      }
      default -> throw new IllegalStateException(attestation.provider().toString());
    }
    GpuEvidenceProvider gpu =
        switch (c.gpu().provider()) {
          case NONE -> null;
          case COMMAND ->
              new CommandGpuEvidenceProvider(
                  Arrays.asList(
                      AgentConfig.required("gpu.command", c.gpu().command()).split("\\s+")),
                  Duration.ofSeconds(60));
          // A seeded simulator shares its roots with a KMS given the same seed
          // (teekms.simulator.seed).
          case SIMULATOR ->
              GpuSimulation.load("gpu.provider=simulator")
                  .evidenceProvider(
                      c.gpu().simulator().count(),
                      c.gpu().simulator().seed().map(Bytes::toByteArray));
        };
    AgentSettings.Kms kms = c.kms();
    Set<Bytes> registered = new HashSet<>(kms.registeredMeasurements().orElse(List.of()));
    var settings =
        new AgentBoot.Settings(
            kms.host(),
            kms.port(),
            new Backoff(
                Duration.ofMillis(kms.retry().initialMs()),
                Duration.ofMillis(kms.retry().maxMs()),
                kms.retry().attempts()),
            Duration.ofMillis(kms.callTimeoutMs()),
            Duration.ofHours(attestation.certificateValidityHours()),
            envSettings(c));
    KmsAuthorizer.KmsRegistry registry = KmsAuthorizer.KmsRegistry.allowing(registered);
    PublishedKmsIdentity.Registry published = null;
    if (kms.registry().rpcUrl().isPresent()) {
      PolicyReaderConfig chain =
          PolicyReaderConfig.defaults(
              kms.registry().rpcUrl().get(),
              AgentConfig.required("kms.registry.chain-id", kms.registry().chainId()),
              AgentConfig.required("kms.registry.address", kms.registry().address()));
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
                  c.api().socket(),
                  c.api().socketMode(),
                  c.api().socketOwner(),
                  c.api().socketGroup(),
                  c.api().maxBodyBytes()));
      adminServer =
          GuestApiServer.start(
              vertx,
              new DiskAdminApi(
                  agent.keys(),
                  new Cryptsetup(c.disk().cryptsetup(), Duration.ofSeconds(c.disk().timeoutS()))),
              new GuestApiServer.Settings(
                  c.admin().socket(), "rw-------", Optional.empty(), Optional.empty(), 4096));
      AgentSettings.Proxy p = c.proxy();
      if (p.enabled()) {
        signer =
            ResponseSigner.forAgent(
                agent.keys(), org.teekms.verifier.SignedText.Format.ofConfig(p.signedText()));
        proxy =
            SigningProxy.start(
                vertx,
                new SigningProxy.Settings(
                    p.host(),
                    p.port(),
                    AgentConfig.required("proxy.upstream", p.upstream()),
                    upstreamApiKey(p, agent),
                    AgentConfig.secretFile("proxy.auth-token-file", p.authTokenFile()),
                    p.maxRequestBytes(),
                    p.maxResponseBytes(),
                    Duration.ofMillis(p.signatureWaitMs()),
                    Duration.ofSeconds(p.upstreamTimeoutS())),
                signer,
                new SignatureStore(
                    p.signatureMaxEntries(), Duration.ofSeconds(p.signatureTtlS()), clock),
                new AttestationReporter(agent, signer, api, reportLimits(p)));
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
  static EnvSettings envSettings(AgentSettings c) {
    Optional<Path> encrypted = c.env().encryptedFile();
    Optional<Path> out =
        c.env().outputDir().or(() -> encrypted.map(e -> Path.of("/run/teekms-agent/env")));
    return new EnvSettings(encrypted, c.env().required(), out, c.env().requireTmpfs());
  }

  /**
   * The upstream's API key: from a file ({@code proxy.upstream-api-key-file}) or from a variable of
   * the decrypted environment ({@code proxy.upstream-api-key-env}, which must then be present); not
   * both.
   */
  static Optional<String> upstreamApiKey(AgentSettings.Proxy c, RunningAgent agent)
      throws java.io.IOException {
    Optional<String> env = c.upstreamApiKeyEnv();
    if (env.isEmpty()) {
      return AgentConfig.secretFile("proxy.upstream-api-key-file", c.upstreamApiKeyFile());
    }
    if (c.upstreamApiKeyFile().isPresent()) {
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

  private static Optional<DcapQuoteVerifier> rootCa(AgentSettings c) {
    return c.attestation()
        .rootCa()
        .map(
            p -> {
              try {
                return new DcapQuoteVerifier(Pem.certificates(Files.readAllBytes(p)).get(0));
              } catch (Exception e) {
                throw new IllegalArgumentException("attestation.root-ca: " + e.getMessage());
              }
            });
  }

  private static CollateralSource collateral(AgentSettings c, Clock clock) throws Exception {
    Optional<String> pccs = c.attestation().pccs();
    if (pccs.isPresent()) {
      return new CachingCollateralSource(new PcsCollateralClient(pccs.get()), clock);
    }
    Path p = AgentConfig.required("attestation.collateral", c.attestation().collateral());
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

  /** The proxy's report limits as configured (unset keys give {@link ReportLimits#DEFAULT}). */
  static ReportLimits reportLimits(AgentSettings.Proxy p) {
    return new ReportLimits(
        p.reportRequestsPerMinute(),
        p.reportBurst(),
        p.reportMaxSources(),
        p.reportConcurrent(),
        Duration.ofMillis(p.reportCacheMs()));
  }
}
