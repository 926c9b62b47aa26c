package org.teekms.kms.app;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.teekms.attest.ratls.RaTlsCertificateFactory;
import org.teekms.attest.ratls.RaTlsContexts;
import org.teekms.attest.ratls.RaTlsCredentials;
import org.teekms.attest.ratls.RaTlsKeyManager;
import org.teekms.attest.ratls.RaTlsTrustManager;
import org.teekms.attest.ratls.RaTlsVerifier;
import org.teekms.attest.sim.SimulatedCvm;
import org.teekms.attest.sim.SimulatedTdx;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.QuotePolicy;
import org.teekms.kms.grpc.GrpcErrors;
import org.teekms.proto.AuditorGrpc;
import org.teekms.proto.GetAppKeysRequest;
import org.teekms.proto.GetAppKeysResponse;
import org.teekms.proto.GetKmsInfoRequest;
import org.teekms.proto.KmsGrpc;
import org.teekms.proto.KmsInfo;
import org.teekms.proto.KmsInfoServiceGrpc;
import org.teekms.proto.VerifyAuditChainRequest;

/**
 * Simulated CVMs call the real server over mutual RA-TLS (grpc-java Netty client, as a guest agent
 * would): the KMS verifies the CVM's quote and event log in the handshake, the CVM verifies the
 * KMS's; then the admission decides.
 */
@QuarkusTest
@TestProfile(RaTlsProfile.class)
@QuarkusTestResource(EmbeddedPostgresResource.class)
class KmsRaTlsTest {

  @jakarta.inject.Inject io.micrometer.core.instrument.MeterRegistry metrics;

  private static SimulatedTdx tdx;
  private static RaTlsTrustManager clientTrust;

  @BeforeAll
  static void platform() {
    Clock clock = Clock.systemUTC();
    tdx =
        SimulatedTdx.enableSeeded(
            "KmsRaTlsTest client side", clock, HexFormat.of().parseHex(RaTlsProfile.SEED));
    clientTrust =
        new RaTlsTrustManager(
            RaTlsVerifier.builder(
                    new DcapQuoteVerifier(tdx.rootCertificate()), tdx.collateralSource())
                .quotePolicy(QuotePolicy.builder().build())
                .clock(clock)
                .build());
  }

  @AfterAll
  static void clear() {
    FakeChainPolicy.ALLOWED.clear();
  }

  private static String compose(String name) {
    return "services:\n  " + name + ": {image: model}\n";
  }

  /**
   * A booted simulated CVM running {@code compose}, instance {@code instance}, and a channel to the
   * KMS from it.
   */
  private static ManagedChannel channelFrom(String compose, int instance, boolean debug)
      throws Exception {
    return channelFrom(compose, instance, debug, null);
  }

  /**
   * As above, the host launching the TD with this MRCONFIGID (null: dstack's 0x01 ‖ compose hash).
   */
  private static ManagedChannel channelFrom(
      String compose, int instance, boolean debug, byte[] mrConfigId) throws Exception {
    byte[] instanceId = new byte[20];
    instanceId[19] = (byte) instance;
    SimulatedCvm launched = tdx.newCvm(new byte[48], debug);
    if (mrConfigId != null) {
      launched.launchWithMrConfigId(mrConfigId);
    }
    SimulatedCvm cvm = launched.boot(SimulatedCvm.App.ofCompose(compose, instanceId));
    RaTlsCredentials creds =
        new RaTlsCertificateFactory(
                cvm, cvm.eventLog(), null, Clock.systemUTC(), Duration.ofHours(1))
            .create("cvm");
    SslContext ssl =
        GrpcSslContexts.configure(
                SslContextBuilder.forClient()
                    .keyManager(RaTlsContexts.keyManagerFactory(new RaTlsKeyManager(creds)))
                    .trustManager(RaTlsContexts.trustManagerFactory(clientTrust)),
                SslProvider.JDK)
            .build();
    return NettyChannelBuilder.forAddress("127.0.0.1", RaTlsProfile.PORT)
        .overrideAuthority("kms.teekms.invalid")
        .sslContext(ssl)
        .build();
  }

  private static String composeHashHex(String compose) {
    return HexFormat.of()
        .formatHex(SimulatedCvm.App.ofCompose(compose, new byte[20]).composeHash().toByteArray());
  }

  private static GetAppKeysResponse getKeys(ManagedChannel ch) {
    return KmsGrpc.newBlockingStub(ch)
        .withDeadlineAfter(30, TimeUnit.SECONDS)
        .getAppKeys(GetAppKeysRequest.getDefaultInstance());
  }

  @Test
  void admittedCvmGetsItsKeysAndAnotherInstanceItsOwnDiskKey() throws Exception {
    String compose = compose("llm");
    FakeChainPolicy.ALLOWED.add(composeHashHex(compose));
    ManagedChannel a = channelFrom(compose, 1, false);
    ManagedChannel b = channelFrom(compose, 2, false);
    java.util.List<java.util.logging.LogRecord> logged =
        new java.util.concurrent.CopyOnWriteArrayList<>();
    java.util.logging.Handler capture =
        new java.util.logging.Handler() {
          @Override
          public void publish(java.util.logging.LogRecord r) {
            if (r instanceof org.jboss.logmanager.ExtLogRecord ext) {
              ext.copyAll(); // MDC is captured lazily: snapshot it while the KMS thread still
              // holds it
            }
            logged.add(r);
          }

          @Override
          public void flush() {}

          @Override
          public void close() {}
        };
    java.util.logging.Logger serviceLog =
        java.util.logging.Logger.getLogger("org.teekms.kms.grpc.KmsService");
    serviceLog.addHandler(capture);
    try {
      GetAppKeysResponse ka = getKeys(a);
      // The decision is logged with structured fields (MDC), ids only.
      org.jboss.logmanager.ExtLogRecord granted =
          logged.stream()
              .map(r -> (org.jboss.logmanager.ExtLogRecord) r)
              .filter(r -> ka.getGrantId().equals(r.getMdc("grant")))
              .findFirst()
              .orElseThrow();
      assertEquals("GetAppKeys", granted.getMdc("event"));
      assertEquals("granted", granted.getMdc("result"));
      assertEquals(
          "0x" + java.util.HexFormat.of().formatHex(ka.getAppId().toByteArray()),
          granted.getMdc("app"));
      GetAppKeysResponse kb = getKeys(b);
      assertEquals(1, ka.getKeysCount());
      assertEquals(7, ka.getPolicyBlock().getNumber());
      assertFalse(ka.getGrantId().isEmpty());
      assertArrayEquals(
          ka.getKeys(0).getAppRootSecret().toByteArray(),
          kb.getKeys(0).getAppRootSecret().toByteArray());
      assertFalse(ka.getKeys(0).getDiskKey().equals(kb.getKeys(0).getDiskKey()));
      KmsInfo info =
          KmsInfoServiceGrpc.newBlockingStub(a).getKmsInfo(GetKmsInfoRequest.getDefaultInstance());
      assertEquals("kms-ratls-it", info.getKmsId());
      assertTrue(
          AuditorGrpc.newBlockingStub(a)
              .verifyAuditChain(VerifyAuditChainRequest.getDefaultInstance())
              .getValid());
      // Both CVMs' certificates were verified in full (an accepted verification each), and the
      // second instance of the
      // app was served from the version-key cache.
      assertTrue(
          metrics.find("teekms.attestation.verify").tag("result", "accepted").timer().count() >= 2);
      assertTrue(
          metrics
                  .find("teekms.cache.requests")
                  .tag("cache", "version-keys")
                  .tag("result", "hit")
                  .functionCounter()
                  .count()
              >= 1);
    } finally {
      serviceLog.removeHandler(capture);
      a.shutdownNow();
      b.shutdownNow();
    }
  }

  @Test
  void otherComposeOfARegisteredAppIsDeniedWithItsReason() throws Exception {
    String compose = compose("registered");
    FakeChainPolicy.ALLOWED.add(composeHashHex(compose));
    // Same app id (first 20 bytes of the hash) is what the registry keys on; here a foreign compose
    // has another id,
    // so register the foreign app id with a different allowed hash to get a compose-hash denial.
    String foreign = compose("tampered");
    String foreignHash = composeHashHex(foreign);
    FakeChainPolicy.ALLOWED.add(foreignHash.substring(0, 40) + "00".repeat(12));
    ManagedChannel ch = channelFrom(foreign, 3, false);
    try {
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> getKeys(ch));
      assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
      assertEquals("COMPOSE_HASH_NOT_ALLOWED", e.getTrailers().get(GrpcErrors.DENY_REASON));
      assertTrue(
          e.getStatus().getDescription().contains("block 7"), e.getStatus().getDescription());
    } finally {
      ch.shutdownNow();
    }
  }

  @Test
  void aCvmLaunchedForAnotherComposeIsDeniedWithMrConfigIdMismatchAndAudited() throws Exception {
    // The attack: the host launches the TD with a launch configuration (MRCONFIGID) naming one
    // compose while the CVM
    // measures another, allowed one into RTMR3. Both are genuine; they must name the same
    // app-compose.
    String compose = compose("launch-config");
    FakeChainPolicy.ALLOWED.add(composeHashHex(compose));
    byte[] otherCompose =
        org.teekms.attest.eventlog.MrConfigId.v1(
            SimulatedCvm.App.ofCompose(compose("something-else"), new byte[20])
                .composeHash()
                .toByteArray());
    ManagedChannel ch = channelFrom(compose, 9, false, otherCompose);
    try {
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> getKeys(ch));
      assertEquals(
          Status.Code.PERMISSION_DENIED, e.getStatus().getCode(), e.getStatus().toString());
      assertEquals("MR_CONFIG_ID_MISMATCH", e.getTrailers().get(GrpcErrors.DENY_REASON));
      assertTrue(
          e.getStatus().getDescription().contains(composeHashHex(compose)),
          e.getStatus().getDescription());
      java.util.List<org.teekms.proto.AuditEvent> audited = auditOf(ch, appIdOf(compose));
      assertEquals(
          java.util.List.of("MR_CONFIG_ID_MISMATCH"),
          audited.stream().map(org.teekms.proto.AuditEvent::getReason).toList());
    } finally {
      ch.shutdownNow();
    }
    // A launch without MRCONFIGID (zero: dstack deployments that do not bind it) is still admitted.
    ManagedChannel unset = channelFrom(compose, 10, false, new byte[48]);
    try {
      assertTrue(getKeys(unset).getKeysCount() >= 1);
    } finally {
      unset.shutdownNow();
    }
  }

  @Test
  void unregisteredAppIsDenied() throws Exception {
    ManagedChannel ch = channelFrom(compose("unknown-app"), 4, false);
    try {
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> getKeys(ch));
      assertEquals("APP_NOT_REGISTERED", e.getTrailers().get(GrpcErrors.DENY_REASON));
    } finally {
      ch.shutdownNow();
    }
  }

  /** The audit entries of {@code app} that the Auditor API lists (over the same RA-TLS channel). */
  private static java.util.List<org.teekms.proto.AuditEvent> auditOf(
      ManagedChannel ch, byte[] app) {
    return AuditorGrpc.newBlockingStub(ch)
        .withDeadlineAfter(30, TimeUnit.SECONDS)
        .listAuditEvents(
            org.teekms.proto.ListAuditEventsRequest.newBuilder()
                .setAppId(com.google.protobuf.ByteString.copyFrom(app))
                .setPageSize(1000)
                .build())
        .getEventsList();
  }

  private static byte[] appIdOf(String compose) {
    return java.util.Arrays.copyOf(
        SimulatedCvm.App.ofCompose(compose, new byte[20]).composeHash().toByteArray(), 20);
  }

  @Test
  void debugTdIsRefusedInAdmissionWithDebugTdAndAudited() throws Exception {
    // The quote of a debug TD is genuine: the handshake proves it; the KMS's policy refuses it in
    // admission, so the
    // CVM gets the precise reason and the refusal is in the audit log under its app (not a
    // handshake failure).
    String compose = compose("debug");
    FakeChainPolicy.ALLOWED.add(composeHashHex(compose));
    ManagedChannel ch = channelFrom(compose, 5, true);
    try {
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> getKeys(ch));
      assertEquals(
          Status.Code.PERMISSION_DENIED, e.getStatus().getCode(), e.getStatus().toString());
      assertEquals("DEBUG_TD", e.getTrailers().get(GrpcErrors.DENY_REASON));
      assertTrue(
          e.getStatus().getDescription().contains("TD_ATTRIBUTES.DEBUG"),
          e.getStatus().getDescription());
      java.util.List<org.teekms.proto.AuditEvent> audited = auditOf(ch, appIdOf(compose));
      assertEquals(
          java.util.List.of("DEBUG_TD"),
          audited.stream().map(org.teekms.proto.AuditEvent::getReason).toList());
      assertEquals("DENY_APP_KEYS", audited.get(0).getKind());
      assertTrue(
          audited.get(0).getDetailJson().contains("\"debug\":true"),
          audited.get(0).getDetailJson());
      assertTrue(
          metrics.find("teekms.admissions").tag("reason", "DEBUG_TD").counter().count() >= 1);
    } finally {
      ch.shutdownNow();
    }
  }

  @Test
  void refusalsOverRaTlsCarryTheirPreciseReasonAndAreAudited() throws Exception {
    String compose = compose("refusals");
    FakeChainPolicy.ALLOWED.add(composeHashHex(compose));
    ManagedChannel ch = channelFrom(compose, 6, false);
    try {
      KmsGrpc.KmsBlockingStub kms =
          KmsGrpc.newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS);
      StatusRuntimeException notServed =
          assertThrows(
              StatusRuntimeException.class,
              () -> kms.getAppKeys(GetAppKeysRequest.newBuilder().addKeyVersions(5).build()));
      assertEquals("KEY_VERSION_NOT_SERVED", notServed.getTrailers().get(GrpcErrors.DENY_REASON));
      StatusRuntimeException invalid =
          assertThrows(
              StatusRuntimeException.class,
              () -> kms.getAppKeys(GetAppKeysRequest.newBuilder().addKeyVersions(0).build()));
      assertEquals("REQUEST_INVALID", invalid.getTrailers().get(GrpcErrors.DENY_REASON));
      StatusRuntimeException longNonce =
          assertThrows(
              StatusRuntimeException.class,
              () ->
                  kms.getAppKeys(
                      GetAppKeysRequest.newBuilder()
                          .setClientNonce(com.google.protobuf.ByteString.copyFrom(new byte[65]))
                          .build()));
      assertEquals("REQUEST_INVALID", longNonce.getTrailers().get(GrpcErrors.DENY_REASON));
      FakeChainPolicy.ALLOWED.remove(composeHashHex(compose));
      FakeChainPolicy.ALLOWED.add(composeHashHex(compose).substring(0, 40) + "00".repeat(12));
      StatusRuntimeException removed =
          assertThrows(StatusRuntimeException.class, () -> getKeys(ch));
      assertEquals("COMPOSE_HASH_NOT_ALLOWED", removed.getTrailers().get(GrpcErrors.DENY_REASON));
      java.util.List<org.teekms.proto.AuditEvent> audited = auditOf(ch, appIdOf(compose));
      assertEquals(
          java.util.List.of(
              "KEY_VERSION_NOT_SERVED",
              "REQUEST_INVALID",
              "REQUEST_INVALID",
              "COMPOSE_HASH_NOT_ALLOWED"),
          audited.stream().map(org.teekms.proto.AuditEvent::getReason).toList());
      // Refusals after the chain was read name the block they were decided at.
      assertTrue(
          audited.get(0).getDetailJson().contains("\"policyBlock\":7"),
          audited.get(0).getDetailJson());
      assertTrue(
          audited.get(3).getDetailJson().contains("\"policyBlock\":7"),
          audited.get(3).getDetailJson());
      assertTrue(
          AuditorGrpc.newBlockingStub(ch)
              .verifyAuditChain(VerifyAuditChainRequest.getDefaultInstance())
              .getValid());
    } finally {
      ch.shutdownNow();
    }
  }

  @Test
  void clientNonceIsEchoedIntoTheAuditedGrant() throws Exception {
    String compose = compose("nonce");
    FakeChainPolicy.ALLOWED.add(composeHashHex(compose));
    ManagedChannel ch = channelFrom(compose, 7, false);
    try {
      byte[] nonce = HexFormat.of().parseHex("6e6f6e6365" + "ab".repeat(27));
      GetAppKeysResponse granted =
          KmsGrpc.newBlockingStub(ch)
              .withDeadlineAfter(30, TimeUnit.SECONDS)
              .getAppKeys(
                  GetAppKeysRequest.newBuilder()
                      .setClientNonce(com.google.protobuf.ByteString.copyFrom(nonce))
                      .build());
      org.teekms.proto.AuditEvent entry =
          auditOf(ch, appIdOf(compose)).stream()
              .filter(e -> e.getEventId().equals(granted.getGrantId()))
              .findFirst()
              .orElseThrow();
      assertTrue(
          entry
              .getDetailJson()
              .contains("\"clientNonce\":\"" + HexFormat.of().formatHex(nonce) + "\""),
          entry.getDetailJson());
      // The nonce is inside the hashed entry: the chain verifies with it.
      assertTrue(
          AuditorGrpc.newBlockingStub(ch)
              .verifyAuditChain(VerifyAuditChainRequest.getDefaultInstance())
              .getValid());
    } finally {
      ch.shutdownNow();
    }
  }

  @Test
  void cliBootstrapVerifiesTheKmsIdentityAndWritesThePublicationFiles() throws Exception {
    java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("teekms-bootstrap");
    java.nio.file.Path root =
        java.nio.file.Files.writeString(dir.resolve("root.pem"), tdx.rootCertificatePem());
    java.nio.file.Path collateral = tdx.collateral().writeTo(dir.resolve("collateral"));
    java.nio.file.Path out = dir.resolve("identity");
    java.io.StringWriter stdout = new java.io.StringWriter();
    picocli.CommandLine cli = org.teekms.cli.TeeKmsCli.newCommandLine();
    cli.setOut(new java.io.PrintWriter(stdout));
    int exit =
        cli.execute(
            "kms",
            "bootstrap",
            "--kms",
            "127.0.0.1:" + RaTlsProfile.PORT,
            "--root-ca",
            root.toString(),
            "--collateral",
            collateral.toString(),
            "--out",
            out.toString());
    assertEquals(0, exit, stdout.toString());
    com.fasterxml.jackson.databind.JsonNode json =
        new com.fasterxml.jackson.databind.ObjectMapper().readTree(stdout.toString());
    assertTrue(json.get("ok").asBoolean());
    assertTrue(json.get("simulated").asBoolean());
    assertEquals("kms-ratls-it", json.get("kmsId").asText());
    assertTrue(json.get("eventLog").get("replayed").asBoolean(), stdout.toString());
    // The files are exactly what GetKmsInfo serves for the current generation.
    byte[] ca = java.nio.file.Files.readAllBytes(out.resolve("ca-cert.der"));
    java.security.cert.X509Certificate caCert = KmsServerTest.x509(ca);
    assertEquals(1, caCert.getBasicConstraints());
    assertEquals(33, java.nio.file.Files.readAllBytes(out.resolve("root-keys.bin")).length);
    assertTrue(
        json.get("publish").asText().startsWith("teekms gov set-kms-identity --generation 1 "));

    // The same command against a trust anchor that is not the KMS's platform refuses in the
    // handshake.
    java.nio.file.Path other =
        java.nio.file.Files.writeString(
            dir.resolve("other.pem"),
            SimulatedTdx.enable("KmsRaTlsTest other platform", Clock.systemUTC())
                .rootCertificatePem());
    java.io.StringWriter refused = new java.io.StringWriter();
    picocli.CommandLine cli2 = org.teekms.cli.TeeKmsCli.newCommandLine();
    cli2.setOut(new java.io.PrintWriter(refused));
    assertEquals(
        1,
        cli2.execute(
            "kms",
            "bootstrap",
            "--kms",
            "127.0.0.1:" + RaTlsProfile.PORT,
            "--root-ca",
            other.toString(),
            "--collateral",
            collateral.toString()),
        refused.toString());
    assertTrue(refused.toString().contains("KMS_UNREACHABLE_OR_UNTRUSTED"), refused.toString());
  }

  @Test
  void cliAuditCommandsQueryTheAuditorApiOverRaTls() throws Exception {
    java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("teekms-audit");
    String root =
        java.nio.file.Files.writeString(dir.resolve("root.pem"), tdx.rootCertificatePem())
            .toString();
    String collateral = tdx.collateral().writeTo(dir.resolve("collateral")).toString();
    String kms = "127.0.0.1:" + RaTlsProfile.PORT;
    com.fasterxml.jackson.databind.ObjectMapper json =
        new com.fasterxml.jackson.databind.ObjectMapper();

    java.io.StringWriter verify = new java.io.StringWriter();
    picocli.CommandLine c1 = org.teekms.cli.TeeKmsCli.newCommandLine();
    c1.setOut(new java.io.PrintWriter(verify));
    assertEquals(
        0,
        c1.execute("audit", "verify", "--kms", kms, "--root-ca", root, "--collateral", collateral),
        verify.toString());
    com.fasterxml.jackson.databind.JsonNode v = json.readTree(verify.toString());
    assertTrue(v.get("valid").asBoolean());
    assertTrue(v.get("entriesChecked").asLong() >= 1);

    java.io.StringWriter events = new java.io.StringWriter();
    picocli.CommandLine c2 = org.teekms.cli.TeeKmsCli.newCommandLine();
    c2.setOut(new java.io.PrintWriter(events));
    assertEquals(
        0,
        c2.execute(
            "audit",
            "events",
            "--kms",
            kms,
            "--root-ca",
            root,
            "--collateral",
            collateral,
            "--limit",
            "5"),
        events.toString());
    com.fasterxml.jackson.databind.JsonNode e = json.readTree(events.toString());
    assertEquals(
        "ROOT_GENERATION",
        e.get("events").get(0).get("kind").asText(),
        "the bootstrap is the first entry");
    assertTrue(e.get("count").asInt() >= 1 && e.get("count").asInt() <= 5);

    picocli.CommandLine c3 = org.teekms.cli.TeeKmsCli.newCommandLine();
    c3.setOut(new java.io.PrintWriter(new java.io.StringWriter()));
    c3.setErr(new java.io.PrintWriter(new java.io.StringWriter()));
    assertEquals(
        2,
        c3.execute(
            "audit",
            "policy",
            "--kms",
            kms,
            "--root-ca",
            root,
            "--collateral",
            collateral,
            "--app",
            "0x1234"),
        "a malformed app id is a usage error");
  }

  /**
   * {@code teekms kms status} end to end over RA-TLS: the identity comes from a quote over the
   * command's fresh nonce (verified, bound to the roots), the health parts from GetKmsStatus; what
   * needs attention is listed and makes the exit status 1 (here: a simulated TD, and no chain in
   * this profile).
   */
  @Test
  void cliKmsStatusVerifiesTheNodeAndListsWhatNeedsAttention() throws Exception {
    java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("teekms-status");
    String root =
        java.nio.file.Files.writeString(dir.resolve("root.pem"), tdx.rootCertificatePem())
            .toString();
    String collateral = tdx.collateral().writeTo(dir.resolve("collateral")).toString();
    java.io.StringWriter out = new java.io.StringWriter();
    java.io.StringWriter err = new java.io.StringWriter();
    picocli.CommandLine cli = org.teekms.cli.TeeKmsCli.newCommandLine();
    cli.setOut(new java.io.PrintWriter(out));
    cli.setErr(new java.io.PrintWriter(err));
    int exit =
        cli.execute(
            "kms",
            "status",
            "--kms",
            "127.0.0.1:" + RaTlsProfile.PORT,
            "--root-ca",
            root,
            "--collateral",
            collateral,
            "--verify-audit",
            "--output",
            "json");
    com.fasterxml.jackson.databind.JsonNode j =
        new com.fasterxml.jackson.databind.ObjectMapper().readTree(out.toString());
    assertEquals(1, exit, out + "\n" + err);
    assertTrue(j.at("/identity/measurement/quoteValid").asBoolean(), out.toString());
    assertTrue(j.at("/identity/measurement/bindsRootsAndNonce").asBoolean(), out.toString());
    assertEquals(64, j.at("/identity/measurement/mrSystem").asText().length());
    assertEquals(
        j.at("/identity/roots/0/caCertificateSha256").asText(),
        j.at("/generations/0/caCertificateSha256").asText(),
        "GetKmsStatus and the verified identity agree");
    assertTrue(j.at("/database/up").asBoolean());
    assertTrue(
        j.at("/auditChain/verified").asBoolean() && j.at("/auditChain/valid").asBoolean(),
        out.toString());
    assertTrue(j.at("/certificate/notAfter").isTextual());
    java.util.List<String> problems = new java.util.ArrayList<>();
    j.path("problems").forEach(p -> problems.add(p.asText()));
    assertEquals(2, problems.size(), problems.toString());
    assertTrue(problems.get(0).contains("SIMULATOR"), problems.toString());
    assertTrue(problems.get(1).startsWith("chain: not configured"), problems.toString());
  }
}
