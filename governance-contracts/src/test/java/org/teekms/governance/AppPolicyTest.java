package org.teekms.governance;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.teekms.crypto.Bytes;
import org.teekms.keys.AppId;
import org.web3j.utils.Numeric;

class AppPolicyTest extends AnvilTestBase {
  private static final GovernanceContract.Verdict ALLOWED =
      new GovernanceContract.Verdict(true, ChainDenial.NONE, "");

  private static GovernanceContract.Verdict denied(ChainDenial denial, String reason) {
    return new GovernanceContract.Verdict(false, denial, reason);
  }

  private static AppPolicy as(AppPolicy app, org.web3j.crypto.Credentials who) {
    return AppPolicy.at(chain, app.address(), who);
  }

  @Test
  void initialState() throws Exception {
    AppPolicy app = newApp();
    var s = app.snapshot();
    assertEquals(app.address(), s.appId());
    assertEquals(addr(appOwner), s.owner());
    assertEquals(registry.address(), s.registry());
    assertEquals(KmsRegistry.AppStatus.REGISTERED, s.status());
    assertFalse(s.disabled());
    assertTrue(s.composeHashes().isEmpty());
    assertFalse(s.allowAnyDevice());
    assertFalse(s.requireTcbUpToDate());
    assertFalse(s.hasGpuRequirements());
    assertEquals(1, s.currentKeyVersion());
    assertEquals(1, s.minKeyVersion());
    assertEquals(0, s.rotationPeriodSeconds());
    assertTrue(s.lastRotationEpochSeconds() > 0);
    assertFalse(s.rotationDue());
  }

  @Test
  void onlyTheAppOwnerChangesThePolicy() throws Exception {
    AppPolicy app = newApp();
    // Not a stranger, and not the registry owner either.
    for (var who : List.of(stranger, operator)) {
      AppPolicy other = as(app, who);
      assertReverts("caller is not the owner", () -> other.addComposeHash(b32(1)));
      assertReverts("caller is not the owner", () -> other.removeComposeHash(b32(1)));
      assertReverts("caller is not the owner", () -> other.addDevice(b32(1)));
      assertReverts("caller is not the owner", () -> other.removeDevice(b32(1)));
      assertReverts("caller is not the owner", () -> other.setAllowAnyDevice(true));
      assertReverts("caller is not the owner", () -> other.setRequireTcbUpToDate(true));
      assertReverts(
          "caller is not the owner", () -> other.setGpuRequirements(new GpuPolicy(1, "", 0)));
      assertReverts("caller is not the owner", other::clearGpuRequirements);
      assertReverts("caller is not the owner", other::rotateKeys);
      assertReverts("caller is not the owner", () -> other.setMinKeyVersion(2));
      assertReverts("caller is not the owner", () -> other.setRotationPeriod(86400));
      assertReverts("caller is not the owner", () -> other.setDisabled(true));
      assertReverts("caller is not the owner", other::deregister);
      assertReverts("caller is not the owner", () -> other.transferOwnership(addr(who)));
    }
  }

  @Test
  void composeHashes() throws Exception {
    AppPolicy app = newApp();
    assertReverts("compose hash is zero", () -> app.addComposeHash(new byte[32]));
    assertReverts("compose hash not allowed", () -> app.removeComposeHash(b32(1)));
    assertSingleEvent(
        app.addComposeHash(b32(1)),
        app,
        "ComposeHashAdded",
        Map.of("by", addr(appOwner), "composeHash", b32(1)));
    app.addComposeHash(b32(2));
    assertReverts("compose hash already allowed", () -> app.addComposeHash(b32(1)));
    assertTrue(app.isComposeHashAllowed(b32(1)));
    assertEquals(2, app.composeHashes().size());
    assertSingleEvent(
        app.removeComposeHash(b32(1)),
        app,
        "ComposeHashRemoved",
        Map.of("by", addr(appOwner), "composeHash", b32(1)));
    assertFalse(app.isComposeHashAllowed(b32(1)));
    assertArrayEquals(b32(2), app.composeHashes().get(0));
    assertEquals(1, app.composeHashes().size());
  }

  @Test
  void devices() throws Exception {
    AppPolicy app = newApp();
    assertReverts("device id is zero", () -> app.addDevice(new byte[32]));
    assertReverts("device not allowed", () -> app.removeDevice(b32(1)));
    assertSingleEvent(
        app.addDevice(b32(1)),
        app,
        "DeviceAdded",
        Map.of("by", addr(appOwner), "deviceId", b32(1)));
    assertReverts("device already allowed", () -> app.addDevice(b32(1)));
    assertTrue(app.isDeviceAllowed(b32(1)));
    assertFalse(app.isDeviceAllowed(b32(2)));
    assertReverts("value unchanged", () -> app.setAllowAnyDevice(false));
    assertSingleEvent(
        app.setAllowAnyDevice(true),
        app,
        "AllowAnyDeviceChanged",
        Map.of("by", addr(appOwner), "oldValue", false, "newValue", true));
    assertTrue(app.isDeviceAllowed(b32(2)));
    assertSingleEvent(
        app.removeDevice(b32(1)),
        app,
        "DeviceRemoved",
        Map.of("by", addr(appOwner), "deviceId", b32(1)));
    assertTrue(app.devices().isEmpty());
  }

  @Test
  void gpuRequirementsOverrideTheRegistryDefault() throws Exception {
    AppPolicy app = newApp();
    GpuPolicy def = new GpuPolicy(1, "HOPPER", 0);
    registry.setDefaultGpuPolicy(def);
    assertEquals(def, app.snapshot().effectiveGpuPolicy());
    assertReverts("no GPU requirements set", app::clearGpuRequirements);
    assertReverts(
        "GPU arch/driver need count > 0", () -> app.setGpuRequirements(new GpuPolicy(0, "", 5)));
    assertReverts("GPU count too large", () -> app.setGpuRequirements(new GpuPolicy(100, "", 0)));
    assertReverts(
        "GPU architecture: invalid character",
        () -> app.setGpuRequirements(new GpuPolicy(1, "H/100", 0)));
    GpuPolicy own = new GpuPolicy(8, "BLACKWELL", DriverVersion.parse("570.86.10"));
    assertSingleEvent(
        app.setGpuRequirements(own),
        app,
        "GpuRequirementsChanged",
        Map.of(
            "by",
            addr(appOwner),
            "oldOverride",
            false,
            "oldCount",
            0,
            "oldArch",
            "",
            "oldMinDriverVersion",
            0,
            "newOverride",
            true,
            "newCount",
            8,
            "newArch",
            "BLACKWELL",
            "newMinDriverVersion",
            570086010L));
    var s = app.snapshot();
    assertTrue(s.hasGpuRequirements());
    assertEquals(own, s.gpuRequirements());
    assertEquals(own, s.effectiveGpuPolicy());
    // An override may also relax the default to "no GPU".
    app.setGpuRequirements(GpuPolicy.NONE);
    assertEquals(GpuPolicy.NONE, app.snapshot().effectiveGpuPolicy());
    assertSingleEvent(
        app.clearGpuRequirements(),
        app,
        "GpuRequirementsChanged",
        Map.of("oldOverride", true, "oldCount", 0, "newOverride", false));
    assertEquals(def, app.snapshot().effectiveGpuPolicy());
  }

  @Test
  void keyRotation() throws Exception {
    AppPolicy app = newApp();
    assertReverts("min key version can only increase", () -> app.setMinKeyVersion(1));
    assertReverts("min key version above current", () -> app.setMinKeyVersion(2));
    long before = app.snapshot().lastRotationEpochSeconds();
    anvil.increaseTime(100);
    assertSingleEvent(
        app.rotateKeys(),
        app,
        "KeysRotated",
        Map.of("by", addr(appOwner), "oldVersion", 1, "newVersion", 2));
    app.rotateKeys();
    assertEquals(3, app.currentKeyVersion());
    assertEquals(3, app.keyVersions().current());
    assertEquals(1, app.keyVersions().minimum());
    assertTrue(app.snapshot().lastRotationEpochSeconds() >= before + 100);
    assertSingleEvent(
        app.setMinKeyVersion(3),
        app,
        "MinKeyVersionChanged",
        Map.of("by", addr(appOwner), "oldVersion", 1, "newVersion", 3));
    assertEquals(3, app.minKeyVersion());
    assertReverts("min key version can only increase", () -> app.setMinKeyVersion(2));
    assertReverts("min key version above current", () -> app.setMinKeyVersion(4));
    assertReverts("min key version can only increase", () -> app.setMinKeyVersion(0));
  }

  @Test
  void rotationPeriod() throws Exception {
    AppPolicy app = newApp();
    assertReverts("rotation period out of range", () -> app.setRotationPeriod(3599));
    assertReverts("rotation period out of range", () -> app.setRotationPeriod(3650L * 86400 + 1));
    assertReverts("value unchanged", () -> app.setRotationPeriod(0));
    assertSingleEvent(
        app.setRotationPeriod(86400),
        app,
        "RotationPeriodChanged",
        Map.of("by", addr(appOwner), "oldPeriod", 0, "newPeriod", 86400));
    assertFalse(app.snapshot().rotationDue());
    anvil.increaseTime(86400);
    anvil.mine(1);
    assertTrue(app.snapshot().rotationDue());
    app.rotateKeys();
    assertFalse(app.snapshot().rotationDue());
    app.setRotationPeriod(0);
    anvil.increaseTime(10 * 86400);
    anvil.mine(1);
    assertFalse(app.snapshot().rotationDue(), "no period, never due");
  }

  @Test
  void disableAndRequireTcbUpToDate() throws Exception {
    AppPolicy app = newApp();
    assertReverts("value unchanged", () -> app.setDisabled(false));
    assertSingleEvent(
        app.setDisabled(true),
        app,
        "DisabledChanged",
        Map.of("by", addr(appOwner), "oldValue", false, "newValue", true));
    assertReverts("value unchanged", () -> app.setRequireTcbUpToDate(false));
    assertSingleEvent(
        app.setRequireTcbUpToDate(true),
        app,
        "RequireTcbUpToDateChanged",
        Map.of("by", addr(appOwner), "oldValue", false, "newValue", true));
    var s = app.snapshot();
    assertTrue(s.disabled());
    assertTrue(s.requireTcbUpToDate());
  }

  @Test
  void appOwnerDeregistersForGood() throws Exception {
    AppPolicy app = newApp();
    TxResult tx = app.deregister();
    assertSingleEvent(
        tx, registry, "AppDeregistered", Map.of("by", app.address(), "app", app.address()));
    assertEquals(KmsRegistry.AppStatus.DEREGISTERED, registry.appStatus(app.address()));
    assertReverts("app deregistered", () -> app.addComposeHash(b32(1)));
    assertReverts("app deregistered", app::rotateKeys);
    assertReverts("app deregistered", app::deregister);
    assertEquals(KmsRegistry.AppStatus.DEREGISTERED, app.snapshot().status());
  }

  @Test
  void changesStopAfterTheRegistryOwnerDeregisters() throws Exception {
    AppPolicy app = newApp();
    registry.deregisterApp(app.address());
    assertReverts("app deregistered", () -> app.setDisabled(true));
  }

  @Test
  void appOwnershipIsTwoStep() throws Exception {
    AppPolicy app = newApp();
    assertSingleEvent(
        app.transferOwnership(addr(stranger)),
        app,
        "OwnershipTransferStarted",
        Map.of("previousOwner", addr(appOwner), "newOwner", addr(stranger)));
    assertReverts("caller is not the pending owner", () -> as(app, operator).acceptOwnership());
    assertSingleEvent(
        as(app, stranger).acceptOwnership(),
        app,
        "OwnershipTransferred",
        Map.of("previousOwner", addr(appOwner), "newOwner", addr(stranger)));
    assertReverts("caller is not the owner", () -> app.addComposeHash(b32(1)));
    as(app, stranger).addComposeHash(b32(1));
  }

  @Test
  void isAppAllowedAppChecks() throws Exception {
    AppPolicy app = newApp();
    AppPolicy otherApp = newApp();
    allowOsImage(b32(3));
    app.addComposeHash(b32(1));
    BootInfo boot = boot(app.address(), b32(1), b32(2), b32(3));

    assertEquals(
        denied(ChainDenial.APP_ID_MISMATCH, "app id mismatch"),
        app.isAppAllowed(boot(otherApp.address(), b32(1), b32(2), b32(3))));
    assertEquals(
        denied(ChainDenial.DEVICE_NOT_ALLOWED, "device not allowed"), registry.isAppAllowed(boot));
    app.addDevice(b32(2));
    assertEquals(ALLOWED, registry.isAppAllowed(boot));
    assertEquals(ALLOWED, app.isAppAllowed(boot));
    assertEquals(
        denied(ChainDenial.COMPOSE_HASH_NOT_ALLOWED, "compose hash not allowed"),
        registry.isAppAllowed(boot.withComposeHash(Bytes.copyOf(b32(9)))));
    assertEquals(
        denied(ChainDenial.DEVICE_NOT_ALLOWED, "device not allowed"),
        registry.isAppAllowed(boot(app.address(), b32(1), b32(8), b32(3))));
    app.setAllowAnyDevice(true);
    assertEquals(ALLOWED, registry.isAppAllowed(boot(app.address(), b32(1), b32(8), b32(3))));

    app.setDisabled(true);
    assertEquals(denied(ChainDenial.APP_DISABLED, "app disabled"), registry.isAppAllowed(boot));
    app.setDisabled(false);

    registry.setTcbPolicy(List.of("UpToDate", "SWHardeningNeeded"), List.of());
    BootInfo swh =
        BootInfo.withoutGpu(
                boot.appId(),
                Bytes.copyOf(b32(1)),
                Bytes.copyOf(b20(9)),
                Bytes.copyOf(b32(2)),
                Bytes.copyOf(b32(77)),
                Bytes.copyOf(b32(3)),
                "SWHardeningNeeded",
                List.of())
            .withMrSystem(Bytes.copyOf(MR_SYSTEM), false);
    assertEquals(ALLOWED, registry.isAppAllowed(swh));
    app.setRequireTcbUpToDate(true);
    assertEquals(
        denied(ChainDenial.TCB_NOT_UP_TO_DATE, "TCB not up to date"), registry.isAppAllowed(swh));
    assertEquals(ALLOWED, registry.isAppAllowed(boot));

    app.removeComposeHash(b32(1));
    assertEquals(
        denied(ChainDenial.COMPOSE_HASH_NOT_ALLOWED, "compose hash not allowed"),
        registry.isAppAllowed(boot));
  }

  @Test
  void isAppAllowedGpuChecks() throws Exception {
    AppPolicy app = newApp();
    allowOsImage(b32(3));
    app.addComposeHash(b32(1));
    app.setAllowAnyDevice(true);
    byte[] appId = Numeric.hexStringToByteArray(app.address());
    long v550 = DriverVersion.parse("550.127.05");
    BootInfo noGpu = boot(app.address(), b32(1), b32(2), b32(3));
    BootInfo oneHopper =
        new BootInfo(
            AppId.of(appId),
            Bytes.copyOf(b32(1)),
            Bytes.copyOf(b20(9)),
            Bytes.copyOf(b32(2)),
            Bytes.copyOf(b32(77)),
            Bytes.copyOf(b32(3)),
            "UpToDate",
            List.of(),
            1,
            "HOPPER",
            v550,
            Bytes.copyOf(MR_SYSTEM),
            false);
    BootInfo twoHopperOld =
        new BootInfo(
            AppId.of(appId),
            Bytes.copyOf(b32(1)),
            Bytes.copyOf(b20(9)),
            Bytes.copyOf(b32(2)),
            Bytes.copyOf(b32(77)),
            Bytes.copyOf(b32(3)),
            "UpToDate",
            List.of(),
            2,
            "HOPPER",
            DriverVersion.parse("535.86.10"),
            Bytes.copyOf(MR_SYSTEM),
            false);
    BootInfo blackwell =
        new BootInfo(
            AppId.of(appId),
            Bytes.copyOf(b32(1)),
            Bytes.copyOf(b20(9)),
            Bytes.copyOf(b32(2)),
            Bytes.copyOf(b32(77)),
            Bytes.copyOf(b32(3)),
            "UpToDate",
            List.of(),
            1,
            "BLACKWELL",
            v550,
            Bytes.copyOf(MR_SYSTEM),
            false);

    assertEquals(ALLOWED, registry.isAppAllowed(noGpu), "no GPU policy anywhere");
    registry.setDefaultGpuPolicy(new GpuPolicy(1, "", 0));
    assertEquals(
        denied(ChainDenial.GPU_COUNT_BELOW_REQUIRED, "GPU count below required"),
        registry.isAppAllowed(noGpu),
        "registry default applies");
    assertEquals(ALLOWED, registry.isAppAllowed(oneHopper));

    app.setGpuRequirements(new GpuPolicy(1, "HOPPER", v550));
    assertEquals(ALLOWED, registry.isAppAllowed(oneHopper));
    assertEquals(
        denied(ChainDenial.GPU_ARCHITECTURE_NOT_ALLOWED, "GPU architecture not allowed"),
        registry.isAppAllowed(blackwell));
    assertEquals(
        denied(ChainDenial.GPU_DRIVER_BELOW_MINIMUM, "GPU driver below minimum"),
        registry.isAppAllowed(twoHopperOld));
    app.setGpuRequirements(new GpuPolicy(2, "", 0));
    assertEquals(
        denied(ChainDenial.GPU_COUNT_BELOW_REQUIRED, "GPU count below required"),
        registry.isAppAllowed(oneHopper));
    assertEquals(ALLOWED, registry.isAppAllowed(twoHopperOld));
    app.setGpuRequirements(GpuPolicy.NONE);
    assertEquals(ALLOWED, registry.isAppAllowed(noGpu), "app override relaxes the default");
  }
}
