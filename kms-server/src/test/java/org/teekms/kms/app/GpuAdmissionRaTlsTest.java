package org.teekms.kms.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.bouncycastle.asn1.x509.CRLReason;
import org.bouncycastle.cert.ocsp.RevokedStatus;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.teekms.attest.eventlog.DstackBootSequence;
import org.teekms.attest.gpu.GpuDevices;
import org.teekms.attest.gpu.GpuEvidence;
import org.teekms.attest.gpu.GpuEvidenceProvider;
import org.teekms.attest.gpu.GpuNonce;
import org.teekms.attest.gpu.GpuSimulator;
import org.teekms.attest.gpu.LocalOcspResponder;
import org.teekms.attest.gpu.SimulatedGpus;
import org.teekms.attest.provider.RuntimeEventLog;
import org.teekms.attest.ratls.RaTlsCertificateFactory;
import org.teekms.attest.ratls.RaTlsContexts;
import org.teekms.attest.ratls.RaTlsCredentials;
import org.teekms.attest.ratls.RaTlsKeyManager;
import org.teekms.attest.ratls.RaTlsTrustManager;
import org.teekms.attest.ratls.RaTlsVerifier;
import org.teekms.attest.ratls.ReportDataBinding;
import org.teekms.attest.sim.SimulatedCvm;
import org.teekms.attest.sim.SimulatedTdx;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.QuotePolicy;
import org.teekms.keys.AppId;
import org.teekms.kms.audit.AuditEntry;
import org.teekms.kms.audit.AuditLog;
import org.teekms.kms.grpc.GrpcErrors;
import org.teekms.proto.GetAppKeysRequest;
import org.teekms.proto.GetAppKeysResponse;
import org.teekms.proto.KmsGrpc;
import org.web3j.utils.Numeric;

/**
 * GPU attestation at admission, end to end: simulated CVMs with simulated H200-shaped GPUs (seeded
 * like the KMS's GPU verifier) call the real server over mutual RA-TLS; the KMS verifies their GPU
 * evidence in the handshake (simulated NVIDIA roots, the simulator's RIMs, fail-closed OCSP at a
 * real local responder) and admission applies each app's on-chain GPU policy, read from a real
 * local chain. Every refusal carries its GPU_* code and is audited.
 */
@QuarkusTest
@TestProfile(GpuProfile.class)
@QuarkusTestResource(value = GpuChainResource.class, restrictToAnnotatedClass = true)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class GpuAdmissionRaTlsTest {

  static final String COMPOSE = "services:\n  llm: {image: vllm-h200}\n";
  static final byte[] OS_IMAGE =
      sha256("tee-kms GPU test OS image".getBytes(StandardCharsets.UTF_8));
  private static final Clock CLOCK = Clock.systemUTC();
  private static final AtomicInteger INSTANCES = new AtomicInteger();

  static SimulatedTdx tdx;
  private static RaTlsTrustManager clientTrust;
  static GpuSimulator gpus;
  private static LocalOcspResponder ocsp;

  @Inject AuditLog audit;

  static byte[] composeHash() {
    return sha256(COMPOSE.getBytes(StandardCharsets.UTF_8));
  }

  private static byte[] sha256(byte[] b) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(b);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @BeforeAll
  static void platform() {
    if (tdx != null) {
      return;
    }
    byte[] seed = HexFormat.of().parseHex(RaTlsProfile.SEED);
    tdx = SimulatedTdx.enableSeeded("GpuAdmissionRaTlsTest", CLOCK, seed);
    clientTrust =
        new RaTlsTrustManager(
            RaTlsVerifier.builder(
                    new DcapQuoteVerifier(tdx.rootCertificate()), tdx.collateralSource())
                .quotePolicy(QuotePolicy.builder().build())
                .clock(CLOCK)
                .build());
    gpus = GpuSimulator.seeded(8, seed);
  }

  @AfterAll
  static void stop() {
    if (ocsp != null) {
      ocsp.close();
    }
  }

  /** The local OCSP responder, started on first use (the first test runs while it is down). */
  private static LocalOcspResponder ocsp() throws Exception {
    if (ocsp == null) {
      ocsp = SimulatedGpus.ocspResponder(gpus, GpuProfile.OCSP_PORT);
    }
    return ocsp;
  }

  private static String app(String key) {
    return ConfigProvider.getConfig().getValue(key, String.class);
  }

  /**
   * A CVM of {@code app} booted with dstack's sequence (OS image measured) whose event log is
   * returned for more events.
   */
  private static RuntimeEventLog boot(SimulatedCvm cvm, String app) throws Exception {
    return boot(cvm, app, null);
  }

  /**
   * As above, measuring the GPUs {@code bootGpus} presents at boot ({@code gpu-devices}) when not
   * null.
   */
  private static RuntimeEventLog boot(SimulatedCvm cvm, String app, GpuEvidenceProvider bootGpus)
      throws Exception {
    byte[] instance = new byte[20];
    int n = INSTANCES.incrementAndGet();
    instance[18] = (byte) (n >> 8);
    instance[19] = (byte) n;
    RuntimeEventLog log = new RuntimeEventLog(cvm, List.of());
    log.emit(DstackBootSequence.SYSTEM_PREPARING, new byte[0]);
    log.emit(DstackBootSequence.APP_ID, Numeric.hexStringToByteArray(app));
    log.emit(DstackBootSequence.COMPOSE_HASH, composeHash());
    log.emit(DstackBootSequence.INSTANCE_ID, instance);
    log.emit(DstackBootSequence.BOOT_MR_DONE, new byte[0]);
    log.emit(DstackBootSequence.OS_IMAGE_HASH, OS_IMAGE);
    if (bootGpus != null) {
      log.emit(DstackBootSequence.GPU_DEVICES, GpuDevices.digest(bootGpus.collect(new byte[32])));
    }
    log.emit(DstackBootSequence.SYSTEM_READY, new byte[0]);
    return log;
  }

  /**
   * Credentials of a CVM of {@code app} whose certificate carries the evidence {@code gpu} collects
   * (null: none).
   */
  static RaTlsCredentials cvm(String app, GpuEvidenceProvider gpu) throws Exception {
    SimulatedCvm cvm = tdx.newCvm(new byte[48], false);
    return new RaTlsCertificateFactory(cvm, boot(cvm, app, gpu), gpu, CLOCK, Duration.ofHours(1))
        .create("cvm");
  }

  /**
   * Credentials of a CVM that measured {@code bootGpus} at boot and later presents evidence {@code
   * gpu} collects.
   */
  static RaTlsCredentials cvm(String app, GpuEvidenceProvider bootGpus, GpuEvidenceProvider gpu)
      throws Exception {
    SimulatedCvm cvm = tdx.newCvm(new byte[48], false);
    return new RaTlsCertificateFactory(
            cvm, boot(cvm, app, bootGpus), gpu, CLOCK, Duration.ofHours(1))
        .create("cvm");
  }

  private static GetAppKeysResponse getKeys(RaTlsCredentials creds) throws Exception {
    return getKeys(creds, GpuProfile.PORT);
  }

  static GetAppKeysResponse getKeys(RaTlsCredentials creds, int port) throws Exception {
    ManagedChannel ch =
        NettyChannelBuilder.forAddress("127.0.0.1", port)
            .overrideAuthority("kms.teekms.invalid")
            .sslContext(
                GrpcSslContexts.configure(
                        SslContextBuilder.forClient()
                            .keyManager(RaTlsContexts.keyManagerFactory(new RaTlsKeyManager(creds)))
                            .trustManager(RaTlsContexts.trustManagerFactory(clientTrust)),
                        SslProvider.JDK)
                    .build())
            .build();
    try {
      return KmsGrpc.newBlockingStub(ch)
          .withDeadlineAfter(60, TimeUnit.SECONDS)
          .getAppKeys(GetAppKeysRequest.getDefaultInstance());
    } finally {
      ch.shutdownNow();
    }
  }

  /**
   * The call is refused with {@code code}, and the refusal is in the audit log under the app with
   * that reason.
   */
  private StatusRuntimeException assertDenied(String code, String app, RaTlsCredentials creds)
      throws Exception {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> getKeys(creds));
    assertEquals(code, e.getTrailers().get(GrpcErrors.DENY_REASON), e.getStatus().toString());
    List<AuditEntry> entries =
        audit
            .list(AppId.fromHex(app), 0, Long.MAX_VALUE, 0, 1000)
            .await()
            .atMost(Duration.ofSeconds(10));
    AuditEntry last = entries.get(entries.size() - 1);
    assertEquals("DENY_APP_KEYS", last.kind());
    assertTrue(last.reason().startsWith(code), last.reason());
    return e;
  }

  @Test
  @Order(1)
  void unreachableOcspResponderFailsClosed() throws Exception {
    String app = app("gpu-it.app2");
    StatusRuntimeException e =
        assertDenied(
            "GPU_REVOCATION_UNAVAILABLE", app, cvm(app, SimulatedGpus.provider(gpus, 6, 7)));
    assertEquals(
        Status.Code.UNAVAILABLE, e.getStatus().getCode(), "an outage is retryable, not a verdict");
    assertTrue(e.getStatus().getDescription().contains("GPU 0"), e.getStatus().getDescription());
  }

  @Test
  @Order(2)
  void twoVerifiedGpusAreAdmittedAndTheGrantNamesTheDevices() throws Exception {
    ocsp();
    String app = app("gpu-it.app2");
    GetAppKeysResponse keys = getKeys(cvm(app, SimulatedGpus.provider(gpus, 0, 1)));
    assertEquals(1, keys.getKeysCount());
    List<AuditEntry> entries =
        audit
            .list(AppId.fromHex(app), 0, Long.MAX_VALUE, 0, 1000)
            .await()
            .atMost(Duration.ofSeconds(10));
    AuditEntry grant = entries.get(entries.size() - 1);
    assertTrue(grant.detailJson().contains("\"gpuCount\":\"2\""), grant.detailJson());
    String device0 =
        HexFormat.of().formatHex(sha256(SimulatedGpus.deviceCertificate(gpus, 0).getEncoded()));
    assertTrue(grant.detailJson().contains(device0), grant.detailJson());
    assertTrue(ocsp.requests.get() >= 3, "the device chains were checked at the responder");
  }

  @Test
  @Order(4)
  void noGpuEvidenceIsRefusedWhenTheAppRequiresGpus() throws Exception {
    String app = app("gpu-it.app2");
    StatusRuntimeException e = assertDenied("GPU_EVIDENCE_MISSING", app, cvm(app, null));
    assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
  }

  @Test
  @Order(5)
  void fewerGpusThanThePolicyAreRefused() throws Exception {
    String app = app("gpu-it.app2");
    assertDenied("GPU_COUNT", app, cvm(app, SimulatedGpus.provider(gpus, 3)));
  }

  @Test
  @Order(6)
  void evidenceMadeForAnotherTlsKeyIsRefused() throws Exception {
    String app = app("gpu-it.app2");
    byte[] otherKeysNonce =
        GpuNonce.forSpki(RaTlsCertificateFactory.newKeyPair().getPublic().getEncoded());
    // Measured honestly, but the reports were made for another connection's key (replayed).
    GpuEvidenceProvider replayed = nonce -> SimulatedGpus.evidence(gpus, otherKeysNonce, 0, 1);
    StatusRuntimeException e = assertDenied("GPU_NONCE_MISMATCH", app, cvm(app, replayed));
    assertTrue(
        e.getStatus().getDescription().contains("NONCE_MISMATCH")
            || e.getStatus().getDescription().contains("nonce"),
        e.getStatus().getDescription());
  }

  @Test
  @Order(7)
  void firmwareTheRimsDoNotDescribeIsRefused() throws Exception {
    String app = app("gpu-it.app2");
    GpuSimulator tampered = GpuSimulator.seeded(2, HexFormat.of().parseHex(RaTlsProfile.SEED));
    SimulatedGpus.tamperMeasurement(tampered, 7);
    assertDenied("GPU_MEASUREMENT_MISMATCH", app, cvm(app, SimulatedGpus.provider(tampered, 0, 1)));
  }

  @Test
  @Order(8)
  void aRevokedDeviceCertificateIsRefused() throws Exception {
    String app = app("gpu-it.app2");
    java.math.BigInteger serial = SimulatedGpus.deviceCertificate(gpus, 5).getSerialNumber();
    ocsp()
        .statuses
        .put(
            serial,
            new RevokedStatus(
                Date.from(CLOCK.instant().minus(Duration.ofDays(1))), CRLReason.keyCompromise));
    try {
      StatusRuntimeException e =
          assertDenied("GPU_REVOKED", app, cvm(app, SimulatedGpus.provider(gpus, 4, 5)));
      assertTrue(e.getStatus().getDescription().contains("GPU 1"), e.getStatus().getDescription());
    } finally {
      ocsp.statuses.remove(serial);
    }
  }

  @Test
  @Order(9)
  void evidenceTheCvmDidNotMeasureIsRefusedAsRelayed() throws Exception {
    String app = app("gpu-it.app2");
    SimulatedCvm cvm = tdx.newCvm(new byte[48], false);
    RuntimeEventLog log = boot(cvm, app);
    KeyPair keys = RaTlsCertificateFactory.newKeyPair();
    byte[] nonce = GpuNonce.forSpki(keys.getPublic().getEncoded());
    // The CVM measured its own GPUs (2, 3); the certificate carries valid reports of GPUs 0, 1 for
    // the same key,
    // made elsewhere and relayed in.
    log.emit(DstackBootSequence.GPU_EVIDENCE, SimulatedGpus.evidence(gpus, nonce, 2, 3).sha384());
    GpuEvidence relayed = SimulatedGpus.evidence(gpus, nonce, 0, 1);
    var q = log.quote(cvm, ReportDataBinding.forSpki(keys.getPublic().getEncoded()));
    RaTlsCertificateFactory factory =
        new RaTlsCertificateFactory(cvm, log, null, CLOCK, Duration.ofHours(1));
    RaTlsCredentials creds =
        new RaTlsCredentials(
            keys.getPrivate(),
            factory.build(
                keys,
                "cvm",
                q.quote().toByteArray(),
                q.eventLogJson().getBytes(StandardCharsets.UTF_8),
                relayed.encode()));
    assertDenied("GPU_NOT_MEASURED", app, creds);
  }

  @Test
  @Order(10)
  void theSameGpuTwiceIsRefused() throws Exception {
    String app = app("gpu-it.app2");
    assertDenied("GPU_DUPLICATE_DEVICE", app, cvm(app, SimulatedGpus.provider(gpus, 2, 2)));
  }

  @Test
  @Order(11)
  void evidenceFromOtherDevicesThanMeasuredAtBootIsRefused() throws Exception {
    String app = app("gpu-it.app2");
    // Booted with GPUs 2, 3; later presents valid, key-bound, RTMR3-measured evidence of GPUs 0, 1
    // (another machine's,
    // or swapped devices). Each certificate's own gpu-evidence event matches, only gpu-devices
    // tells them apart.
    StatusRuntimeException e =
        assertDenied(
            "GPU_DEVICE_CHANGED",
            app,
            cvm(app, SimulatedGpus.provider(gpus, 2, 3), SimulatedGpus.provider(gpus, 0, 1)));
    assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
    // One of its two GPUs swapped.
    assertDenied(
        "GPU_DEVICE_CHANGED",
        app,
        cvm(app, SimulatedGpus.provider(gpus, 2, 3), SimulatedGpus.provider(gpus, 2, 1)));
  }

  @Test
  @Order(12)
  void evidenceWithoutABootTimeDeviceMeasurementIsRefused() throws Exception {
    String app = app("gpu-it.app2");
    StatusRuntimeException e =
        assertDenied("GPU_DEVICE_CHANGED", app, cvm(app, null, SimulatedGpus.provider(gpus, 0, 1)));
    assertTrue(
        e.getStatus().getDescription().contains("no gpu-devices"), e.getStatus().getDescription());
  }

  @Test
  @Order(13)
  void theSameDevicesInAnotherOrderAreAdmitted() throws Exception {
    String app = app("gpu-it.app2");
    assertEquals(
        1,
        getKeys(cvm(app, SimulatedGpus.provider(gpus, 1, 0), SimulatedGpus.provider(gpus, 0, 1)))
            .getKeysCount());
  }
}
