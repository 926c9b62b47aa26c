package org.teekms.kms.app;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.teekms.attest.eventlog.DstackEventLogCodec;
import org.teekms.attest.eventlog.EventLogCheck;
import org.teekms.attest.eventlog.EventLogEntry;
import org.teekms.attest.ratls.RaTlsCertificateFactory;
import org.teekms.attest.ratls.RaTlsCertificateParser;
import org.teekms.attest.ratls.RaTlsContexts;
import org.teekms.attest.ratls.RaTlsCredentials;
import org.teekms.attest.ratls.RaTlsException;
import org.teekms.attest.ratls.RaTlsIdentity;
import org.teekms.attest.ratls.RaTlsKeyManager;
import org.teekms.attest.ratls.RaTlsTrustManager;
import org.teekms.attest.ratls.RaTlsVerifier;
import org.teekms.attest.sim.SimulatedCvm;
import org.teekms.attest.sim.SimulatedTdx;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.QuotePolicy;
import org.teekms.attest.tdx.TdxQuote;
import org.teekms.attest.tdx.collateral.FakePcsServer;
import org.teekms.kms.tls.RaTlsSetup;
import org.teekms.proto.GetAppKeysRequest;
import org.teekms.proto.GetKmsInfoRequest;
import org.teekms.proto.KmsGrpc;
import org.teekms.proto.KmsInfo;
import org.teekms.proto.KmsInfoServiceGrpc;

/**
 * The server on its production RA-TLS path in a fake TD (configfs-tsm, real CCEL, dstack runtime
 * events): its certificate carries the TD's real event log, which replays; clients are verified
 * with collateral from the PCCS URL, and refused with the reason while that PCCS is down.
 */
@QuarkusTest
@TestProfile(ProdRaTlsProfile.class)
@QuarkusTestResource(EmbeddedPostgresResource.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class KmsProdRaTlsTest {

  private static SimulatedTdx tdx;
  private static FakePcsServer upstream;
  private static SwitchablePccs pccs;
  private static RaTlsTrustManager clientTrust;

  @Inject RaTlsSetup setup;

  @BeforeAll
  static void platform() throws Exception {
    tdx = FakeTdConfigfs.platform();
    upstream = new FakePcsServer(tdx.collateral().toCollateral(), "tdx", SimulatedTdx.FMSPC);
    pccs = new SwitchablePccs(ProdRaTlsProfile.pccsPort(), upstream.baseUrl());
    clientTrust =
        new RaTlsTrustManager(
            RaTlsVerifier.builder(
                    new DcapQuoteVerifier(tdx.rootCertificate()), tdx.collateralSource())
                .quotePolicy(QuotePolicy.builder().build())
                .build());
  }

  @AfterAll
  static void stop() {
    pccs.close();
    upstream.close();
    FakeChainPolicy.ALLOWED.clear();
  }

  private static RaTlsCredentials cvm(String compose) throws Exception {
    byte[] instance = new byte[20];
    instance[19] = 9;
    SimulatedCvm cvm =
        tdx.newCvm(new byte[48], false).boot(SimulatedCvm.App.ofCompose(compose, instance));
    return new RaTlsCertificateFactory(
            cvm, cvm.eventLog(), null, Clock.systemUTC(), Duration.ofHours(1))
        .create("cvm");
  }

  private static ManagedChannel channel(RaTlsCredentials creds) throws Exception {
    SslContext ssl =
        GrpcSslContexts.configure(
                SslContextBuilder.forClient()
                    .keyManager(RaTlsContexts.keyManagerFactory(new RaTlsKeyManager(creds)))
                    .trustManager(RaTlsContexts.trustManagerFactory(clientTrust)),
                SslProvider.JDK)
            .build();
    return NettyChannelBuilder.forAddress("127.0.0.1", ProdRaTlsProfile.PORT)
        .overrideAuthority("kms.teekms.invalid")
        .sslContext(ssl)
        .build();
  }

  private static String compose(String name) {
    return "services:\n  " + name + ": {image: model}\n";
  }

  @Test
  @Order(1)
  void pccsDownRefusesClientsWithTheReason() throws Exception {
    pccs.up(false);
    String compose = compose("while-pccs-down");
    FakeChainPolicy.ALLOWED.add(
        HexFormat.of()
            .formatHex(
                SimulatedCvm.App.ofCompose(compose, new byte[20]).composeHash().toByteArray()));
    RaTlsCredentials creds = cvm(compose);
    ManagedChannel ch = channel(creds);
    try {
      StatusRuntimeException e =
          assertThrows(
              StatusRuntimeException.class,
              () ->
                  KmsGrpc.newBlockingStub(ch)
                      .withDeadlineAfter(30, TimeUnit.SECONDS)
                      .getAppKeys(GetAppKeysRequest.getDefaultInstance()));
      // The KMS's side is down, not the CVM's attestation: UNAVAILABLE (retry), with the verifier's
      // reason.
      assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.getStatus().toString());
      assertEquals(
          "KMS_UNAVAILABLE", e.getTrailers().get(org.teekms.kms.grpc.GrpcErrors.DENY_REASON));
      assertTrue(
          e.getStatus().getDescription().contains("COLLATERAL_UNAVAILABLE"),
          e.getStatus().getDescription());
    } finally {
      ch.shutdownNow();
    }
    RaTlsException why =
        assertThrows(
            RaTlsException.class,
            () -> setup.trustManager().verifier().verify(creds.certificate()));
    assertEquals(RaTlsException.Reason.COLLATERAL_UNAVAILABLE, why.reason());
    assertTrue(
        why.getMessage().contains("COLLATERAL_UNAVAILABLE")
            && why.getMessage().contains("127.0.0.1:" + ProdRaTlsProfile.pccsPort()),
        why.getMessage());
  }

  @Test
  @Order(2)
  void kmsPresentsTheTdsRealEventLogAndAdmitsClientsOnceThePccsAnswers() throws Exception {
    pccs.up(true);
    // The KMS's certificate: configfs-tsm quote over CCEL + dstack runtime events, verified like
    // any peer.
    var kmsCert = setup.keyManager().credentials().certificate();
    RaTlsIdentity kms = clientTrust.verifier().verify(kmsCert);
    assertArrayEquals(
        ProdRaTlsProfile.kmsApp(ProdRaTlsProfile.KMS_ID).composeHash().toByteArray(),
        kms.composeHash().toByteArray());
    List<EventLogEntry> log =
        DstackEventLogCodec.parse(
            RaTlsCertificateParser.parse(kmsCert).eventLogJson().toByteArray());
    assertTrue(
        log.stream().filter(e -> e.imr() < 3).count() > 30,
        "the CCEL's firmware events are carried");

    String compose = compose("after-pccs-up");
    FakeChainPolicy.ALLOWED.add(
        HexFormat.of()
            .formatHex(
                SimulatedCvm.App.ofCompose(compose, new byte[20]).composeHash().toByteArray()));
    ManagedChannel ch = channel(cvm(compose));
    try {
      assertEquals(
          1,
          KmsGrpc.newBlockingStub(ch)
              .withDeadlineAfter(30, TimeUnit.SECONDS)
              .getAppKeys(GetAppKeysRequest.getDefaultInstance())
              .getKeysCount());
      // GetKmsInfo's quote also comes through configfs-tsm with the TD's log, and replays.
      KmsInfo info =
          KmsInfoServiceGrpc.newBlockingStub(ch).getKmsInfo(GetKmsInfoRequest.getDefaultInstance());
      EventLogCheck check =
          EventLogCheck.of(
              info.getEventLog(), TdxQuote.parse(info.getQuote().toByteArray()).tdReport());
      assertTrue(check.replayed(), check.error().orElse(""));
      assertEquals(ProdRaTlsProfile.KMS_ID, info.getKmsId());
    } finally {
      ch.shutdownNow();
    }
    assertTrue(
        new String(
                RaTlsCertificateParser.parse(kmsCert).eventLogJson().toByteArray(),
                StandardCharsets.UTF_8)
            .contains("\"event\":\"system-ready\""));
  }

  @Test
  @Order(3)
  void aValidQuoteWhoseTcbThePolicyRefusesIsDeniedInAdmissionWithTheReasonAndAudited()
      throws Exception {
    // Intel downgrades the platform's TCB level: the quote still verifies (DCAP proves it, status
    // OutOfDate), and the
    // KMS's policy (teekms.admission.accepted-tcb-statuses=UpToDate) refuses it in admission, not
    // in the handshake.
    java.time.Instant now = java.time.Instant.now();
    try (FakePcsServer outOfDate =
        new FakePcsServer(
            tdx.collateral(
                    now.minus(Duration.ofDays(1)),
                    now.plus(Duration.ofDays(30)),
                    "OutOfDate",
                    List.of("INTEL-SA-00837"))
                .toCollateral(),
            "tdx",
            SimulatedTdx.FMSPC)) {
      pccs.up(true);
      pccs.upstream(outOfDate.baseUrl());
      Thread.sleep(
          2_500); // past teekms.collateral.max-age: the KMS's cached UpToDate collateral is stale
      String compose = compose("tcb-out-of-date");
      FakeChainPolicy.ALLOWED.add(
          HexFormat.of()
              .formatHex(
                  SimulatedCvm.App.ofCompose(compose, new byte[20]).composeHash().toByteArray()));
      ManagedChannel ch = channel(cvm(compose));
      try {
        StatusRuntimeException e =
            assertThrows(
                StatusRuntimeException.class,
                () ->
                    KmsGrpc.newBlockingStub(ch)
                        .withDeadlineAfter(30, TimeUnit.SECONDS)
                        .getAppKeys(GetAppKeysRequest.getDefaultInstance()));
        assertEquals(
            Status.Code.PERMISSION_DENIED, e.getStatus().getCode(), e.getStatus().toString());
        assertEquals(
            "TCB_NOT_ACCEPTED", e.getTrailers().get(org.teekms.kms.grpc.GrpcErrors.DENY_REASON));
        assertTrue(
            e.getStatus().getDescription().contains("OutOfDate"), e.getStatus().getDescription());
        assertTrue(
            e.getStatus().getDescription().contains("INTEL-SA-00837"),
            e.getStatus().getDescription());
        byte[] app =
            java.util.Arrays.copyOf(
                SimulatedCvm.App.ofCompose(compose, new byte[20]).composeHash().toByteArray(), 20);
        List<org.teekms.proto.AuditEvent> audited =
            org.teekms.proto.AuditorGrpc.newBlockingStub(ch)
                .withDeadlineAfter(30, TimeUnit.SECONDS)
                .listAuditEvents(
                    org.teekms.proto.ListAuditEventsRequest.newBuilder()
                        .setAppId(com.google.protobuf.ByteString.copyFrom(app))
                        .build())
                .getEventsList();
        assertEquals(
            List.of("TCB_NOT_ACCEPTED"),
            audited.stream().map(org.teekms.proto.AuditEvent::getReason).toList());
        assertEquals("DENY_APP_KEYS", audited.get(0).getKind());
        assertTrue(
            audited.get(0).getDetailJson().contains("\"tcbStatus\":\"OutOfDate\""),
            audited.get(0).getDetailJson());
      } finally {
        ch.shutdownNow();
      }
    } finally {
      pccs.upstream(upstream.baseUrl());
    }
  }
}
