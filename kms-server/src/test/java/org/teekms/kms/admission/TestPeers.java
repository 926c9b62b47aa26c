package org.teekms.kms.admission;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.teekms.attest.tdx.TcbStatus;
import org.teekms.attest.tdx.TdReport;
import org.teekms.crypto.Bytes;
import org.teekms.keys.AppId;

/**
 * A test data builder for {@link AttestedPeer} (fifteen positional components): every field starts
 * at a plausible verified value, and a test names only what it is about, e.g. {@code
 * TestPeers.peer().app(APP).debug(true).build()}.
 */
public final class TestPeers {
  private AppId app = AppId.of(filled(20, 0xa1));
  private Bytes composeHash = Bytes.copyOf(filled(32, 0xc1));
  private Bytes instanceId = Bytes.copyOf(filled(20, 0x01));
  private Bytes deviceId = Bytes.copyOf(filled(32, 0xd0));
  private Bytes mrAggregated = Bytes.copyOf(filled(32, 0xa9));
  private Bytes osImageHash = Bytes.copyOf(filled(32, 0x05));
  private TcbStatus tcb = TcbStatus.UpToDate;
  private List<String> advisories = List.of();
  private TdReport td = TestTd.report(false);
  private int gpuCount;
  private String gpuArch = "";
  private long gpuMinDriverVersion;
  private Optional<String> keyProvider = Optional.empty();
  private MeasuredOs os =
      new MeasuredOs(
          Bytes.copyOf(filled(32, 0x5e)), false, "MRTD 00000000…", "no measurement document");
  private GpuFacts gpus = GpuFacts.NONE;

  private TestPeers() {}

  public static TestPeers peer() {
    return new TestPeers();
  }

  /** A builder holding every fact of {@code p}. */
  public static TestPeers from(AttestedPeer p) {
    return peer()
        .app(p.appId())
        .compose(p.composeHash())
        .instance(p.instanceId())
        .device(p.deviceId())
        .mrAggregated(p.mrAggregated())
        .osImage(p.osImageHash())
        .tcb(p.tcbStatus())
        .advisories(p.advisoryIds())
        .td(p.td())
        .gpus(p.gpuCount(), p.gpuArch(), p.gpuMinDriverVersion())
        .keyProvider(p.keyProvider())
        .os(p.os())
        .gpuFacts(p.gpus());
  }

  public TestPeers app(AppId value) {
    app = value;
    return this;
  }

  public TestPeers app(byte[] value) {
    return app(AppId.of(value));
  }

  public TestPeers compose(Bytes value) {
    composeHash = value;
    return this;
  }

  public TestPeers compose(byte[] value) {
    return compose(Bytes.copyOf(value));
  }

  public TestPeers instance(Bytes value) {
    instanceId = value;
    return this;
  }

  public TestPeers instance(byte[] value) {
    return instance(Bytes.copyOf(value));
  }

  public TestPeers device(Bytes value) {
    deviceId = value;
    return this;
  }

  public TestPeers device(byte[] value) {
    return device(Bytes.copyOf(value));
  }

  public TestPeers mrAggregated(Bytes value) {
    mrAggregated = value;
    return this;
  }

  public TestPeers mrAggregated(byte[] value) {
    return mrAggregated(Bytes.copyOf(value));
  }

  public TestPeers osImage(Bytes value) {
    osImageHash = value;
    return this;
  }

  public TestPeers osImage(byte[] value) {
    return osImage(Bytes.copyOf(value));
  }

  public TestPeers tcb(TcbStatus value) {
    tcb = value;
    return this;
  }

  public TestPeers tcb(String value) {
    return tcb(TcbStatus.parse(value));
  }

  public TestPeers advisories(List<String> value) {
    advisories = value;
    return this;
  }

  public TestPeers td(TdReport value) {
    td = value;
    return this;
  }

  /** A TD report with DEBUG as given (and SEPT_VE_DISABLE set). */
  public TestPeers debug(boolean value) {
    return td(TestTd.report(value));
  }

  /** The GPU summary: how many verified, their architecture and lowest driver version. */
  public TestPeers gpus(int count, String arch, long minDriverVersion) {
    gpuCount = count;
    gpuArch = arch;
    gpuMinDriverVersion = minDriverVersion;
    return this;
  }

  public TestPeers keyProvider(Optional<String> value) {
    keyProvider = value;
    return this;
  }

  public TestPeers os(MeasuredOs value) {
    os = value;
    return this;
  }

  public TestPeers gpuFacts(GpuFacts value) {
    gpus = value;
    return this;
  }

  public AttestedPeer build() {
    return new AttestedPeer(
        app,
        composeHash,
        instanceId,
        deviceId,
        mrAggregated,
        osImageHash,
        tcb,
        advisories,
        td,
        gpuCount,
        gpuArch,
        gpuMinDriverVersion,
        keyProvider,
        os,
        gpus);
  }

  private static byte[] filled(int n, int fill) {
    byte[] b = new byte[n];
    Arrays.fill(b, (byte) fill);
    return b;
  }
}
