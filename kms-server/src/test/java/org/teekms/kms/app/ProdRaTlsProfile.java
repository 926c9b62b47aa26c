package org.teekms.kms.app;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.teekms.attest.sim.SimulatedCvm;

/**
 * The production RA-TLS path (teekms.tee.quote-provider=configfs-tsm, clients verified with
 * collateral from a PCCS URL under a configured root) in a fake TD: {@link FakeTdConfigfs} plays
 * the kernel's configfs-tsm, CCEL and dstack's runtime event log in a directory tree, its quotes
 * signed by the simulator's seeded platform (so the configured root is the simulated one). The
 * simulator flag is on only because sealing still needs the file provider (kms-server/README.md,
 * "Sealing"); RA-TLS does not use the simulator here. Paths and the PCCS port live in system
 * properties, which every class loader of the test JVM shares.
 */
public class ProdRaTlsProfile extends DeployedProfile {

  static final int PORT = TestPorts.free("prod-ratls");
  static final String KMS_ID = "kms-prod-ratls-it";

  public ProdRaTlsProfile() {
    super(KMS_ID, PORT);
  }

  /**
   * What the KMS TD booted: the compose FakeChainPolicy.checkKms recognises as this deployment's
   * KMS.
   */
  public static SimulatedCvm.App kmsApp(String kmsId) {
    byte[] instance = new byte[20];
    instance[0] = 1;
    return SimulatedCvm.App.ofCompose("tee-kms kms-server " + kmsId + "\n", instance);
  }

  static Path tdDir() {
    return Path.of(
        TestPorts.shared(
            "teekms-test.prod-ratls.td",
            () -> {
              try {
                return Files.createTempDirectory("teekms-fake-td").toString();
              } catch (IOException e) {
                throw new UncheckedIOException(e);
              }
            }));
  }

  static int pccsPort() {
    return TestPorts.free("prod-ratls-pccs");
  }

  static Path rootPem() {
    return tdDir().resolve("simulated-root.pem");
  }

  /** Its TDX is the fake TD's (configfs-tsm), not the simulator. */
  @Override
  boolean simulatedTdx() {
    return false;
  }

  @Override
  Map<String, String> overrides() {
    Path td = tdDir();
    try {
      Files.writeString(rootPem(), FakeTdConfigfs.platform().rootCertificatePem());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return Map.ofEntries(
        Map.entry("teekms.tee.quote-provider", "configfs-tsm"),
        Map.entry("teekms.tee.configfs-path", FakeTdConfigfs.configfs(td).toString()),
        Map.entry("teekms.tee.ccel-table", FakeTdConfigfs.ccelTable(td).toString()),
        Map.entry("teekms.tee.ccel-data", FakeTdConfigfs.ccelData(td).toString()),
        Map.entry("teekms.tee.runtime-event-log", FakeTdConfigfs.runtimeEvents(td).toString()),
        Map.entry("teekms.collateral.pccs-url", "http://127.0.0.1:" + pccsPort()),
        Map.entry("teekms.collateral.root-ca", rootPem().toString()),
        Map.entry("teekms.collateral.timeout", "5s"),
        // short enough that a test sees the PCCS's new collateral (a TCB downgrade) within seconds
        Map.entry("teekms.collateral.max-age", "2s"));
  }

  @Override
  public Set<Class<?>> getEnabledAlternatives() {
    return Set.of(FakeChainPolicy.class, FakeTdConfigfs.class);
  }
}
