// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.26;

/// The part of the KMS registry custody relies on: who governs.
interface IRegistryOwner {
    function owner() external view returns (address);
}

/// Threshold custody of the KMS's root generations (docs/root-custody.md §5–6). The registry owner (an EOA or a
/// multisig: only msg.sender is checked) registers custodians, publishes each generation's backup (Feldman
/// commitments and the digest of every custodian's share envelope) and authorizes recoveries to one attested node
/// key. Custodians and recovering nodes read it; nothing here holds a secret.
contract RootCustody {
    enum CustodianKind { None, KmsCluster, Hsm, Operator }

    struct Custodian {
        bytes publicKey;      // P-256, SEC1 uncompressed (65 bytes); id = sha256(publicKey)
        CustodianKind kind;
        string name;
        bool active;          // inactive custodians stay readable (old backups name them) but get no new backups
        uint64 registeredAtBlock;
    }

    struct Backup {
        uint8 threshold;
        bytes commitments;        // 0x01 || t || C_0..C_{t-1} (33 bytes each)
        bytes32[] custodianIds;   // custodian of share index i + 1
        bytes32[] envelopeDigests; // sha256 of share envelope i + 1
        uint64 publishedAtBlock;
    }

    struct Recovery {
        uint32 generation;
        bytes32 nodeKeyId;        // sha256 of the recovering node's attested P-256 key (65 bytes)
        uint64 authorizedAtBlock;
        uint64 expiresAtBlock;    // last block at which custodians may answer
        bool revoked;
    }

    uint256 public constant MAX_SHARES = 255;
    uint256 public constant MAX_NAME = 64;

    IRegistryOwner public immutable registry;
    mapping(bytes32 => Custodian) private custodianById;
    bytes32[] private custodianIdList;
    mapping(uint32 => Backup) private backups;
    uint32[] private backedUpGenerations;
    mapping(bytes32 => Recovery) private recoveries;
    uint256 public recoveryCount;

    event CustodianRegistered(address indexed by, bytes32 indexed id, CustodianKind kind, string name, bytes publicKey);
    event CustodianDeactivated(address indexed by, bytes32 indexed id);
    event BackupPublished(address indexed by, uint32 indexed generation, uint8 threshold, bytes32 commitmentsDigest);
    event RecoveryAuthorized(address indexed by, bytes32 indexed requestId, uint32 indexed generation,
        bytes32 nodeKeyId, uint64 expiresAtBlock);
    event RecoveryRevoked(address indexed by, bytes32 indexed requestId);

    modifier onlyRegistryOwner() {
        require(msg.sender == registry.owner(), "caller is not the registry owner");
        _;
    }

    constructor(IRegistryOwner registry_) {
        require(address(registry_) != address(0), "registry is the zero address");
        registry = registry_;
    }

    // ---- custodians ----

    function registerCustodian(bytes calldata publicKey, CustodianKind kind, string calldata name)
        external onlyRegistryOwner returns (bytes32 id)
    {
        require(publicKey.length == 65 && publicKey[0] == 0x04, "public key must be 65-byte uncompressed P-256");
        require(kind != CustodianKind.None, "custodian kind is None");
        require(bytes(name).length > 0 && bytes(name).length <= MAX_NAME, "name empty or too long");
        id = sha256(publicKey);
        require(custodianById[id].kind == CustodianKind.None, "custodian already registered");
        custodianById[id] = Custodian(publicKey, kind, name, true, uint64(block.number));
        custodianIdList.push(id);
        emit CustodianRegistered(msg.sender, id, kind, name, publicKey);
    }

    function deactivateCustodian(bytes32 id) external onlyRegistryOwner {
        require(custodianById[id].active, "custodian not active");
        custodianById[id].active = false;
        emit CustodianDeactivated(msg.sender, id);
    }

    function custodian(bytes32 id) external view returns (Custodian memory) {
        require(custodianById[id].kind != CustodianKind.None, "no such custodian");
        return custodianById[id];
    }

    function custodianIds() external view returns (bytes32[] memory) {
        return custodianIdList;
    }

    // ---- backups ----

    /// Publishes the backup of `generation`, once: share i + 1 belongs to custodianIds_[i] and its envelope has
    /// digest envelopeDigests_[i]. Every custodian must be registered, active and named once.
    function publishBackup(uint32 generation, bytes calldata commitments, bytes32[] calldata custodianIds_,
        bytes32[] calldata envelopeDigests_) external onlyRegistryOwner
    {
        require(generation != 0, "generation 0");
        require(backups[generation].publishedAtBlock == 0, "backup already published");
        require(commitments.length >= 2 && uint8(commitments[0]) == 1, "commitments: bad encoding version");
        uint8 t = uint8(commitments[1]);
        require(t >= 1 && commitments.length == 2 + 33 * uint256(t), "commitments: bad length for threshold");
        require(custodianIds_.length == envelopeDigests_.length, "one envelope digest per custodian");
        require(custodianIds_.length >= t && custodianIds_.length <= MAX_SHARES, "share count below threshold or too large");
        for (uint256 i = 0; i < custodianIds_.length; i++) {
            require(custodianById[custodianIds_[i]].active, "custodian not registered or not active");
            require(envelopeDigests_[i] != bytes32(0), "zero envelope digest");
            for (uint256 j = 0; j < i; j++) {
                require(custodianIds_[j] != custodianIds_[i], "custodian named twice");
            }
        }
        backups[generation] = Backup(t, commitments, custodianIds_, envelopeDigests_, uint64(block.number));
        backedUpGenerations.push(generation);
        emit BackupPublished(msg.sender, generation, t, sha256(commitments));
    }

    function backup(uint32 generation) external view returns (Backup memory) {
        require(backups[generation].publishedAtBlock != 0, "no backup for generation");
        return backups[generation];
    }

    function generations() external view returns (uint32[] memory) {
        return backedUpGenerations;
    }

    // ---- recovery ----

    /// Authorizes custodians to re-encrypt their shares of `generation` to the node key `nodeKeyId` until block
    /// `block.number + validForBlocks`. The request id binds chain, contract, generation, key and a counter.
    function authorizeRecovery(uint32 generation, bytes32 nodeKeyId, uint64 validForBlocks)
        external onlyRegistryOwner returns (bytes32 requestId)
    {
        require(backups[generation].publishedAtBlock != 0, "no backup for generation");
        require(nodeKeyId != bytes32(0), "zero node key id");
        require(validForBlocks > 0 && validForBlocks <= 1_000_000, "validity must be 1..1000000 blocks");
        recoveryCount++;
        requestId = keccak256(abi.encode(block.chainid, address(this), generation, nodeKeyId, recoveryCount));
        uint64 expires = uint64(block.number) + validForBlocks;
        recoveries[requestId] = Recovery(generation, nodeKeyId, uint64(block.number), expires, false);
        emit RecoveryAuthorized(msg.sender, requestId, generation, nodeKeyId, expires);
    }

    function revokeRecovery(bytes32 requestId) external onlyRegistryOwner {
        require(recoveries[requestId].authorizedAtBlock != 0, "no such recovery request");
        require(!recoveries[requestId].revoked, "recovery already revoked");
        recoveries[requestId].revoked = true;
        emit RecoveryRevoked(msg.sender, requestId);
    }

    function recovery(bytes32 requestId) external view returns (Recovery memory) {
        require(recoveries[requestId].authorizedAtBlock != 0, "no such recovery request");
        return recoveries[requestId];
    }

    /// What a custodian asks before answering: may share holders re-encrypt `generation` to `nodeKeyId` now?
    function isRecoveryAuthorized(bytes32 requestId, uint32 generation, bytes32 nodeKeyId)
        external view returns (bool allowed, string memory reason)
    {
        Recovery storage r = recoveries[requestId];
        if (r.authorizedAtBlock == 0) return (false, "no such recovery request");
        if (r.revoked) return (false, "recovery request revoked");
        if (block.number > r.expiresAtBlock) return (false, "recovery request expired");
        if (r.generation != generation) return (false, "recovery request is for another generation");
        if (r.nodeKeyId != nodeKeyId) return (false, "recovery request is for another node key");
        return (true, "");
    }
}
