package org.teekms.cli.demo;

import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Set;
import org.teekms.agent.TestKms;
import org.teekms.agent.boot.AppCompose;
import org.teekms.agent.boot.CvmIdentity;
import org.teekms.agent.boot.KmsAuthorizer;
import org.teekms.attest.gpu.GpuSimulator;
import org.teekms.attest.gpu.SimulatedGpuEvidenceProvider;
import org.teekms.attest.ratls.SimulatedRaTls;
import org.teekms.attest.sim.SimulatedTdx;
import org.teekms.crypto.Bytes;
import org.teekms.governance.ComposeHash;
import org.teekms.keys.AppId;
import org.teekms.keys.InstanceId;

/**
 * The demo's signed exchange, made in this JVM by the demo's own code: the demo's app-compose, OS
 * image and chat request; its CVM ({@link SimulatedCvmAgent}: the real guest agent boot, RTMR3
 * measurements, mutual RA-TLS key fetch, the real signing proxy) in front of its fake model; and
 * {@link DemoExchange#capture}, the code of the demo's chat step, which writes {@value
 * DemoExchange#FILE}. Two things differ from {@code ./teekms demo}: the KMS is the guest agent's
 * in-process {@link TestKms} (same key derivation, no PostgreSQL or chain admission: the tests that
 * use this set the on-chain policy themselves) and the CVM has {@code gpus} simulated GPUs (the
 * demo has eight).
 */
public final class DemoExchangeFixture {
  private DemoExchangeFixture() {}

  /** The demo's OS image hash, which the tests allow on chain. */
  public static final byte[] OS_IMAGE = DemoRun.OS_IMAGE.clone();

  /**
   * What was made: the saved exchange, the compose hash and golden mrSystem to allow on chain, and
   * the CVM's GPUs (to make evidence for another nonce).
   */
  public record Made(
      DemoExchange.Saved saved, byte[] composeHash, byte[] mrSystem, GpuSimulator gpus) {}

  /** The compose hash of the demo's app-compose.json: allow it on chain before verifying. */
  public static byte[] composeHash() throws Exception {
    return ComposeHash.of(DemoRun.appComposeFile());
  }

  /** The golden mrSystem of the demo's OS image on the test platform. */
  public static byte[] mrSystem() {
    return SimulatedCvmAgent.referenceMrSystem(SimulatedRaTls.TDX);
  }

  /**
   * Boots the demo's CVM as app {@code app} and runs the demo's chat step against it; the exchange
   * folder is {@code dir/exchange}.
   *
   * @param rpcUrl, chainId, registry the chain a verifier should read the app's policy from
   */
  public static Made make(
      Path dir, String app, String rpcUrl, long chainId, String registry, int gpus)
      throws Exception {
    Files.createDirectories(dir);
    SimulatedTdx tdx = SimulatedRaTls.TDX;
    SecureRandom rnd = new SecureRandom();
    byte[] compose = DemoRun.appComposeFile();
    byte[] composeHash = ComposeHash.of(compose);
    byte[] mrSystem = SimulatedCvmAgent.referenceMrSystem(tdx);
    GpuSimulator gpu = GpuSimulator.create(gpus, rnd);
    byte[] instance = new byte[20];
    rnd.nextBytes(instance);
    CvmIdentity identity =
        new CvmIdentity(
            AppId.fromHex(app),
            InstanceId.fromHex(HexFormat.of().formatHex(instance)),
            org.teekms.crypto.Bytes.copyOf(OS_IMAGE),
            AppCompose.parse(compose));
    try (TestKms kms = new TestKms("{\"name\":\"kms\"}");
        FakeLlm llm = FakeLlm.start()) {
      kms.allow(identity.appId(), identity.compose().composeHash().toByteArray());
      try (SimulatedCvmAgent cvm =
          SimulatedCvmAgent.boot(
              tdx,
              identity,
              kms.port(),
              KmsAuthorizer.KmsRegistry.allowing(Set.of(kms.identity.mrAggregated())),
              llm.port(),
              dir.resolve("cvm.sock"),
              Clock.systemUTC(),
              SimulatedGpuEvidenceProvider.of(gpu))) {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        DemoExchange.Saved saved =
            DemoExchange.capture(
                http,
                URI.create("http://127.0.0.1:" + cvm.proxyPort()),
                DemoRun.chatRequest(),
                dir.resolve("exchange"),
                new DemoExchange.Expected(
                    rpcUrl,
                    chainId,
                    registry,
                    app,
                    Bytes.copyOf(composeHash),
                    Bytes.copyOf(OS_IMAGE),
                    Bytes.copyOf(mrSystem),
                    true),
                tdx,
                gpu);
        return new Made(saved, composeHash, mrSystem, gpu);
      }
    }
  }
}
