// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.26;

/// Test-only M-of-N wallet: a call runs once `threshold` signers submitted the same (target, data, nonce).
/// It shows that the governance contracts work with a multisig owner (they check msg.sender only), and, through
/// EIP-1271 `isValidSignature`, that the KMS accepts operator requests the wallet's signers approved off chain.
contract TestMultisig {
    bytes4 internal constant EIP1271_MAGIC = 0x1626ba7e;
    bytes4 internal constant EIP1271_INVALID = 0xffffffff;
    uint256 internal constant HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    address[] public signers;
    uint256 public immutable threshold;
    mapping(bytes32 => mapping(address => bool)) public approved;
    mapping(bytes32 => uint256) public approvals;
    mapping(bytes32 => bool) public executed;

    constructor(address[] memory signers_, uint256 threshold_) {
        require(threshold_ > 0 && threshold_ <= signers_.length, "bad threshold");
        signers = signers_;
        threshold = threshold_;
    }

    function submit(address target, bytes calldata data, uint256 nonce) external returns (bool done) {
        require(isSigner(msg.sender), "not a signer");
        bytes32 id = keccak256(abi.encode(target, data, nonce));
        require(!executed[id], "already executed");
        require(!approved[id][msg.sender], "already approved");
        approved[id][msg.sender] = true;
        if (++approvals[id] < threshold) return false;
        executed[id] = true;
        (bool ok, bytes memory ret) = target.call(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        return true;
    }

    function isSigner(address a) public view returns (bool) {
        for (uint256 i = 0; i < signers.length; i++) if (signers[i] == a) return true;
        return false;
    }

    /// EIP-1271. `signature` is k >= threshold concatenated 65-byte (r, s, v) secp256k1 signatures of `hash` itself
    /// (no prefix), by distinct signers in strictly ascending address order (so no signer counts twice).
    /// A length that is not a positive multiple of 65 reverts; any other defect returns 0xffffffff.
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        require(signature.length > 0 && signature.length % 65 == 0, "signature length not a multiple of 65");
        uint256 n = signature.length / 65;
        if (n < threshold) return EIP1271_INVALID;
        address last = address(0);
        for (uint256 i = 0; i < n; i++) {
            uint256 o = i * 65;
            bytes32 r = bytes32(signature[o:o + 32]);
            bytes32 s = bytes32(signature[o + 32:o + 64]);
            uint8 v = uint8(signature[o + 64]);
            if (uint256(s) > HALF_ORDER || (v != 27 && v != 28)) return EIP1271_INVALID;
            address a = ecrecover(hash, v, r, s);
            if (a == address(0) || a <= last || !isSigner(a)) return EIP1271_INVALID;
            last = a;
        }
        return EIP1271_MAGIC;
    }
}
