// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.26;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";

/// Boot identity of a confidential VM as verified by the KMS (TDX quote + event log + GPU evidence).
/// Field order and types are part of the ABI: the Java record org.teekms.governance.BootInfo mirrors it.
struct BootInfo {
    address appId;            // app id: the AppPolicy contract address (20 bytes, from the event log)
    bytes32 composeHash;      // SHA-256 of app-compose.json
    bytes20 instanceId;       // instance id (20 bytes, from the event log)
    bytes32 deviceId;         // platform device id
    bytes32 mrAggregated;     // aggregated measurement (MRTD, RTMR0-3)
    bytes32 osImageHash;      // OS image hash
    string tcbStatus;         // DCAP TCB status, e.g. "UpToDate"
    string[] advisoryIds;     // Intel advisory IDs reported for this platform, e.g. "INTEL-SA-00615"
    uint32 gpuCount;          // number of GPUs whose evidence the KMS verified
    string gpuArch;           // architecture of those GPUs, e.g. "HOPPER" ("" when none)
    uint32 gpuDriverVersion;  // lowest driver version among them, major*1e6 + minor*1e3 + patch (0 when none)
    bytes32 mrSystem;         // SHA-256(MRTD || RTMR0 || RTMR1 || RTMR2) of the verified quote (hardware-measured OS)
    bool osImageMeasured;     // the KMS verified a measurement document proving osImageHash against that quote
}

/// Why a policy view (KmsRegistry.isAppAllowed / isKmsAllowed, AppPolicy.isAppAllowed) denied a boot; None when it
/// allowed it. Returned as a uint8 next to the human-readable reason, so callers never parse reason strings. Part of the
/// ABI: values are only appended, never renumbered (docs/governance.md lists them; the Java enum
/// org.teekms.governance.ChainDenial mirrors this order).
enum Denial {
    None,                       // 0: allowed
    AppNotRegistered,           // 1: no app with this id was ever registered
    AppDeregistered,            // 2: the app was deregistered (for good)
    OsImageNotAllowed,          // 3: the OS image hash is not in the registry's list
    OsImageMeasurementMismatch, // 4: the OS image is not proven by the hardware-measured mrSystem
    TcbStatusNotAllowed,        // 5: the DCAP TCB status is not in the registry's TCB policy
    AdvisoryNotAllowed,         // 6: an Intel advisory reported for the platform is not tolerated
    AppIdMismatch,              // 7: AppPolicy.isAppAllowed asked about another app's boot
    AppDisabled,                // 8: the app owner disabled the app
    ComposeHashNotAllowed,      // 9: the compose hash is not in the app's list
    DeviceNotAllowed,           // 10: the device id is not in the app's list (and not "any device")
    TcbNotUpToDate,             // 11: the app requires TCB status UpToDate
    GpuCountBelowRequired,      // 12: fewer attested GPUs than the effective GPU policy requires
    GpuArchitectureNotAllowed,  // 13: the attested GPUs are not of the required architecture
    GpuDriverBelowMinimum,      // 14: the lowest attested GPU driver is below the required minimum
    KmsMeasurementNotAllowed,   // 15: isKmsAllowed: mrAggregated is not a registered KMS measurement
    KmsDeviceNotAllowed         // 16: isKmsAllowed: the device id is not a registered KMS device
}

/// GPU requirements. count == 0 means "no GPU required" and then arch must be "" and minDriverVersion 0.
struct GpuPolicy {
    uint32 count;             // minimum number of attested GPUs
    string arch;              // required architecture ("" = any)
    uint32 minDriverVersion;  // minimum driver version, same encoding as BootInfo.gpuDriverVersion (0 = any)
}

/// Inputs shared by both contracts.
library GovernanceChecks {
    uint256 internal constant MAX_SHORT_STRING = 64;
    uint32 internal constant MAX_GPU_COUNT = 64;

    function checkGpuPolicy(GpuPolicy memory p) internal pure {
        require(p.count <= MAX_GPU_COUNT, "GPU count too large");
        require(bytes(p.arch).length <= MAX_SHORT_STRING, "GPU architecture too long");
        if (p.count == 0) {
            require(bytes(p.arch).length == 0 && p.minDriverVersion == 0, "GPU arch/driver need count > 0");
        }
        if (bytes(p.arch).length > 0) checkToken(p.arch, "GPU architecture");
    }

    /// Tokens (architectures, advisory IDs) are printable ASCII without spaces: [A-Za-z0-9._-].
    function checkToken(string memory s, string memory what) internal pure {
        bytes memory b = bytes(s);
        require(b.length > 0 && b.length <= MAX_SHORT_STRING, string.concat(what, ": empty or too long"));
        for (uint256 i = 0; i < b.length; i++) {
            bytes1 c = b[i];
            bool ok = (c >= "0" && c <= "9") || (c >= "A" && c <= "Z") || (c >= "a" && c <= "z") || c == "-"
                || c == "_" || c == ".";
            require(ok, string.concat(what, ": invalid character"));
        }
    }

    /// Denial.None when the boot meets the GPU policy, else the reason.
    function gpuDenial(GpuPolicy memory p, BootInfo calldata boot) internal pure returns (Denial, string memory) {
        if (p.count == 0) return (Denial.None, "");
        if (boot.gpuCount < p.count) return (Denial.GpuCountBelowRequired, "GPU count below required");
        if (bytes(p.arch).length > 0 && keccak256(bytes(boot.gpuArch)) != keccak256(bytes(p.arch))) {
            return (Denial.GpuArchitectureNotAllowed, "GPU architecture not allowed");
        }
        if (boot.gpuDriverVersion < p.minDriverVersion) {
            return (Denial.GpuDriverBelowMinimum, "GPU driver below minimum");
        }
        return (Denial.None, "");
    }
}

/// Two-step ownership: OpenZeppelin's Ownable2Step (the owner proposes, the new owner accepts; only msg.sender is
/// checked, so a multisig or any contract wallet can own, propose and accept) with this project's revert strings and
/// two differences kept from before: proposing the current owner is refused, and ownership cannot be renounced (a
/// registry or app without an owner could never be changed again).
abstract contract TwoStepOwnable is Ownable2Step {
    constructor(address initialOwner) Ownable(nonZeroOwner(initialOwner)) {}

    function nonZeroOwner(address o) private pure returns (address) {
        require(o != address(0), "owner is the zero address");
        return o;
    }

    function _checkOwner() internal view override {
        require(msg.sender == owner(), "caller is not the owner");
    }

    /// Proposes newOwner; address(0) cancels a pending proposal.
    function transferOwnership(address newOwner) public override onlyOwner {
        require(newOwner != owner(), "already the owner");
        super.transferOwnership(newOwner);
    }

    function acceptOwnership() public override {
        require(pendingOwner() != address(0) && msg.sender == pendingOwner(), "caller is not the pending owner");
        super.acceptOwnership();
    }

    function renounceOwnership() public pure override {
        revert("renouncing ownership is disabled");
    }
}
