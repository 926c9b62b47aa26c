package org.teekms.kms.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.grpc.ManagedChannel;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.teekms.agent.RunningAgent;
import org.teekms.agent.api.GuestApi;
import org.teekms.agent.boot.AgentBoot;
import org.teekms.agent.boot.AppCompose;
import org.teekms.agent.boot.Backoff;
import org.teekms.agent.boot.BootFailure;
import org.teekms.agent.boot.CvmIdentity;
import org.teekms.agent.boot.KmsAuthorizer;
import org.teekms.attest.eventlog.EventLogEntry;
import org.teekms.attest.provider.RuntimeEventLog;
import org.teekms.attest.ratls.RaTlsContexts;
import org.teekms.attest.ratls.RaTlsTrustManager;
import org.teekms.attest.ratls.RaTlsVerifier;
import org.teekms.attest.sim.SimulatedCvm;
import org.teekms.attest.sim.SimulatedTdx;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.QuotePolicy;
import org.teekms.crypto.Bytes;
import org.teekms.keys.AppId;
import org.teekms.keys.EthereumAddress;
import org.teekms.keys.InstanceId;
import org.teekms.proto.GetKmsInfoRequest;
import org.teekms.proto.KmsInfo;
import org.teekms.proto.KmsInfoServiceGrpc;

/**
 * The real guest agent ({@code org.teekms.agent.boot.AgentBoot}: RTMR3 measurement, RA-TLS
 * certificate, GetAppKeys over mutual RA-TLS with KMS authorization, key checks) boots in a
 * simulated CVM against this server (simulated TDX from the shared seed, embedded PostgreSQL, fake
 * chain policy).
 */
@QuarkusTest
@TestProfile(RaTlsProfile.class)
@QuarkusTestResource(EmbeddedPostgresResource.class)
class GuestAgentBootTest {
  private static final Clock CLOCK = Clock.systemUTC();
  private static SimulatedTdx tdx;

  @BeforeAll
  static void platform() {
    tdx =
        SimulatedTdx.enableSeeded(
            "GuestAgentBootTest", CLOCK, HexFormat.of().parseHex(RaTlsProfile.SEED));
  }

  @AfterAll
  static void clear() {
    FakeChainPolicy.ALLOWED.clear();
  }

  private static RaTlsVerifier.Builder kmsVerifier() {
    return RaTlsVerifier.builder(
            new DcapQuoteVerifier(tdx.rootCertificate()), tdx.collateralSource())
        .quotePolicy(QuotePolicy.builder().build())
        .clock(CLOCK);
  }

  private static String compose(String name, Optional<EthereumAddress> pin) {
    return "{\"name\":\""
        + name
        + "\",\"runner\":\"docker-compose\",\"key_provider\":\"kms\""
        + pin.map(a -> ",\"key_provider_id\":\"" + HexFormat.of().formatHex(a.toBytes()) + "\"")
            .orElse("")
        + "}";
  }

  /** App id = first 20 bytes of the compose hash: what FakeChainPolicy registers. */
  private static RunningAgent boot(String compose, KmsAuthorizer.KmsRegistry registry)
      throws BootFailure {
    AppCompose c = AppCompose.parse(compose.getBytes(StandardCharsets.UTF_8));
    byte[] instance = new byte[20];
    instance[19] = 9;
    CvmIdentity id =
        new CvmIdentity(
            AppId.of(Arrays.copyOf(c.composeHash().toByteArray(), 20)),
            InstanceId.of(instance),
            Bytes.copyOf(new byte[32]),
            c);
    SimulatedCvm cvm = tdx.newCvm(new byte[48], false);
    return AgentBoot.boot(
        id,
        cvm,
        new RuntimeEventLog(cvm, List.of()),
        null,
        kmsVerifier(),
        registry,
        new AgentBoot.Settings(
            "127.0.0.1",
            RaTlsProfile.PORT,
            new Backoff(Duration.ofMillis(100), Duration.ofSeconds(1), 3),
            Duration.ofSeconds(30),
            Duration.ofHours(1)),
        CLOCK,
        d -> {});
  }

  private static void allow(String compose) {
    FakeChainPolicy.ALLOWED.add(
        HexFormat.of()
            .formatHex(
                AppCompose.parse(compose.getBytes(StandardCharsets.UTF_8))
                    .composeHash()
                    .toByteArray()));
  }

  /**
   * The KMS root address, from GetKmsInfo over TLS (no client certificate), verifying the KMS's
   * RA-TLS cert.
   */
  private static EthereumAddress kmsRoot() throws Exception {
    ManagedChannel ch =
        NettyChannelBuilder.forAddress("127.0.0.1", RaTlsProfile.PORT)
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
      KmsInfo info =
          KmsInfoServiceGrpc.newBlockingStub(ch)
              .withDeadlineAfter(30, TimeUnit.SECONDS)
              .getKmsInfo(GetKmsInfoRequest.getDefaultInstance());
      return EthereumAddress.of(info.getGenerations(0).getRootAddress().toByteArray());
    } finally {
      ch.shutdownNow();
    }
  }

  @Test
  void theAgentBootsAgainstTheRealServerPinnedOrRegistered() throws Exception {
    EthereumAddress root = kmsRoot();
    String pinned = compose("agent-pinned", Optional.of(root));
    allow(pinned);
    String kmsMeasurement;
    try (RunningAgent agent = boot(pinned, KmsAuthorizer.KmsRegistry.NONE)) {
      assertEquals(root, agent.keys().kmsRootAddress());
      assertEquals(1, agent.keys().currentVersion());
      assertEquals(
          "system-ready",
          agent.eventLog().entries().get(agent.eventLog().entries().size() - 1).name());
      assertEquals(
          List.of(
              "system-preparing",
              "app-id",
              "compose-hash",
              "instance-id",
              "boot-mr-done",
              "os-image-hash",
              "key-provider",
              "system-ready"),
          agent.eventLog().entries().stream().map(EventLogEntry::name).toList());
      ObjectNode req = JsonNodeFactory.instance.objectNode();
      req.put("path", "wallet/0");
      req.put("purpose", "signing");
      ObjectNode key = new GuestApi(agent).handle("GetKey", req);
      assertEquals(64, key.get("key").asText().length());
      assertEquals(root.toChecksumString(), key.get("kms_root_address").asText());
      kmsMeasurement = agent.kmsIdentity().orElseThrow().mrAggregated().hex();
      // GetTlsKey goes through the server's SignCert; the agent checks the issuer against its
      // released app CA key
      ObjectNode tlsReq = JsonNodeFactory.instance.objectNode();
      tlsReq.put("subject", "llm.example");
      tlsReq.putArray("alt_names").add("llm.example");
      ObjectNode tls = new GuestApi(agent).handle("GetTlsKey", tlsReq);
      assertTrue(tls.get("key").asText().startsWith("-----BEGIN PRIVATE KEY-----"));
      java.security.cert.X509Certificate leaf =
          (java.security.cert.X509Certificate)
              java.security.cert.CertificateFactory.getInstance("X.509")
                  .generateCertificate(
                      new java.io.ByteArrayInputStream(
                          tls.get("certificate_chain")
                              .get(0)
                              .asText()
                              .getBytes(StandardCharsets.US_ASCII)));
      assertTrue(leaf.getSubjectAlternativeNames().toString().contains("llm.example"));
    }
    // the other way to trust the KMS: its measurement is registered
    String registered = compose("agent-registered", Optional.empty());
    allow(registered);
    try (RunningAgent agent =
        boot(
            registered,
            KmsAuthorizer.KmsRegistry.allowing(
                Set.of(org.teekms.crypto.Bytes.fromHex(kmsMeasurement))))) {
      assertEquals(root, agent.keys().kmsRootAddress());
    }
  }

  @Test
  void denialsAndAWrongPinFailTheBootWithTheirReasons() throws Exception {
    EthereumAddress root = kmsRoot();
    // the app is registered, but with another compose hash: the server denies, the agent does not
    // retry
    String edited = compose("agent-denied", Optional.of(root));
    String editedHash =
        HexFormat.of()
            .formatHex(
                AppCompose.parse(edited.getBytes(StandardCharsets.UTF_8))
                    .composeHash()
                    .toByteArray());
    FakeChainPolicy.ALLOWED.add(editedHash.substring(0, 40) + "00".repeat(12));
    BootFailure denied =
        assertThrows(BootFailure.class, () -> boot(edited, KmsAuthorizer.KmsRegistry.NONE));
    assertEquals("COMPOSE_HASH_NOT_ALLOWED", denied.reason(), denied.getMessage());
    BootFailure unknown =
        assertThrows(
            BootFailure.class,
            () ->
                boot(
                    compose("agent-unregistered", Optional.of(root)),
                    KmsAuthorizer.KmsRegistry.NONE));
    assertEquals("APP_NOT_REGISTERED", unknown.reason(), unknown.getMessage());
    // a pin to another KMS root: the released keys are refused
    String wrongPin = compose("agent-wrong-pin", Optional.of(EthereumAddress.of(new byte[20])));
    allow(wrongPin);
    BootFailure rejected =
        assertThrows(BootFailure.class, () -> boot(wrongPin, KmsAuthorizer.KmsRegistry.NONE));
    assertEquals("KMS_RESPONSE_REJECTED", rejected.reason(), rejected.getMessage());
  }
}
