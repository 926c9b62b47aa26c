// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.26;

import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {BootInfo, Denial, GpuPolicy, GovernanceChecks, TwoStepOwnable} from "./GovernanceTypes.sol";
import {AppPolicy, AppPolicyFactory, IAppRegistry} from "./AppPolicy.sol";

/// The KMS registry: who the KMS is, which KMS replicas, OS images and TCB levels are acceptable, and which apps
/// exist. The KMS only reads it (isAppAllowed / isKmsAllowed at a pinned block); only the owner changes it.
contract KmsRegistry is TwoStepOwnable, IAppRegistry {
    using EnumerableSet for EnumerableSet.Bytes32Set;

    enum AppStatus { None, Registered, Deregistered }

    struct KmsIdentity {
        bytes rootPublicKeys;     // the generation's root public keys (encoding defined by the KMS)
        bytes32 caCertificateHash; // SHA-256 of the KMS CA certificate (DER); the certificate is in the event
        bytes32 quoteHash;         // SHA-256 of the KMS quote binding both; the quote is in the event
        uint64 setAtBlock;
    }

    uint256 public constant MAX_ROOT_PUBLIC_KEYS = 2048;
    uint256 public constant MAX_CA_CERTIFICATE = 16384;
    uint256 public constant MAX_QUOTE = 32768;
    uint256 public constant MAX_TCB_ENTRIES = 64;

    uint32 public kmsGeneration; // latest generation with a published identity; 0 = none yet
    mapping(uint32 => KmsIdentity) private identities;

    /// Anti-rollback anchor of the KMS's root generations (the KMS's database, which the host can write, must agree).
    /// Published = Current when published (the previous current one becomes Retired); only the owner moves a
    /// generation on, and only forward: Current -> Retired (by the next publication) -> Destroyed.
    enum RootGenerationState { None, Current, Retired, Destroyed }

    uint32 public currentRootGeneration; // the generation new key versions must come from; 0 = none published yet
    mapping(uint32 => RootGenerationState) private rootStates;

    EnumerableSet.Bytes32Set private kmsMeasurementSet;
    EnumerableSet.Bytes32Set private kmsDeviceSet;
    EnumerableSet.Bytes32Set private osImageSet;
    /// Golden measurements: per OS image hash, the mrSystem values (SHA-256(MRTD || RTMR0-2)) a boot of that image
    /// may have, typically taken from reference boots.
    mapping(bytes32 => EnumerableSet.Bytes32Set) private osImageMeasurementSets;

    string[] private tcbStatuses;
    string[] private advisoryIds;
    GpuPolicy private defaultGpuPolicy;

    AppPolicyFactory public immutable appFactory;
    bool public openRegistration;
    address[] private appList;
    mapping(address => AppStatus) public appStatus;

    event KmsIdentitySet(address indexed by, uint32 indexed generation, bytes rootPublicKeys,
        bytes caCertificate, bytes quote);
    event RootGenerationStateChanged(address indexed by, uint32 indexed generation, RootGenerationState state);
    event KmsMeasurementAdded(address indexed by, bytes32 indexed measurement);
    event KmsMeasurementRemoved(address indexed by, bytes32 indexed measurement);
    event KmsDeviceAdded(address indexed by, bytes32 indexed deviceId);
    event KmsDeviceRemoved(address indexed by, bytes32 indexed deviceId);
    event OsImageAdded(address indexed by, bytes32 indexed osImageHash);
    event OsImageRemoved(address indexed by, bytes32 indexed osImageHash);
    event OsImageMeasurementAdded(address indexed by, bytes32 indexed osImageHash, bytes32 indexed mrSystem);
    event OsImageMeasurementRemoved(address indexed by, bytes32 indexed osImageHash, bytes32 indexed mrSystem);
    event TcbPolicyChanged(address indexed by, string[] oldStatuses, string[] newStatuses,
        string[] oldAdvisoryIds, string[] newAdvisoryIds);
    event DefaultGpuPolicyChanged(address indexed by,
        uint32 oldCount, string oldArch, uint32 oldMinDriverVersion,
        uint32 newCount, string newArch, uint32 newMinDriverVersion);
    event OpenRegistrationChanged(address indexed by, bool oldValue, bool newValue);
    event AppRegistered(address indexed by, address indexed app, address indexed appOwner);
    event AppDeregistered(address indexed by, address indexed app);
    event AuditAnchorerChanged(address indexed by, address oldAnchorer, address newAnchorer);
    event AuditHeadAnchored(address indexed by, bytes32 head, uint64 entryCount);

    /// The latest anchored head of the KMS's audit hash chain (docs/audit-log.md, "Anchoring"): the hash of entry
    /// `entryCount` (32 zero bytes for 0). Auditors check that the chain the KMS serves passes through it.
    struct AuditAnchor {
        bytes32 head;
        uint64 entryCount;
        uint64 atBlock;
    }

    /// The KMS's anchoring account (its address derives from the KMS root secret inside the TEE, so neither the host
    /// nor the database can anchor); the registry owner may anchor too. 0 = only the owner.
    address public auditAnchorer;
    AuditAnchor private latestAnchor;

    constructor(address initialOwner) TwoStepOwnable(initialOwner) {
        tcbStatuses.push("UpToDate");
        appFactory = new AppPolicyFactory();
    }

    // ---- KMS identity and replicas ----

    /// Publishes the identity of root generation `generation`, once; generations are consecutive from 1.
    function setKmsIdentity(uint32 generation, bytes calldata rootPublicKeys, bytes calldata caCertificate,
        bytes calldata quote) external onlyOwner {
        require(generation == kmsGeneration + 1, "generation must be the next one");
        require(rootPublicKeys.length > 0 && rootPublicKeys.length <= MAX_ROOT_PUBLIC_KEYS,
            "root public keys empty or too long");
        require(caCertificate.length > 0 && caCertificate.length <= MAX_CA_CERTIFICATE,
            "CA certificate empty or too long");
        require(quote.length > 0 && quote.length <= MAX_QUOTE, "quote empty or too long");
        identities[generation] = KmsIdentity(rootPublicKeys, sha256(caCertificate), sha256(quote),
            uint64(block.number));
        kmsGeneration = generation;
        emit KmsIdentitySet(msg.sender, generation, rootPublicKeys, caCertificate, quote);
        // Publishing a generation makes it the current one: the KMS has already promoted it (its rotation job does not
        // wait), and from this block on a database whose current generation is older is a rollback.
        uint32 previous = currentRootGeneration;
        if (previous != 0) {
            rootStates[previous] = RootGenerationState.Retired;
            emit RootGenerationStateChanged(msg.sender, previous, RootGenerationState.Retired);
        }
        rootStates[generation] = RootGenerationState.Current;
        currentRootGeneration = generation;
        emit RootGenerationStateChanged(msg.sender, generation, RootGenerationState.Current);
    }

    /// Records that a retired root generation is destroyed: from this block on the KMS refuses to unseal it or release
    /// any key version derived from it, whatever its database says (an old backup cannot revive it). Irreversible.
    function destroyRootGeneration(uint32 generation) external onlyOwner {
        require(rootStates[generation] == RootGenerationState.Retired, "generation is not retired");
        rootStates[generation] = RootGenerationState.Destroyed;
        emit RootGenerationStateChanged(msg.sender, generation, RootGenerationState.Destroyed);
    }

    function rootGenerationState(uint32 generation) external view returns (RootGenerationState) {
        return rootStates[generation];
    }

    /// The whole anchor in one call (the KMS reads it at its pinned block): the current generation and the state of
    /// generations 1..kmsGeneration (states[i] is generation i + 1).
    function rootGenerations() external view returns (uint32 current, RootGenerationState[] memory states) {
        states = new RootGenerationState[](kmsGeneration);
        for (uint32 g = 1; g <= kmsGeneration; g++) {
            states[g - 1] = rootStates[g];
        }
        return (currentRootGeneration, states);
    }

    function kmsIdentity(uint32 generation) external view returns (KmsIdentity memory) {
        require(generation != 0 && generation <= kmsGeneration, "no such generation");
        return identities[generation];
    }

    function addKmsMeasurement(bytes32 measurement) external onlyOwner {
        require(measurement != bytes32(0), "measurement is zero");
        require(kmsMeasurementSet.add(measurement), "KMS measurement already allowed");
        emit KmsMeasurementAdded(msg.sender, measurement);
    }

    function removeKmsMeasurement(bytes32 measurement) external onlyOwner {
        require(kmsMeasurementSet.remove(measurement), "KMS measurement not allowed");
        emit KmsMeasurementRemoved(msg.sender, measurement);
    }

    function addKmsDevice(bytes32 deviceId) external onlyOwner {
        require(deviceId != bytes32(0), "device id is zero");
        require(kmsDeviceSet.add(deviceId), "KMS device already allowed");
        emit KmsDeviceAdded(msg.sender, deviceId);
    }

    function removeKmsDevice(bytes32 deviceId) external onlyOwner {
        require(kmsDeviceSet.remove(deviceId), "KMS device not allowed");
        emit KmsDeviceRemoved(msg.sender, deviceId);
    }

    // ---- OS images, TCB and GPU defaults ----

    function addOsImage(bytes32 osImageHash) external onlyOwner {
        require(osImageHash != bytes32(0), "OS image hash is zero");
        require(osImageSet.add(osImageHash), "OS image already allowed");
        emit OsImageAdded(msg.sender, osImageHash);
    }

    function removeOsImage(bytes32 osImageHash) external onlyOwner {
        require(osImageSet.remove(osImageHash), "OS image not allowed");
        emit OsImageRemoved(msg.sender, osImageHash);
    }

    /// Registers a golden measurement of an OS image: a boot that claims osImageHash (in RTMR3, which the guest
    /// writes) is accepted only if its hardware-measured mrSystem is registered for that image, or the KMS proved
    /// the image from a measurement document (BootInfo.osImageMeasured).
    function addOsImageMeasurement(bytes32 osImageHash, bytes32 mrSystem) external onlyOwner {
        require(osImageHash != bytes32(0), "OS image hash is zero");
        require(mrSystem != bytes32(0), "mrSystem is zero");
        require(osImageMeasurementSets[osImageHash].add(mrSystem), "OS image measurement already allowed");
        emit OsImageMeasurementAdded(msg.sender, osImageHash, mrSystem);
    }

    function removeOsImageMeasurement(bytes32 osImageHash, bytes32 mrSystem) external onlyOwner {
        require(osImageMeasurementSets[osImageHash].remove(mrSystem), "OS image measurement not allowed");
        emit OsImageMeasurementRemoved(msg.sender, osImageHash, mrSystem);
    }

    /// Replaces the TCB policy: the acceptable TCB statuses (never "Revoked") and the advisory IDs that may be
    /// reported. A boot passes if its status is listed and each of its advisory IDs is listed.
    function setTcbPolicy(string[] calldata statuses, string[] calldata advisories) external onlyOwner {
        require(statuses.length > 0, "no TCB status allowed");
        require(statuses.length <= MAX_TCB_ENTRIES && advisories.length <= MAX_TCB_ENTRIES, "too many entries");
        for (uint256 i = 0; i < statuses.length; i++) {
            require(isKnownTcbStatus(statuses[i]), "unknown or forbidden TCB status");
            for (uint256 j = 0; j < i; j++) {
                require(keccak256(bytes(statuses[i])) != keccak256(bytes(statuses[j])), "duplicate TCB status");
            }
        }
        for (uint256 i = 0; i < advisories.length; i++) {
            GovernanceChecks.checkToken(advisories[i], "advisory ID");
            for (uint256 j = 0; j < i; j++) {
                require(keccak256(bytes(advisories[i])) != keccak256(bytes(advisories[j])), "duplicate advisory ID");
            }
        }
        emit TcbPolicyChanged(msg.sender, tcbStatuses, statuses, advisoryIds, advisories);
        delete tcbStatuses;
        delete advisoryIds;
        for (uint256 i = 0; i < statuses.length; i++) tcbStatuses.push(statuses[i]);
        for (uint256 i = 0; i < advisories.length; i++) advisoryIds.push(advisories[i]);
    }

    function setDefaultGpuPolicy(uint32 count, string calldata arch, uint32 minDriverVersion) external onlyOwner {
        GpuPolicy memory p = GpuPolicy(count, arch, minDriverVersion);
        GovernanceChecks.checkGpuPolicy(p);
        GpuPolicy memory old = defaultGpuPolicy;
        emit DefaultGpuPolicyChanged(msg.sender, old.count, old.arch, old.minDriverVersion,
            count, arch, minDriverVersion);
        defaultGpuPolicy = p;
    }

    // ---- apps ----

    function setOpenRegistration(bool value) external onlyOwner {
        require(value != openRegistration, "value unchanged");
        emit OpenRegistrationChanged(msg.sender, openRegistration, value);
        openRegistration = value;
    }

    /// Creates an app (its AppPolicy contract) owned by appOwner; the returned address is the app id.
    /// Only the registry owner may register, unless open registration is on.
    function registerApp(address appOwner) external returns (address app) {
        require(openRegistration || msg.sender == owner(), "registration is closed");
        app = appFactory.create(appOwner);
        appStatus[app] = AppStatus.Registered;
        appList.push(app);
        emit AppRegistered(msg.sender, app, appOwner);
    }

    /// The registry owner removes an app for good.
    function deregisterApp(address app) external onlyOwner {
        deregister(app);
    }

    /// Called by a registered AppPolicy when its owner deregisters it.
    function deregisterSelf() external {
        deregister(msg.sender);
    }

    function deregister(address app) private {
        require(appStatus[app] == AppStatus.Registered, "app not registered");
        appStatus[app] = AppStatus.Deregistered;
        emit AppDeregistered(msg.sender, app);
    }

    // ---- audit anchoring ----

    /// The owner names the KMS's anchoring account (after checking it in the KMS's attested KmsInfo), or 0 for none.
    function setAuditAnchorer(address anchorer) external onlyOwner {
        require(anchorer != auditAnchorer, "value unchanged");
        emit AuditAnchorerChanged(msg.sender, auditAnchorer, anchorer);
        auditAnchorer = anchorer;
    }

    /// Records the audit chain's head after `entryCount` entries. Only forward: a count below the latest one, or the
    /// same count with another head, is a rewritten history and is refused (so is an unchanged head: nothing to do).
    function anchorAuditHead(bytes32 head, uint64 entryCount) external {
        require(msg.sender == owner() || (auditAnchorer != address(0) && msg.sender == auditAnchorer),
            "not the owner or the audit anchorer");
        require(entryCount > 0 && head != bytes32(0), "empty audit chain");
        AuditAnchor memory last = latestAnchor;
        require(entryCount >= last.entryCount, "audit chain shorter than anchored");
        if (entryCount == last.entryCount) {
            revert(head == last.head ? "audit head already anchored" : "audit head differs at the anchored count");
        }
        latestAnchor = AuditAnchor(head, entryCount, uint64(block.number));
        emit AuditHeadAnchored(msg.sender, head, entryCount);
    }

    function latestAuditAnchor() external view returns (AuditAnchor memory) {
        return latestAnchor;
    }

    // ---- views ----

    function isRegistered(address app) external view returns (bool) {
        return appStatus[app] == AppStatus.Registered;
    }

    function apps() external view returns (address[] memory) {
        return appList;
    }

    function kmsMeasurements() external view returns (bytes32[] memory) {
        return kmsMeasurementSet.values();
    }

    function kmsDevices() external view returns (bytes32[] memory) {
        return kmsDeviceSet.values();
    }

    function osImages() external view returns (bytes32[] memory) {
        return osImageSet.values();
    }

    function isOsImageAllowed(bytes32 osImageHash) external view returns (bool) {
        return osImageSet.contains(osImageHash);
    }

    /// The golden mrSystem values registered for an OS image (auditors list them per image from osImages()).
    function osImageMeasurements(bytes32 osImageHash) external view returns (bytes32[] memory) {
        return osImageMeasurementSets[osImageHash].values();
    }

    function isOsImageMeasurementAllowed(bytes32 osImageHash, bytes32 mrSystem) external view returns (bool) {
        return osImageMeasurementSets[osImageHash].contains(mrSystem);
    }

    function getTcbPolicy() external view returns (string[] memory statuses, string[] memory advisories) {
        return (tcbStatuses, advisoryIds);
    }

    function getDefaultGpuPolicy() external view returns (GpuPolicy memory) {
        return defaultGpuPolicy;
    }

    /// May this CVM get keys for boot.appId? Registration, OS image and TCB policy here, then the app's own policy.
    /// Never reverts on a denial: `denial` says why (Denial.None exactly when allowed), `reason` in words.
    function isAppAllowed(BootInfo calldata boot)
        external view returns (bool allowed, Denial denial, string memory reason) {
        AppStatus status = appStatus[boot.appId];
        if (status == AppStatus.None) return (false, Denial.AppNotRegistered, "app not registered");
        if (status == AppStatus.Deregistered) return (false, Denial.AppDeregistered, "app deregistered");
        (denial, reason) = platformCheck(boot, true);
        if (denial != Denial.None) return (false, denial, reason);
        return AppPolicy(boot.appId).isAppAllowed(boot);
    }

    /// May this CVM act as a KMS replica (onboarding)? Measurement, device, OS image and TCB policy.
    /// No golden OS image measurement is needed here: mrAggregated covers MRTD and RTMR0-2 (and the boot-time
    /// RTMR3), so a registered KMS measurement already pins the hardware-measured OS image.
    function isKmsAllowed(BootInfo calldata boot)
        external view returns (bool allowed, Denial denial, string memory reason) {
        if (!kmsMeasurementSet.contains(boot.mrAggregated)) {
            return (false, Denial.KmsMeasurementNotAllowed, "KMS measurement not allowed");
        }
        if (!kmsDeviceSet.contains(boot.deviceId)) return (false, Denial.KmsDeviceNotAllowed, "KMS device not allowed");
        (denial, reason) = platformCheck(boot, false);
        return (denial == Denial.None, denial, reason);
    }

    /// OS image (allowed, and for apps proven by the hardware measurements), then TCB status and advisories.
    function platformCheck(BootInfo calldata boot, bool requireMeasuredImage)
        private view returns (Denial, string memory) {
        if (!osImageSet.contains(boot.osImageHash)) return (Denial.OsImageNotAllowed, "OS image not allowed");
        if (requireMeasuredImage && !boot.osImageMeasured
            && !osImageMeasurementSets[boot.osImageHash].contains(boot.mrSystem)) {
            return (Denial.OsImageMeasurementMismatch, "OS image measurement mismatch");
        }
        if (!contains(tcbStatuses, boot.tcbStatus)) return (Denial.TcbStatusNotAllowed, "TCB status not allowed");
        for (uint256 i = 0; i < boot.advisoryIds.length; i++) {
            if (!contains(advisoryIds, boot.advisoryIds[i])) {
                return (Denial.AdvisoryNotAllowed, string.concat("advisory ID not allowed: ", boot.advisoryIds[i]));
            }
        }
        return (Denial.None, "");
    }

    function contains(string[] storage list, string calldata value) private view returns (bool) {
        bytes32 h = keccak256(bytes(value));
        for (uint256 i = 0; i < list.length; i++) {
            if (keccak256(bytes(list[i])) == h) return true;
        }
        return false;
    }

    function isKnownTcbStatus(string calldata s) private pure returns (bool) {
        bytes32 h = keccak256(bytes(s));
        return h == keccak256("UpToDate") || h == keccak256("SWHardeningNeeded")
            || h == keccak256("ConfigurationNeeded") || h == keccak256("ConfigurationAndSWHardeningNeeded")
            || h == keccak256("OutOfDate") || h == keccak256("OutOfDateConfigurationNeeded");
    }
}
