package org.teekms.cli.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.teekms.agent.UnixHttpClient;
import org.teekms.agent.boot.AppCompose;
import org.teekms.agent.boot.BootFailure;
import org.teekms.agent.boot.CvmIdentity;
import org.teekms.agent.boot.KmsAuthorizer;
import org.teekms.attest.gpu.GpuEvidenceVerifier;
import org.teekms.attest.gpu.RevocationChecker;
import org.teekms.attest.gpu.RimStore;
import org.teekms.attest.ratls.RaTlsContexts;
import org.teekms.attest.ratls.RaTlsIdentity;
import org.teekms.attest.ratls.RaTlsTrustManager;
import org.teekms.attest.ratls.RaTlsVerifier;
import org.teekms.attest.sim.SimulatedTdx;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.Pem;
import org.teekms.attest.tdx.QuotePolicy;
import org.teekms.attest.tdx.collateral.CollateralDirectory;
import org.teekms.cli.TeeKmsCli;
import org.teekms.crypto.Bytes;
import org.teekms.crypto.Digests;
import org.teekms.governance.AppPolicy;
import org.teekms.governance.ChainClient;
import org.teekms.governance.ComposeHash;
import org.teekms.governance.GovernanceException;
import org.teekms.governance.KmsRegistry;
import org.teekms.governance.PolicyReaderConfig;
import org.teekms.governance.TxResult;
import org.teekms.keys.AppId;
import org.teekms.keys.InstanceId;
import org.teekms.proto.AuditEvent;
import org.teekms.proto.AuditorGrpc;
import org.teekms.proto.ListAuditEventsRequest;
import org.teekms.proto.ListAuditEventsResponse;
import org.teekms.proto.VerifyAuditChainRequest;
import org.teekms.proto.VerifyAuditChainResponse;
import org.teekms.verifier.service.KmsAuditor;
import org.teekms.verifier.service.VerifierService;
import org.web3j.crypto.Credentials;

/** The demo's steps, in order; each prints what happened. See {@link DemoCommand}. */
final class DemoRun {
  record Settings(Path workDir, Path kmsJar, Path anvil, boolean keep, boolean custody) {
    Settings(Path workDir, Path kmsJar, Path anvil) {
      this(workDir, kmsJar, anvil, false, false);
    }

    Settings(Path workDir, Path kmsJar, Path anvil, boolean keep) {
      this(workDir, kmsJar, anvil, keep, false);
    }
  }

  /** anvil's well-known development accounts 0 and 1 (public test keys; loopback chain only). */
  private static final String OPERATOR_KEY =
      "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

  private static final String APP_OWNER_KEY =
      "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
  private static final long CHAIN_ID = 31337;

  /** The KMS reads policy this many blocks behind head; the demo mines them after every change. */
  private static final int CONFIRMATIONS = 2;

  /**
   * The KMS reuses one pinned block this long (teekms.chain.pin-reuse): a policy change applies at
   * most this much later.
   */
  private static final Duration PIN_REUSE = Duration.ofSeconds(1);

  private static final int STEPS = 16;

  /**
   * With --custody: custodians before the KMS starts, then destruction of every node and recovery
   * at the end.
   */
  private static final int CUSTODY_STEPS = 5;

  /**
   * The encrypted env variable that carries the model's upstream API token (allowed_envs of the
   * app-compose).
   */
  private static final String TOKEN_VAR = "UPSTREAM_API_KEY";

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HexFormat HEX = HexFormat.of();

  /**
   * The agent logs its progress (java.util.logging); the demo prints the same facts in its steps.
   * Held strongly: java.util.logging forgets the level of a logger nobody references.
   */
  private static final java.util.logging.Logger AGENT_LOG =
      java.util.logging.Logger.getLogger("org.teekms.agent");

  private final Settings s;
  private final PrintWriter out;
  private final DemoReporter report;
  private final List<AutoCloseable> cleanup = new ArrayList<>();
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  private final Clock clock = Clock.systemUTC();

  // State built up by the steps.
  private final byte[] seed = new byte[32];

  /**
   * The CVM's GPUs: SIMULATED H200-shaped (Hopper layout) GPUs derived from the demo seed, like the
   * KMS's roots; the app's on-chain policy requires all eight (an 8-GPU node). Their evidence makes
   * the CVM's certificate ~60 KB, which the KMS's RA-TLS port (JSSE, JsseLimits) accepts.
   */
  private static final int GPUS = 8;

  private SimulatedTdx tdx;
  private String rpcUrl;
  private ChainClient chain;
  private KmsRegistry registry;
  private int kmsPort;
  private Path composeFile;
  private byte[] composeHash;

  /** The demo CVM's OS image hash (the simulated image's name, hashed). */
  static final byte[] OS_IMAGE =
      sha256("tee-kms demo OS image v1".getBytes(StandardCharsets.UTF_8));

  private final byte[] osImageHash = OS_IMAGE.clone();
  private final byte[] instanceId = new byte[20];
  private String appId;
  private AppPolicy app;
  private FakeLlm llm;
  private SimulatedCvmAgent cvm;
  private byte[] goldenMrSystem;
  private String firstSigningAddress;
  private Path exchangeDir;
  private String nonceHex;

  /** The model's upstream API token: reaches the signing proxy only through the encrypted env. */
  private final String upstreamToken = HEX.formatHex(randomBytes(16));

  private Path encryptedEnv;

  /**
   * The running KMS node and the settings it was started with (the custody steps replace the node).
   */
  ChildProcess kmsProcess;

  List<String> kmsBaseCommand;
  private final CustodyDemo custody = new CustodyDemo();

  DemoRun(Settings settings, PrintWriter out) {
    this.s = settings;
    this.out = out;
    this.report = new DemoReporter(out, settings.custody() ? STEPS + CUSTODY_STEPS : STEPS);
  }

  int run() {
    long start = System.nanoTime();
    AGENT_LOG.setLevel(java.util.logging.Level.WARNING);
    out.println("tee-kms demo: the whole key flow on this machine, loopback only.");
    out.println(
        "The Intel TDX platform is SIMULATED (explicitly enabled for this run): nothing here protects real");
    out.println(
        "secrets. Everything else (chain, contracts, KMS, guest agent, signing proxy, verifier) is the real code.");
    out.println("Work directory (logs, KMS data, verified files): " + s.workDir());
    out.flush();
    try {
      report.step("Start a local chain (anvil on 127.0.0.1)", this::startChain);
      report.step(
          "Deploy the governance contracts and set the platform policy", this::deployGovernance);
      if (s.custody()) {
        report.step(
            "Root custody: deploy RootCustody, three custodians make keys, the owner registers them",
            custody::deploy);
      }
      report.step(
          "Start the KMS (embedded PostgreSQL, simulator explicitly enabled)", this::startKms);
      report.step(
          "Verify the KMS's RA-TLS identity and register its measurement on chain",
          this::registerKms);
      report.step(
          "Register the OS image's golden measurement, the app and its compose hash on chain",
          this::registerApp);
      report.step(
          "Start a fake OpenAI-compatible model (127.0.0.1) that requires an upstream API token",
          this::startModel);
      report.step(
          "Encrypt the token for the app: verified AppEnv public key, dstack encrypted-env format",
          this::encryptEnv);
      report.step(
          "Boot a simulated CVM: guest agent measures RTMR3 and fetches the app keys",
          this::bootCvm);
      report.step(
          "Chat through the signing proxy; fetch the signature and the attestation report",
          this::chat);
      report.step(
          "Verify the signed response offline (teekms verify response, then the verifier service)",
          this::verifyOffline);
      report.step(
          "A tampered encrypted env fails the boot (ENV_DECRYPTION_FAILED)", this::tamperedEnv);
      report.step(
          "A forged CVM (its own kernel, the app's id and compose hash in RTMR3) is denied: OS image "
              + "measurement mismatch",
          this::forgedCvm);
      report.step(
          "Rotate the app's keys on chain; the next boot gets the new version and signing key",
          this::rotate);
      report.step(
          "Remove the compose hash on chain; the next boot is denied with its reason", this::deny);
      report.step(
          "Read the app's audit trail from the KMS (Auditor API) and verify the hash chain",
          this::audit);
      report.step("Read the KMS node's status (teekms kms status)", this::status);
      if (s.custody()) {
        report.step(
            "Publish the KMS identity, re-allow the compose hash, record the app's keys (public values)",
            custody::recordKeys);
        report.step(
            "Destroy every KMS node: stop it, delete its database and its sealed root copies",
            custody::destroy);
        report.step(
            "A fresh KMS node recovers root generation 1 from 2 of the 3 custodians",
            custody::recover);
        report.step(
            "The app's CVM boots against the recovered node and gets the same keys as before",
            custody::sameKeys);
      }
      if (s.keep() && !report.anyFailed()) {
        try {
          keepRunning();
        } catch (Exception e) {
          out.println("--keep: could not keep the demo running: " + e.getMessage());
        }
      }
    } finally {
      for (int i = cleanup.size() - 1; i >= 0; i--) {
        try {
          cleanup.get(i).close();
        } catch (Exception e) {
          out.println("cleanup: " + e.getMessage());
        }
      }
    }
    return report.summary(Duration.ofNanos(System.nanoTime() - start));
  }

  // --- steps
  // ---------------------------------------------------------------------------------------------------

  private void startChain() throws Exception {
    if (!Files.isExecutable(s.anvil())) {
      throw new IOException(
          "anvil not found at "
              + s.anvil()
              + " (the governance-contracts build installs it with "
              + "npm; run ./teekms demo from the launcher, or pass --anvil)");
    }
    int port = ChildProcess.freePort();
    ChildProcess anvil =
        ChildProcess.start(
            "anvil",
            List.of(
                s.anvil().toString(),
                "--host",
                "127.0.0.1",
                "--port",
                Integer.toString(port),
                "--chain-id",
                Long.toString(CHAIN_ID),
                "--accounts",
                "2"),
            s.workDir().resolve("logs/anvil.log"),
            s.workDir());
    cleanup.add(anvil);
    anvil.awaitPort(port, Duration.ofSeconds(30), report::tick);
    rpcUrl = "http://127.0.0.1:" + port;
    chain = ChainClient.connect(rpcUrl, CHAIN_ID);
    cleanup.add(chain);
    chain.checkChainId();
    report.detail(
        "anvil %s, chain id %d, head block %d (log: %s)",
        rpcUrl, CHAIN_ID, chain.blockNumber(), anvil.log());
  }

  private void deployGovernance() throws Exception {
    Credentials operator = Credentials.create(OPERATOR_KEY);
    KmsRegistry.Deployed deployed = KmsRegistry.deploy(chain, operator, operator.getAddress());
    registry = deployed.registry();
    report.detail(
        "KmsRegistry at %s (owner %s): %s",
        registry.address(), operator.getAddress(), tx(deployed.tx()));
    report.detail(
        "add-os-image %s: %s", HEX.formatHex(osImageHash), tx(registry.addOsImage(osImageHash)));
    KmsRegistry.TcbPolicy tcb = registry.tcbPolicy();
    report.detail("TCB policy: statuses %s, advisories %s", tcb.statuses(), tcb.advisoryIds());
    confirm();
  }

  private void startKms() throws Exception {
    if (!Files.isRegularFile(s.kmsJar())) {
      throw new IOException(
          "the KMS is not built: "
              + s.kmsJar()
              + " is missing (./teekms demo builds it; or "
              + "./mvnw -B -DskipTests package -pl kms-server -am)");
    }
    new SecureRandom().nextBytes(seed);
    // The demo process and the KMS derive the same SIMULATED platform PKI from this seed, so the
    // KMS can verify the
    // simulated CVM's quotes and the CVM the KMS's.
    tdx = SimulatedTdx.enableSeeded("tee-kms demo (simulated CVMs)", clock, seed);
    kmsPort = ChildProcess.freePort();
    int managementPort = ChildProcess.freePort();
    String java = ProcessHandle.current().info().command().orElse("java");
    Path data = s.workDir().resolve("kms");
    List<String> cmd =
        List.of(
            java,
            "-Dquarkus.profile=demo",
            "-Dquarkus.http.host=127.0.0.1",
            "-Dquarkus.http.port=" + kmsPort,
            "-Dquarkus.http.ssl-port=" + kmsPort,
            "-Dquarkus.http.tls-configuration-name=ratls",
            "-Dquarkus.http.ssl.client-auth=request",
            "-Dquarkus.http.insecure-requests=disabled",
            "-Dquarkus.management.host=127.0.0.1",
            "-Dquarkus.management.port=" + managementPort,
            "-Dteekms.simulator.enabled=true",
            "-Dteekms.simulator.seed=" + HEX.formatHex(seed),
            // The packaged KMS does not contain the simulator: it gets the jar this demo loaded it
            // from.
            "-Dteekms.simulator.classpath=" + SimulatedTdx.codeLocation(),
            // GPU evidence verified under the GPU simulator's roots (same seed); no OCSP responder
            // exists for them here.
            "-Dteekms.gpu.ocsp.mode=disabled",
            "-Dteekms.sealing.provider=file",
            "-Dteekms.data-dir=" + data,
            "-Dteekms.kms-id=teekms-demo",
            "-Dteekms.node-id=demo-kms-1",
            // One local anvil: the demo allows a single endpoint explicitly (production lists
            // several, rpc-urls + quorum).
            "-Dteekms.chain.rpc-url=" + rpcUrl,
            "-Dteekms.chain.allow-single-rpc=true",
            "-Dteekms.chain.chain-id=" + CHAIN_ID,
            "-Dteekms.chain.registry-address=" + registry.address(),
            "-Dteekms.chain.confirmations=" + CONFIRMATIONS,
            "-Dteekms.chain.pin-reuse=" + PIN_REUSE.toMillis() + "ms");
    ChildProcess kms =
        ChildProcess.start(
            "kms",
            kmsCommand(cmd, data, List.of()),
            s.workDir().resolve("logs/kms.log"),
            s.workDir());
    cleanup.add(kms);
    kmsProcess = kms;
    kmsBaseCommand = cmd;
    report.detail(
        "starting: JVM, embedded PostgreSQL, schema migration, root generation 1 (log: %s)",
        kms.log());
    if (s.custody()) {
      custody.publishFirstBackup();
    }
    kms.awaitLog("KMS 'teekms-demo' ready", Duration.ofMinutes(3), report::tick);
    kms.awaitPort(kmsPort, Duration.ofSeconds(30), report::tick);
    report.detail("KMS on 127.0.0.1:%d (mutual RA-TLS gRPC), data in %s", kmsPort, data);
    report.detail(
        "simulator enabled explicitly: teekms.simulator.enabled=true, quarkus.profile=demo (refused in prod)");
  }

  private void registerKms() throws Exception {
    X509Certificate cert = KmsCertificateProbe.fetch(kmsPort);
    RaTlsVerifier verifier =
        RaTlsVerifier.builder(new DcapQuoteVerifier(tdx.rootCertificate()), tdx.collateralSource())
            .quotePolicy(QuotePolicy.builder().build())
            .clock(clock)
            .build();
    RaTlsIdentity kms = verifier.verify(cert);
    report.detail(
        "KMS certificate verified: quote (simulated root), key bound to REPORTDATA, event log replayed");
    report.detail(
        "KMS mrAggregated %s, compose hash %s", kms.mrAggregated().hex(), kms.composeHash().hex());
    report.detail(
        "add-kms-measurement: %s",
        tx(registry.addKmsMeasurement(kms.mrAggregated().toByteArray())));
    confirm();
  }

  private void registerApp() throws Exception {
    // the OS image hash in RTMR3 is the guest's claim; its golden mrSystem (from a reference boot
    // of the simulated
    // image) binds it to what the TDX module measured (MRTD, RTMR0-2)
    goldenMrSystem = SimulatedCvmAgent.referenceMrSystem(tdx);
    report.detail(
        "add-os-image-measurement %s mrSystem %s: %s",
        HEX.formatHex(osImageHash),
        HEX.formatHex(goldenMrSystem),
        tx(registry.addOsImageMeasurement(osImageHash, goldenMrSystem)));
    Credentials owner = Credentials.create(APP_OWNER_KEY);
    KmsRegistry.Registration registration = registry.registerApp(owner.getAddress());
    appId = registration.appId();
    app = registry.app(appId, owner);
    report.detail(
        "register-app: app id %s (owner %s): %s", appId, owner.getAddress(), tx(registration.tx()));
    composeFile = s.workDir().resolve("app-compose.json");
    Files.write(composeFile, appComposeFile());
    composeHash = ComposeHash.of(Files.readAllBytes(composeFile));
    report.detail("add-compose-hash --compose %s: %s", composeFile, HEX.formatHex(composeHash));
    report.detail("  %s", tx(app.addComposeHash(composeHash)));
    report.detail("set-allow-any-device true: %s", tx(app.setAllowAnyDevice(true)));
    report.detail(
        "set-gpu-requirements %d HOPPER (H100/H200): %s",
        GPUS, tx(app.setGpuRequirements(new org.teekms.governance.GpuPolicy(GPUS, "HOPPER", 0))));
    report.detail(
        "key versions: current %d, minimum %d", app.currentKeyVersion(), app.minKeyVersion());
    confirm();
  }

  private void startModel() throws Exception {
    llm = FakeLlm.start(upstreamToken);
    cleanup.add(llm);
    report.detail(
        "fake model '%s' on http://127.0.0.1:%d (/v1/models, /v1/chat/completions)",
        FakeLlm.MODEL, llm.port());
    report.detail(
        "it answers only with its upstream API token (Authorization: Bearer …); nobody but the owner and "
            + "the admitted CVM will hold it");
  }

  /**
   * What {@code teekms env pubkey} + {@code env encrypt} do, in process (the CLI needs the
   * simulated root as PEM).
   */
  private void encryptEnv() throws Exception {
    ManagedChannel channel = auditorChannel();
    try {
      org.teekms.proto.AppEnvEncryptPubKey answer =
          org.teekms.proto.AppEnvGrpc.newBlockingStub(channel)
              .withDeadlineAfter(30, java.util.concurrent.TimeUnit.SECONDS)
              .getAppEnvEncryptPubKey(
                  org.teekms.proto.GetAppEnvEncryptPubKeyRequest.newBuilder()
                      .setAppId(ByteString.copyFrom(HEX.parseHex(appId.substring(2))))
                      .build());
      org.teekms.proto.KmsInfo info =
          org.teekms.proto.KmsInfoServiceGrpc.newBlockingStub(channel)
              .withDeadlineAfter(30, java.util.concurrent.TimeUnit.SECONDS)
              .getKmsInfo(org.teekms.proto.GetKmsInfoRequest.getDefaultInstance());
      org.teekms.keys.EthereumAddress root = null;
      for (org.teekms.proto.RootGenerationInfo g : info.getGenerationsList()) {
        if (g.getGeneration() == answer.getRootGeneration()) {
          root = org.teekms.keys.EthereumAddress.of(g.getRootAddress().toByteArray());
        }
      }
      var check =
          org.teekms.cli.EnvPubkeyCheck.verify(
              answer,
              AppId.fromHex(appId),
              clock.instant(),
              Duration.ofMinutes(5),
              java.util.Optional.ofNullable(root),
              java.util.Optional.empty());
      if (check.failure() != null) {
        throw new IllegalStateException(
            "the KMS's env public key does not verify: " + check.failure() + ": " + check.error());
      }
      report.detail(
          "AppEnv/GetAppEnvEncryptPubKey (no client certificate): X25519 %s, key version %d, generation %d; "
              + "expected root = the one GetKmsInfo reports for that generation",
          HEX.formatHex(answer.getPublicKey().toByteArray()),
          answer.getKeyVersion(),
          answer.getRootGeneration());
      check.checked().forEach(c -> report.detail("  checked: %s", c));
      byte[] dotEnv = (TOKEN_VAR + "=" + upstreamToken + "\n").getBytes(StandardCharsets.UTF_8);
      byte[] blob =
          org.teekms.agent.env.EnvBlob.encrypt(
              org.teekms.agent.env.EnvJson.encode(org.teekms.agent.env.DotEnv.parse(dotEnv)),
              answer.getPublicKey().toByteArray(),
              new SecureRandom());
      encryptedEnv = s.workDir().resolve("encrypted-env");
      Files.write(encryptedEnv, blob);
      report.detail(
          "encrypted %s (%d bytes: ephemeral X25519 key, IV, AES-256-GCM) -> %s; the host hands it to the "
              + "CVM, which can only open it after the KMS admitted it",
          TOKEN_VAR, blob.length, encryptedEnv);
      report.detail(
          "same as: teekms env encrypt --app %s --kms 127.0.0.1:%d --env-file .env --out %s",
          appId, kmsPort, encryptedEnv.getFileName());
    } finally {
      channel.shutdownNow();
    }
  }

  /**
   * The blob with one ciphertext bit flipped: the AEAD refuses it and the boot stops before the app
   * starts.
   */
  private void tamperedEnv() throws Exception {
    byte[] blob = Files.readAllBytes(encryptedEnv);
    blob[blob.length / 2] ^= 0x01;
    Path tampered = s.workDir().resolve("encrypted-env.tampered");
    Files.write(tampered, blob);
    try {
      SimulatedCvmAgent unexpected = boot(tampered);
      unexpected.close();
      throw new IllegalStateException("a CVM booted with a tampered encrypted env");
    } catch (org.teekms.agent.boot.BootFailure f) {
      if (!f.reason().equals("ENV_DECRYPTION_FAILED")) {
        throw new IllegalStateException("expected ENV_DECRYPTION_FAILED, got " + f.getMessage());
      }
      report.detail("boot refused: %s", f.getMessage());
      report.detail(
          "(the KMS admitted the CVM; its env key just does not open altered bytes: nothing reached the app)");
    }
  }

  private static byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    new SecureRandom().nextBytes(b);
    return b;
  }

  private void bootCvm() throws Exception {
    new SecureRandom().nextBytes(instanceId);
    cvm = boot();
    cleanup.add(cvm);
    var keys = cvm.agent().keys();
    firstSigningAddress = cvm.signingAddress();
    report.detail(
        "admitted: key version %d (served %d..%d), grant %s",
        keys.currentVersion(), keys.minVersion(), keys.currentVersion(), keys.grantId());
    report.detail(
        "keys verified against the KMS root address %s", keys.kmsRootAddress().toChecksumString());
    report.detail(
        "KMS GPU verdict (its audit entry for grant %s): %s",
        keys.grantId(), gpuVerdict(keys.grantId()));
    report.detail("response signing address %s", firstSigningAddress);
    UnixHttpClient.Response info = UnixHttpClient.post(cvm.socket(), "/Info", "{}");
    JsonNode infoJson = JSON.readTree(info.body());
    report.detail(
        "dstack-compatible key API on %s: Info -> app_id %s, compose_hash %s",
        cvm.socket(),
        infoJson.path("app_id").asText("?"),
        infoJson.path("compose_hash").asText("?"));
    report.detail(
        "encrypted env opened with key version %d: %s (handed to the app in 0600 files; the proxy's "
            + "upstream token is %s)",
        cvm.agent().env().keyVersion(), cvm.agent().env().names(), TOKEN_VAR);
    report.detail(
        "signing proxy on http://127.0.0.1:%d -> model on 127.0.0.1:%d",
        cvm.proxyPort(), llm.port());
  }

  private void chat() throws Exception {
    DemoExchange.Saved x =
        DemoExchange.capture(
            http,
            URI.create("http://127.0.0.1:" + cvm.proxyPort()),
            chatRequest(),
            s.workDir().resolve("exchange"),
            new DemoExchange.Expected(
                rpcUrl,
                CHAIN_ID,
                registry.address(),
                appId,
                Bytes.copyOf(composeHash),
                Bytes.copyOf(osImageHash),
                Bytes.copyOf(goldenMrSystem),
                true),
            tdx,
            org.teekms.attest.gpu.GpuSimulator.seeded(GPUS, seed));
    exchangeDir = x.dir();
    nonceHex = x.nonce().hex();
    JsonNode answer = JSON.readTree(Files.readAllBytes(x.response()));
    report.detail(
        "POST /v1/chat/completions -> %s: \"%s\"",
        x.chatId(), answer.path("choices").path(0).path("message").path("content").asText());
    JsonNode sig = JSON.readTree(Files.readAllBytes(x.signature()));
    report.detail(
        "GET /v1/signature/%s -> %s by %s",
        x.chatId(), sig.path("signing_algo").asText(), sig.path("signing_address").asText());
    report.detail(
        "GET /v1/attestation/report?nonce=%s... -> quote binding the signing address and the nonce",
        nonceHex.substring(0, 16));
    JsonNode nvidia = JSON.readTree(Files.readAllBytes(x.report())).path("nvidia_payload");
    if (!nvidia.isTextual()) {
      throw new IllegalStateException("the GPU CVM's attestation report has no nvidia_payload");
    }
    report.detail(
        "report's nvidia_payload: %d GPU report(s) made for our nonce (arch %s)",
        JSON.readTree(nvidia.asText()).path("evidence_list").size(),
        JSON.readTree(nvidia.asText()).path("arch").asText());
    report.detail(
        "saved request, response, signature, report and the SIMULATED root CA + collateral in %s",
        exchangeDir);
    report.detail(
        "and all of it, with the chain and app to expect, in %s (%s): POST it to a verifier's "
            + "/verify/response, or load it on the verifier page",
        x.manifest(), DemoExchange.FORMAT);
  }

  private void verifyOffline() throws Exception {
    Verification good = verifyResponse(exchangeDir.resolve("response.json"));
    report.detail("$ teekms %s", String.join(" ", good.args()));
    if (good.exit() != 0) {
      throw new IllegalStateException(
          "verify response exited " + good.exit() + ": " + good.output().strip());
    }
    JsonNode verdict = JSON.readTree(good.output());
    report.detail("valid against %s:", verdict.path("expected").asText());
    for (JsonNode row : verdict.path("checks")) {
      report.detail(
          "  %-24s %s  %s",
          row.path("name").asText(), row.path("status").asText(), row.path("detail").asText());
    }
    // The same check must reject a response with a single edited byte.
    byte[] edited = Files.readAllBytes(exchangeDir.resolve("response.json"));
    edited[edited.length / 2] ^= 0x01;
    Path tampered = exchangeDir.resolve("response-tampered.json");
    Files.write(tampered, edited);
    Verification bad = verifyResponse(tampered);
    if (bad.exit() != 1) {
      throw new IllegalStateException(
          "a response with one flipped bit was not rejected (exit " + bad.exit() + ")");
    }
    JsonNode badVerdict = JSON.readTree(bad.output());
    report.detail(
        "one flipped bit in the response -> rejected at check '%s': %s",
        badVerdict.path("failedCheck").asText("?"), badVerdict.path("failure").asText("invalid"));
    // The whole exchange file through the HTTP verifier (teekms verifier serve), as its web page
    // submits it: the same code, the same rows.
    try (VerifierService service = VerifierService.start(verifierConfig(0))) {
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(
                      URI.create("http://127.0.0.1:" + service.port() + "/verify/response"))
                  .header("Content-Type", "application/json")
                  .POST(HttpRequest.BodyPublishers.ofFile(exchangeDir.resolve(DemoExchange.FILE)))
                  .timeout(Duration.ofSeconds(60))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      JsonNode v = JSON.readTree(r.body());
      if (r.statusCode() != 200 || !v.path("valid").asBoolean()) {
        throw new IllegalStateException(
            "the verifier service did not accept "
                + DemoExchange.FILE
                + ": HTTP "
                + r.statusCode()
                + " "
                + v.path("failure").asText(v.path("error").asText()));
      }
      if (!rows(v).equals(rows(verdict))) {
        throw new IllegalStateException(
            "the verifier service's rows " + rows(v) + " differ from the CLI's " + rows(verdict));
      }
      report.detail(
          "POST %s to the verifier service (teekms verifier serve) -> valid, the CLI's %d rows",
          DemoExchange.FILE, v.path("checks").size());
    }
  }

  /** A verdict's rows as "name STATUS" (details carry block numbers that may move). */
  private static List<String> rows(JsonNode verdict) {
    List<String> out = new ArrayList<>();
    for (JsonNode c : verdict.path("checks")) {
      out.add(c.path("name").asText() + " " + c.path("status").asText());
    }
    return out;
  }

  /**
   * A verifier service for this demo: the SIMULATED roots saved with the exchange, the demo's
   * chain, and its KMS, whose audit log the page's auditor tab fetches.
   */
  private VerifierService.Config verifierConfig(int port) throws Exception {
    org.teekms.attest.gpu.GpuSimulator gpus = org.teekms.attest.gpu.GpuSimulator.seeded(GPUS, seed);
    return new VerifierService.Config(
            "127.0.0.1",
            port,
            new DcapQuoteVerifier(tdx.rootCertificate()),
            CollateralDirectory.load(exchangeDir.resolve("collateral")),
            GpuEvidenceVerifier.builder(gpus.deviceRoot())
                .revocation(RevocationChecker.disabled())
                .rimStore(RimStore.load(exchangeDir.resolve("simulated-rims"), gpus.rimRoot()))
                .build(),
            java.util.Optional.of(
                PolicyReaderConfig.defaults(rpcUrl, CHAIN_ID, registry.address())
                    .withConfirmations(0, false)
                    .withCache(Duration.ZERO, 0)),
            VerifierService.Config.DEFAULT_MAX_BODY_BYTES,
            VerifierService.Config.DEFAULT_TIMEOUT,
            clock)
        .withKms(new KmsAuditor.Address("127.0.0.1", kmsPort));
  }

  private void rotate() throws Exception {
    report.detail("rotate-keys (app owner): %s", tx(app.rotateKeys()));
    report.detail(
        "key versions on chain: current %d, minimum %d",
        app.currentKeyVersion(), app.minKeyVersion());
    confirm();
    cvm.close();
    cleanup.remove(cvm);
    cvm = boot();
    cleanup.add(cvm);
    var keys = cvm.agent().keys();
    report.detail(
        "rebooted: key version %d (versions %s served), grant %s",
        keys.currentVersion(), keys.versions().keySet(), keys.grantId());
    report.detail("signing address %s -> %s", firstSigningAddress, cvm.signingAddress());
    report.detail(
        "the encrypted env made for version 1 still opens (key version %d, version 1 still served); "
            + "`teekms env pubkey` now answers version 2: re-encrypt before raising the minimum",
        cvm.agent().env().keyVersion());
    if (keys.currentVersion() != 2) {
      throw new IllegalStateException(
          "expected key version 2 after rotation, got " + keys.currentVersion());
    }
    if (cvm.signingAddress().equalsIgnoreCase(firstSigningAddress)) {
      throw new IllegalStateException("the signing address did not change with the key version");
    }
  }

  private void forgedCvm() throws Exception {
    byte[] attackerMrTd = new byte[48];
    java.util.Arrays.fill(attackerMrTd, (byte) 0x66);
    try {
      SimulatedCvmAgent unexpected = boot(attackerMrTd, "ATTACKER", GPUS);
      unexpected.close();
      throw new IllegalStateException(
          "a CVM on another kernel got the app's keys with a forged identity");
    } catch (BootFailure denied) {
      report.detail("boot denied (%s): %s", denied.reason(), denied.getMessage());
      if (!"OS_IMAGE_MEASUREMENT_MISMATCH".equals(denied.reason())) {
        throw new IllegalStateException(
            "denied, but not for the OS image measurement: " + denied.getMessage());
      }
    }
  }

  private void deny() throws Exception {
    // One GPU missing: the app's on-chain policy requires 8 attested GPUs.
    try {
      SimulatedCvmAgent unexpected = boot(GPUS - 1);
      unexpected.close();
      throw new IllegalStateException(
          "the CVM was admitted with " + (GPUS - 1) + " GPUs although the app requires " + GPUS);
    } catch (BootFailure denied) {
      report.detail(
          "boot with %d GPUs denied (%s): %s", GPUS - 1, denied.reason(), denied.getMessage());
      if (!denied.getMessage().contains("GPU_COUNT")) {
        throw new IllegalStateException(
            "denied, but not for the missing GPU: " + denied.getMessage());
      }
    }
    report.detail("remove-compose-hash (app owner): %s", tx(app.removeComposeHash(composeHash)));
    confirm();
    cvm.close();
    cleanup.remove(cvm);
    cvm = null;
    try {
      SimulatedCvmAgent unexpected = boot();
      unexpected.close();
      throw new IllegalStateException("the CVM was admitted although its compose hash was removed");
    } catch (BootFailure denied) {
      report.detail("boot denied (%s): %s", denied.reason(), denied.getMessage());
      if (!denied.getMessage().contains("COMPOSE_HASH_NOT_ALLOWED")) {
        throw new IllegalStateException(
            "denied, but not for the removed compose hash: " + denied.getMessage());
      }
    }
  }

  private void audit() throws Exception {
    ManagedChannel channel = auditorChannel();
    try {
      AuditorGrpc.AuditorBlockingStub auditor =
          AuditorGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
      ListAuditEventsResponse events =
          auditor.listAuditEvents(
              ListAuditEventsRequest.newBuilder()
                  .setAppId(ByteString.copyFrom(HEX.parseHex(appId.substring(2))))
                  .setPageSize(100)
                  .build());
      int grants = 0;
      int denials = 0;
      for (AuditEvent e : events.getEventsList()) {
        report.detail(
            "#%d %s %s%s",
            e.getSeq(),
            e.getKind(),
            e.getOutcome(),
            e.getReason().isEmpty() ? "" : " " + e.getReason());
        grants += e.getKind().equals("GRANT_APP_KEYS") ? 1 : 0;
        denials += e.getOutcome().equals("DENIED") ? 1 : 0;
      }
      VerifyAuditChainResponse chainCheck =
          auditor.verifyAuditChain(VerifyAuditChainRequest.getDefaultInstance());
      report.detail(
          "audit hash chain: valid %s, %d entries, head %s",
          chainCheck.getValid(),
          chainCheck.getEntriesChecked(),
          HEX.formatHex(chainCheck.getHeadHash().toByteArray()));
      if (!chainCheck.getValid()) {
        throw new IllegalStateException(
            "the audit chain does not verify: " + chainCheck.getProblem());
      }
      if (grants < 2 || denials < 1) {
        throw new IllegalStateException(
            "expected two key releases and one denial for the app, found "
                + grants
                + " and "
                + denials);
      }
    } finally {
      channel.shutdownNow();
    }
  }

  private void status() throws Exception {
    Verification st = cli(statusArgs());
    report.detail("$ teekms %s", String.join(" ", st.args()));
    JsonNode j = JSON.readTree(st.output());
    report.detail(
        "identity: kms %s, generation %d, mrSystem %s..., quote valid %s",
        j.at("/identity/kmsId").asText(),
        j.at("/identity/currentGeneration").asInt(),
        j.at("/identity/measurement/mrSystem").asText().substring(0, 16),
        j.at("/identity/measurement/quoteValid").asText());
    report.detail(
        "chain %d/%d endpoints up, head %d, pinned block %s; database %s ms; audit chain head #%d valid %s",
        j.at("/chain/endpointsUp").asInt(),
        j.at("/chain/endpoints").asInt(),
        j.at("/chain/head").asLong(),
        j.at("/chain/pinnedBlock").asText(),
        j.at("/database/latencyMs").asText(),
        j.at("/auditChain/headSeq").asLong(),
        j.at("/auditChain/valid").asText());
    report.detail(
        "RA-TLS certificate valid until %s; problems: %s",
        j.at("/certificate/notAfter").asText(), j.path("problems"));
    // The simulator is always a problem (never trust such a KMS); what the demo relies on must be
    // healthy.
    List<String> problems = new ArrayList<>();
    j.path("problems").forEach(p -> problems.add(p.asText()));
    if (problems.isEmpty()
        || !problems.get(0).contains("SIMULATOR")
        || !j.at("/identity/measurement/bindsRootsAndNonce").asBoolean()
        || !j.at("/auditChain/valid").asBoolean()
        || !j.at("/database/up").asBoolean()
        || j.at("/chain/endpointsUp").asInt() < j.at("/chain/quorum").asInt()) {
      throw new IllegalStateException("unexpected status (exit " + st.exit() + "): " + st.output());
    }
  }

  private List<String> statusArgs() {
    return List.of(
        "kms",
        "status",
        "--kms",
        "127.0.0.1:" + kmsPort,
        "--collateral",
        exchangeDir.resolve("collateral").toString(),
        "--root-ca",
        exchangeDir.resolve("simulated-root-ca.pem").toString(),
        "--verify-audit",
        "--output",
        "json");
  }

  /**
   * {@code --keep}: allows the compose hash again, boots the app's CVM, then prints how to reach
   * the chain, the KMS, the signing proxy and the agent's key socket, and waits until this process
   * is stopped (Ctrl-C or kill: the cleanup stops anvil, the KMS and the agent, as after a normal
   * run).
   */
  private void keepRunning() throws Exception {
    if (!s.custody()) { // --custody allowed it again before the recovery
      app.addComposeHash(composeHash);
      confirm();
    }
    cvm = boot();
    cleanup.add(cvm);
    VerifierService verifier = VerifierService.start(verifierConfig(0));
    cleanup.add(verifier);
    String status = "./teekms " + String.join(" ", statusArgs()).replace(" --output json", "");
    out.println();
    out.println("==== --keep: the demo stays up (SIMULATED TDX; loopback only) ====");
    out.println(
        "  chain     "
            + rpcUrl
            + " (anvil, chain id "
            + CHAIN_ID
            + "), registry "
            + registry.address()
            + ", app "
            + appId);
    out.println(
        "  KMS       127.0.0.1:"
            + kmsPort
            + " (RA-TLS gRPC), log "
            + s.workDir().resolve("logs/kms.log"));
    out.println(
        "  proxy     http://127.0.0.1:"
            + cvm.proxyPort()
            + "/v1/chat/completions (signed responses)");
    out.println(
        "  agent     dstack-compatible key socket "
            + cvm.socket()
            + " (curl --unix-socket ... http://localhost/Info -d {})");
    out.println(
        "  verifier  http://127.0.0.1:"
            + verifier.port()
            + "/ (teekms verifier serve with the SIMULATED roots, this chain and --kms 127.0.0.1:"
            + kmsPort
            + "): load "
            + exchangeDir.resolve(DemoExchange.FILE)
            + "; its auditor tab fetches this KMS's audit log and recomputes it");
    out.println("Try:");
    out.println("  " + status);
    out.println(
        "  ./teekms gov show-app --rpc-url "
            + rpcUrl
            + " --chain-id "
            + CHAIN_ID
            + " --app "
            + appId);
    out.println(
        "  curl -s http://127.0.0.1:"
            + cvm.proxyPort()
            + "/v1/chat/completions -H 'Content-Type: "
            + "application/json' -d '{\"model\":\""
            + FakeLlm.MODEL
            + "\",\"messages\":[{\"role\":\"user\","
            + "\"content\":\"hi\"}]}'");
    out.println(
        "Stop: Ctrl-C (or kill "
            + ProcessHandle.current().pid()
            + "); anvil, the KMS and the agent stop "
            + "with it. Work directory: "
            + s.workDir());
    out.flush();
    CountDownLatch stop = new CountDownLatch(1);
    Thread hook =
        new Thread(
            () -> {
              for (int i = cleanup.size() - 1; i >= 0; i--) {
                try {
                  cleanup.get(i).close();
                } catch (Exception e) {
                  // stopping anyway
                }
              }
              stop.countDown();
            },
            "teekms-demo-stop");
    Runtime.getRuntime().addShutdownHook(hook);
    stop.await();
  }

  // --- helpers
  // -------------------------------------------------------------------------------------------------

  /**
   * The KMS's command line: {@code base} (JVM and settings, without data dir) + custody settings +
   * extra + the jar.
   */
  List<String> kmsCommand(List<String> base, Path data, List<String> extra) {
    List<String> cmd = new ArrayList<>(base);
    cmd.removeIf(a -> a.startsWith("-Dteekms.data-dir="));
    cmd.add("-Dteekms.data-dir=" + data);
    if (s.custody()) cmd.addAll(custody.kmsSettings());
    cmd.addAll(extra);
    cmd.add("-jar");
    cmd.add(s.kmsJar().toString());
    return cmd;
  }

  private SimulatedCvmAgent boot() throws Exception {
    return boot(new byte[48], org.teekms.attest.sim.SimulatedCvm.DEFAULT_IMAGE, GPUS);
  }

  /** A CVM of the app with this many simulated GPUs, booted from the demo's OS image. */
  private SimulatedCvmAgent boot(int gpus) throws Exception {
    return boot(new byte[48], org.teekms.attest.sim.SimulatedCvm.DEFAULT_IMAGE, gpus);
  }

  /**
   * A CVM of the app in a TD with this MRTD, booted from the simulated OS image {@code image}, with
   * GPUs.
   */
  private SimulatedCvmAgent boot(byte[] mrTd, String image, int gpus) throws Exception {
    return boot(mrTd, image, gpus, encryptedEnv);
  }

  /** A CVM of the app whose host hands it {@code env} as its encrypted-env file. */
  private SimulatedCvmAgent boot(Path env) throws Exception {
    return boot(new byte[48], org.teekms.attest.sim.SimulatedCvm.DEFAULT_IMAGE, GPUS, env);
  }

  private SimulatedCvmAgent boot(byte[] mrTd, String image, int gpus, Path env) throws Exception {
    CvmIdentity identity =
        new CvmIdentity(
            AppId.fromHex(appId),
            InstanceId.fromHex(HEX.formatHex(instanceId)),
            Bytes.copyOf(osImageHash),
            AppCompose.parse(Files.readAllBytes(composeFile)));
    KmsAuthorizer.KmsRegistry onChain =
        kms -> {
          try {
            for (byte[] m : registry.kmsMeasurements()) {
              if (MessageDigest.isEqual(m, kms.mrAggregated().toByteArray())) {
                return true;
              }
            }
            return false;
          } catch (GovernanceException e) {
            return false; // fail closed: an unreadable registry authorizes no KMS
          }
        };
    String name = "cvm-" + System.nanoTime() % 100000;
    Path socket = s.workDir().resolve(name + ".sock");
    // The demo's work directory is not tmpfs; a real CVM writes under /run (tmpfs) and keeps the
    // check on.
    org.teekms.agent.env.EnvSettings envSettings =
        new org.teekms.agent.env.EnvSettings(
            java.util.Optional.ofNullable(env),
            env != null,
            java.util.Optional.of(s.workDir().resolve(name + "-env")),
            false);
    return SimulatedCvmAgent.boot(
        tdx,
        mrTd,
        image,
        identity,
        kmsPort,
        onChain,
        llm.port(),
        socket,
        clock,
        org.teekms.attest.gpu.SimulatedGpuEvidenceProvider.of(
            org.teekms.attest.gpu.GpuSimulator.seeded(gpus, seed)),
        envSettings,
        env == null ? null : TOKEN_VAR);
  }

  /**
   * A channel to the KMS's Auditor API: plain server-authenticated TLS (no client certificate); the
   * KMS is still checked by its RA-TLS identity.
   */
  private ManagedChannel auditorChannel() throws Exception {
    RaTlsTrustManager trust =
        new RaTlsTrustManager(
            RaTlsVerifier.builder(
                    new DcapQuoteVerifier(tdx.rootCertificate()), tdx.collateralSource())
                .quotePolicy(QuotePolicy.builder().build())
                .clock(clock)
                .build());
    SslContext ssl =
        GrpcSslContexts.configure(
                SslContextBuilder.forClient()
                    .trustManager(RaTlsContexts.trustManagerFactory(trust)),
                SslProvider.JDK)
            .build();
    return NettyChannelBuilder.forAddress("127.0.0.1", kmsPort)
        .overrideAuthority("kms.teekms.invalid")
        .sslContext(ssl)
        .build();
  }

  /**
   * What the KMS recorded about the CVM's GPUs for a grant (Auditor API over server-authenticated
   * RA-TLS).
   */
  private String gpuVerdict(String grantId) throws Exception {
    ManagedChannel channel = auditorChannel();
    try {
      ListAuditEventsResponse events =
          AuditorGrpc.newBlockingStub(channel)
              .withDeadlineAfter(30, TimeUnit.SECONDS)
              .listAuditEvents(
                  ListAuditEventsRequest.newBuilder()
                      .setAppId(ByteString.copyFrom(HEX.parseHex(appId.substring(2))))
                      .setPageSize(100)
                      .build());
      for (AuditEvent e : events.getEventsList()) {
        if (e.getEventId().equals(grantId)) {
          JsonNode d = JSON.readTree(e.getDetailJson());
          String devices = d.path("gpuDevices").asText("");
          return d.path("gpuCount").asText("0")
              + " GPU(s) verified (simulated NVIDIA roots, RIMs matched), devices "
              + (devices.isEmpty()
                  ? "none"
                  : java.util.Arrays.stream(devices.split(","))
                      .map(x -> x.substring(0, 8))
                      .collect(java.util.stream.Collectors.joining(",")));
        }
      }
      throw new IllegalStateException("no audit entry for grant " + grantId);
    } finally {
      channel.shutdownNow();
    }
  }

  /** The chat request the demo sends through the signing proxy (exact bytes). */
  static byte[] chatRequest() throws IOException {
    ObjectNode body = JSON.createObjectNode().put("model", FakeLlm.MODEL);
    body.putArray("messages")
        .addObject()
        .put("role", "user")
        .put("content", "What does the KMS check before it " + "releases my keys?");
    return JSON.writeValueAsBytes(body);
  }

  /**
   * The demo app's app-compose.json as the demo writes it (its compose hash is what is allowed).
   */
  static byte[] appComposeFile() throws IOException {
    return (JSON.writerWithDefaultPrettyPrinter().writeValueAsString(appCompose()) + "\n")
        .getBytes(StandardCharsets.UTF_8);
  }

  static ObjectNode appCompose() {
    ObjectNode c = JSON.createObjectNode();
    c.put("manifest_version", 2);
    c.put("name", "teekms-demo-llm");
    c.put("runner", "docker-compose");
    c.put(
        "docker_compose_file",
        "services:\n  llm:\n    image: teekms/demo-fake-llm:0.1.0\n"
            + "    ports:\n      - \"127.0.0.1:8000:8000\"\n");
    // a complete dstack app-compose (every field of dstack's AppCompose, AppCompose.DSTACK_FIELDS)
    c.put("kms_enabled", true);
    c.put("gateway_enabled", false);
    c.put("local_key_provider_enabled", false);
    c.put("key_provider", "kms");
    c.put("key_provider_id", "");
    c.put("public_logs", false);
    c.put("public_sysinfo", true);
    c.put("public_tcbinfo", true);
    c.putArray("allowed_envs").add(TOKEN_VAR);
    c.put("no_instance_id", false);
    c.put("secure_time", true);
    return c;
  }

  private record Verification(List<String> args, int exit, String output) {}

  private Verification verifyResponse(Path response) {
    List<String> args =
        List.of(
            "verify",
            "response",
            "--report",
            exchangeDir.resolve("report.json").toString(),
            "--signature",
            exchangeDir.resolve("signature.json").toString(),
            "--request",
            exchangeDir.resolve("request.json").toString(),
            "--response",
            response.toString(),
            "--rpc-url",
            rpcUrl,
            "--chain-id",
            Long.toString(CHAIN_ID),
            "--registry",
            registry.address(),
            "--app",
            appId,
            "--nonce",
            nonceHex,
            "--collateral",
            exchangeDir.resolve("collateral").toString(),
            "--root-ca",
            exchangeDir.resolve("simulated-root-ca.pem").toString(),
            "--gpu-root",
            exchangeDir.resolve("simulated-gpu-root.pem").toString(),
            "--rims",
            exchangeDir.resolve("simulated-rims").toString(),
            "--rim-root",
            exchangeDir.resolve("simulated-rim-root.pem").toString(),
            "--no-ocsp",
            "--output",
            "json");
    return cli(args);
  }

  /** Runs a teekms command in this process; its JSON on stdout (else its stderr) is the output. */
  private static Verification cli(List<String> args) {
    StringWriter stdout = new StringWriter();
    StringWriter stderr = new StringWriter();
    var cli = TeeKmsCli.newCommandLine();
    cli.setOut(new PrintWriter(stdout, true));
    cli.setErr(new PrintWriter(stderr, true));
    int exit = cli.execute(args.toArray(String[]::new));
    String output = stdout.toString().isBlank() ? stderr.toString() : stdout.toString();
    return new Verification(args, exit, output);
  }

  /** Mines the blocks the KMS waits for before it reads a policy change. */
  private void confirm() throws IOException, InterruptedException {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create(rpcUrl))
                .header("Content-Type", "application/json")
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"anvil_mine\","
                            + "\"params\":[\"0x"
                            + Integer.toHexString(CONFIRMATIONS)
                            + "\"]}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200 || r.body().contains("\"error\"")) {
      throw new IOException("anvil_mine failed: " + r.body());
    }
    report.detail(
        "mined %d blocks so the change is %d confirmations deep (the KMS reads head - %d)",
        CONFIRMATIONS, CONFIRMATIONS, CONFIRMATIONS);
    // The KMS may still answer from a block it pinned just before (teekms.chain.pin-reuse); wait
    // that window out.
    Thread.sleep(PIN_REUSE.toMillis() + 250);
    report.detail(
        "waited %d ms for the KMS's block pin (teekms.chain.pin-reuse=%s) to move past the change",
        PIN_REUSE.toMillis() + 250, PIN_REUSE);
  }

  private static String tx(TxResult t) {
    return "tx " + t.txHash().substring(0, 12) + "... in block " + t.blockNumber();
  }

  private static byte[] sha256(byte[] b) {
    return Digests.sha256(b);
  }

  /**
   * {@code --custody} (docs/root-custody.md, docs/operations.md §11): the KMS backs generation 1 up
   * 2-of-3 to three custodians registered on chain before it serves; after the regular steps every
   * KMS node is destroyed (process stopped, database and sealed copies deleted), a fresh node
   * recovers the root from two custodians who each check its attestation and the owner's on-chain
   * authorization, and the app's CVM gets the same keys. Only public values are printed (addresses,
   * key ids, digests).
   */
  final class CustodyDemo {
    private static final int THRESHOLD = 2;
    private static final int CUSTODIANS = 3;
    private org.teekms.governance.RootCustody rootCustody;
    private Path store;
    private final List<Path> custodianKeys = new ArrayList<>();
    private String signingAddressBefore;
    private String rootAddressBefore;
    private int keyVersionBefore;

    /**
     * What the KMS is started with: custody on from the first start (the keys are measured into
     * RTMR3).
     */
    List<String> kmsSettings() {
      return List.of(
          "-Dteekms.custody.enabled=true",
          "-Dteekms.custody.contract-address=" + rootCustody.address(),
          "-Dteekms.custody.threshold=" + THRESHOLD,
          "-Dteekms.custody.store=" + store,
          "-Dteekms.custody.publication-check-interval=1s");
    }

    void deploy() throws Exception {
      Credentials operator = Credentials.create(OPERATOR_KEY);
      rootCustody =
          org.teekms.governance.RootCustody.deploy(chain, operator, registry.address())
              .withSigner(operator);
      report.detail(
          "RootCustody at %s, written only by the registry owner %s",
          rootCustody.address(), operator.getAddress());
      Path dir = Files.createDirectories(s.workDir().resolve("custodians"));
      store = Files.createDirectories(s.workDir().resolve("share-store"));
      String[] kinds = {"KMS_CLUSTER", "HSM", "OPERATOR"};
      for (int i = 1; i <= CUSTODIANS; i++) {
        Path key = dir.resolve("custodian-" + i + ".key");
        Verification keygen = cli(List.of("custody", "keygen", "--out", key.toString()));
        if (keygen.exit() != 0)
          throw new IllegalStateException("custody keygen failed: " + keygen.output());
        custodianKeys.add(key);
        JsonNode made = JSON.readTree(keygen.output());
        byte[] publicKey = HEX.parseHex(made.get("publicKey").asText().substring(2));
        report.detail(
            "custodian %d (%s): teekms custody keygen -> id %s; register-custodian: %s",
            i,
            kinds[i - 1],
            made.get("custodianId").asText(),
            tx(
                rootCustody.registerCustodian(
                    publicKey,
                    org.teekms.governance.RootCustody.Kind.valueOf(kinds[i - 1]),
                    "demo custodian " + i)));
      }
      report.detail(
          "share store (public; digests on chain): %s; the KMS will split every root %d-of-%d",
          store, THRESHOLD, CUSTODIANS);
      confirm(); // the KMS reads the custodian set CONFIRMATIONS blocks behind head
    }

    /**
     * While the first KMS waits (require-published): publish the backup it staged, as the registry
     * owner.
     */
    void publishFirstBackup() throws Exception {
      Path visible = store.resolve("generation-1");
      long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
      while (!Files.isDirectory(visible)) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException(
              "the KMS did not write generation 1's backup to " + store);
        }
        report.tick();
        Thread.sleep(500);
      }
      org.teekms.custody.RootBackup backup = new org.teekms.custody.BackupStore(store).read(1);
      report.detail(
          "the KMS split generation 1 %d-of-%d and waits for the owner to publish it",
          THRESHOLD, backup.shares().size());
      report.detail(
          "publish-backup --generation 1 (commitments digest %s): %s",
          HEX.formatHex(backup.commitments().digest()),
          tx(
              rootCustody.publishBackup(
                  1,
                  backup.commitments().encode(),
                  backup.shares().stream().map(x -> x.custodian().id()).toList(),
                  backup.envelopeDigests())));
      confirm();
      for (int i = 1; i <= CUSTODIANS; i++) {
        Verification check = cli(concat(custodianArgs(i), List.of()), "check-share");
        if (check.exit() != 0)
          throw new IllegalStateException("custodian " + i + ": " + check.output());
      }
      report.detail(
          "each custodian checked its share: teekms custody check-share -> valid (x%d)",
          CUSTODIANS);
    }

    void recordKeys() throws Exception {
      Path dir = Files.createDirectories(s.workDir().resolve("identity"));
      Path rootCa = Files.writeString(dir.resolve("root.pem"), tdx.rootCertificatePem());
      Path collateral = tdx.collateral().writeTo(dir.resolve("collateral"));
      Path ownerKey = Files.writeString(dir.resolve("owner.key"), OPERATOR_KEY.substring(2));
      Verification published =
          cli(
              List.of(
                  "kms",
                  "bootstrap",
                  "--kms",
                  "127.0.0.1:" + kmsPort,
                  "--root-ca",
                  rootCa.toString(),
                  "--collateral",
                  collateral.toString(),
                  "--out",
                  dir.resolve("out").toString(),
                  "--publish",
                  "--rpc-url",
                  rpcUrl,
                  "--chain-id",
                  Long.toString(CHAIN_ID),
                  "--registry",
                  registry.address(),
                  "--operator-key-file",
                  ownerKey.toString()));
      if (published.exit() != 0)
        throw new IllegalStateException("kms bootstrap --publish: " + published.output());
      report.detail(
          "teekms kms bootstrap --publish: generation 1's KMS root public key is on chain (what a "
              + "recovered root must match)");
      report.detail("add-compose-hash again (app owner): %s", tx(app.addComposeHash(composeHash)));
      confirm();
      SimulatedCvmAgent before = boot();
      try {
        var keys = before.agent().keys();
        signingAddressBefore = before.signingAddress();
        rootAddressBefore = keys.kmsRootAddress().toChecksumString();
        keyVersionBefore = keys.currentVersion();
      } finally {
        before.close();
      }
      report.detail(
          "app keys now: key version %d, response signing address %s, KMS root address %s",
          keyVersionBefore, signingAddressBefore, rootAddressBefore);
    }

    void destroy() throws Exception {
      kmsProcess.close();
      cleanup.remove(kmsProcess);
      Path data = s.workDir().resolve("kms");
      for (int attempt = 1; Files.exists(data); attempt++) {
        try (var files = Files.walk(data)) {
          for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList())
            Files.deleteIfExists(p);
        } catch (IOException stillClosing) {
          if (attempt == 10) throw stillClosing;
          Thread.sleep(500); // the embedded PostgreSQL may still be removing its files
        }
      }
      report.detail(
          "KMS stopped; %s deleted (embedded PostgreSQL with every sealed root copy, the sealing key "
              + "file): no node holds generation 1 any more",
          data);
      report.detail(
          "left: the chain (policy, custodians, the published backup, the KMS identity) and the public "
              + "share store %s",
          store);
    }

    void recover() throws Exception {
      kmsPort = ChildProcess.freePort();
      List<String> base = new ArrayList<>();
      for (String a : kmsBaseCommand) {
        base.add(
            a.startsWith("-Dquarkus.http.port=")
                ? "-Dquarkus.http.port=" + kmsPort
                : a.startsWith("-Dquarkus.http.ssl-port=")
                    ? "-Dquarkus.http.ssl-port=" + kmsPort
                    : a.startsWith("-Dquarkus.management.port=")
                        ? "-Dquarkus.management.port=" + ChildProcess.freePort()
                        : a.startsWith("-Dteekms.node-id=")
                            ? "-Dteekms.node-id=demo-kms-recovered"
                            : a);
      }
      Path data = s.workDir().resolve("kms-recovered");
      ChildProcess kms =
          ChildProcess.start(
              "kms-recovered",
              kmsCommand(base, data, List.of("-Dteekms.custody.recover-generation=1")),
              s.workDir().resolve("logs/kms-recovered.log"),
              s.workDir());
      cleanup.add(kms);
      kmsProcess = kms;
      report.detail(
          "fresh node: empty database, teekms.custody.recover-generation=1 (measured into RTMR3) (log: %s)",
          kms.log());
      kms.awaitLog(
          "recovering root generation 1 from its custodians", Duration.ofMinutes(3), report::tick);
      kms.awaitPort(kmsPort, Duration.ofSeconds(30), report::tick);
      Path dir = Files.createDirectories(s.workDir().resolve("recovery"));
      Path nodePem = dir.resolve("node.pem");
      Verification status =
          cli(
              List.of(
                  "custody",
                  "recovery-status",
                  "--node",
                  "127.0.0.1:" + kmsPort,
                  "--cert-out",
                  nodePem.toString()));
      JsonNode st = JSON.readTree(status.output());
      report.detail(
          "teekms custody recovery-status: %s, node key id %s",
          st.path("state").asText("?"), st.path("nodeKeyId").asText("?"));
      X509Certificate cert = Pem.certificates(Files.readAllBytes(nodePem)).get(0);
      RaTlsIdentity node =
          RaTlsVerifier.builder(
                  new DcapQuoteVerifier(tdx.rootCertificate()), tdx.collateralSource())
              .quotePolicy(QuotePolicy.builder().build())
              .clock(clock)
              .build()
              .verify(cert);
      report.detail(
          "its RA-TLS certificate verifies; mrAggregated %s (differs from the lost node's: the recovery "
              + "setting is measured)",
          node.mrAggregated().hex());
      report.detail(
          "add-kms-measurement: %s",
          tx(registry.addKmsMeasurement(node.mrAggregated().toByteArray())));
      allow(
          registry.kmsDevices(),
          node.deviceId().toByteArray(),
          "add-kms-device",
          () -> registry.addKmsDevice(node.deviceId().toByteArray()));
      byte[] image =
          node.provenOsImageHash().or(node::osImageHash).map(b -> b.toByteArray()).orElseThrow();
      allow(registry.osImages(), image, "add-os-image", () -> registry.addOsImage(image));
      byte[] nodeKeyId = org.teekms.custody.RecipientKey.of(cert.getPublicKey()).id();
      var authorized = rootCustody.authorizeRecovery(1, nodeKeyId, 1000);
      String request = "0x" + HEX.formatHex(authorized.requestId().toByteArray());
      report.detail(
          "authorize-recovery --generation 1 for node key %s: request %s",
          HEX.formatHex(nodeKeyId), request);
      confirm();
      Path rootCa = Files.writeString(dir.resolve("root.pem"), tdx.rootCertificatePem());
      Path collateral = tdx.collateral().writeTo(dir.resolve("collateral"));
      for (int i : new int[] {1, 3}) {
        Verification released =
            cli(
                concat(
                    custodianArgs(i),
                    List.of(
                        "--registry",
                        registry.address(),
                        "--request",
                        request,
                        "--collateral",
                        collateral.toString(),
                        "--root-ca",
                        rootCa.toString(),
                        "--mr-system",
                        node.mrSystem().hex(),
                        "--to-node",
                        "127.0.0.1:" + kmsPort)),
                "release");
        if (released.exit() != 0)
          throw new IllegalStateException("custodian " + i + " release: " + released.output());
        JsonNode after = JSON.readTree(released.output()).path("nodeStatus");
        report.detail(
            "custodian %d: teekms custody release --to-node (checked the node's attestation, its OS, the "
                + "authorization, the registry) -> node %s: %s",
            i, after.path("state").asText("?"), after.path("detail").asText(""));
      }
      kms.awaitLog("KMS 'teekms-demo' ready", Duration.ofMinutes(3), report::tick);
      report.detail(
          "custodian 2 never took part; the root was rebuilt only inside the node, checked against the "
              + "published KMS root key, sealed under the new node's sealing key and audited (ROOT_CUSTODY recovered)");
    }

    void sameKeys() throws Exception {
      SimulatedCvmAgent after = boot();
      cleanup.add(after);
      var keys = after.agent().keys();
      String rootAddress = keys.kmsRootAddress().toChecksumString();
      report.detail(
          "after recovery: key version %d, response signing address %s, KMS root address %s",
          keys.currentVersion(), after.signingAddress(), rootAddress);
      if (!after.signingAddress().equalsIgnoreCase(signingAddressBefore)
          || !rootAddress.equals(rootAddressBefore)
          || keys.currentVersion() != keyVersionBefore) {
        throw new IllegalStateException(
            "the recovered KMS derives other keys: signing address "
                + signingAddressBefore
                + " -> "
                + after.signingAddress()
                + ", root "
                + rootAddressBefore
                + " -> "
                + rootAddress);
      }
      report.detail(
          "identical to before the loss: every app key is derived from the recovered root");
    }

    private void allow(List<byte[]> allowed, byte[] value, String what, GovernanceCall add)
        throws Exception {
      for (byte[] a : allowed) {
        if (MessageDigest.isEqual(a, value)) {
          report.detail("%s %s: already allowed", what, HEX.formatHex(value));
          return;
        }
      }
      report.detail("%s %s: %s", what, HEX.formatHex(value), tx(add.call()));
    }

    private List<String> custodianArgs(int index) {
      return List.of(
          "--rpc-url",
          rpcUrl,
          "--chain-id",
          Long.toString(CHAIN_ID),
          "--custody",
          rootCustody.address(),
          "--key-file",
          custodianKeys.get(index - 1).toString(),
          "--store",
          store.toString(),
          "--generation",
          "1",
          "--index",
          Integer.toString(index));
    }

    private Verification cli(List<String> args, String subcommand) {
      List<String> all = new ArrayList<>(List.of("custody", subcommand));
      all.addAll(args);
      return DemoRun.cli(all);
    }

    private Verification cli(List<String> args) {
      return DemoRun.cli(args);
    }

    private List<String> concat(List<String> a, List<String> b) {
      List<String> out = new ArrayList<>(a);
      out.addAll(b);
      return out;
    }
  }

  @FunctionalInterface
  private interface GovernanceCall {
    TxResult call() throws GovernanceException;
  }
}
