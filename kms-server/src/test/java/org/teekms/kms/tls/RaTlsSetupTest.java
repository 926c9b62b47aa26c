package org.teekms.kms.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.teekms.attest.eventlog.DstackEventLogCodec;
import org.teekms.attest.eventlog.EventLogEntry;
import org.teekms.attest.provider.ConfigfsTsmQuoteProvider;
import org.teekms.attest.provider.FakeTd;
import org.teekms.attest.ratls.RaTlsEvidence;
import org.teekms.attest.ratls.RaTlsVerificationListener;
import org.teekms.attest.sim.SimulatedTdx;
import org.teekms.kms.app.ProdRaTlsProfile;
import org.teekms.kms.app.RaTlsProfile;
import org.teekms.kms.wiring.KmsConfig;

/**
 * The production RA-TLS wiring without Quarkus: what starts, and the exact reasons it refuses to.
 */
class RaTlsSetupTest {
  @TempDir Path dir;

  private static KmsConfig config(Map<String, String> settings) {
    return new SmallRyeConfigBuilder()
        .withMapping(KmsConfig.class)
        .withConverter(
            java.time.Duration.class, 100, new io.quarkus.runtime.configuration.DurationConverter())
        .withSources(new PropertiesConfigSource(settings, "test", 500))
        .build()
        .getConfigMapping(KmsConfig.class);
  }

  private Map<String, String> production(FakeTd td) throws Exception {
    SimulatedTdx clients =
        SimulatedTdx.enableSeeded(
            "RaTlsSetupTest", Clock.systemUTC(), HexFormat.of().parseHex(RaTlsProfile.SEED));
    Path root = Files.writeString(dir.resolve("root.pem"), clients.rootCertificatePem());
    Map<String, String> m = new HashMap<>();
    m.put("teekms.kms-id", "kms-prod-unit");
    m.put("teekms.tee.configfs-path", td.configfs.toString());
    m.put("teekms.tee.ccel-table", td.ccelTable.toString());
    m.put("teekms.tee.ccel-data", td.ccelData.toString());
    m.put("teekms.tee.runtime-event-log", td.runtimeEvents.toString());
    m.put("teekms.collateral.pccs-url", "http://127.0.0.1:9");
    m.put("teekms.collateral.root-ca", root.toString());
    m.put("teekms.gpu.rim.directory", org.teekms.attest.Fixtures.path("nvtrust/rims").toString());
    return m;
  }

  private FakeTd kmsTd(Path where) throws Exception {
    return new FakeTd(
            where,
            SimulatedTdx.enableSeeded(
                "RaTlsSetupTest KMS TD",
                Clock.systemUTC(),
                HexFormat.of().parseHex(RaTlsProfile.SEED)))
        .boot(ProdRaTlsProfile.kmsApp("kms-prod-unit"));
  }

  @Test
  void productionPathStartsWithoutTheSimulatorAndCertifiesTheTdsRealLog() throws Exception {
    FakeTd td = kmsTd(dir.resolve("td"));
    RaTlsSetup setup =
        new RaTlsSetup(
            config(production(td)), Clock.systemUTC(), td, td, RaTlsVerificationListener.NONE);
    RaTlsEvidence evidence =
        org.teekms.attest.ratls.RaTlsCertificateParser.parse(
            setup.keyManager().credentials().certificate());
    List<EventLogEntry> log = DstackEventLogCodec.parse(evidence.eventLogJson().toByteArray());
    assertTrue(
        log.stream().filter(e -> e.imr() < 3).count() > 30,
        "the CCEL's firmware events are in the certificate");
    // The trust configuration was measured (extended into the TD's RTMR3 and logged) before the
    // certificate's quote.
    EventLogEntry last = log.get(log.size() - 1);
    assertEquals(TrustConfiguration.EVENT_NAME, last.name());
    assertEquals(setup.trustConfiguration().digestHex(), HexFormat.of().formatHex(last.payload()));
    assertEquals("system-ready", log.get(log.size() - 2).name());
    assertTrue(setup.trustManager().verifier() != null);
  }

  @Test
  void aRestartInTheSameTdKeepsItsMeasurementAndAChangedTrustValueIsRefusedUntilReboot()
      throws Exception {
    FakeTd td = kmsTd(dir.resolve("td"));
    Map<String, String> settings = production(td);
    RaTlsSetup first =
        new RaTlsSetup(config(settings), Clock.systemUTC(), td, td, RaTlsVerificationListener.NONE);
    Map<String, String> operational = new HashMap<>(settings);
    operational.put(
        "teekms.db-timeout", "3s"); // not a trust decision: same digest, the KMS restarts as it was
    RaTlsSetup again =
        new RaTlsSetup(
            config(operational), Clock.systemUTC(), td, td, RaTlsVerificationListener.NONE);
    assertEquals(first.trustConfiguration().digestHex(), again.trustConfiguration().digestHex());
    assertEquals(
        1,
        td.eventLog().runtimeEvents().stream()
            .filter(e -> e.name().equals(TrustConfiguration.EVENT_NAME))
            .count(),
        "measured once per boot");

    Map<String, String> otherChain = new HashMap<>(settings);
    otherChain.put("teekms.chain.rpc-url", "http://attacker.invalid:8545");
    assertTrue(
        refusal(otherChain, td, td)
            .startsWith("this TD already measured another trust configuration in this " + "boot"),
        refusal(otherChain, td, td));
  }

  @Test
  void theCertificateIsRenewedBeforeItExpiresAndAFailedRenewalKeepsTheCurrentOne()
      throws Exception {
    FakeTd td = kmsTd(dir.resolve("td"));
    org.teekms.kms.MutableClock clock = new org.teekms.kms.MutableClock(System.currentTimeMillis());
    RaTlsSetup setup =
        new RaTlsSetup(config(production(td)), clock, td, td, RaTlsVerificationListener.NONE);
    java.security.cert.X509Certificate first = setup.keyManager().credentials().certificate();
    assertEquals(false, setup.renewIfDue(), "24 h left: nothing to do");
    clock.advance(java.time.Duration.ofHours(13));
    assertEquals(true, setup.renewIfDue());
    java.security.cert.X509Certificate second = setup.keyManager().credentials().certificate();
    assertTrue(second.getNotAfter().after(first.getNotAfter()));
    assertTrue(!second.getPublicKey().equals(first.getPublicKey()), "a fresh key");
    clock.advance(java.time.Duration.ofHours(13));
    td.appendUnmeasured(
        "app-event", new byte[] {1}); // the TD's log no longer replays: renewal must not serve it
    assertTrue(
        assertThrows(org.teekms.attest.provider.QuoteProviderException.class, setup::renewIfDue)
            .getMessage()
            .contains("RTMR3 mismatch"));
    assertEquals(second, setup.keyManager().credentials().certificate());
  }

  @Test
  void refusesToStartWithTheExactReason() throws Exception {
    FakeTd td = kmsTd(dir.resolve("td"));
    Map<String, String> noConfigfs = production(td);
    noConfigfs.put("teekms.tee.configfs-path", dir.resolve("absent/tsm/report").toString());
    assertEquals(
        "RA-TLS setup failed: this node cannot attest itself: no configfs TSM report interface at "
            + dir.resolve("absent/tsm/report")
            + " (needs Linux >= 6.7 with configfs mounted, inside a TD)",
        refusal(noConfigfs, ConfigfsTsmQuoteProvider.Io.FILES, td));

    Map<String, String> noCcel = production(td);
    noCcel.put("teekms.tee.ccel-table", dir.resolve("absent/CCEL").toString());
    assertTrue(
        refusal(noCcel, td, td)
            .startsWith(
                "RA-TLS setup failed: this node cannot attest itself: no ACPI CCEL "
                    + "table at "
                    + dir.resolve("absent/CCEL")),
        refusal(noCcel, td, td));

    Map<String, String> noPccs = production(td);
    noPccs.remove("teekms.collateral.pccs-url");
    assertTrue(
        refusal(noPccs, td, td).startsWith("teekms.collateral.pccs-url is required"),
        refusal(noPccs, td, td));

    Map<String, String> badRoot = production(td);
    badRoot.put(
        "teekms.collateral.root-ca", Files.writeString(dir.resolve("bad.pem"), "junk").toString());
    assertTrue(
        refusal(badRoot, td, td).contains("teekms.collateral.root-ca"), refusal(badRoot, td, td));

    Map<String, String> simulatedWithoutFlag = production(td);
    simulatedWithoutFlag.put("teekms.tee.quote-provider", "simulator");
    assertEquals(
        "teekms.tee.quote-provider=simulator needs teekms.simulator.enabled=true (refused in the prod profile)",
        refusal(simulatedWithoutFlag, td, td));

    Map<String, String> typo = production(td);
    typo.put("teekms.tee.quote-provider", "configfs");
    assertTrue(refusal(typo, td, td).startsWith("unknown teekms.tee.quote-provider 'configfs'"));

    // A TD whose runtime log was tampered with: the node's own quote does not replay, it does not
    // serve.
    td.appendUnmeasured("app-event", new byte[] {1});
    assertTrue(
        refusal(production(td), td, td)
            .contains("does not verify against its own quote: RTMR3 mismatch"));
  }

  private String refusal(Map<String, String> settings, ConfigfsTsmQuoteProvider.Io io, FakeTd td) {
    return assertThrows(
            IllegalStateException.class,
            () ->
                new RaTlsSetup(
                    config(settings), Clock.systemUTC(), io, td, RaTlsVerificationListener.NONE))
        .getMessage();
  }
}
