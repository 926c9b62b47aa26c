// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.26;

/// Test-only M-of-N wallet: a call runs once `threshold` signers submitted the same (target, data, nonce).
/// It shows that the governance contracts work with a multisig owner (they check msg.sender only).
contract TestMultisig {
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
}
