package org.teekms.governance;

import java.math.BigInteger;
import java.util.List;
import org.teekms.crypto.Bytes;
import org.teekms.governance.contracts.AppPolicyContract;
import org.teekms.governance.contracts.KmsRegistryContract;
import org.web3j.abi.EventEncoder;
import org.web3j.crypto.Credentials;
import org.web3j.protocol.core.DefaultBlockParameter;

/**
 * Binding of one app's AppPolicy contract over its generated wrapper {@link AppPolicyContract}; its
 * address is the app id. Writes need the app owner's key.
 */
public final class AppPolicy extends GovernanceContract {
  /** The app policy's events by name (history, audits). */
  public static final ContractEvents EVENTS = ContractEvents.load("AppPolicy");

  /** Everything an auditor or operator needs to see about an app, read at one block. */
  public record Snapshot(
      String appId,
      String owner,
      String pendingOwner,
      String registry,
      KmsRegistry.AppStatus status,
      boolean disabled,
      List<Bytes> composeHashes,
      boolean allowAnyDevice,
      List<Bytes> devices,
      boolean requireTcbUpToDate,
      boolean hasGpuRequirements,
      GpuPolicy gpuRequirements,
      GpuPolicy effectiveGpuPolicy,
      long currentKeyVersion,
      long minKeyVersion,
      long rotationPeriodSeconds,
      long lastRotationEpochSeconds,
      boolean rotationDue) {
    public Snapshot {
      composeHashes = List.copyOf(composeHashes);
      devices = List.copyOf(devices);
    }
  }

  private final AppPolicyContract contract;

  private AppPolicy(
      ChainClient chain, String address, Credentials signer, ChainTransactionManager.Caller reads) {
    super(chain, address, signer, reads);
    this.contract = wrapper(chain, address, manager());
  }

  static AppPolicyContract wrapper(
      ChainClient chain, String address, ChainTransactionManager manager) {
    return AppPolicyContract.load(address, chain.web3j(), manager, ChainTransactionManager.NO_GAS);
  }

  public static AppPolicy at(ChainClient chain, String address, Credentials signer) {
    return new AppPolicy(chain, address, signer, latest(chain));
  }

  /**
   * The same app policy, read-only, with every read at exactly the block with this hash (EIP-1898).
   */
  public AppPolicy atBlockHash(String blockHash) {
    return new AppPolicy(chain, address, null, atHash(chain, blockHash));
  }

  /** The same app policy, read-only, with every read at this block. */
  public AppPolicy atBlock(DefaultBlockParameter block) {
    return new AppPolicy(chain, address, null, at(chain, block));
  }

  @Override
  protected String contractName() {
    return "AppPolicy";
  }

  @Override
  public ContractEvents eventTypes() {
    return EVENTS;
  }

  @Override
  public String owner() throws GovernanceException {
    return read(contract.owner());
  }

  @Override
  public String pendingOwner() throws GovernanceException {
    return read(contract.pendingOwner());
  }

  @Override
  public TxResult transferOwnership(String newOwner) throws GovernanceException {
    return send(contract.transferOwnership(newOwner));
  }

  @Override
  public TxResult acceptOwnership() throws GovernanceException {
    return send(contract.acceptOwnership());
  }

  public TxResult addComposeHash(byte[] hash) throws GovernanceException {
    return send(contract.addComposeHash(hash));
  }

  public TxResult removeComposeHash(byte[] hash) throws GovernanceException {
    return send(contract.removeComposeHash(hash));
  }

  public List<byte[]> composeHashes() throws GovernanceException {
    return KmsRegistry.bytes32List(read(contract.composeHashes()));
  }

  public boolean isComposeHashAllowed(byte[] hash) throws GovernanceException {
    return read(contract.isComposeHashAllowed(hash));
  }

  public TxResult addDevice(byte[] deviceId) throws GovernanceException {
    return send(contract.addDevice(deviceId));
  }

  public TxResult removeDevice(byte[] deviceId) throws GovernanceException {
    return send(contract.removeDevice(deviceId));
  }

  public List<byte[]> devices() throws GovernanceException {
    return KmsRegistry.bytes32List(read(contract.devices()));
  }

  public boolean isDeviceAllowed(byte[] deviceId) throws GovernanceException {
    return read(contract.isDeviceAllowed(deviceId));
  }

  public TxResult setAllowAnyDevice(boolean value) throws GovernanceException {
    return send(contract.setAllowAnyDevice(value));
  }

  public TxResult setRequireTcbUpToDate(boolean value) throws GovernanceException {
    return send(contract.setRequireTcbUpToDate(value));
  }

  public TxResult setGpuRequirements(GpuPolicy policy) throws GovernanceException {
    return send(
        contract.setGpuRequirements(
            BigInteger.valueOf(policy.count()),
            policy.arch(),
            BigInteger.valueOf(policy.minDriverVersion())));
  }

  public TxResult clearGpuRequirements() throws GovernanceException {
    return send(contract.clearGpuRequirements());
  }

  public TxResult rotateKeys() throws GovernanceException {
    return send(contract.rotateKeys());
  }

  public TxResult setMinKeyVersion(long version) throws GovernanceException {
    return send(contract.setMinKeyVersion(BigInteger.valueOf(version)));
  }

  public TxResult setRotationPeriod(long seconds) throws GovernanceException {
    return send(contract.setRotationPeriod(BigInteger.valueOf(seconds)));
  }

  public TxResult setDisabled(boolean disabled) throws GovernanceException {
    return send(contract.setDisabled(disabled));
  }

  /** Permanently removes the app from its registry. */
  public TxResult deregister() throws GovernanceException {
    return send(contract.deregister());
  }

  public long currentKeyVersion() throws GovernanceException {
    return read(contract.currentKeyVersion()).longValueExact();
  }

  public long minKeyVersion() throws GovernanceException {
    return read(contract.minKeyVersion()).longValueExact();
  }

  /** The key-version state at the latest block. */
  public AppKeyVersions keyVersions() throws GovernanceException {
    return keyVersions(read(contract.keyState()));
  }

  static AppKeyVersions keyVersions(
      org.web3j.tuples.generated.Tuple4<BigInteger, BigInteger, BigInteger, BigInteger> r) {
    return new AppKeyVersions(
        r.component1().longValueExact(),
        r.component2().longValueExact(),
        r.component3().longValueExact(),
        r.component4().longValueExact());
  }

  /**
   * True when a rotation period is set and it has elapsed since the last rotation (at this
   * binding's block).
   */
  public boolean rotationDue() throws GovernanceException {
    return read(contract.rotationDue());
  }

  public String registry() throws GovernanceException {
    return read(contract.registry());
  }

  /**
   * The app-level checks only (the registry's isAppAllowed adds registration, OS image and TCB
   * policy).
   */
  public Verdict isAppAllowed(BootInfo boot) throws GovernanceException {
    var r = read(contract.isAppAllowed(boot.appStruct()));
    try {
      return verdict(r);
    } catch (IllegalArgumentException | ArithmeticException e) {
      throw new GovernanceException(
          GovernanceException.Kind.RPC, "AppPolicy at " + address + ": " + e.getMessage(), e);
    }
  }

  /**
   * The app's history rebuilt from logs, oldest first: its registration and deregistration
   * (registry events) and every change of its policy (this contract's events).
   */
  public List<PolicyEvent> history() throws GovernanceException {
    String registry = registry();
    String appTopic =
        org.web3j.utils.Numeric.toHexStringWithPrefixZeroPadded(
            org.web3j.utils.Numeric.toBigInt(address), 64);
    List<org.web3j.protocol.core.methods.response.Log> logs =
        new java.util.ArrayList<>(chain.logs(List.of(address), List.of()));
    // Registry events about this app: topic0 = event, topic1 = by (any), topic2 = app.
    logs.addAll(
        chain.logs(
            List.of(registry),
            java.util.Arrays.asList(
                List.of(
                    EventEncoder.encode(KmsRegistryContract.APPREGISTERED_EVENT),
                    EventEncoder.encode(KmsRegistryContract.APPDEREGISTERED_EVENT)),
                null,
                List.of(appTopic))));
    return events(address, logs);
  }

  /**
   * Decodes logs of this app's contract and of its registry into policy events, oldest first
   * (sorted here by block and log index).
   */
  static List<PolicyEvent> events(
      String address, List<org.web3j.protocol.core.methods.response.Log> unsorted)
      throws GovernanceException {
    List<org.web3j.protocol.core.methods.response.Log> logs = new java.util.ArrayList<>(unsorted);
    logs.sort(
        java.util.Comparator.comparing(
                (org.web3j.protocol.core.methods.response.Log l) -> l.getBlockNumber())
            .thenComparing(l -> l.getLogIndex()));
    List<PolicyEvent> out = new java.util.ArrayList<>();
    for (var log : logs) {
      boolean fromApp = log.getAddress().equalsIgnoreCase(address);
      ContractEvents events = fromApp ? EVENTS : KmsRegistry.EVENTS;
      ContractEvents.DecodedEvent e;
      try {
        e = events.decode(log);
      } catch (IllegalArgumentException ex) {
        throw new GovernanceException(
            GovernanceException.Kind.RPC,
            "undecodable log in " + log.getTransactionHash() + ": " + ex.getMessage(),
            ex);
      }
      out.add(
          new PolicyEvent(
              log.getBlockNumber().longValueExact(),
              log.getBlockHash(),
              log.getTransactionHash(),
              log.getLogIndex().longValueExact(),
              log.getAddress(),
              fromApp ? "AppPolicy" : "KmsRegistry",
              e.name(),
              e.args()));
    }
    return out;
  }

  /** The whole policy at the latest block, for {@code teekms gov show-app} and auditors. */
  public Snapshot snapshot() throws GovernanceException {
    return snapshot(DefaultBlockParameter.valueOf(BigInteger.valueOf(chain.blockNumber())));
  }

  /** The whole policy, every field read at the same block. */
  public Snapshot snapshot(DefaultBlockParameter block) throws GovernanceException {
    AppPolicyContract at =
        wrapper(chain, address, new ChainTransactionManager(chain, null, at(chain, block)));
    String registry = read(at.registry());
    KmsRegistry.AppStatus status =
        KmsRegistry.appStatus(
            read(
                KmsRegistry.wrapper(
                        chain, registry, new ChainTransactionManager(chain, null, at(chain, block)))
                    .appStatus(address)));
    AppPolicyContract.GpuPolicy own = read(at.getGpuRequirements());
    AppPolicyContract.GpuPolicy effective = read(at.effectiveGpuPolicy());
    return new Snapshot(
        address,
        read(at.owner()),
        read(at.pendingOwner()),
        registry,
        status,
        read(at.disabled()),
        KmsRegistry.bytes32List(read(at.composeHashes())).stream().map(Bytes::copyOf).toList(),
        read(at.allowAnyDevice()),
        KmsRegistry.bytes32List(read(at.devices())).stream().map(Bytes::copyOf).toList(),
        read(at.requireTcbUpToDate()),
        read(at.hasGpuRequirements()),
        KmsRegistry.gpuPolicy(own.count, own.arch, own.minDriverVersion),
        KmsRegistry.gpuPolicy(effective.count, effective.arch, effective.minDriverVersion),
        read(at.currentKeyVersion()).longValueExact(),
        read(at.minKeyVersion()).longValueExact(),
        read(at.rotationPeriod()).longValueExact(),
        read(at.lastRotation()).longValueExact(),
        read(at.rotationDue()));
  }
}
