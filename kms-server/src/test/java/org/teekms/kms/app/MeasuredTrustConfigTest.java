package org.teekms.kms.app;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.teekms.attest.eventlog.DstackEventLogCodec;
import org.teekms.attest.eventlog.EventLogEntry;
import org.teekms.attest.eventlog.RtmrReplay;
import org.teekms.attest.provider.ConfigfsTsmQuoteProvider;
import org.teekms.attest.ratls.RaTlsCertificateParser;
import org.teekms.attest.ratls.RaTlsEvidence;
import org.teekms.attest.ratls.RaTlsIdentity;
import org.teekms.attest.ratls.RaTlsVerificationListener;
import org.teekms.attest.ratls.RaTlsVerifier;
import org.teekms.attest.sim.SimulatedTdx;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.QuotePolicy;
import org.teekms.attest.tdx.TdxQuote;
import org.teekms.governance.ChainClient;
import org.teekms.governance.ChainPolicyReader;
import org.teekms.governance.KmsRegistry;
import org.teekms.governance.PolicyReaderConfig;
import org.teekms.governance.testing.AnvilNode;
import org.teekms.kms.adapters.GovernanceAppPolicy;
import org.teekms.kms.adapters.RaTlsPeerAttestation;
import org.teekms.kms.onboarding.KmsPolicyVerdict;
import org.teekms.kms.tls.RaTlsSetup;
import org.teekms.kms.tls.TrustConfiguration;
import org.teekms.kms.wiring.KmsConfig;
import org.web3j.crypto.Credentials;

/**
 * The measured trust configuration end to end: two KMS nodes of the same image whose configurations
 * differ in one trust value have different measurements (the RTMR3 event, replayed from their
 * RA-TLS certificates' event logs), and the real KmsRegistry (anvil) that allows one refuses the
 * other through the KMS's own governance adapter.
 */
class MeasuredTrustConfigTest {

  static final String SEED = RaTlsProfile.SEED;
  static AnvilNode anvil;
  static ChainClient chain;
  static KmsRegistry registry;

  @BeforeAll
  static void chain() throws Exception {
    anvil = AnvilNode.start();
    chain = ChainClient.connect(anvil.rpcUrl(), AnvilNode.CHAIN_ID);
    Credentials operator = anvil.fundedAccount();
    registry = KmsRegistry.deploy(chain, operator, operator.getAddress()).registry();
    registry.setTcbPolicy(List.of("UpToDate"), List.of());
  }

  @AfterAll
  static void stop() {
    if (chain != null) chain.close();
    if (anvil != null) anvil.close();
  }

  static KmsConfig config(Map<String, String> settings) {
    return new SmallRyeConfigBuilder()
        .withMapping(KmsConfig.class)
        .withConverter(
            java.time.Duration.class, 100, new io.quarkus.runtime.configuration.DurationConverter())
        .withSources(new PropertiesConfigSource(settings, "test", 500))
        .build()
        .getConfigMapping(KmsConfig.class);
  }

  static Map<String, String> simulatedNode(String registryAddress) {
    Map<String, String> m = new HashMap<>();
    m.put("teekms.kms-id", "kms-measured");
    m.put("teekms.simulator.enabled", "true");
    m.put("teekms.simulator.seed", SEED);
    m.put("teekms.sealing.provider", "file");
    m.put("teekms.chain.rpc-url", anvil.rpcUrl());
    m.put("teekms.chain.allow-single-rpc", "true");
    m.put("teekms.chain.chain-id", String.valueOf(AnvilNode.CHAIN_ID));
    m.put("teekms.chain.registry-address", registryAddress);
    return m;
  }

  /** A KMS node's RA-TLS identity as a peer verifies it. */
  static RaTlsIdentity start(Map<String, String> settings) throws Exception {
    RaTlsSetup node =
        new RaTlsSetup(
            config(settings),
            Clock.systemUTC(),
            ConfigfsTsmQuoteProvider.Io.FILES,
            (i, d) -> {
              throw new AssertionError(
                  "the simulator measures into its own CVM, never through sysfs");
            },
            RaTlsVerificationListener.NONE);
    SimulatedTdx platform =
        SimulatedTdx.enableSeeded("peer", Clock.systemUTC(), HexFormat.of().parseHex(SEED));
    RaTlsVerifier verifier =
        RaTlsVerifier.builder(
                new DcapQuoteVerifier(platform.rootCertificate()), platform.collateralSource())
            .quotePolicy(QuotePolicy.builder().build())
            .build();
    java.security.cert.X509Certificate cert = node.keyManager().credentials().certificate();
    RaTlsIdentity id = verifier.verify(cert);
    // The certificate's event log carries the event with this node's digest, and RTMR3 replays
    // through it.
    RaTlsEvidence evidence = RaTlsCertificateParser.parse(cert);
    List<EventLogEntry> log = DstackEventLogCodec.parse(evidence.eventLogJson().toByteArray());
    EventLogEntry event =
        log.stream()
            .filter(e -> e.name().equals(TrustConfiguration.EVENT_NAME))
            .findFirst()
            .orElseThrow();
    assertArrayEquals(node.trustConfiguration().digest(), event.payload());
    assertArrayEquals(
        TdxQuote.parse(evidence.quote().toByteArray()).tdReport().rtmr(3).toByteArray(),
        RtmrReplay.replay(log).rtmr(3));
    return id;
  }

  @Test
  void aChangedTrustValueChangesTheMeasurementAndTheRegistryRefusesIt() throws Exception {
    RaTlsIdentity measured = start(simulatedNode(registry.address()));
    RaTlsIdentity sameAgain = start(simulatedNode(registry.address()));
    // The host points a node of the same image at its own registry: one trust value differs.
    RaTlsIdentity redirected = start(simulatedNode("0x000000000000000000000000000000000000dead"));
    assertEquals(
        measured.mrAggregated(), sameAgain.mrAggregated(), "the measurement is reproducible");
    assertEquals(measured.composeHash(), redirected.composeHash(), "same KMS image");
    assertFalse(
        measured.mrAggregated().equals(redirected.mrAggregated()),
        "another configuration, another measurement");

    registry.addKmsMeasurement(measured.mrAggregated().toByteArray());
    registry.addKmsDevice(measured.deviceId().toByteArray());
    registry.addOsImage(OS_IMAGE);
    GovernanceAppPolicy policy =
        new GovernanceAppPolicy(
            new ChainPolicyReader(
                PolicyReaderConfig.defaults(anvil.rpcUrl(), AnvilNode.CHAIN_ID, registry.address())
                    .withConfirmations(0, false)),
            AnvilNode.CHAIN_ID);
    KmsPolicyVerdict allowed = policy.checkKms(withOsImage(RaTlsPeerAttestation.toPeer(measured)));
    assertEquals(KmsPolicyVerdict.Outcome.ALLOWED, allowed.outcome(), allowed.reason());
    KmsPolicyVerdict refused =
        policy.checkKms(withOsImage(RaTlsPeerAttestation.toPeer(redirected)));
    assertEquals(KmsPolicyVerdict.Outcome.DENIED, refused.outcome());
    assertEquals("KMS measurement not allowed", refused.reason());
  }

  /**
   * The simulated KMS boots without an os-image-hash event; the registry requires one: both nodes
   * get the same.
   */
  static final byte[] OS_IMAGE = new byte[32];

  static {
    java.util.Arrays.fill(OS_IMAGE, (byte) 0x05);
  }

  static org.teekms.kms.admission.AttestedPeer withOsImage(
      org.teekms.kms.admission.AttestedPeer p) {
    return org.teekms.kms.admission.TestPeers.from(p)
        .osImage(OS_IMAGE)
        .gpuFacts(org.teekms.kms.admission.GpuFacts.NONE)
        .build();
  }

  @Test
  void rootCustodySettingsAreMeasuredOnceCustodyIsEnabled() {
    Map<String, String> base = simulatedNode("0x00000000000000000000000000000000000000aa");
    String without = TrustConfiguration.of(config(base), "prod").digestHex();
    Map<String, String> on = new HashMap<>(base);
    on.put("teekms.custody.enabled", "true");
    on.put("teekms.custody.contract-address", "0x00000000000000000000000000000000000000cc");
    on.put("teekms.custody.threshold", "2");
    on.put("teekms.custody.store", "/var/lib/teekms/shares");
    String with = TrustConfiguration.of(config(on), "prod").digestHex();
    assertFalse(without.equals(with), "enabling custody changes the measurement");
    for (Map.Entry<String, String> e :
        Map.of(
                "teekms.custody.contract-address",
                "0x00000000000000000000000000000000000000dd",
                "teekms.custody.threshold",
                "1",
                "teekms.custody.require-published",
                "false")
            .entrySet()) {
      Map<String, String> m = new HashMap<>(on);
      m.put(e.getKey(), e.getValue());
      assertFalse(with.equals(TrustConfiguration.of(config(m), "prod").digestHex()), e.getKey());
    }
    Map<String, String> otherStore = new HashMap<>(on);
    otherStore.put("teekms.custody.store", "/mnt/other");
    assertEquals(
        with,
        TrustConfiguration.of(config(otherStore), "prod").digestHex(),
        "the store is public and checked against the chain: not measured");
    Map<String, String> off = new HashMap<>(base);
    off.put("teekms.custody.contract-address", "0x00000000000000000000000000000000000000dd");
    assertEquals(
        without,
        TrustConfiguration.of(config(off), "prod").digestHex(),
        "disabled custody is not measured");
  }

  @Test
  void everyMeasuredKeyChangesTheDigestAndOperationalKeysDoNot() {
    Map<String, String> base = simulatedNode("0x00000000000000000000000000000000000000aa");
    String digest = TrustConfiguration.of(config(base), "prod").digestHex();
    Map<String, String> changed =
        new TreeMap<>(
            Map.ofEntries(
                Map.entry("teekms.kms-id", "other"),
                Map.entry("teekms.simulator.seed", "ff"),
                Map.entry("teekms.tee.quote-provider", "configfs-tsm"),
                Map.entry("teekms.collateral.pccs-url", "https://pccs.invalid"),
                Map.entry("teekms.admission.accepted-tcb-statuses", "UpToDate,OutOfDate"),
                Map.entry("teekms.admission.accepted-advisories", "INTEL-SA-00001"),
                Map.entry("teekms.admission.required-key-provider", "kms"),
                Map.entry("teekms.sealing.provider-mrenclave", "ab".repeat(32)),
                Map.entry("teekms.sealing.provider-accepted-tcb-statuses", "SWHardeningNeeded"),
                Map.entry("teekms.sealing.collateral-url", "https://pccs.invalid"),
                Map.entry("teekms.chain.rpc-url", "http://attacker.invalid"),
                Map.entry("teekms.collateral.max-age", "30d"),
                Map.entry("teekms.ratls.max-certificate-lifetime", "365d"),
                Map.entry("teekms.ratls.identity-cache-ttl", "30d"),
                Map.entry("teekms.ratls.clock-skew-allowance", "1h"),
                Map.entry("teekms.gpu.verification", "simulator"),
                Map.entry("teekms.gpu.ocsp.responder-url", "http://attacker.invalid"),
                Map.entry("teekms.gpu.ocsp.mode", "grace"),
                Map.entry("teekms.gpu.ocsp.max-age", "30d"),
                Map.entry(
                    "teekms.chain.rpc-urls", "http://a.invalid,http://b.invalid,http://c.invalid"),
                Map.entry("teekms.chain.quorum", "1"),
                Map.entry("teekms.chain.allow-single-rpc", "false"),
                Map.entry("teekms.chain.max-block-age", "30d"),
                Map.entry("teekms.chain.chain-id", "1"),
                Map.entry(
                    "teekms.chain.registry-address", "0x00000000000000000000000000000000000000bb"),
                Map.entry("teekms.chain.confirmations", "0"),
                Map.entry("teekms.chain.pin-reuse", "1h"),
                Map.entry("teekms.rotation.root-grace", "1d"),
                Map.entry("teekms.operator.max-skew", "1h")));
    for (Map.Entry<String, String> e : changed.entrySet()) {
      Map<String, String> m = new HashMap<>(base);
      m.put(e.getKey(), e.getValue());
      assertFalse(digest.equals(TrustConfiguration.of(config(m), "prod").digestHex()), e.getKey());
    }
    assertFalse(
        digest.equals(TrustConfiguration.of(config(base), "dev").digestHex()),
        "the Quarkus profile");
    Map<String, String> simulatorOff = new HashMap<>(base);
    simulatorOff.put("teekms.simulator.enabled", "false");
    simulatorOff.put("teekms.tee.quote-provider", "simulator");
    assertThrows(
        IllegalStateException.class,
        () -> TrustConfiguration.of(config(simulatorOff), "prod"),
        "an inconsistent simulator setting is refused, not measured");
    // Equal meanings encode equally; operational settings are not measured.
    Map<String, String> same = new HashMap<>(base);
    same.put("teekms.chain.registry-address", "0x00000000000000000000000000000000000000AA");
    same.put("teekms.admission.accepted-tcb-statuses", "UpToDate,UpToDate");
    same.put("teekms.db-timeout", "1s");
    same.put("teekms.node-id", "node-7");
    same.put("teekms.onboarding.source", "10.0.0.2:8443");
    same.put("teekms.sealing.provider-address", "10.0.2.2:3443");
    same.put("teekms.rotation.poll-interval", "1m");
    assertEquals(digest, TrustConfiguration.of(config(same), "prod").digestHex());
    // Every measured key is tested above (or is the profile / simulator switch).
    List<String> covered = new java.util.ArrayList<>(changed.keySet());
    covered.addAll(
        List.of(
            "quarkus.profile",
            "teekms.simulator.enabled",
            "teekms.collateral.root-ca",
            "teekms.gpu.device-root-ca",
            "teekms.gpu.rim-root-ca",
            "teekms.sealing.provider"));
    assertEquals(
        new java.util.TreeSet<>(covered),
        new java.util.TreeSet<>(
            TrustConfiguration.MEASURED.stream()
                .map(TrustConfiguration.MeasuredKey::name)
                .toList()));
  }

  /**
   * The documented vector (docs/trust-config.md), recomputed independently with sha256sum in the
   * doc.
   */
  @Test
  void canonicalDocumentAndDigestMatchTheDocumentedVector() {
    TrustConfiguration t =
        TrustConfiguration.of(
            Map.of(
                "teekms.chain.registry-address", "0x5fbdb2315678afecb367f032d93f642f64180aa3",
                "teekms.chain.chain-id", "31337",
                "quarkus.profile", "prod",
                "teekms.collateral.pccs-url", ""));
    assertEquals(
        "teekms-trust-config/v1\nquarkus.profile=prod\nteekms.chain.chain-id=31337\n"
            + "teekms.chain.registry-address=0x5fbdb2315678afecb367f032d93f642f64180aa3\nteekms.collateral.pccs-url=\n",
        new String(t.document(), StandardCharsets.UTF_8));
    assertEquals(VECTOR_DIGEST, t.digestHex());
    assertTrue(
        assertThrows(
                IllegalStateException.class,
                () ->
                    TrustConfiguration.of(
                        Map.of("teekms.chain.rpc-url", "http://a\nteekms.chain.chain-id=1")))
            .getMessage()
            .contains("control character"));
    assertThrows(IllegalStateException.class, () -> TrustConfiguration.of(Map.of("a=b", "c")));
  }

  static final String VECTOR_DIGEST =
      "82c3aee15426a882199011b1c945682051406edc108dd2892592f76db05bbbf8";
}
