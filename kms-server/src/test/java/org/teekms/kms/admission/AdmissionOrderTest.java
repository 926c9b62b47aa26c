package org.teekms.kms.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.teekms.kms.grant.PolicyBlockRef;

/**
 * The steps of admission that come before any database access, in their order (the first failure is
 * the answer): local and GPU checks before the chain is read, the chain's verdict, the app's GPU
 * requirement. No database is configured: a step that reached it would fail the test (found by PIT:
 * removing the GPU checks from {@code AdmissionController.admit} left the database-backed tests
 * green, docs/reliability.md §5).
 */
class AdmissionOrderTest {

  private static final PolicyBlockRef BLOCK = new PolicyBlockRef(31337, 100, new byte[32]);
  private static final String DEV_A = "aa".repeat(32);
  private static final String DEV_B = "bb".repeat(32);

  private final AtomicInteger chainReads = new AtomicInteger();
  private final AtomicInteger observedReads = new AtomicInteger();

  private AdmissionController controller(AppPolicyPort chain) {
    AppPolicyPort counted =
        peer -> {
          chainReads.incrementAndGet();
          return chain.check(peer);
        };
    AdmissionObserver observer =
        new AdmissionObserver() {
          @Override
          public void admitted(Duration took) {}

          @Override
          public void denied(DenyCode code, Duration took) {}

          @Override
          public void chainRead(Duration took) {
            observedReads.incrementAndGet();
          }
        };
    return new AdmissionController(
        null,
        new LocalAttestationPolicy(Set.of("UpToDate"), Set.of(), Optional.empty()),
        counted,
        null,
        null,
        null,
        Clock.systemUTC(),
        Duration.ofSeconds(5),
        observer,
        Runnable::run);
  }

  private static AdmissionDenied refused(AdmissionController c, AttestedPeer p) {
    return assertThrows(
        AdmissionDenied.class, () -> c.admit(p).await().atMost(Duration.ofSeconds(10)));
  }

  private static GpuFacts.Gpu gpu(String device) {
    return new GpuFacts.Gpu(Optional.empty(), "", device, "HOPPER", "565.0.0", "");
  }

  @Test
  void aGpuWhoseEvidenceFailedIsRefusedBeforeTheChainIsRead() {
    GpuFacts failed =
        new GpuFacts(
            true,
            List.of(
                new GpuFacts.Gpu(
                    Optional.of(DenyCode.GPU_NONCE_MISMATCH),
                    "nonce mismatch",
                    DEV_A,
                    "HOPPER",
                    "",
                    "")));
    AdmissionDenied d =
        refused(
            controller(p -> AppPolicyVerdict.unavailable("must not be read")),
            TestPeers.peer().gpuFacts(failed).build());
    assertEquals(DenyCode.GPU_NONCE_MISMATCH, d.code());
    assertEquals(0, chainReads.get());
  }

  @Test
  void gpusOtherThanThoseMeasuredAtBootAreRefusedBeforeTheChainIsRead() {
    GpuFacts swapped =
        new GpuFacts(
            true,
            List.of(gpu(DEV_A)),
            Optional.of(
                java.util.HexFormat.of()
                    .formatHex(org.teekms.attest.gpu.GpuDevices.digestOfHex(List.of(DEV_B)))));
    AdmissionDenied d =
        refused(
            controller(p -> AppPolicyVerdict.unavailable("must not be read")),
            TestPeers.peer().gpus(1, "HOPPER", 0).gpuFacts(swapped).build());
    assertEquals(DenyCode.GPU_DEVICE_CHANGED, d.code());
    assertEquals(0, chainReads.get());
  }

  @Test
  void aChainRefusalOfTheOsMeasurementNamesTheTdsMrSystemTheAppAndTheBlock() {
    AttestedPeer p = TestPeers.peer().build();
    AdmissionDenied d =
        refused(
            controller(
                x ->
                    AppPolicyVerdict.denied(
                        BLOCK, DenyCode.OS_IMAGE_MEASUREMENT_MISMATCH, "no golden value")),
            p);
    assertEquals(DenyCode.OS_IMAGE_MEASUREMENT_MISMATCH, d.code());
    assertEquals(
        "no golden value: "
            + p.os().mismatch(p.osImageHash())
            + " (app 0x"
            + p.appHex()
            + " at "
            + BLOCK
            + ")",
        d.detail());
    assertEquals(Optional.of(BLOCK), d.block());
    assertEquals(1, observedReads.get());
  }

  @Test
  void anyOtherChainRefusalKeepsTheChainsReasonOnly() {
    AttestedPeer p = TestPeers.peer().build();
    AdmissionDenied d =
        refused(
            controller(
                x ->
                    AppPolicyVerdict.denied(
                        BLOCK, DenyCode.COMPOSE_HASH_NOT_ALLOWED, "compose hash not allowed")),
            p);
    assertEquals(
        "compose hash not allowed (app 0x" + p.appHex() + " at " + BLOCK + ")", d.detail());
  }

  @Test
  void aPolicyReaderThatThrowsIsChainUnavailableNamingTheRootCause() {
    AdmissionDenied d =
        refused(
            controller(
                x -> {
                  throw new IllegalStateException(
                      "wrapper", new java.io.IOException("connection refused"));
                }),
            TestPeers.peer().build());
    assertEquals(DenyCode.CHAIN_UNAVAILABLE, d.code());
    assertEquals(
        "on-chain policy unreadable: policy reader failed: IOException: connection refused",
        d.detail());
    assertEquals(1, observedReads.get());
    assertEquals(
        "NullPointerException",
        AdmissionController.rootMessage(new RuntimeException(new NullPointerException())));
  }

  @Test
  void anUnmetGpuRequirementIsRefusedAtTheBlockThePolicyWasReadAt() {
    AdmissionDenied d =
        refused(
            controller(
                x ->
                    AppPolicyVerdict.allowed(
                        BLOCK,
                        1,
                        1,
                        new AppPolicyVerdict.GpuRequirement(1, "HOPPER", 0),
                        new org.teekms.kms.roots.ChainRootAnchor(0, List.of()))),
            TestPeers.peer().build());
    assertEquals(DenyCode.GPU_EVIDENCE_MISSING, d.code());
    assertEquals(Optional.of(BLOCK), d.block());
  }

  @Test
  void theAttestedGpusAreListedByDeviceIdInEvidenceOrder() {
    AttestedPeer p =
        TestPeers.peer().gpuFacts(new GpuFacts(true, List.of(gpu(DEV_B), gpu(DEV_A)))).build();
    assertEquals(DEV_B + "," + DEV_A, AdmissionController.gpuDevices(p));
    assertTrue(AdmissionController.gpuDevices(TestPeers.peer().build()).isEmpty());
  }
}
