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
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.logging.Logger;
import org.teekms.agent.api.GuestApi;
import org.teekms.agent.api.GuestApiServer;
import org.teekms.agent.boot.AgentBoot;
import org.teekms.agent.boot.AppCompose;
import org.teekms.agent.boot.Backoff;
import org.teekms.agent.boot.BootFailure;
import org.teekms.agent.boot.CvmIdentity;
import org.teekms.agent.boot.KmsAuthorizer;
import org.teekms.agent.disk.Cryptsetup;
import org.teekms.agent.disk.DiskAdminApi;
import org.teekms.agent.proxy.AttestationReporter;
import org.teekms.agent.proxy.ResponseSigner;
import org.teekms.agent.proxy.SignatureStore;
import org.teekms.agent.proxy.SigningProxy;
import org.teekms.attest.gpu.CommandGpuEvidenceProvider;
import org.teekms.attest.gpu.GpuEvidenceProvider;
import org.teekms.attest.provider.ConfigfsTsmQuoteProvider;
import org.teekms.attest.provider.RuntimeEventLog;
import org.teekms.attest.provider.SysfsRtmrExtender;
import org.teekms.attest.ratls.RaTlsVerifier;
import org.teekms.attest.tdx.Bytes;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.Pem;
import org.teekms.attest.tdx.QuotePolicy;
import org.teekms.attest.tdx.collateral.CachingCollateralSource;
import org.teekms.attest.tdx.collateral.CollateralDirectory;
import org.teekms.attest.tdx.collateral.CollateralSource;
import org.teekms.attest.tdx.collateral.DcapQvlCollateralFile;
import org.teekms.attest.tdx.collateral.PcsCollateralClient;
import org.teekms.keys.AppId;
import org.teekms.keys.InstanceId;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code teekms-agent}: {@code run} (boot, then serve), {@code disk open|format} (through the admin socket). */
@Command(name = "teekms-agent", mixinStandardHelpOptions = true, version = "teekms-agent 0.1.0",
    subcommands = {AgentMain.Run.class, AgentMain.Disk.class},
    description = "The tee-kms guest agent (runs inside the CVM).")
public final class AgentMain {
  private static final Logger LOG = Logger.getLogger(AgentMain.class.getName());

  public static void main(String[] args) {
    System.exit(new CommandLine(new AgentMain()).execute(args));
  }

  /** Boots (RTMR3, RA-TLS, GetAppKeys) and serves the key API, the admin socket and, if enabled, the proxy. */
  @Command(name = "run", description = "Boot against the KMS and serve until stopped.")
  static final class Run implements Callable<Integer> {
    @Option(names = "--config", defaultValue = "/etc/teekms/agent.properties") Path config;

    @Override
    public Integer call() throws Exception {
      AgentConfig c = AgentConfig.load(config);
      CvmIdentity identity = new CvmIdentity(AppId.fromHex(c.required("app.id")),
          InstanceId.fromHex(c.required("app.instance-id")),
          HexField.parse("app.os-image-hash", c.required("app.os-image-hash"), 32),
          AppCompose.parse(Files.readAllBytes(Path.of(c.required("app.compose-file")))));
      String provider = c.get("attestation.provider", "configfs-tsm");
      if (!provider.equals("configfs-tsm")) {
        throw new IllegalArgumentException("attestation.provider " + provider + " is not supported by `run` (the "
            + "TDX simulator is for in-process tests through AgentBoot)");
      }
      var quotes = new ConfigfsTsmQuoteProvider(
          Path.of(c.get("attestation.configfs-path", ConfigfsTsmQuoteProvider.DEFAULT_BASE.toString())), "tdx_guest");
      var log = new RuntimeEventLog(
          new SysfsRtmrExtender(Path.of(c.get("attestation.rtmr-path", SysfsRtmrExtender.DEFAULT_BASE.toString()))),
          List.of());
      GpuEvidenceProvider gpu = switch (c.get("gpu.provider", "none")) {
        case "none" -> null;
        case "command" -> new CommandGpuEvidenceProvider(Arrays.asList(c.required("gpu.command").split("\\s+")),
            Duration.ofSeconds(60));
        default -> throw new IllegalArgumentException("gpu.provider must be none or command");
      };
      Clock clock = Clock.systemUTC();
      DcapQuoteVerifier dcap = c.optional("attestation.root-ca").map(p -> {
        try {
          return new DcapQuoteVerifier(Pem.certificates(Files.readAllBytes(Path.of(p))).get(0));
        } catch (Exception e) {
          throw new IllegalArgumentException("attestation.root-ca: " + e.getMessage());
        }
      }).orElseGet(DcapQuoteVerifier::withIntelRoot);
      CollateralSource collateral = collateral(c, clock);
      Set<Bytes> registered = new HashSet<>();
      for (String m : c.get("kms.registered-measurements", "").split(",")) {
        if (!m.isBlank()) {
          registered.add(Bytes.copyOf(HexField.parse("kms.registered-measurements", m.trim(), 32)));
        }
      }
      var settings = new AgentBoot.Settings(c.required("kms.host"), c.integer("kms.port", 8443),
          new Backoff(Duration.ofMillis(c.integer("kms.retry.initial-ms", 500)),
              Duration.ofMillis(c.integer("kms.retry.max-ms", 30_000)), c.integer("kms.retry.attempts", 20)),
          Duration.ofMillis(c.integer("kms.call-timeout-ms", 30_000)),
          Duration.ofHours(c.integer("attestation.certificate-validity-hours", 24)));
      RunningAgent agent;
      try {
        agent = AgentBoot.boot(identity, quotes, log, gpu,
            RaTlsVerifier.builder(dcap, collateral).quotePolicy(QuotePolicy.builder().build()).clock(clock),
            KmsAuthorizer.KmsRegistry.allowing(registered), settings, clock, Backoff.Sleeper.REAL);
      } catch (BootFailure e) {
        System.err.println("teekms-agent: boot failed: " + e.getMessage());
        return 3;
      }
      Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true));
      GuestApi api = new GuestApi(agent);
      GuestApiServer apiServer = GuestApiServer.start(vertx, api, new GuestApiServer.Settings(
          Path.of(c.get("api.socket", "/var/run/dstack.sock")), c.get("api.socket-mode", "rw-rw----"),
          c.optional("api.socket-owner"), c.optional("api.socket-group"), c.integer("api.max-body-bytes", 65536)));
      GuestApiServer admin = GuestApiServer.start(vertx, new DiskAdminApi(agent.keys(),
          new Cryptsetup(Path.of(c.get("disk.cryptsetup", "/usr/sbin/cryptsetup")),
              Duration.ofSeconds(c.integer("disk.timeout-s", 300)))),
          new GuestApiServer.Settings(Path.of(c.get("admin.socket", "/run/teekms-agent/admin.sock")), "rw-------",
              Optional.empty(), Optional.empty(), 4096));
      SigningProxy proxy = null;
      ResponseSigner signer = null;
      if (Boolean.parseBoolean(c.get("proxy.enabled", "false"))) {
        signer = new ResponseSigner(agent.keys().responseSigningKey());
        proxy = SigningProxy.start(vertx, new SigningProxy.Settings(c.get("proxy.host", "0.0.0.0"),
                c.integer("proxy.port", 8080), URI.create(c.required("proxy.upstream")),
                c.secretFile("proxy.upstream-api-key-file"), c.secretFile("proxy.auth-token-file"),
                c.integer("proxy.max-request-bytes", 1 << 20), c.integer("proxy.max-response-bytes", 16 << 20),
                Duration.ofMillis(c.integer("proxy.signature-wait-ms", 5000)),
                Duration.ofSeconds(c.integer("proxy.upstream-timeout-s", 600))),
            signer, new SignatureStore(c.integer("proxy.signature-max-entries", 100_000),
                Duration.ofSeconds(c.integer("proxy.signature-ttl-s", 3600)), clock),
            new AttestationReporter(agent, signer, api));
      }
      CountDownLatch stop = new CountDownLatch(1);
      SigningProxy p = proxy;
      ResponseSigner sgn = signer;
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        if (p != null) {
          p.close();
        }
        if (sgn != null) {
          sgn.close();
        }
        admin.close();
        apiServer.close();
        agent.close(); // destroys the keys
        vertx.close();
        stop.countDown();
      }));
      LOG.info("teekms-agent ready");
      stop.await();
      return 0;
    }

    private static CollateralSource collateral(AgentConfig c, Clock clock) throws Exception {
      Optional<String> pccs = c.optional("attestation.pccs");
      if (pccs.isPresent()) {
        return new CachingCollateralSource(new PcsCollateralClient(pccs.get()), clock);
      }
      Path p = Path.of(c.required("attestation.collateral"));
      return Files.isDirectory(p) ? CollateralDirectory.load(p) : DcapQvlCollateralFile.load(p);
    }
  }

  /** Opens or formats the data disk through the running agent's admin socket (root only). */
  @Command(name = "disk", description = "Open or format the LUKS2 data disk with the KMS disk key.")
  static final class Disk implements Callable<Integer> {
    @CommandLine.Parameters(index = "0", description = "open | format") String action;
    @Option(names = "--device", required = true) String device;
    @Option(names = "--name", defaultValue = "teekms-data") String name;
    @Option(names = "--force", description = "format even if the device holds a LUKS header") boolean force;
    @Option(names = "--admin-socket", defaultValue = "/run/teekms-agent/admin.sock") Path socket;

    @Override
    public Integer call() throws Exception {
      String method = switch (action) {
        case "open" -> "/DiskOpen";
        case "format" -> "/DiskFormat";
        default -> throw new CommandLine.ParameterException(new CommandLine(this), "action must be open or format");
      };
      var body = new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode();
      body.put("device", device);
      body.put("name", name);
      body.put("force", force);
      UnixHttpClient.Response r = UnixHttpClient.post(socket, method, body.toString());
      System.out.println(r.body());
      return r.status() == 200 ? 0 : 1;
    }
  }
}
