package org.teekms.kms.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.StatusRuntimeException;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.teekms.attest.gpu.LocalOcspResponder;
import org.teekms.attest.gpu.SimulatedGpus;
import org.teekms.attest.ratls.RaTlsCredentials;
import org.teekms.kms.grpc.GrpcErrors;

/**
 * Eight GPUs' evidence in one RA-TLS certificate through the real KMS, chain and RA-TLS (the app
 * requires 8 Hopper GPUs on chain): admitted, and the same CVM with one GPU missing refused with
 * GPU_COUNT; both verified off the event loop (on the TLS engine's worker, TlsEngineCustomizer).
 */
@QuarkusTest
@TestProfile(GpuMultiProfile.class)
@QuarkusTestResource(value = GpuChainResource.class, restrictToAnnotatedClass = true)
class GpuEightRaTlsTest {

  @jakarta.inject.Inject io.micrometer.core.instrument.MeterRegistry metrics;

  private static LocalOcspResponder ocsp;

  @BeforeAll
  static void start() throws Exception {
    GpuAdmissionRaTlsTest.platform();
    ocsp = SimulatedGpus.ocspResponder(GpuAdmissionRaTlsTest.gpus, GpuMultiProfile.OCSP_PORT);
  }

  @AfterAll
  static void stop() {
    ocsp.close();
  }

  @Test
  void eightGpusInOneCertificateAreAdmittedAndSevenAreNot() throws Exception {
    String app = ConfigProvider.getConfig().getValue("gpu-it.app8", String.class);
    RaTlsCredentials eight =
        GpuAdmissionRaTlsTest.cvm(
            app, SimulatedGpus.provider(GpuAdmissionRaTlsTest.gpus, 0, 1, 2, 3, 4, 5, 6, 7));
    int size = eight.certificate().getEncoded().length;
    assertTrue(size < 96 * 1024, "8 GPUs' evidence stays within the limits: " + size + " bytes");
    assertEquals(1, GpuAdmissionRaTlsTest.getKeys(eight, GpuMultiProfile.PORT).getKeysCount());
    RaTlsCredentials seven =
        GpuAdmissionRaTlsTest.cvm(
            app, SimulatedGpus.provider(GpuAdmissionRaTlsTest.gpus, 0, 1, 2, 3, 4, 5, 6));
    StatusRuntimeException e =
        assertThrows(
            StatusRuntimeException.class,
            () -> GpuAdmissionRaTlsTest.getKeys(seven, GpuMultiProfile.PORT));
    assertEquals(
        "GPU_COUNT", e.getTrailers().get(GrpcErrors.DENY_REASON), e.getStatus().toString());
    assertTrue(
        metrics
                .find("teekms.ratls.client.handshakes")
                .tag("outcome", "verified")
                .functionCounter()
                .count()
            >= 2);
    assertEquals(
        0.0,
        metrics.find("teekms.ratls.verifications.on.event.loop").functionCounter().count(),
        "the eight-GPU verifications ran on a worker, not on an event loop");
  }
}
