package org.teekms.kms.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.quarkus.grpc.GrpcClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;
import org.teekms.crypto.Bytes;
import org.teekms.kms.grpc.GrpcErrors;
import org.teekms.proto.AuditorGrpc;
import org.teekms.proto.GetAppKeysRequest;
import org.teekms.proto.GetEffectivePolicyRequest;
import org.teekms.proto.GetKmsInfoRequest;
import org.teekms.proto.GetKmsStatusRequest;
import org.teekms.proto.KmsGrpc;
import org.teekms.proto.KmsInfo;
import org.teekms.proto.KmsInfoServiceGrpc;
import org.teekms.proto.KmsStatus;
import org.teekms.proto.ListAuditEventsRequest;
import org.teekms.proto.VerifyAuditChainRequest;
import org.teekms.proto.VerifyAuditChainResponse;

/**
 * The server end to end on embedded PostgreSQL (test profile: plain-text gRPC, simulator sealing):
 * startup migrates and bootstraps, GetKmsInfo and the Auditor API answer, GetAppKeys without mutual
 * RA-TLS is refused with its reason, health and metrics are served.
 */
@QuarkusTest
@QuarkusTestResource(EmbeddedPostgresResource.class)
class KmsServerTest {

  @GrpcClient("kms")
  KmsGrpc.KmsBlockingStub kms;

  @GrpcClient("kms")
  KmsInfoServiceGrpc.KmsInfoServiceBlockingStub info;

  @GrpcClient("kms")
  AuditorGrpc.AuditorBlockingStub auditor;

  @ConfigProperty(name = "quarkus.http.test-port")
  int port;

  @jakarta.inject.Inject io.micrometer.core.instrument.MeterRegistry registry;

  @Test
  void kmsInfoListsTheBootstrappedGeneration() {
    KmsInfo i = info.getKmsInfo(GetKmsInfoRequest.getDefaultInstance());
    assertEquals("kms-it", i.getKmsId());
    assertEquals(1, i.getCurrentGeneration());
    assertEquals(1, i.getGenerationsCount());
    assertEquals(33, i.getGenerations(0).getRootPublicKey().size());
    assertEquals(20, i.getGenerations(0).getRootAddress().size());
    assertTrue(i.getSimulated());

    // The KMS CA certificate: self-signed P-256 CA naming the generation's root address, same bytes
    // on every call.
    java.security.cert.X509Certificate ca = x509(i.getCaCertificate().toByteArray());
    assertEquals(i.getGenerations(0).getCaCertificate(), i.getCaCertificate());
    assertEquals(1, ca.getBasicConstraints());
    assertEquals(ca.getSubjectX500Principal(), ca.getIssuerX500Principal());
    assertTrue(
        ca.getSubjectX500Principal().getName().contains("generation 1"),
        ca.getSubjectX500Principal().getName());
    assertTrue(
        ca.getSubjectX500Principal()
            .getName()
            .contains(
                org.teekms.keys.EthereumAddress.of(
                        i.getGenerations(0).getRootAddress().toByteArray())
                    .toString()),
        ca.getSubjectX500Principal().getName());
    try {
      ca.verify(ca.getPublicKey());
    } catch (Exception e) {
      throw new AssertionError("self-signature", e);
    }
    assertEquals(
        i.getCaCertificate(),
        info.getKmsInfo(GetKmsInfoRequest.getDefaultInstance()).getCaCertificate());

    // The quote binds the identity above and the caller's nonce.
    byte[] nonce = new byte[32];
    nonce[0] = 42;
    KmsInfo fresh =
        info.getKmsInfo(
            GetKmsInfoRequest.newBuilder().setNonce(ByteString.copyFrom(nonce)).build());
    byte[] expected =
        org.teekms.proto.KmsIdentityBinding.reportData(
            fresh.getKmsId(),
            java.util.List.of(
                new org.teekms.proto.KmsIdentityBinding.Root(
                    1,
                    Bytes.copyOf(fresh.getGenerations(0).getRootAddress().toByteArray()),
                    Bytes.copyOf(fresh.getGenerations(0).getCaCertificate().toByteArray()))),
            nonce);
    org.teekms.attest.tdx.TdxQuote quote;
    try {
      quote = org.teekms.attest.tdx.TdxQuote.parse(fresh.getQuote().toByteArray());
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    org.junit.jupiter.api.Assertions.assertArrayEquals(
        expected, quote.tdReport().reportData().toByteArray());
    assertTrue(fresh.getEventLog().startsWith("["), "dstack JSON event log");
    StatusRuntimeException badNonce =
        assertThrows(
            StatusRuntimeException.class,
            () ->
                info.getKmsInfo(
                    GetKmsInfoRequest.newBuilder()
                        .setNonce(ByteString.copyFrom(new byte[5]))
                        .build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, badNonce.getStatus().getCode());
  }

  static java.security.cert.X509Certificate x509(byte[] der) {
    try {
      return (java.security.cert.X509Certificate)
          java.security.cert.CertificateFactory.getInstance("X.509")
              .generateCertificate(new java.io.ByteArrayInputStream(der));
    } catch (java.security.cert.CertificateException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void getAppKeysWithoutMutualTlsIsRefusedWithItsReason() {
    StatusRuntimeException e =
        assertThrows(
            StatusRuntimeException.class,
            () -> kms.getAppKeys(GetAppKeysRequest.getDefaultInstance()));
    assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
    assertTrue(
        e.getStatus().getDescription().startsWith("NO_CLIENT_CERTIFICATE: "),
        e.getStatus().getDescription());
    assertEquals("NO_CLIENT_CERTIFICATE", e.getTrailers().get(GrpcErrors.DENY_REASON));
  }

  @Test
  void auditorApiAnswers() {
    VerifyAuditChainResponse v =
        auditor.verifyAuditChain(VerifyAuditChainRequest.getDefaultInstance());
    assertTrue(v.getValid(), v.getProblem());
    assertTrue(v.getEntriesChecked() >= 1, "bootstrap is audited");
    assertEquals(
        "ROOT_GENERATION",
        auditor
            .listAuditEvents(ListAuditEventsRequest.getDefaultInstance())
            .getEvents(0)
            .getKind());
    assertEquals(
        false,
        auditor
            .getEffectivePolicy(
                GetEffectivePolicyRequest.newBuilder()
                    .setAppId(ByteString.copyFrom(new byte[20]))
                    .build())
            .getKnown());
    StatusRuntimeException bad =
        assertThrows(
            StatusRuntimeException.class,
            () ->
                auditor.getEffectivePolicy(
                    GetEffectivePolicyRequest.newBuilder()
                        .setAppId(ByteString.copyFrom(new byte[3]))
                        .build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, bad.getStatus().getCode());
  }

  @Test
  void effectivePolicyOfAppsThisKmsDoesNotServeRegistersNoMetric() {
    java.util.Random random = new java.util.Random(20261202);
    int before = registry.find("teekms.app.rotation.due").gauges().size();
    for (int i = 0; i < 40; i++) {
      byte[] app = new byte[20];
      random.nextBytes(app);
      assertEquals(
          false,
          auditor
              .getEffectivePolicy(
                  GetEffectivePolicyRequest.newBuilder().setAppId(ByteString.copyFrom(app)).build())
              .getKnown());
    }
    assertEquals(
        before,
        registry.find("teekms.app.rotation.due").gauges().size(),
        "a caller naming arbitrary app ids must not create a time series per id");
  }

  @Test
  void kmsInfoWithoutNonceIsServedFromMemoryUntilTheCertificateOrGenerationsChange() {
    KmsInfo a = info.getKmsInfo(GetKmsInfoRequest.getDefaultInstance());
    KmsInfo b = info.getKmsInfo(GetKmsInfoRequest.getDefaultInstance());
    // A fresh quote differs (ECDSA with a random nonce): the same bytes show the answer was not
    // made again.
    assertEquals(a.getQuote(), b.getQuote());
    assertEquals(a, b);
    byte[] nonce = new byte[32];
    nonce[31] = 7;
    KmsInfo fresh =
        info.getKmsInfo(
            GetKmsInfoRequest.newBuilder().setNonce(ByteString.copyFrom(nonce)).build());
    assertTrue(!fresh.getQuote().equals(a.getQuote()), "a nonce gets its own quote");
    assertEquals(a.getGenerationsList(), fresh.getGenerationsList());
  }

  @Test
  void statusReportsIdentityDatabaseAuditCertificateAndAnUnconfiguredChain() {
    KmsStatus st =
        info.getKmsStatus(GetKmsStatusRequest.newBuilder().setVerifyAuditChain(true).build());
    assertEquals("kms-it", st.getKmsId());
    assertEquals(1, st.getCurrentGeneration());
    assertEquals("CURRENT", st.getGenerations(0).getState());
    KmsInfo i = info.getKmsInfo(GetKmsInfoRequest.getDefaultInstance());
    assertEquals(
        com.google.protobuf.ByteString.copyFrom(
            org.teekms.crypto.Digests.sha256(i.getCaCertificate().toByteArray())),
        st.getGenerations(0).getCaCertificateSha256(),
        "the CA digest is the digest of the certificate GetKmsInfo serves");
    assertTrue(st.getGenerations(0).getCaNotAfter() > st.getNow());
    assertEquals(32, st.getTrustConfigurationDigest().size());
    assertTrue(st.getDatabase().getUp(), st.getDatabase().getError());
    assertTrue(
        st.getAudit().getReadable() && st.getAudit().getVerified() && st.getAudit().getValid(),
        st.getAudit().toString());
    assertTrue(st.getAudit().getHeadSeq() >= 1, "the bootstrap's ROOT_GENERATION entry");
    assertEquals(st.getAudit().getHeadSeq(), st.getAudit().getEntriesChecked());
    assertTrue(
        st.getCertificate().getNotAfter() > st.getNow()
            && st.getCertificate().getNotBefore() <= st.getNow());
    assertFalse(
        st.getCollateral().getCached(), "the simulator's collateral is generated, not cached");
    assertFalse(st.getChain().getConfigured());
    assertEquals(0, st.getChain().getEndpointsCount());
    assertEquals(1, st.getReplicas().getPeersCount());
    assertTrue(st.getReplicas().getPeers(0).getThisNode());
    assertEquals(0, st.getReplicas().getMissingCopiesCount());
    // Without the full recomputation only the head is read.
    KmsStatus quick = info.getKmsStatus(GetKmsStatusRequest.getDefaultInstance());
    assertTrue(quick.getAudit().getReadable());
    assertFalse(quick.getAudit().getVerified());
  }

  @Test
  void readinessAndMetrics() throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    HttpResponse<String> ready =
        http.send(
            HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/q/health/ready"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    // This node has no chain configured: every admission would be refused, so it is not ready, and
    // says why.
    assertEquals(503, ready.statusCode(), ready.body());
    assertTrue(ready.body().contains("currentGeneration"), ready.body());
    assertTrue(
        ready.body().contains("\"chain\"") && ready.body().contains("no chain configured"),
        ready.body());
    assertThrows(
        StatusRuntimeException.class, () -> kms.getAppKeys(GetAppKeysRequest.getDefaultInstance()));
    HttpResponse<String> metrics =
        http.send(
            HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/q/metrics")).build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, metrics.statusCode());
    assertTrue(
        metrics.body().contains("teekms_admission_seconds"),
        "admission latency histogram exported");
    assertTrue(
        metrics.body().contains("teekms_ratls_certificate_expiry_seconds"),
        "certificate expiry gauge exported");
    assertTrue(
        metrics.body().contains("teekms_collateral_expiry_seconds"),
        "collateral expiry gauge exported");
  }
}
