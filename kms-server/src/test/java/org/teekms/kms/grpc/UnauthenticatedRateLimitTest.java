package org.teekms.kms.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * A source that floods the services anyone may call is refused before any work; other sources and
 * attested calls are not.
 */
class UnauthenticatedRateLimitTest {

  private static final InetSocketAddress FLOODER = new InetSocketAddress("10.0.0.66", 40001);
  private static final InetSocketAddress OTHER_PORT_SAME_HOST =
      new InetSocketAddress("10.0.0.66", 40002);
  private static final InetSocketAddress CVM = new InetSocketAddress("10.0.0.7", 50000);

  @Test
  void aFloodingSourceIsRefusedWhileOthersAndAttestedCallsProceed() {
    AtomicLong now = new AtomicLong();
    UnauthenticatedRateLimit limit =
        new UnauthenticatedRateLimit(new SourceRateLimiter(60, 10, 1000, now::get));
    int allowed = 0;
    int refused = 0;
    for (int i = 0; i < 1000; i++) {
      String method =
          switch (i % 3) {
            case 0 -> "teekms.v1.KmsInfoService/GetKmsInfo";
            case 1 -> "teekms.v1.Auditor/VerifyAuditChain";
            default -> "teekms.v1.Rotation/RequestRootRotation";
          };
      Status s = limit.refusal(method, i % 2 == 0 ? FLOODER : OTHER_PORT_SAME_HOST);
      if (s == null) {
        allowed++;
      } else {
        refused++;
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, s.getCode());
        assertTrue(
            s.getDescription().startsWith("RATE_LIMITED: source 10.0.0.66 "), s.getDescription());
      }
    }
    assertEquals(10, allowed, "the burst, shared by every port of the host");
    assertEquals(990, refused);
    assertNull(
        limit.refusal("teekms.v1.Auditor/GetEffectivePolicy", CVM),
        "another source keeps its budget");
    for (int i = 0; i < 100; i++) {
      assertNull(
          limit.refusal("teekms.v1.Kms/GetAppKeys", FLOODER),
          "attested calls are bounded at the handshake");
      assertNull(
          limit.refusal("teekms.v1.AppEnv/GetAppEnvEncryptPubKey", FLOODER),
          "AppEnv has its own budget");
    }
    now.addAndGet(1_000_000_000L); // one second at 60 a minute: one more call
    assertNull(limit.refusal("teekms.v1.KmsInfoService/GetKmsInfo", FLOODER));
    assertEquals(
        Status.Code.RESOURCE_EXHAUSTED,
        limit.refusal("teekms.v1.KmsInfoService/GetKmsInfo", FLOODER).getCode());
  }
}
