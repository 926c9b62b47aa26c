package org.teekms.governance;

import static org.junit.jupiter.api.Assertions.*;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.teekms.crypto.Bytes;
import org.teekms.keys.AppId;
import org.web3j.utils.Numeric;

class KmsRegistryTest extends AnvilTestBase {
  private static final String ZERO = "0x0000000000000000000000000000000000000000";

  @Test
  void deployedState() throws Exception {
    assertEquals(addr(operator), registry.owner());
    assertEquals(ZERO, registry.pendingOwner());
    assertEquals(0, registry.kmsGeneration());
    assertEquals(new KmsRegistry.TcbPolicy(List.of("UpToDate"), List.of()), registry.tcbPolicy());
    assertEquals(GpuPolicy.NONE, registry.defaultGpuPolicy());
    assertFalse(registry.openRegistration());
    assertTrue(registry.apps().isEmpty());
    assertTrue(registry.osImages().isEmpty());
    assertNotEquals(ZERO, registry.appFactory());
    var events = registry.events();
    assertEquals(1, events.size());
    assertEquals("OwnershipTransferred", events.get(0).name());
  }

  @Test
  void deployEmitsOwnershipAndRejectsZeroOwner() throws Exception {
    var deployed = KmsRegistry.deploy(chain, operator, appOwner.getAddress());
    assertEquals(addr(appOwner), deployed.registry().owner());
    assertTrue(deployed.tx().contractAddress().isPresent());
    assertSingleEvent(
        deployed.tx(),
        deployed.registry(),
        "OwnershipTransferred",
        Map.of("previousOwner", ZERO, "newOwner", addr(appOwner)));
    assertReverts("owner is the zero address", () -> KmsRegistry.deploy(chain, operator, ZERO));
  }

  @Test
  void twoStepOwnership() throws Exception {
    assertReverts(
        "caller is not the owner", () -> registryAs(stranger).transferOwnership(addr(stranger)));
    assertReverts("already the owner", () -> registry.transferOwnership(addr(operator)));
    assertReverts("caller is not the pending owner", () -> registryAs(appOwner).acceptOwnership());

    TxResult started = registry.transferOwnership(addr(appOwner));
    assertSingleEvent(
        started,
        registry,
        "OwnershipTransferStarted",
        Map.of("previousOwner", addr(operator), "newOwner", addr(appOwner)));
    assertEquals(addr(appOwner), registry.pendingOwner());
    assertEquals(addr(operator), registry.owner(), "ownership moves only on accept");
    assertReverts("caller is not the pending owner", () -> registryAs(stranger).acceptOwnership());

    TxResult accepted = registryAs(appOwner).acceptOwnership();
    assertSingleEvent(
        accepted,
        registry,
        "OwnershipTransferred",
        Map.of("previousOwner", addr(operator), "newOwner", addr(appOwner)));
    assertEquals(addr(appOwner), registry.owner());
    assertEquals(ZERO, registry.pendingOwner());
    assertReverts("caller is not the owner", () -> registry.addOsImage(b32(1)));
    // OpenZeppelin's renounceOwnership is disabled: an ownerless registry could never be changed
    // again.
    assertReverts(
        "renouncing ownership is disabled",
        () ->
            chain.send(
                appOwner,
                registry.address(),
                org.teekms.governance.contracts.KmsRegistryContract.getABI_renounceOwnership()));
    assertEquals(addr(appOwner), registry.owner());
    registryAs(appOwner).addOsImage(b32(1));
  }

  @Test
  void pendingTransferCanBeCancelled() throws Exception {
    registry.transferOwnership(addr(appOwner));
    registry.transferOwnership(ZERO);
    assertEquals(ZERO, registry.pendingOwner());
    assertReverts("caller is not the pending owner", () -> registryAs(appOwner).acceptOwnership());
  }

  @Test
  void rootGenerationAnchorMovesForwardOnlyAndOnlyByTheOwner() throws Exception {
    byte[] cert = {0x30, 1};
    byte[] quote = {4, 0};
    assertEquals(new RootAnchor(0, List.of()), registry.rootGenerations(), "nothing published yet");
    registry.setKmsIdentity(1, b32(1), cert, quote);
    assertEquals(
        new RootAnchor(1, List.of(RootAnchor.State.CURRENT)),
        registry.rootGenerations(),
        "the first published generation is current");
    assertReverts("generation is not retired", () -> registry.destroyRootGeneration(1));

    TxResult rotated = registry.setKmsIdentity(2, b32(2), cert, quote);
    List<ContractEvents.DecodedEvent> events =
        rotated.logs().stream()
            .map(KmsRegistry.EVENTS::decode)
            .filter(e -> e.name().equals("RootGenerationStateChanged"))
            .toList();
    assertEquals(2, events.size());
    assertEquals(BigInteger.ONE, events.get(0).args().get("generation"));
    assertEquals(BigInteger.TWO, events.get(0).args().get("state"), "1 retired");
    assertEquals(BigInteger.TWO, events.get(1).args().get("generation"));
    assertEquals(BigInteger.ONE, events.get(1).args().get("state"), "2 current");
    assertEquals(
        new RootAnchor(2, List.of(RootAnchor.State.RETIRED, RootAnchor.State.CURRENT)),
        registry.rootGenerations());
    assertEquals(2, registry.currentRootGeneration());

    assertReverts("caller is not the owner", () -> registryAs(stranger).destroyRootGeneration(1));
    assertReverts("generation is not retired", () -> registry.destroyRootGeneration(2));
    assertReverts("generation is not retired", () -> registry.destroyRootGeneration(3));
    TxResult destroyed = registry.destroyRootGeneration(1);
    assertSingleEvent(
        destroyed,
        registry,
        "RootGenerationStateChanged",
        Map.of("by", addr(operator), "generation", BigInteger.ONE, "state", BigInteger.valueOf(3)));
    assertEquals(RootAnchor.State.DESTROYED, registry.rootGenerationState(1));
    assertReverts("generation is not retired", () -> registry.destroyRootGeneration(1));
    assertEquals(
        new RootAnchor(2, List.of(RootAnchor.State.DESTROYED, RootAnchor.State.CURRENT)),
        registry.rootGenerations());
    assertEquals(RootAnchor.State.NONE, registry.rootGenerations().state(3));
  }

  @Test
  void kmsIdentityIsSetOncePerGeneration() throws Exception {
    byte[] keys = b32(1);
    byte[] cert = new byte[1200];
    byte[] quote = new byte[5006];
    cert[0] = 0x30;
    quote[0] = 4;
    assertReverts(
        "caller is not the owner", () -> registryAs(stranger).setKmsIdentity(1, keys, cert, quote));
    assertReverts(
        "generation must be the next one", () -> registry.setKmsIdentity(2, keys, cert, quote));
    assertReverts(
        "generation must be the next one", () -> registry.setKmsIdentity(0, keys, cert, quote));
    assertReverts(
        "root public keys empty or too long",
        () -> registry.setKmsIdentity(1, new byte[0], cert, quote));
    assertReverts(
        "root public keys empty or too long",
        () -> registry.setKmsIdentity(1, new byte[2049], cert, quote));
    assertReverts(
        "CA certificate empty or too long",
        () -> registry.setKmsIdentity(1, keys, new byte[0], quote));
    assertReverts(
        "CA certificate empty or too long",
        () -> registry.setKmsIdentity(1, keys, new byte[16385], quote));
    assertReverts(
        "quote empty or too long", () -> registry.setKmsIdentity(1, keys, cert, new byte[0]));
    assertReverts("no such generation", () -> registry.kmsIdentity(1));

    TxResult tx = registry.setKmsIdentity(1, keys, cert, quote);
    List<ContractEvents.DecodedEvent> events =
        tx.logs().stream()
            .filter(l -> l.getAddress().equalsIgnoreCase(registry.address()))
            .map(KmsRegistry.EVENTS::decode)
            .toList();
    assertEquals(
        List.of("KmsIdentitySet", "RootGenerationStateChanged"),
        events.stream().map(ContractEvents.DecodedEvent::name).toList());
    assertArrayEquals(keys, (byte[]) events.get(0).args().get("rootPublicKeys"));
    assertArrayEquals(cert, (byte[]) events.get(0).args().get("caCertificate"));
    assertArrayEquals(quote, (byte[]) events.get(0).args().get("quote"));
    assertEquals(BigInteger.ONE, events.get(0).args().get("generation"));
    assertEquals(1, registry.kmsGeneration());
    KmsRegistry.KmsIdentity id = registry.kmsIdentity(1);
    assertArrayEquals(keys, id.rootPublicKeys().toByteArray());
    assertArrayEquals(sha256(cert), id.caCertificateSha256().toByteArray());
    assertArrayEquals(sha256(quote), id.quoteSha256().toByteArray());
    assertEquals(tx.blockNumber(), id.setAtBlock());
    assertReverts(
        "generation must be the next one", () -> registry.setKmsIdentity(1, b32(2), cert, quote));

    KmsRegistry.PublishedKmsIdentity published = registry.publishedIdentity(1);
    assertArrayEquals(cert, published.caCertificate().toByteArray());
    assertArrayEquals(quote, published.quote().toByteArray());
    assertArrayEquals(keys, published.rootPublicKeys().toByteArray());
    assertEquals(tx.txHash(), published.txHash());

    registry.setKmsIdentity(2, b32(2), cert, quote);
    assertArrayEquals(b32(2), registry.publishedIdentity(2).rootPublicKeys().toByteArray());
    assertEquals(2, registry.kmsGeneration());
    assertArrayEquals(
        keys, registry.kmsIdentity(1).rootPublicKeys().toByteArray(), "generation 1 unchanged");
    assertReverts("no such generation", () -> registry.kmsIdentity(0));
    assertReverts("no such generation", () -> registry.kmsIdentity(3));
  }

  @Test
  void kmsMeasurementsDevicesAndOsImages() throws Exception {
    record SetOps(
        String what,
        String added,
        String removed,
        ChainFn add,
        ChainFn remove,
        ListFn list,
        ChainFn strangerAdd) {}
    var ops =
        List.of(
            new SetOps(
                "KMS measurement",
                "KmsMeasurementAdded",
                "KmsMeasurementRemoved",
                registry::addKmsMeasurement,
                registry::removeKmsMeasurement,
                registry::kmsMeasurements,
                registryAs(stranger)::addKmsMeasurement),
            new SetOps(
                "KMS device",
                "KmsDeviceAdded",
                "KmsDeviceRemoved",
                registry::addKmsDevice,
                registry::removeKmsDevice,
                registry::kmsDevices,
                registryAs(stranger)::addKmsDevice),
            new SetOps(
                "OS image",
                "OsImageAdded",
                "OsImageRemoved",
                registry::addOsImage,
                registry::removeOsImage,
                registry::osImages,
                registryAs(stranger)::addOsImage));
    String[] zeroReasons = {"measurement is zero", "device id is zero", "OS image hash is zero"};
    String[] argNames = {"measurement", "deviceId", "osImageHash"};
    for (int i = 0; i < ops.size(); i++) {
      SetOps op = ops.get(i);
      assertReverts("caller is not the owner", () -> op.strangerAdd().apply(b32(1)));
      assertReverts(zeroReasons[i], () -> op.add().apply(new byte[32]));
      assertReverts(op.what() + " not allowed", () -> op.remove().apply(b32(1)));
      assertSingleEvent(
          op.add().apply(b32(1)),
          registry,
          op.added(),
          Map.of("by", addr(operator), argNames[i], b32(1)));
      op.add().apply(b32(2));
      op.add().apply(b32(3));
      assertReverts(op.what() + " already allowed", () -> op.add().apply(b32(2)));
      assertEquals(hexes(List.of(b32(1), b32(2), b32(3))), hexes(op.list().get()));
      assertSingleEvent(
          op.remove().apply(b32(1)),
          registry,
          op.removed(),
          Map.of("by", addr(operator), argNames[i], b32(1)));
      assertEquals(sorted(List.of(b32(2), b32(3))), sorted(op.list().get()));
      assertReverts(op.what() + " not allowed", () -> op.remove().apply(b32(1)));
    }
    assertTrue(registry.isOsImageAllowed(b32(2)));
    assertFalse(registry.isOsImageAllowed(b32(1)));
  }

  @Test
  void tcbPolicy() throws Exception {
    assertReverts(
        "caller is not the owner",
        () -> registryAs(stranger).setTcbPolicy(List.of("UpToDate"), List.of()));
    assertReverts("no TCB status allowed", () -> registry.setTcbPolicy(List.of(), List.of()));
    assertReverts(
        "unknown or forbidden TCB status",
        () -> registry.setTcbPolicy(List.of("Revoked"), List.of()));
    assertReverts(
        "unknown or forbidden TCB status",
        () -> registry.setTcbPolicy(List.of("uptodate"), List.of()));
    assertReverts(
        "duplicate TCB status",
        () -> registry.setTcbPolicy(List.of("UpToDate", "OutOfDate", "UpToDate"), List.of()));
    assertReverts(
        "advisory ID: invalid character",
        () -> registry.setTcbPolicy(List.of("UpToDate"), List.of("INTEL SA")));
    assertReverts(
        "advisory ID: empty or too long",
        () -> registry.setTcbPolicy(List.of("UpToDate"), List.of("")));
    assertReverts(
        "advisory ID: empty or too long",
        () -> registry.setTcbPolicy(List.of("UpToDate"), List.of("A".repeat(65))));
    assertReverts(
        "duplicate advisory ID",
        () ->
            registry.setTcbPolicy(
                List.of("UpToDate"), List.of("INTEL-SA-00615", "INTEL-SA-00615")));
    List<String> many = new ArrayList<>();
    for (int i = 0; i < 65; i++) many.add("INTEL-SA-" + i);
    assertReverts("too many entries", () -> registry.setTcbPolicy(List.of("UpToDate"), many));

    List<String> statuses =
        List.of(
            "UpToDate",
            "SWHardeningNeeded",
            "ConfigurationNeeded",
            "ConfigurationAndSWHardeningNeeded",
            "OutOfDate",
            "OutOfDateConfigurationNeeded");
    TxResult tx = registry.setTcbPolicy(statuses, List.of("INTEL-SA-00615", "INTEL-SA-00289"));
    assertSingleEvent(
        tx,
        registry,
        "TcbPolicyChanged",
        Map.of(
            "by",
            addr(operator),
            "oldStatuses",
            List.of("UpToDate"),
            "newStatuses",
            statuses,
            "oldAdvisoryIds",
            List.of(),
            "newAdvisoryIds",
            List.of("INTEL-SA-00615", "INTEL-SA-00289")));
    assertEquals(
        new KmsRegistry.TcbPolicy(statuses, List.of("INTEL-SA-00615", "INTEL-SA-00289")),
        registry.tcbPolicy());
    TxResult back = registry.setTcbPolicy(List.of("UpToDate"), List.of());
    assertSingleEvent(
        back,
        registry,
        "TcbPolicyChanged",
        Map.of(
            "oldStatuses",
            statuses,
            "newStatuses",
            List.of("UpToDate"),
            "oldAdvisoryIds",
            List.of("INTEL-SA-00615", "INTEL-SA-00289")));
  }

  @Test
  void defaultGpuPolicy() throws Exception {
    GpuPolicy hopper = new GpuPolicy(1, "HOPPER", DriverVersion.parse("550.127.05"));
    assertReverts(
        "caller is not the owner", () -> registryAs(stranger).setDefaultGpuPolicy(hopper));
    assertReverts(
        "GPU arch/driver need count > 0",
        () -> registry.setDefaultGpuPolicy(new GpuPolicy(0, "HOPPER", 0)));
    assertReverts(
        "GPU arch/driver need count > 0",
        () -> registry.setDefaultGpuPolicy(new GpuPolicy(0, "", 1)));
    assertReverts(
        "GPU count too large", () -> registry.setDefaultGpuPolicy(new GpuPolicy(65, "", 0)));
    assertReverts(
        "GPU architecture: invalid character",
        () -> registry.setDefaultGpuPolicy(new GpuPolicy(1, "HOP PER", 0)));
    assertReverts(
        "GPU architecture too long",
        () -> registry.setDefaultGpuPolicy(new GpuPolicy(1, "H".repeat(65), 0)));
    TxResult tx = registry.setDefaultGpuPolicy(hopper);
    assertSingleEvent(
        tx,
        registry,
        "DefaultGpuPolicyChanged",
        Map.of(
            "by",
            addr(operator),
            "oldCount",
            0,
            "oldArch",
            "",
            "oldMinDriverVersion",
            0,
            "newCount",
            1,
            "newArch",
            "HOPPER",
            "newMinDriverVersion",
            550127005L));
    assertEquals(hopper, registry.defaultGpuPolicy());
  }

  @Test
  void appRegistration() throws Exception {
    assertReverts("registration is closed", () -> registryAs(stranger).registerApp(addr(stranger)));
    assertReverts("owner is the zero address", () -> registry.registerApp(ZERO));
    var reg = registry.registerApp(addr(appOwner));
    assertSingleEvent(
        reg.tx(),
        registry,
        "AppRegistered",
        Map.of("by", addr(operator), "app", reg.appId(), "appOwner", addr(appOwner)));
    assertEquals(KmsRegistry.AppStatus.REGISTERED, registry.appStatus(reg.appId()));
    assertEquals(List.of(reg.appId()), registry.apps());
    AppPolicy app = AppPolicy.at(chain, reg.appId(), appOwner);
    assertEquals(addr(appOwner), app.owner());
    assertEquals(registry.address(), app.registry());

    assertReverts("caller is not the owner", () -> registryAs(stranger).setOpenRegistration(true));
    assertReverts("value unchanged", () -> registry.setOpenRegistration(false));
    assertSingleEvent(
        registry.setOpenRegistration(true),
        registry,
        "OpenRegistrationChanged",
        Map.of("by", addr(operator), "oldValue", false, "newValue", true));
    var open = registryAs(stranger).registerApp(addr(stranger));
    assertSingleEvent(open.tx(), registry, "AppRegistered", Map.of("by", addr(stranger)));
    assertEquals(List.of(reg.appId(), open.appId()), registry.apps());
    registry.setOpenRegistration(false);
    assertReverts("registration is closed", () -> registryAs(stranger).registerApp(addr(stranger)));
  }

  @Test
  void registryOwnerDeregistersApps() throws Exception {
    String app = registry.registerApp(addr(appOwner)).appId();
    assertReverts("caller is not the owner", () -> registryAs(appOwner).deregisterApp(app));
    assertReverts("app not registered", () -> registry.deregisterApp(addr(stranger)));
    assertSingleEvent(
        registry.deregisterApp(app),
        registry,
        "AppDeregistered",
        Map.of("by", addr(operator), "app", app));
    assertEquals(KmsRegistry.AppStatus.DEREGISTERED, registry.appStatus(app));
    assertEquals(KmsRegistry.AppStatus.NONE, registry.appStatus(addr(stranger)));
    assertReverts("app not registered", () -> registry.deregisterApp(app));
    // Only a registered AppPolicy may deregister itself.
    assertReverts(
        "app not registered",
        () ->
            chain.send(
                stranger,
                registry.address(),
                org.teekms.governance.contracts.KmsRegistryContract.getABI_deregisterSelf()));
  }

  @Test
  void isKmsAllowed() throws Exception {
    BootInfo kms =
        BootInfo.withoutGpu(
            AppId.of(new byte[20]),
            Bytes.copyOf(new byte[32]),
            Bytes.copyOf(b20(1)),
            Bytes.copyOf(b32(5)),
            Bytes.copyOf(b32(6)),
            Bytes.copyOf(b32(7)),
            "UpToDate",
            List.of());
    assertEquals(
        new GovernanceContract.Verdict(
            false, ChainDenial.KMS_MEASUREMENT_NOT_ALLOWED, "KMS measurement not allowed"),
        registry.isKmsAllowed(kms));
    registry.addKmsMeasurement(b32(6));
    assertEquals(
        new GovernanceContract.Verdict(
            false, ChainDenial.KMS_DEVICE_NOT_ALLOWED, "KMS device not allowed"),
        registry.isKmsAllowed(kms));
    registry.addKmsDevice(b32(5));
    assertEquals(
        new GovernanceContract.Verdict(
            false, ChainDenial.OS_IMAGE_NOT_ALLOWED, "OS image not allowed"),
        registry.isKmsAllowed(kms));
    registry.addOsImage(b32(7));
    assertEquals(
        new GovernanceContract.Verdict(true, ChainDenial.NONE, ""), registry.isKmsAllowed(kms));
    BootInfo outdated =
        BootInfo.withoutGpu(
            AppId.of(new byte[20]),
            Bytes.copyOf(new byte[32]),
            Bytes.copyOf(b20(1)),
            Bytes.copyOf(b32(5)),
            Bytes.copyOf(b32(6)),
            Bytes.copyOf(b32(7)),
            "OutOfDate",
            List.of("INTEL-SA-00615"));
    assertEquals(
        new GovernanceContract.Verdict(
            false, ChainDenial.TCB_STATUS_NOT_ALLOWED, "TCB status not allowed"),
        registry.isKmsAllowed(outdated));
    registry.setTcbPolicy(List.of("UpToDate", "OutOfDate"), List.of());
    assertEquals(
        new GovernanceContract.Verdict(
            false, ChainDenial.ADVISORY_NOT_ALLOWED, "advisory ID not allowed: INTEL-SA-00615"),
        registry.isKmsAllowed(outdated));
    registry.setTcbPolicy(List.of("UpToDate", "OutOfDate"), List.of("INTEL-SA-00615"));
    assertEquals(
        new GovernanceContract.Verdict(true, ChainDenial.NONE, ""),
        registry.isKmsAllowed(outdated));
    registry.removeKmsDevice(b32(5));
    assertEquals(
        new GovernanceContract.Verdict(
            false, ChainDenial.KMS_DEVICE_NOT_ALLOWED, "KMS device not allowed"),
        registry.isKmsAllowed(kms));
  }

  @Test
  void isAppAllowedRegistryChecks() throws Exception {
    AppPolicy app = newApp();
    BootInfo boot = boot(app.address(), b32(1), b32(2), b32(3));
    assertEquals(
        new GovernanceContract.Verdict(false, ChainDenial.APP_NOT_REGISTERED, "app not registered"),
        registry.isAppAllowed(boot(addr(stranger), b32(1), b32(2), b32(3))));
    assertEquals(
        new GovernanceContract.Verdict(
            false, ChainDenial.OS_IMAGE_NOT_ALLOWED, "OS image not allowed"),
        registry.isAppAllowed(boot));
    allowOsImage(b32(3));
    assertEquals(
        new GovernanceContract.Verdict(
            false, ChainDenial.COMPOSE_HASH_NOT_ALLOWED, "compose hash not allowed"),
        registry.isAppAllowed(boot));
    app.addComposeHash(b32(1));
    app.addDevice(b32(2));
    assertEquals(
        new GovernanceContract.Verdict(true, ChainDenial.NONE, ""), registry.isAppAllowed(boot));
    BootInfo advisories =
        BootInfo.withoutGpu(
                boot.appId(),
                Bytes.copyOf(b32(1)),
                Bytes.copyOf(b20(9)),
                Bytes.copyOf(b32(2)),
                Bytes.copyOf(b32(77)),
                Bytes.copyOf(b32(3)),
                "UpToDate",
                List.of("INTEL-SA-00289"))
            .withMrSystem(Bytes.copyOf(MR_SYSTEM), false);
    assertEquals(
        new GovernanceContract.Verdict(
            false, ChainDenial.ADVISORY_NOT_ALLOWED, "advisory ID not allowed: INTEL-SA-00289"),
        registry.isAppAllowed(advisories));
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
    assertEquals(
        new GovernanceContract.Verdict(
            false, ChainDenial.TCB_STATUS_NOT_ALLOWED, "TCB status not allowed"),
        registry.isAppAllowed(swh));
    registry.deregisterApp(app.address());
    assertEquals(
        new GovernanceContract.Verdict(false, ChainDenial.APP_DEREGISTERED, "app deregistered"),
        registry.isAppAllowed(boot));
  }

  @Test
  void anOsImageIsAdmittedOnlyWithARegisteredMeasurementOrAMeasuredDocument() throws Exception {
    AppPolicy app = newApp();
    app.addComposeHash(b32(1));
    app.setAllowAnyDevice(true);
    registry.addOsImage(b32(3));
    BootInfo victim = boot(app.address(), b32(1), b32(2), b32(3));
    // the attack: same app id, compose hash and claimed OS image in RTMR3, but its own kernel
    // (another mrSystem)
    BootInfo forged = victim.withMrSystem(Bytes.copyOf(b32(66)), false);
    assertEquals(
        new GovernanceContract.Verdict(
            false, ChainDenial.OS_IMAGE_MEASUREMENT_MISMATCH, "OS image measurement mismatch"),
        registry.isAppAllowed(victim),
        "no golden measurement registered yet");
    assertEquals(
        new GovernanceContract.Verdict(
            false, ChainDenial.OS_IMAGE_MEASUREMENT_MISMATCH, "OS image measurement mismatch"),
        registry.isAppAllowed(victim.withMrSystem(Bytes.copyOf(new byte[32]), false)),
        "a zero mrSystem never matches");

    TxResult added = registry.addOsImageMeasurement(b32(3), MR_SYSTEM);
    assertSingleEvent(
        added,
        registry,
        "OsImageMeasurementAdded",
        Map.of("by", addr(operator), "osImageHash", b32(3), "mrSystem", MR_SYSTEM));
    assertEquals(
        new GovernanceContract.Verdict(true, ChainDenial.NONE, ""), registry.isAppAllowed(victim));
    assertEquals(
        new GovernanceContract.Verdict(
            false, ChainDenial.OS_IMAGE_MEASUREMENT_MISMATCH, "OS image measurement mismatch"),
        registry.isAppAllowed(forged));
    assertTrue(registry.isOsImageMeasurementAllowed(b32(3), MR_SYSTEM));
    assertFalse(registry.isOsImageMeasurementAllowed(b32(3), b32(66)));
    assertEquals(List.of(hex(MR_SYSTEM)), hexes(registry.osImageMeasurements(b32(3))));
    assertTrue(registry.osImageMeasurements(b32(4)).isEmpty(), "golden values are per image");
    // a measurement registered for another image does not vouch for this one
    registry.addOsImageMeasurement(b32(4), b32(66));
    assertEquals(
        new GovernanceContract.Verdict(
            false, ChainDenial.OS_IMAGE_MEASUREMENT_MISMATCH, "OS image measurement mismatch"),
        registry.isAppAllowed(forged));
    // a document the KMS verified against the quote proves the image without a golden value
    assertEquals(
        new GovernanceContract.Verdict(true, ChainDenial.NONE, ""),
        registry.isAppAllowed(forged.withMrSystem(Bytes.copyOf(b32(66)), true)));
    // ... but never an image the owner does not allow
    assertEquals(
        new GovernanceContract.Verdict(
            false, ChainDenial.OS_IMAGE_NOT_ALLOWED, "OS image not allowed"),
        registry.isAppAllowed(
            boot(app.address(), b32(1), b32(2), b32(5)).withMrSystem(Bytes.copyOf(b32(66)), true)));

    TxResult removed = registry.removeOsImageMeasurement(b32(3), MR_SYSTEM);
    assertSingleEvent(
        removed,
        registry,
        "OsImageMeasurementRemoved",
        Map.of("by", addr(operator), "osImageHash", b32(3), "mrSystem", MR_SYSTEM));
    assertEquals(
        new GovernanceContract.Verdict(
            false, ChainDenial.OS_IMAGE_MEASUREMENT_MISMATCH, "OS image measurement mismatch"),
        registry.isAppAllowed(victim));
    assertTrue(registry.osImageMeasurements(b32(3)).isEmpty());
  }

  @Test
  void osImageMeasurementsAreOwnerOnlyAndValidated() throws Exception {
    assertReverts(
        "caller is not the owner",
        () -> registryAs(stranger).addOsImageMeasurement(b32(3), b32(4)));
    assertReverts(
        "OS image hash is zero", () -> registry.addOsImageMeasurement(new byte[32], b32(4)));
    assertReverts("mrSystem is zero", () -> registry.addOsImageMeasurement(b32(3), new byte[32]));
    registry.addOsImageMeasurement(b32(3), b32(4));
    assertReverts(
        "OS image measurement already allowed",
        () -> registry.addOsImageMeasurement(b32(3), b32(4)));
    assertReverts(
        "caller is not the owner",
        () -> registryAs(stranger).removeOsImageMeasurement(b32(3), b32(4)));
    assertReverts(
        "OS image measurement not allowed",
        () -> registry.removeOsImageMeasurement(b32(3), b32(5)));
    registry.addOsImageMeasurement(b32(3), b32(5));
    registry.removeOsImageMeasurement(b32(3), b32(4));
    assertEquals(List.of(hex(b32(5))), hexes(registry.osImageMeasurements(b32(3))));
  }

  @Test
  void aKmsReplicaNeedsNoGoldenOsMeasurementBecauseMrAggregatedPinsIt() throws Exception {
    BootInfo kms =
        BootInfo.withoutGpu(
                AppId.of(new byte[20]),
                Bytes.copyOf(new byte[32]),
                Bytes.copyOf(b20(1)),
                Bytes.copyOf(b32(5)),
                Bytes.copyOf(b32(6)),
                Bytes.copyOf(b32(7)),
                "UpToDate",
                List.of())
            .withMrSystem(Bytes.copyOf(b32(66)), false);
    registry.addKmsMeasurement(b32(6));
    registry.addKmsDevice(b32(5));
    registry.addOsImage(b32(7));
    assertEquals(
        new GovernanceContract.Verdict(true, ChainDenial.NONE, ""), registry.isKmsAllowed(kms));
  }

  // ---- helpers ----

  @FunctionalInterface
  interface ChainFn {
    TxResult apply(byte[] value) throws GovernanceException;
  }

  @FunctionalInterface
  interface ListFn {
    List<byte[]> get() throws GovernanceException;
  }

  private static List<String> hexes(List<byte[]> values) {
    return values.stream().map(Numeric::toHexString).toList();
  }

  private static List<String> sorted(List<byte[]> values) {
    List<String> h = new ArrayList<>(hexes(values));
    Collections.sort(h);
    return h;
  }
}
