package org.teekms.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.teekms.proto.AuditChainStatus;
import org.teekms.proto.CertificateStatus;
import org.teekms.proto.ChainStatus;
import org.teekms.proto.CollateralStatus;
import org.teekms.proto.DatabaseStatus;
import org.teekms.proto.GenerationStatus;
import org.teekms.proto.KmsStatus;
import org.teekms.proto.ReplicaPeer;
import org.teekms.proto.ReplicaStatus;
import org.teekms.proto.RotationJobSummary;
import org.teekms.proto.RpcEndpointStatus;

/** What {@code teekms kms status} flags from a node's GetKmsStatus answer, and what it shows. */
class KmsStatusReportTest {
  private static final Instant NOW = Instant.parse("2030-01-01T12:00:00Z");
  private static final Duration WARN = Duration.ofHours(6);

  private static long at(Duration fromNow) {
    return NOW.plus(fromNow).toEpochMilli();
  }

  /** A node with nothing wrong. */
  static KmsStatus.Builder healthy() {
    return KmsStatus.newBuilder()
        .setKmsId("k")
        .setNow(NOW.toEpochMilli())
        .setCurrentGeneration(1)
        .setTrustConfigurationDigest(ByteString.copyFrom(new byte[32]))
        .addGenerations(
            GenerationStatus.newBuilder()
                .setGeneration(1)
                .setState("CURRENT")
                .setRootAddress(ByteString.copyFrom(new byte[20]))
                .setCaCertificateSha256(ByteString.copyFrom(new byte[32]))
                .setCaNotAfter(at(Duration.ofDays(3650)))
                .setCreatedAt(at(Duration.ofDays(-30))))
        .setDatabase(DatabaseStatus.newBuilder().setUp(true).setLatencyMs(2))
        .setAudit(
            AuditChainStatus.newBuilder()
                .setReadable(true)
                .setHeadSeq(12)
                .setHeadHash(ByteString.copyFrom(new byte[32])))
        .setChain(
            ChainStatus.newBuilder()
                .setConfigured(true)
                .setChainId(1)
                .setQuorum(2)
                .setEndpointsUp(3)
                .setRegistryAddress(ByteString.copyFrom(new byte[20]))
                .setConfirmations(3)
                .setPinnedBlock(100)
                .setPinnedBlockHash("0xab")
                .setPinnedBlockTime(at(Duration.ofSeconds(-36)))
                .addEndpoints(
                    RpcEndpointStatus.newBuilder()
                        .setEndpoint("https://a.example")
                        .setUp(true)
                        .setHead(103))
                .addEndpoints(
                    RpcEndpointStatus.newBuilder()
                        .setEndpoint("https://b.example")
                        .setUp(true)
                        .setHead(104))
                .addEndpoints(
                    RpcEndpointStatus.newBuilder()
                        .setEndpoint("https://c.example")
                        .setUp(true)
                        .setHead(103)))
        .setCollateral(
            CollateralStatus.newBuilder()
                .setCached(true)
                .setEntries(1)
                .setMaxAgeSeconds(86400)
                .setOldestFetchedAt(at(Duration.ofHours(-2)))
                .setEarliestExpiry(at(Duration.ofHours(22)))
                .setEarliestNextUpdate(at(Duration.ofDays(20))))
        .setCertificate(
            CertificateStatus.newBuilder()
                .setNotBefore(at(Duration.ofHours(-1)))
                .setNotAfter(at(Duration.ofHours(23)))
                .setSha256(ByteString.copyFrom(new byte[32])))
        .setReplicas(
            ReplicaStatus.newBuilder()
                .addPeers(
                    ReplicaPeer.newBuilder()
                        .setNodeId("n1")
                        .setSealingKeyId("key1")
                        .setSealedGenerations(1)
                        .setThisNode(true)));
  }

  private static List<String> problems(KmsStatus s) {
    List<String> problems = new ArrayList<>();
    KmsStatusReport.put(VerifyQuoteCommand.JSON.createObjectNode(), s, WARN, problems);
    return problems;
  }

  @Test
  void aHealthyNodeHasNoProblemsAndShowsHeadPinnedBlockAndAges() {
    ObjectNode json = VerifyQuoteCommand.JSON.createObjectNode();
    List<String> problems = new ArrayList<>();
    KmsStatusReport.put(json, healthy().build(), WARN, problems);
    assertEquals(List.of(), problems);
    assertEquals(
        104, json.path("chain").path("head").asLong(), "the highest head any endpoint reported");
    assertEquals(100, json.path("chain").path("pinnedBlock").asLong());
    assertEquals(36, json.path("chain").path("pinnedBlockAgeSeconds").asLong());
    assertEquals(7200, json.path("collateral").path("ageSeconds").asLong());
    assertEquals("2030-01-02T10:00:00Z", json.path("collateral").path("expiresAt").asText());
    assertEquals("2030-01-02T11:00:00Z", json.path("certificate").path("notAfter").asText());
    assertTrue(json.path("replicas").path("peers").get(0).path("thisNode").asBoolean());
  }

  @Test
  void eachUnhealthyPartIsReportedInWords() {
    assertEquals(
        List.of("database: database unreachable: Connection refused"),
        problems(
            healthy()
                .setDatabase(
                    DatabaseStatus.newBuilder()
                        .setUp(false)
                        .setError("database unreachable: Connection refused"))
                .build()));
    assertEquals(
        List.of("audit chain: broken at seq 7: entry hash mismatch (docs/audit-log.md)"),
        problems(
            healthy()
                .setAudit(
                    AuditChainStatus.newBuilder()
                        .setReadable(true)
                        .setVerified(true)
                        .setValid(false)
                        .setProblem("seq 7: entry hash mismatch"))
                .build()));
    assertEquals(
        List.of(
            "chain: 1 of 3 RPC endpoints answer, 2 needed: admissions are refused as CHAIN_UNAVAILABLE"),
        problems(healthy().setChain(healthy().getChain().toBuilder().setEndpointsUp(1)).build()));
    assertTrue(
        problems(healthy().setChain(ChainStatus.newBuilder().setConfigured(false)).build())
            .get(0)
            .startsWith("chain: not configured"));
    assertEquals(
        List.of("quote collateral: expires in 2 h 0 min (at 2030-01-01T14:00:00Z)"),
        problems(
            healthy()
                .setCollateral(
                    healthy().getCollateral().toBuilder()
                        .setEarliestExpiry(at(Duration.ofHours(2))))
                .build()));
    assertEquals(
        List.of("RA-TLS certificate: expired at 2030-01-01T11:59:00Z"),
        problems(
            healthy()
                .setCertificate(
                    healthy().getCertificate().toBuilder().setNotAfter(at(Duration.ofMinutes(-1))))
                .build()));
    assertEquals(
        List.of(
            "replicas: root generations [2] have no copy sealed under this node's key: it cannot serve "
                + "them and no teekms.onboarding.source is set"),
        problems(
            healthy()
                .setReplicas(healthy().getReplicas().toBuilder().addMissingCopies(2))
                .build()));
    assertEquals(
        List.of("rotation job j1 (ROOT_ROTATION, GENERATED) retrying after 3 attempts: db timeout"),
        problems(
            healthy()
                .addRotationJobs(
                    RotationJobSummary.newBuilder()
                        .setJobId("j1")
                        .setKind("ROOT_ROTATION")
                        .setState("GENERATED")
                        .setAttempts(3)
                        .setLastError("db timeout"))
                .build()));
  }

  @Test
  void expiryWarningFollowsTheWarnWindow() {
    List<String> p = new ArrayList<>();
    KmsStatusReport.expiry("x", at(Duration.ofHours(5)), NOW, Duration.ofHours(6), p);
    KmsStatusReport.expiry("y", at(Duration.ofHours(7)), NOW, Duration.ofHours(6), p);
    KmsStatusReport.expiry("z", 0, NOW, Duration.ofHours(6), p);
    assertEquals(List.of("x: expires in 5 h 0 min (at 2030-01-01T17:00:00Z)"), p);
  }

  @Test
  void aClockBeyondTheAllowanceIsAProblemAndAKnownSkewIsShown() {
    String behind =
        "this node's clock is 30 min behind the chain's latest block (99 at"
            + " 2030-01-01T12:30:00Z), more than the 10 min allowance";
    ObjectNode json = VerifyQuoteCommand.JSON.createObjectNode();
    List<String> problems = new ArrayList<>();
    KmsStatusReport.put(
        json,
        healthy()
            .setClock(
                org.teekms.proto.ClockStatus.newBuilder()
                    .setKnown(true)
                    .setChainBlock(99)
                    .setChainTime(at(Duration.ofMinutes(30)))
                    .setSkewMs(-1_800_000)
                    .setAllowanceMs(600_000)
                    .setWithinAllowance(false)
                    .setProblem(behind))
            .build(),
        WARN,
        problems);
    assertEquals(List.of("clock: " + behind), problems);
    assertEquals(-1800.0, json.path("clock").path("skewSeconds").asDouble());
    assertEquals(600, json.path("clock").path("allowanceSeconds").asLong());
    assertEquals("2030-01-01T12:30:00Z", json.path("clock").path("chainTime").asText());
    // unknown (no chain answer): shown, not a problem of its own (the chain part reports the RPCs)
    List<String> none = new ArrayList<>();
    KmsStatusReport.put(
        VerifyQuoteCommand.JSON.createObjectNode(),
        healthy()
            .setClock(
                org.teekms.proto.ClockStatus.newBuilder()
                    .setKnown(false)
                    .setProblem("clock skew unknown: no chain configured (teekms.chain.*)"))
            .build(),
        WARN,
        none);
    assertEquals(List.of(), none);
  }

  @Test
  void anUncachedCollateralSourceShowsNoExpiry() {
    ObjectNode json = VerifyQuoteCommand.JSON.createObjectNode();
    List<String> problems = new ArrayList<>();
    KmsStatusReport.put(
        json,
        healthy().setCollateral(CollateralStatus.newBuilder().setCached(false)).build(),
        WARN,
        problems);
    assertEquals(List.of(), problems);
    assertFalse(json.path("collateral").has("expiresAt"));
  }
}
