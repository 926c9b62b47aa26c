package org.teekms.attest.sim;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import org.teekms.attest.eventlog.DstackBootSequence;
import org.teekms.attest.eventlog.EventLogEntry;
import org.teekms.attest.eventlog.RuntimeEventDigest;
import org.teekms.attest.provider.QuoteProvider;
import org.teekms.attest.provider.QuoteProviderException;
import org.teekms.attest.provider.RtmrExtender;
import org.teekms.attest.provider.RuntimeEventLog;
import org.teekms.crypto.Bytes;

/**
 * A simulated TD on a {@link SimulatedTdx} platform: MRTD, RTMR0-3 that really accumulate
 * extensions, TD attributes (DEBUG optional), a dstack-style event log, and quotes over the current
 * registers.
 */
public final class SimulatedCvm implements QuoteProvider, RtmrExtender {
  /** SEPT_VE_DISABLE set, DEBUG clear: what a production dstack TD reports. */
  private static final byte[] PRODUCTION_TD_ATTRIBUTES =
      HexFormat.of().parseHex("0000001000000000");

  private static final byte[] XFAM = HexFormat.of().parseHex("e702060000000000");

  private final SimulatedTdx platform;
  private final byte[] mrTd;
  private final byte[] tdAttributes;
  private final byte[][] rtmrs = new byte[4][48];

  /**
   * The launch configuration the host gave (MRCONFIGID); null = not set yet (boot sets dstack's V1
   * binding).
   */
  private byte[] mrConfigId;

  private RuntimeEventLog eventLog;
  private SimulatedOsImage osImage;

  SimulatedCvm(SimulatedTdx platform, byte[] mrTd, boolean debug) {
    if (mrTd.length != 48) {
      throw new IllegalArgumentException("MRTD is 48 bytes");
    }
    this.platform = platform;
    this.mrTd = mrTd.clone();
    this.tdAttributes = PRODUCTION_TD_ATTRIBUTES.clone();
    if (debug) {
      tdAttributes[0] |= 0x01;
    }
  }

  /**
   * What the simulated CVM boots: the values dstack measures into RTMR3. {@code osImageHash} (32
   * bytes, or null for none) is measured as {@code os-image-hash} after {@code boot-mr-done}, as
   * dstack does for the OS image it booted; a governance registry admits only allowed OS images, so
   * CVMs meant to pass {@code isAppAllowed} need one. {@code gpuDevices} (48 bytes, or null for a
   * CVM without GPUs) is measured once as {@code gpu-devices} before {@code system-ready}, as the
   * guest agent does for the GPUs present at boot ({@code org.teekms.attest.gpu.GpuDevices}).
   */
  public record App(
      Bytes appId,
      Bytes composeHash,
      Bytes instanceId,
      String keyProvider,
      Bytes osImageHash,
      Bytes gpuDevices) {
    public App {
      Objects.requireNonNull(appId, "appId");
      Objects.requireNonNull(composeHash, "composeHash");
      Objects.requireNonNull(instanceId, "instanceId");
      if (osImageHash != null && osImageHash.length() != 32) {
        throw new IllegalArgumentException(
            "OS image hash is 32 bytes, got " + osImageHash.length());
      }
      if (gpuDevices != null && gpuDevices.length() != 48) {
        throw new IllegalArgumentException(
            "gpu-devices digest is 48 bytes, got " + gpuDevices.length());
      }
    }

    /** An app on a CVM without GPUs. */
    public App(
        Bytes appId, Bytes composeHash, Bytes instanceId, String keyProvider, Bytes osImageHash) {
      this(appId, composeHash, instanceId, keyProvider, osImageHash, null);
    }

    /** The same app on a CVM whose GPUs at boot have this {@code GpuDevices.digest}. */
    public App withGpuDevices(byte[] digest) {
      return new App(
          appId, composeHash, instanceId, keyProvider, osImageHash, Bytes.copyOf(digest));
    }

    /** An app that measures no OS image hash. */
    public App(Bytes appId, Bytes composeHash, Bytes instanceId, String keyProvider) {
      this(appId, composeHash, instanceId, keyProvider, null);
    }

    /** The same app booted from the OS image with this 32-byte hash. */
    public App withOsImageHash(byte[] hash) {
      return new App(appId, composeHash, instanceId, keyProvider, Bytes.copyOf(hash), gpuDevices);
    }

    /**
     * An app whose compose file is {@code compose}: compose hash = SHA-256(compose), app id = its
     * first 20 bytes.
     */
    public static App ofCompose(String compose, byte[] instanceId) {
      byte[] hash = SimulatedTdx.shaBytes("SHA-256", compose.getBytes(StandardCharsets.UTF_8));
      return new App(
          Bytes.copyOf(hash, 0, 20),
          Bytes.copyOf(hash),
          Bytes.copyOf(instanceId),
          "{\"name\":\"kms\",\"id\":\"" + "00".repeat(32) + "\"}");
    }
  }

  /**
   * Boots the CVM: simulated firmware events into RTMR0-2, then dstack's boot sequence into RTMR3
   * (system-preparing, app-id, compose-hash, instance-id, boot-mr-done, [os-image-hash,]
   * key-provider, system-ready), launched with MRCONFIGID = {@code 0x01 ‖ compose hash} unless
   * {@link #launchWithMrConfigId} said otherwise. Returns this CVM.
   */
  public SimulatedCvm boot(App app) throws QuoteProviderException {
    return boot(app, DEFAULT_IMAGE);
  }

  /**
   * The simulated OS image every CVM boots unless told otherwise (its kernel, command line and
   * initrd).
   */
  public static final String DEFAULT_IMAGE = "SIMULATED";

  /**
   * Boots the CVM from the simulated OS image named {@code image}: its kernel, command line and
   * initrd (RTMR1-2) are those of that image, so a CVM booted from another image (an attacker's own
   * kernel) has other RTMR1-2 whatever it claims in RTMR3. Firmware (RTMR0) is the same for all
   * images.
   */
  public synchronized SimulatedCvm boot(App app, String image) throws QuoteProviderException {
    if (eventLog != null) {
      throw new IllegalStateException("already booted");
    }
    return measureRuntime(app, measureFirmware(image));
  }

  /**
   * Opt-in: boots the CVM from a simulated dstack OS image, so its MRTD and RTMR0-2 are exactly
   * what the image's measurement document predicts ({@link SimulatedOsImage#firmwareEvents()}); the
   * CVM must have been created with the image's MRTD ({@link SimulatedOsImage#newCvm}). RTMR3 as in
   * {@link #boot(App)}; an app without an OS image hash measures the image's. {@link #osImage()}
   * then returns the image (for its vm_config).
   */
  public synchronized SimulatedCvm boot(App app, SimulatedOsImage image)
      throws QuoteProviderException {
    if (!java.util.Arrays.equals(mrTd, image.measurements().mrtd().toByteArray())) {
      throw new IllegalArgumentException(
          "this CVM's MRTD is not image "
              + image.name()
              + "'s; create it with "
              + "SimulatedOsImage.newCvm");
    }
    if (eventLog != null) {
      throw new IllegalStateException("already booted");
    }
    List<EventLogEntry> firmware = image.firmwareEvents();
    for (EventLogEntry e : firmware) {
      rtmrs[e.imr()] = RuntimeEventDigest.extend(rtmrs[e.imr()], e.digest());
    }
    measureRuntime(
        app.osImageHash() != null ? app : app.withOsImageHash(image.osImageHash().toByteArray()),
        firmware);
    this.osImage = image;
    return this;
  }

  /** The OS image this CVM booted with {@link #boot(App, SimulatedOsImage)}, if any. */
  public synchronized java.util.Optional<SimulatedOsImage> osImage() {
    return java.util.Optional.ofNullable(osImage);
  }

  /**
   * Sets MRCONFIGID, the 48-byte launch configuration the host's VMM gives the TD, before the CVM
   * runs. Unless set, {@link #boot} sets what dstack's VMM sets: {@code 0x01 ‖ compose hash ‖ 0x00
   * × 15} ({@link org.teekms.attest.eventlog.MrConfigId#v1}); all zeros is a launch without it
   * (older dstack), anything else a host naming another configuration. A guest that measures itself
   * (the agent over {@link #measureFirmware}) keeps zero unless its host sets it here.
   */
  public synchronized SimulatedCvm launchWithMrConfigId(byte[] mrConfigId) {
    if (mrConfigId.length != 48) {
      throw new IllegalArgumentException("MRCONFIGID is 48 bytes, got " + mrConfigId.length);
    }
    if (eventLog != null) {
      throw new IllegalStateException("MRCONFIGID is a launch parameter: set it before boot");
    }
    this.mrConfigId = mrConfigId.clone();
    return this;
  }

  /**
   * The MRCONFIGID this CVM quotes (zero until set by {@link #launchWithMrConfigId} or {@link
   * #boot}).
   */
  public synchronized byte[] mrConfigId() {
    return mrConfigId == null ? new byte[48] : mrConfigId.clone();
  }

  /** dstack's boot sequence into RTMR3, after {@code firmware} (already extended into RTMR0-2). */
  private SimulatedCvm measureRuntime(App app, List<EventLogEntry> firmware)
      throws QuoteProviderException {
    if (mrConfigId == null) {
      mrConfigId = org.teekms.attest.eventlog.MrConfigId.v1(app.composeHash().toByteArray());
    }
    eventLog = new RuntimeEventLog(this, firmware);
    eventLog.emit(DstackBootSequence.SYSTEM_PREPARING, new byte[0]);
    eventLog.emit(DstackBootSequence.APP_ID, app.appId().toByteArray());
    eventLog.emit(DstackBootSequence.COMPOSE_HASH, app.composeHash().toByteArray());
    eventLog.emit(DstackBootSequence.INSTANCE_ID, app.instanceId().toByteArray());
    eventLog.emit(DstackBootSequence.BOOT_MR_DONE, new byte[0]);
    if (app.osImageHash() != null) {
      eventLog.emit(DstackBootSequence.OS_IMAGE_HASH, app.osImageHash().toByteArray());
    }
    eventLog.emit(
        DstackBootSequence.KEY_PROVIDER, app.keyProvider().getBytes(StandardCharsets.UTF_8));
    if (app.gpuDevices() != null) {
      eventLog.emit(DstackBootSequence.GPU_DEVICES, app.gpuDevices().toByteArray());
    }
    eventLog.emit(DstackBootSequence.SYSTEM_READY, new byte[0]);
    return this;
  }

  /**
   * What the firmware measures before the guest runs: TD HOB and firmware volume into RTMR0, the
   * {@code image}'s kernel and command line into RTMR1, its initrd into RTMR2. Returns the matching
   * event log entries, for a guest (e.g. the real guest agent) that then measures its own RTMR3
   * events through a {@link RuntimeEventLog} over this CVM. Call once, before any runtime event;
   * {@link #boot} calls it.
   */
  public synchronized List<EventLogEntry> measureFirmware(String image) {
    List<EventLogEntry> firmware = new ArrayList<>();
    String[] stages = {
      "SIMULATED td_hob", "SIMULATED cfv", image + " kernel", image + " cmdline", image + " initrd"
    };
    int[] imrs = {0, 0, 1, 1, 2};
    for (int i = 0; i < stages.length; i++) {
      byte[] digest = SimulatedTdx.sha(stages[i], "SHA-384");
      rtmrs[imrs[i]] = RuntimeEventDigest.extend(rtmrs[imrs[i]], digest);
      firmware.add(
          new EventLogEntry(
              imrs[i], 0x80000001L, digest, "", stages[i].getBytes(StandardCharsets.UTF_8)));
    }
    return List.copyOf(firmware);
  }

  /**
   * SHA-256(MRTD ‖ RTMR0 ‖ RTMR1 ‖ RTMR2) of this CVM's current registers (after {@link #boot} or
   * {@link #measureFirmware}): the golden measurement of its OS image, as an operator takes it from
   * a reference boot ({@link org.teekms.attest.tdx.MrSystem}).
   */
  public synchronized byte[] mrSystem() {
    return org.teekms.attest.tdx.MrSystem.of(
            org.teekms.crypto.Bytes.copyOf(mrTd),
            org.teekms.crypto.Bytes.copyOf(rtmrs[0]),
            org.teekms.crypto.Bytes.copyOf(rtmrs[1]),
            org.teekms.crypto.Bytes.copyOf(rtmrs[2]))
        .toByteArray();
  }

  /** The CVM's event log (emit runtime events through it so RTMR3 and the log stay in step). */
  public synchronized RuntimeEventLog eventLog() {
    if (eventLog == null) {
      throw new IllegalStateException("boot the CVM first");
    }
    return eventLog;
  }

  @Override
  public synchronized void extend(int index, byte[] sha384Digest) {
    if (index < 0 || index > 3 || sha384Digest.length != 48) {
      throw new IllegalArgumentException("RTMR index 0..3 and a 48-byte digest");
    }
    rtmrs[index] = RuntimeEventDigest.extend(rtmrs[index], sha384Digest);
  }

  public synchronized byte[] rtmr(int index) {
    return rtmrs[index].clone();
  }

  @Override
  public synchronized byte[] quote(byte[] reportData) {
    if (reportData.length != 64) {
      throw new IllegalArgumentException("REPORTDATA is 64 bytes");
    }
    ByteBuffer body = ByteBuffer.allocate(584);
    body.put(platform.teeTcbSvn())
        .put(platform.mrSeam())
        .put(new byte[48])
        .put(new byte[8])
        .put(tdAttributes)
        .put(XFAM)
        .put(mrTd)
        .put(mrConfigId == null ? new byte[48] : mrConfigId)
        .put(new byte[48])
        .put(new byte[48]);
    for (byte[] r : rtmrs) {
      body.put(r);
    }
    body.put(reportData);
    return platform.quote(body.array());
  }
}
