package org.teekms.kms.app;

import io.quarkus.test.junit.QuarkusTestProfile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
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
public class ProdRaTlsProfile implements QuarkusTestProfile {

  static final int PORT = TestPorts.BASE + 4;
  static final String KMS_ID = "kms-prod-ratls-it";

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
        shared(
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
    return Integer.parseInt(
        shared(
            "teekms-test.prod-ratls.pccs-port",
            () -> {
              try (ServerSocket s = new ServerSocket(0)) {
                return String.valueOf(s.getLocalPort());
              } catch (IOException e) {
                throw new UncheckedIOException(e);
              }
            }));
  }

  static Path rootPem() {
    return tdDir().resolve("simulated-root.pem");
  }

  private static synchronized String shared(
      String key, java.util.function.Supplier<String> initial) {
    String v = System.getProperty(key);
    if (v == null) {
      v = initial.get();
      System.setProperty(key, v);
    }
    return v;
  }

  @Override
  public Map<String, String> getConfigOverrides() {
    Path td = tdDir();
    try {
      Files.writeString(rootPem(), FakeTdConfigfs.platform().rootCertificatePem());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return Map.ofEntries(
        Map.entry("quarkus.http.tls-configuration-name", "ratls"),
        Map.entry("quarkus.http.ssl.client-auth", "request"),
        Map.entry("quarkus.http.insecure-requests", "disabled"),
        Map.entry("quarkus.http.test-ssl-port", String.valueOf(PORT)),
        Map.entry("teekms.kms-id", KMS_ID),
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
