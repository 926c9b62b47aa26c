package org.teekms.kms.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.teekms.agent.RunningAgent;
import org.teekms.agent.boot.AgentBoot;
import org.teekms.agent.boot.AppCompose;
import org.teekms.agent.boot.Backoff;
import org.teekms.agent.boot.BootFailure;
import org.teekms.agent.boot.CvmIdentity;
import org.teekms.agent.boot.KmsAuthorizer;
import org.teekms.attest.provider.RuntimeEventLog;
import org.teekms.attest.ratls.RaTlsContexts;
import org.teekms.attest.ratls.RaTlsTrustManager;
import org.teekms.attest.ratls.RaTlsVerifier;
import org.teekms.attest.sim.SimulatedCvm;
import org.teekms.attest.sim.SimulatedTdx;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.QuotePolicy;
import org.teekms.crypto.Bytes;
import org.teekms.governance.AppPolicy;
import org.teekms.governance.ChainClient;
import org.teekms.governance.KmsRegistry;
import org.teekms.governance.testing.AnvilNode;
import org.teekms.keys.AppId;
import org.teekms.keys.EthereumAddress;
import org.teekms.keys.InstanceId;
import org.teekms.kms.audit.AuditEntry;
import org.teekms.kms.audit.AuditLog;
import org.teekms.proto.GetKmsInfoRequest;
import org.teekms.proto.KmsInfoServiceGrpc;
import org.web3j.crypto.Credentials;
import org.web3j.utils.Numeric;

/**
 * Issue 13's attack end to end: the real guest agent in simulated CVMs, the real KMS over mutual
 * RA-TLS, its admission against a KmsRegistry on a real local chain (anvil), audited in real
 * PostgreSQL. An attacker TD with its own firmware and kernel (other MRTD and RTMR1-2) that
 * measures a victim's app id, compose hash and allowed OS image into RTMR3 is denied
 * OS_IMAGE_MEASUREMENT_MISMATCH and the denial is audited; the same app booted from the image whose
 * golden mrSystem the owner registered gets its keys.
 */
@QuarkusTest
@TestProfile(RotationProfile.class)
@QuarkusTestResource(value = AnvilRegistryResource.class, restrictToAnnotatedClass = true)
class OsImageMeasurementRaTlsTest {
  private static final Clock CLOCK = Clock.systemUTC();
  private static final byte[] OS_IMAGE = filled(32, 0x05);
  private static SimulatedTdx tdx;

  @Inject AuditLog audit;

  static byte[] filled(int n, int v) {
    byte[] b = new byte[n];
    Arrays.fill(b, (byte) v);
    return b;
  }

  @BeforeAll
  static void platform() {
    tdx =
        SimulatedTdx.enableSeeded(
            "OsImageMeasurementRaTlsTest", CLOCK, HexFormat.of().parseHex(RaTlsProfile.SEED));
  }

  private static RaTlsVerifier.Builder kmsVerifier() {
    return RaTlsVerifier.builder(
            new DcapQuoteVerifier(tdx.rootCertificate()), tdx.collateralSource())
        .quotePolicy(QuotePolicy.builder().build())
        .clock(CLOCK);
  }

  private static EthereumAddress kmsRoot() throws Exception {
    ManagedChannel ch =
        NettyChannelBuilder.forAddress("127.0.0.1", RotationProfile.PORT)
            .overrideAuthority("kms.teekms.invalid")
            .sslContext(
                GrpcSslContexts.configure(
                        SslContextBuilder.forClient()
                            .trustManager(
                                RaTlsContexts.trustManagerFactory(
                                    new RaTlsTrustManager(kmsVerifier().build()))),
                        SslProvider.JDK)
                    .build())
            .build();
    try {
      return EthereumAddress.of(
          KmsInfoServiceGrpc.newBlockingStub(ch)
              .withDeadlineAfter(30, TimeUnit.SECONDS)
              .getKmsInfo(GetKmsInfoRequest.getDefaultInstance())
              .getGenerations(0)
              .getRootAddress()
              .toByteArray());
    } finally {
      ch.shutdownNow();
    }
  }

  /** The real guest agent, in a CVM whose firmware measured {@code image} (MRTD {@code mrTd}). */
  private static RunningAgent boot(String appId, AppCompose compose, byte[] mrTd, String image)
      throws BootFailure {
    SimulatedCvm cvm = tdx.newCvm(mrTd, false);
    RuntimeEventLog log = new RuntimeEventLog(cvm, cvm.measureFirmware(image));
    CvmIdentity id =
        new CvmIdentity(
            AppId.of(Numeric.hexStringToByteArray(appId)),
            InstanceId.of(filled(20, 0x09)),
            Bytes.copyOf(OS_IMAGE),
            compose);
    return AgentBoot.boot(
        id,
        cvm,
        log,
        null,
        kmsVerifier(),
        KmsAuthorizer.KmsRegistry.NONE,
        new AgentBoot.Settings(
            "127.0.0.1",
            RotationProfile.PORT,
            new Backoff(Duration.ofMillis(100), Duration.ofSeconds(1), 3),
            Duration.ofSeconds(30),
            Duration.ofHours(1)),
        CLOCK,
        d -> {});
  }

  /**
   * SHA-256(MRTD ‖ RTMR0-2) of a reference boot of {@code image}: what the owner registers as
   * golden.
   */
  private static byte[] referenceMrSystem(String image) {
    SimulatedCvm reference = tdx.newCvm(new byte[48], false);
    reference.measureFirmware(image);
    return reference.mrSystem();
  }

  @Test
  void aForgedIdentityOnAnotherKernelIsDeniedAndAuditedTheRightImageIsAdmitted() throws Exception {
    var config = ConfigProvider.getConfig();
    Path keys = Path.of(config.getValue("rotation-it.keys-dir", String.class));
    Credentials owner = Credentials.create(Files.readString(keys.resolve("owner.key")).trim());
    String compose =
        "{\"name\":\"victim\",\"runner\":\"docker-compose\",\"key_provider\":\"kms\","
            + "\"key_provider_id\":\""
            + HexFormat.of().formatHex(kmsRoot().toBytes())
            + "\"}";
    AppCompose parsed = AppCompose.parse(compose.getBytes(StandardCharsets.UTF_8));
    String appId;
    try (ChainClient chain =
        ChainClient.connect(
            config.getValue("teekms.chain.rpc-url", String.class), AnvilNode.CHAIN_ID)) {
      KmsRegistry registry =
          KmsRegistry.at(
              chain, config.getValue("teekms.chain.registry-address", String.class), owner);
      appId = registry.registerApp(owner.getAddress()).appId();
      AppPolicy app = AppPolicy.at(chain, appId, owner);
      app.addComposeHash(parsed.composeHash().toByteArray());
      app.setAllowAnyDevice(true);
      registry.addOsImage(OS_IMAGE);
      registry.addOsImageMeasurement(OS_IMAGE, referenceMrSystem(SimulatedCvm.DEFAULT_IMAGE));
    }
    // The KMS reuses one pinned block for teekms.chain.pin-reuse (1 s): let it pin a block that has
    // the changes.
    Thread.sleep(1_250);

    // the attacker: any up-to-date TD, its own firmware and kernel, the victim's identity in RTMR3
    BootFailure denied =
        assertThrows(
            BootFailure.class, () -> boot(appId, parsed, filled(48, 0x66), "ATTACKER").close());
    assertEquals("OS_IMAGE_MEASUREMENT_MISMATCH", denied.reason(), denied.getMessage());
    assertTrue(
        denied.getMessage().contains("OS image 0x" + HexFormat.of().formatHex(OS_IMAGE)),
        denied.getMessage());
    assertTrue(denied.getMessage().contains("MRTD 66666666…"), denied.getMessage());

    List<AuditEntry> trail =
        audit
            .list(AppId.fromHex(appId), 0, Long.MAX_VALUE, 0, 100)
            .await()
            .atMost(Duration.ofSeconds(10));
    AuditEntry denial =
        trail.stream()
            .filter(e -> e.reason().equals("OS_IMAGE_MEASUREMENT_MISMATCH"))
            .findFirst()
            .orElseThrow(() -> new AssertionError("denial not audited: " + trail));
    assertEquals("DENY_APP_KEYS", denial.kind());
    assertTrue(denial.detailJson().contains("OS image measurement mismatch"), denial.detailJson());
    assertTrue(denial.detailJson().contains("mrSystem"), denial.detailJson());

    // the same app booted from the registered image is admitted
    try (RunningAgent agent = boot(appId, parsed, new byte[48], SimulatedCvm.DEFAULT_IMAGE)) {
      assertEquals(1, agent.keys().currentVersion());
    }
  }
}
