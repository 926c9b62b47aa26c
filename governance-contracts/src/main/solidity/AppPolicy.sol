// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.26;

import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {BootInfo, Denial, GpuPolicy, GovernanceChecks, TwoStepOwnable} from "./GovernanceTypes.sol";

/// What an AppPolicy needs from its registry.
interface IAppRegistry {
    function isRegistered(address app) external view returns (bool);
    function getDefaultGpuPolicy() external view returns (GpuPolicy memory);
    function deregisterSelf() external;
}

/// The policy of one app. The app id is this contract's address. Created by KmsRegistry.registerApp; only the app
/// owner changes it, and only while the app is registered.
contract AppPolicy is TwoStepOwnable {
    using EnumerableSet for EnumerableSet.Bytes32Set;

    uint64 public constant MIN_ROTATION_PERIOD = 1 hours;
    uint64 public constant MAX_ROTATION_PERIOD = 3650 days;

    IAppRegistry public immutable registry;

    bool public disabled;
    bool public allowAnyDevice;
    bool public requireTcbUpToDate;
    bool public hasGpuRequirements; // false: the registry's default GPU policy applies
    GpuPolicy private gpuRequirements;

    uint32 public currentKeyVersion = 1;
    uint32 public minKeyVersion = 1;
    uint64 public rotationPeriod;  // seconds between scheduled rotations; 0 = none
    uint64 public lastRotation;    // block timestamp of the last rotateKeys (creation time at first)

    EnumerableSet.Bytes32Set private composeHashSet;
    EnumerableSet.Bytes32Set private deviceSet;

    event ComposeHashAdded(address indexed by, bytes32 indexed composeHash);
    event ComposeHashRemoved(address indexed by, bytes32 indexed composeHash);
    event DeviceAdded(address indexed by, bytes32 indexed deviceId);
    event DeviceRemoved(address indexed by, bytes32 indexed deviceId);
    event AllowAnyDeviceChanged(address indexed by, bool oldValue, bool newValue);
    event RequireTcbUpToDateChanged(address indexed by, bool oldValue, bool newValue);
    event GpuRequirementsChanged(
        address indexed by,
        bool oldOverride, uint32 oldCount, string oldArch, uint32 oldMinDriverVersion,
        bool newOverride, uint32 newCount, string newArch, uint32 newMinDriverVersion);
    event KeysRotated(address indexed by, uint32 oldVersion, uint32 newVersion);
    event MinKeyVersionChanged(address indexed by, uint32 oldVersion, uint32 newVersion);
    event RotationPeriodChanged(address indexed by, uint64 oldPeriod, uint64 newPeriod);
    event DisabledChanged(address indexed by, bool oldValue, bool newValue);

    modifier onlyLiveOwner() {
        _checkOwner();
        require(registry.isRegistered(address(this)), "app deregistered");
        _;
    }

    constructor(address registry_, address owner_) TwoStepOwnable(owner_) {
        require(registry_ != address(0), "registry is the zero address");
        registry = IAppRegistry(registry_);
        lastRotation = uint64(block.timestamp);
    }

    // ---- compose hashes and devices ----

    function addComposeHash(bytes32 composeHash) external onlyLiveOwner {
        require(composeHash != bytes32(0), "compose hash is zero");
        require(composeHashSet.add(composeHash), "compose hash already allowed");
        emit ComposeHashAdded(msg.sender, composeHash);
    }

    function removeComposeHash(bytes32 composeHash) external onlyLiveOwner {
        require(composeHashSet.remove(composeHash), "compose hash not allowed");
        emit ComposeHashRemoved(msg.sender, composeHash);
    }

    function addDevice(bytes32 deviceId) external onlyLiveOwner {
        require(deviceId != bytes32(0), "device id is zero");
        require(deviceSet.add(deviceId), "device already allowed");
        emit DeviceAdded(msg.sender, deviceId);
    }

    function removeDevice(bytes32 deviceId) external onlyLiveOwner {
        require(deviceSet.remove(deviceId), "device not allowed");
        emit DeviceRemoved(msg.sender, deviceId);
    }

    function setAllowAnyDevice(bool value) external onlyLiveOwner {
        require(value != allowAnyDevice, "value unchanged");
        emit AllowAnyDeviceChanged(msg.sender, allowAnyDevice, value);
        allowAnyDevice = value;
    }

    // ---- TCB and GPU ----

    function setRequireTcbUpToDate(bool value) external onlyLiveOwner {
        require(value != requireTcbUpToDate, "value unchanged");
        emit RequireTcbUpToDateChanged(msg.sender, requireTcbUpToDate, value);
        requireTcbUpToDate = value;
    }

    /// Overrides the registry's default GPU policy for this app.
    function setGpuRequirements(uint32 count, string calldata arch, uint32 minDriverVersion) external onlyLiveOwner {
        GpuPolicy memory p = GpuPolicy(count, arch, minDriverVersion);
        GovernanceChecks.checkGpuPolicy(p);
        emitGpuChange(true, p);
        hasGpuRequirements = true;
        gpuRequirements = p;
    }

    /// Goes back to the registry's default GPU policy.
    function clearGpuRequirements() external onlyLiveOwner {
        require(hasGpuRequirements, "no GPU requirements set");
        emitGpuChange(false, GpuPolicy(0, "", 0));
        hasGpuRequirements = false;
        delete gpuRequirements;
    }

    function emitGpuChange(bool newOverride, GpuPolicy memory p) private {
        GpuPolicy memory old = gpuRequirements;
        emit GpuRequirementsChanged(msg.sender, hasGpuRequirements, old.count, old.arch, old.minDriverVersion,
            newOverride, p.count, p.arch, p.minDriverVersion);
    }

    // ---- key versions ----

    /// Starts a new key version (scheduled rotation, or the owner's choice). Older versions stay served down to
    /// minKeyVersion.
    function rotateKeys() external onlyLiveOwner {
        require(currentKeyVersion < type(uint32).max, "key version exhausted");
        uint32 old = currentKeyVersion;
        currentKeyVersion = old + 1;
        lastRotation = uint64(block.timestamp);
        emit KeysRotated(msg.sender, old, old + 1);
    }

    /// Stops serving versions below minVersion (after a compromise). Can only increase, up to currentKeyVersion.
    function setMinKeyVersion(uint32 minVersion) external onlyLiveOwner {
        require(minVersion > minKeyVersion, "min key version can only increase");
        require(minVersion <= currentKeyVersion, "min key version above current");
        emit MinKeyVersionChanged(msg.sender, minKeyVersion, minVersion);
        minKeyVersion = minVersion;
    }

    function setRotationPeriod(uint64 period) external onlyLiveOwner {
        require(period == 0 || (period >= MIN_ROTATION_PERIOD && period <= MAX_ROTATION_PERIOD),
            "rotation period out of range");
        require(period != rotationPeriod, "value unchanged");
        emit RotationPeriodChanged(msg.sender, rotationPeriod, period);
        rotationPeriod = period;
    }

    /// The key-version state in one call (the KMS reads it at the same block as its admission decision).
    function keyState() external view returns (uint32 current, uint32 minimum, uint64 period, uint64 last) {
        return (currentKeyVersion, minKeyVersion, rotationPeriod, lastRotation);
    }

    /// True when a rotation period is set and it has elapsed since the last rotation.
    function rotationDue() external view returns (bool) {
        return rotationPeriod != 0 && block.timestamp >= uint256(lastRotation) + rotationPeriod;
    }

    // ---- lifecycle ----

    function setDisabled(bool value) external onlyLiveOwner {
        require(value != disabled, "value unchanged");
        emit DisabledChanged(msg.sender, disabled, value);
        disabled = value;
    }

    /// Permanently removes this app from the registry (the registry emits AppDeregistered).
    function deregister() external onlyLiveOwner {
        registry.deregisterSelf();
    }

    // ---- views ----

    function composeHashes() external view returns (bytes32[] memory) {
        return composeHashSet.values();
    }

    function isComposeHashAllowed(bytes32 composeHash) external view returns (bool) {
        return composeHashSet.contains(composeHash);
    }

    function devices() external view returns (bytes32[] memory) {
        return deviceSet.values();
    }

    function isDeviceAllowed(bytes32 deviceId) external view returns (bool) {
        return allowAnyDevice || deviceSet.contains(deviceId);
    }

    /// This app's own GPU requirements (meaningful only when hasGpuRequirements).
    function getGpuRequirements() external view returns (GpuPolicy memory) {
        return gpuRequirements;
    }

    /// The GPU policy that applies: this app's requirements, or the registry default.
    function effectiveGpuPolicy() public view returns (GpuPolicy memory) {
        return hasGpuRequirements ? gpuRequirements : registry.getDefaultGpuPolicy();
    }

    /// App-level checks only (the registry's isAppAllowed adds registration, OS image and TCB policy). Never reverts
    /// on a denial: `denial` says why (Denial.None exactly when allowed), `reason` in words.
    function isAppAllowed(BootInfo calldata boot)
        external view returns (bool allowed, Denial denial, string memory reason) {
        if (boot.appId != address(this)) return (false, Denial.AppIdMismatch, "app id mismatch");
        if (disabled) return (false, Denial.AppDisabled, "app disabled");
        if (!composeHashSet.contains(boot.composeHash)) {
            return (false, Denial.ComposeHashNotAllowed, "compose hash not allowed");
        }
        if (!allowAnyDevice && !deviceSet.contains(boot.deviceId)) {
            return (false, Denial.DeviceNotAllowed, "device not allowed");
        }
        if (requireTcbUpToDate && keccak256(bytes(boot.tcbStatus)) != keccak256("UpToDate")) {
            return (false, Denial.TcbNotUpToDate, "TCB not up to date");
        }
        (denial, reason) = GovernanceChecks.gpuDenial(effectiveGpuPolicy(), boot);
        return (denial == Denial.None, denial, reason);
    }
}

/// Creates AppPolicy contracts for the registry that deployed it. A separate contract so that the registry's own
/// runtime code stays under the 24 KiB limit.
contract AppPolicyFactory {
    address public immutable registry;

    constructor() {
        registry = msg.sender;
    }

    function create(address appOwner) external returns (address) {
        require(msg.sender == registry, "caller is not the registry");
        return address(new AppPolicy(registry, appOwner));
    }
}
