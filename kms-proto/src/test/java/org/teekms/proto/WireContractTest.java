package org.teekms.proto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.google.protobuf.ByteString;
import io.grpc.ServiceDescriptor;
import java.io.InputStream;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Pins the parts of the wire contract that clients branch on: method names, field numbers,
 * deny-reason names.
 */
class WireContractTest {

  @Test
  void serviceMethodsAreStable() {
    assertEquals(
        List.of("teekms.v1.Kms/GetAppKeys", "teekms.v1.Kms/SignCert"),
        methods(KmsGrpc.getServiceDescriptor()));
    assertEquals(
        List.of("teekms.v1.KmsInfoService/GetKmsInfo", "teekms.v1.KmsInfoService/GetKmsStatus"),
        methods(KmsInfoServiceGrpc.getServiceDescriptor()));
    assertEquals(
        List.of(
            "teekms.v1.Auditor/GetEffectivePolicy",
            "teekms.v1.Auditor/ListAuditEvents",
            "teekms.v1.Auditor/VerifyAuditChain"),
        methods(AuditorGrpc.getServiceDescriptor()));
    assertEquals(
        List.of("teekms.v1.Onboarding/GetRootGenerations"),
        methods(OnboardingGrpc.getServiceDescriptor()));
  }

  @Test
  void denyReasonNumbersAreStable() {
    // Numbers are on the wire (and names in the `teekms-deny-reason` trailer): never renumber.
    assertEquals(2, DenyReason.ATTESTATION_INVALID.getNumber());
    assertEquals(7, DenyReason.COMPOSE_HASH_NOT_ALLOWED.getNumber());
    assertEquals(11, DenyReason.CHAIN_UNAVAILABLE.getNumber());
    assertEquals(13, DenyReason.KMS_UNAVAILABLE.getNumber());
    assertEquals(16, DenyReason.KMS_KEY_PROVIDER_MISMATCH.getNumber());
    assertEquals(17, DenyReason.OS_IMAGE_MEASUREMENT_MISMATCH.getNumber());
    assertEquals(18, DenyReason.ATTESTATION_EXPIRED.getNumber());
    assertEquals(19, DenyReason.ROOT_ANCHOR_MISMATCH.getNumber());
    assertEquals(32, DenyReason.GPU_VERIFIER_NOT_CONFIGURED.getNumber());
    assertEquals(33, DenyReason.TD_NOT_ACCEPTED.getNumber());
    assertEquals(34, DenyReason.RATE_LIMITED.getNumber());
    assertEquals(35, DenyReason.GPU_DEVICE_CHANGED.getNumber());
    assertEquals(36, DenyReason.MR_CONFIG_ID_MISMATCH.getNumber());
    assertEquals(37, DenyReason.CERTIFICATE_NOT_YET_VALID.getNumber());
    assertEquals(38, DenyReason.KMS_CLOCK_SKEW.getNumber());
  }

  @Test
  void kmsStatusRoundTripsWithStableFieldNumbers() throws Exception {
    KmsStatus status =
        KmsStatus.newBuilder()
            .setKmsId("k")
            .setNodeId("n1")
            .setCurrentGeneration(2)
            .setNow(1000)
            .addGenerations(
                GenerationStatus.newBuilder()
                    .setGeneration(2)
                    .setState("CURRENT")
                    .setCaCertificateSha256(ByteString.copyFrom(new byte[32]))
                    .setCaNotAfter(5000))
            .setChain(
                ChainStatus.newBuilder()
                    .setConfigured(true)
                    .setChainId(31337)
                    .setQuorum(2)
                    .setPinnedBlock(90)
                    .addEndpoints(
                        RpcEndpointStatus.newBuilder()
                            .setEndpoint("https://rpc.example:443")
                            .setUp(true)
                            .setHead(93)))
            .setDatabase(DatabaseStatus.newBuilder().setUp(true).setLatencyMs(3))
            .setAudit(AuditChainStatus.newBuilder().setReadable(true).setHeadSeq(41))
            .setCollateral(
                CollateralStatus.newBuilder().setCached(true).setEntries(1).setEarliestExpiry(4000))
            .setCertificate(CertificateStatus.newBuilder().setNotAfter(6000))
            .addRotationJobs(
                RotationJobSummary.newBuilder()
                    .setJobId("j")
                    .setKind("ROOT_ROTATION")
                    .setState("PENDING"))
            .setReplicas(
                ReplicaStatus.newBuilder()
                    .addMissingCopies(2)
                    .addPeers(ReplicaPeer.newBuilder().setNodeId("n2").setSealedGenerations(1)))
            .build();
    KmsStatus parsed = KmsStatus.parseFrom(status.toByteArray());
    assertEquals(status, parsed);
    assertEquals(93, parsed.getChain().getEndpoints(0).getHead());
    // Field numbers `teekms kms status` and dashboards built on the RPC rely on.
    assertEquals(9, KmsStatus.CHAIN_FIELD_NUMBER);
    assertEquals(12, KmsStatus.COLLATERAL_FIELD_NUMBER);
    assertEquals(13, KmsStatus.CERTIFICATE_FIELD_NUMBER);
    assertEquals(15, KmsStatus.REPLICAS_FIELD_NUMBER);
    assertEquals(16, KmsStatus.CLOCK_FIELD_NUMBER);
    assertEquals(4, ClockStatus.SKEW_MS_FIELD_NUMBER);
    assertEquals(1, GetKmsStatusRequest.VERIFY_AUDIT_CHAIN_FIELD_NUMBER);
  }

  @Test
  void appKeysResponseRoundTrips() throws Exception {
    byte[] appId = new byte[20];
    appId[19] = 7;
    GetAppKeysResponse response =
        GetAppKeysResponse.newBuilder()
            .setAppId(ByteString.copyFrom(appId))
            .setCurrentVersion(3)
            .setMinVersion(2)
            .setGrantId("g-1")
            .setPolicyBlock(
                PolicyBlock.newBuilder()
                    .setChainId(31337)
                    .setNumber(12)
                    .setHash(ByteString.copyFrom(new byte[32])))
            .addKeys(
                AppKeys.newBuilder()
                    .setKeyVersion(2)
                    .setRootGeneration(1)
                    .setDiskKey(ByteString.copyFrom(new byte[32])))
            .addKeys(AppKeys.newBuilder().setKeyVersion(3))
            .build();
    GetAppKeysResponse parsed = GetAppKeysResponse.parseFrom(response.toByteArray());
    assertEquals(response, parsed);
    assertArrayEquals(appId, parsed.getAppId().toByteArray());
    assertEquals(12, parsed.getPolicyBlock().getNumber());
    // Field numbers other implementations rely on.
    assertEquals(7, GetAppKeysResponse.GRANT_ID_FIELD_NUMBER);
    assertEquals(6, GetAppKeysResponse.POLICY_BLOCK_FIELD_NUMBER);
  }

  @Test
  void protoSourcesShipInTheJar() throws Exception {
    for (String file : List.of("common", "kms", "kms_info", "auditor", "onboarding")) {
      try (InputStream in = getClass().getResourceAsStream("/teekms/v1/" + file + ".proto")) {
        assertNotNull(in, file + ".proto is packaged");
      }
    }
  }

  private static List<String> methods(ServiceDescriptor descriptor) {
    return descriptor.getMethods().stream()
        .map(m -> m.getFullMethodName())
        .sorted()
        .collect(Collectors.toList());
  }
}
