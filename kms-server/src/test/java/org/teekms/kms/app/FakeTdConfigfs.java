package org.teekms.kms.app;

import jakarta.enterprise.inject.Alternative;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HexFormat;
import org.teekms.attest.provider.ConfigfsTsmQuoteProvider;
import org.teekms.attest.provider.FakeTd;
import org.teekms.attest.sim.SimulatedTdx;
import org.teekms.kms.wiring.KmsConfig;

/**
 * The KMS TD's kernel for {@link ProdRaTlsProfile}: a {@link FakeTd} tree (real CCEL fixture,
 * dstack runtime events of the KMS app) booted when the bean is created, before RaTlsSetup reads
 * it; answers configfs-tsm writes with quotes of the seeded simulated platform. {@code @Singleton}
 * so that it exists as soon as it is injected; enabled only by {@link ProdRaTlsProfile}.
 */
@Alternative
@Singleton
public class FakeTdConfigfs
    implements ConfigfsTsmQuoteProvider.Io, org.teekms.attest.provider.RtmrExtender {

  private final FakeTd td;

  public FakeTdConfigfs(KmsConfig config) throws Exception {
    td =
        new FakeTd(ProdRaTlsProfile.tdDir(), platform())
            .boot(ProdRaTlsProfile.kmsApp(config.kmsId()));
  }

  static SimulatedTdx platform() {
    return SimulatedTdx.enableSeeded(
        "ProdRaTlsProfile fake TD", Clock.systemUTC(), HexFormat.of().parseHex(RaTlsProfile.SEED));
  }

  static Path configfs(Path dir) {
    return dir.resolve("sys/kernel/config/tsm/report");
  }

  static Path ccelTable(Path dir) {
    return dir.resolve("sys/firmware/acpi/tables/CCEL");
  }

  static Path ccelData(Path dir) {
    return dir.resolve("sys/firmware/acpi/tables/data/CCEL");
  }

  static Path runtimeEvents(Path dir) {
    return dir.resolve("run/log/dstack/runtime_events.log");
  }

  public FakeTd td() {
    return td;
  }

  @Override
  public void mkdir(Path dir) throws IOException {
    td.mkdir(dir);
  }

  @Override
  public byte[] read(Path file, int maxBytes) throws IOException {
    return td.read(file, maxBytes);
  }

  @Override
  public void write(Path file, byte[] content) throws IOException {
    td.write(file, content);
  }

  @Override
  public void extend(int index, byte[] sha384Digest) {
    td.extend(index, sha384Digest);
  }

  @Override
  public void rmdir(Path dir) throws IOException {
    td.rmdir(dir);
  }
}
