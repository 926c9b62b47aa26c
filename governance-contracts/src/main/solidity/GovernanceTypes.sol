// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.26;

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

    /// "" when the boot meets the GPU policy, else the reason.
    function gpuDenial(GpuPolicy memory p, BootInfo calldata boot) internal pure returns (string memory) {
        if (p.count == 0) return "";
        if (boot.gpuCount < p.count) return "GPU count below required";
        if (bytes(p.arch).length > 0 && keccak256(bytes(boot.gpuArch)) != keccak256(bytes(p.arch))) {
            return "GPU architecture not allowed";
        }
        if (boot.gpuDriverVersion < p.minDriverVersion) return "GPU driver below minimum";
        return "";
    }
}

/// A set of bytes32 values that can be listed (auditors and the CLI show whole policies).
library Bytes32Set {
    struct Set {
        bytes32[] values;
        mapping(bytes32 => uint256) indexPlusOne;
    }

    function add(Set storage s, bytes32 v) internal returns (bool) {
        if (s.indexPlusOne[v] != 0) return false;
        s.values.push(v);
        s.indexPlusOne[v] = s.values.length;
        return true;
    }

    function remove(Set storage s, bytes32 v) internal returns (bool) {
        uint256 i = s.indexPlusOne[v];
        if (i == 0) return false;
        bytes32 last = s.values[s.values.length - 1];
        s.values[i - 1] = last;
        s.indexPlusOne[last] = i;
        s.values.pop();
        delete s.indexPlusOne[v];
        return true;
    }

    function contains(Set storage s, bytes32 v) internal view returns (bool) {
        return s.indexPlusOne[v] != 0;
    }
}

/// Two-step ownership: the owner proposes, the new owner accepts. Only msg.sender is checked, so a multisig
/// (or any contract wallet) can own, propose and accept.
abstract contract TwoStepOwnable {
    address public owner;
    address public pendingOwner;

    event OwnershipTransferStarted(address indexed by, address indexed previousOwner, address indexed newOwner);
    event OwnershipTransferred(address indexed by, address indexed previousOwner, address indexed newOwner);

    modifier onlyOwner() {
        require(msg.sender == owner, "caller is not the owner");
        _;
    }

    constructor(address initialOwner) {
        require(initialOwner != address(0), "owner is the zero address");
        owner = initialOwner;
        emit OwnershipTransferred(msg.sender, address(0), initialOwner);
    }

    /// Proposes newOwner; address(0) cancels a pending proposal.
    function transferOwnership(address newOwner) external onlyOwner {
        require(newOwner != owner, "already the owner");
        pendingOwner = newOwner;
        emit OwnershipTransferStarted(msg.sender, owner, newOwner);
    }

    function acceptOwnership() external {
        require(pendingOwner != address(0) && msg.sender == pendingOwner, "caller is not the pending owner");
        address previous = owner;
        owner = msg.sender;
        pendingOwner = address(0);
        emit OwnershipTransferred(msg.sender, previous, msg.sender);
    }
}
