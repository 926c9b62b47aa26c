package org.teekms.governance;

import java.math.BigInteger;
import java.util.List;
import org.web3j.crypto.Credentials;
import org.web3j.protocol.core.DefaultBlockParameter;

/** Binding of one app's AppPolicy contract; its address is the app id. Writes need the app owner's key. */
public final class AppPolicy extends GovernanceContract {
  public static final ContractAbi ABI = ContractAbi.load("AppPolicy");

  /** Everything an auditor or operator needs to see about an app, read at one block. */
  public record Snapshot(String appId, String owner, String pendingOwner, String registry,
      KmsRegistry.AppStatus status, boolean disabled, List<byte[]> composeHashes, boolean allowAnyDevice,
      List<byte[]> devices, boolean requireTcbUpToDate, boolean hasGpuRequirements, GpuPolicy gpuRequirements,
      GpuPolicy effectiveGpuPolicy, long currentKeyVersion, long minKeyVersion, long rotationPeriodSeconds,
      long lastRotationEpochSeconds, boolean rotationDue) {}

  private AppPolicy(ChainClient chain, String address, Credentials signer) {
    super(chain, ABI, address, signer);
  }

  public static AppPolicy at(ChainClient chain, String address, Credentials signer) {
    return new AppPolicy(chain, address, signer);
  }

  public TxResult addComposeHash(byte[] hash) throws GovernanceException {
    return send("addComposeHash", hash);
  }

  public TxResult removeComposeHash(byte[] hash) throws GovernanceException {
    return send("removeComposeHash", hash);
  }

  public List<byte[]> composeHashes() throws GovernanceException {
    return readBytes32List("composeHashes");
  }

  public boolean isComposeHashAllowed(byte[] hash) throws GovernanceException {
    return readBool("isComposeHashAllowed", hash);
  }

  public TxResult addDevice(byte[] deviceId) throws GovernanceException {
    return send("addDevice", deviceId);
  }

  public TxResult removeDevice(byte[] deviceId) throws GovernanceException {
    return send("removeDevice", deviceId);
  }

  public List<byte[]> devices() throws GovernanceException {
    return readBytes32List("devices");
  }

  public boolean isDeviceAllowed(byte[] deviceId) throws GovernanceException {
    return readBool("isDeviceAllowed", deviceId);
  }

  public TxResult setAllowAnyDevice(boolean value) throws GovernanceException {
    return send("setAllowAnyDevice", value);
  }

  public TxResult setRequireTcbUpToDate(boolean value) throws GovernanceException {
    return send("setRequireTcbUpToDate", value);
  }

  public TxResult setGpuRequirements(GpuPolicy policy) throws GovernanceException {
    return send("setGpuRequirements", policy.count(), policy.arch(), policy.minDriverVersion());
  }

  public TxResult clearGpuRequirements() throws GovernanceException {
    return send("clearGpuRequirements");
  }

  public TxResult rotateKeys() throws GovernanceException {
    return send("rotateKeys");
  }

  public TxResult setMinKeyVersion(long version) throws GovernanceException {
    return send("setMinKeyVersion", version);
  }

  public TxResult setRotationPeriod(long seconds) throws GovernanceException {
    return send("setRotationPeriod", seconds);
  }

  public TxResult setDisabled(boolean disabled) throws GovernanceException {
    return send("setDisabled", disabled);
  }

  /** Permanently removes the app from its registry. */
  public TxResult deregister() throws GovernanceException {
    return send("deregister");
  }

  public long currentKeyVersion() throws GovernanceException {
    return readLong("currentKeyVersion");
  }

  public long minKeyVersion() throws GovernanceException {
    return readLong("minKeyVersion");
  }

  /** The key-version state at the latest block. */
  public AppKeyVersions keyVersions() throws GovernanceException {
    return keyVersions(read("keyState"));
  }

  static AppKeyVersions keyVersions(List<Object> r) {
    return new AppKeyVersions(((BigInteger) r.get(0)).longValueExact(), ((BigInteger) r.get(1)).longValueExact(),
        ((BigInteger) r.get(2)).longValueExact(), ((BigInteger) r.get(3)).longValueExact());
  }

  public String registry() throws GovernanceException {
    return (String) readOne("registry");
  }

  /** The app-level checks only (the registry's isAppAllowed adds registration, OS image and TCB policy). */
  public Verdict isAppAllowed(BootInfo boot) throws GovernanceException {
    return verdict(read("isAppAllowed", boot.abiTuple()));
  }

  /**
   * The app's history rebuilt from logs, oldest first: its registration and deregistration (registry events) and
   * every change of its policy (this contract's events).
   */
  public List<PolicyEvent> history() throws GovernanceException {
    String registry = registry();
    String appTopic = org.web3j.utils.Numeric.toHexStringWithPrefixZeroPadded(
        org.web3j.utils.Numeric.toBigInt(address), 64);
    List<org.web3j.protocol.core.methods.response.Log> logs = new java.util.ArrayList<>(
        chain.logs(List.of(address), List.of()));
    // Registry events about this app: topic0 = event, topic1 = by (any), topic2 = app.
    logs.addAll(chain.logs(List.of(registry), java.util.Arrays.asList(
        List.of(KmsRegistry.ABI.eventTopic("AppRegistered"), KmsRegistry.ABI.eventTopic("AppDeregistered")),
        null, List.of(appTopic))));
    logs.sort(java.util.Comparator.comparing((org.web3j.protocol.core.methods.response.Log l) -> l.getBlockNumber())
        .thenComparing(l -> l.getLogIndex()));
    List<PolicyEvent> out = new java.util.ArrayList<>();
    for (var log : logs) {
      boolean fromApp = log.getAddress().equalsIgnoreCase(address);
      ContractAbi abi = fromApp ? ABI : KmsRegistry.ABI;
      ContractAbi.DecodedEvent e;
      try {
        e = abi.decodeEvent(log);
      } catch (IllegalArgumentException ex) {
        throw new GovernanceException(GovernanceException.Kind.RPC, "undecodable log in " + log.getTransactionHash()
            + ": " + ex.getMessage(), ex);
      }
      out.add(new PolicyEvent(log.getBlockNumber().longValueExact(), log.getBlockHash(), log.getTransactionHash(),
          log.getLogIndex().longValueExact(), log.getAddress(), fromApp ? "AppPolicy" : "KmsRegistry", e.name(),
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
    String registry = (String) one(block, "registry");
    List<Object> status = KmsRegistry.at(chain, registry, null).read(block, "appStatus", address);
    return new Snapshot(address, (String) one(block, "owner"), (String) one(block, "pendingOwner"), registry,
        KmsRegistry.AppStatus.values()[((BigInteger) status.get(0)).intValueExact()], flag(block, "disabled"),
        bytes32List(block, "composeHashes"), flag(block, "allowAnyDevice"), bytes32List(block, "devices"),
        flag(block, "requireTcbUpToDate"), flag(block, "hasGpuRequirements"),
        KmsRegistry.gpuPolicy(one(block, "getGpuRequirements")),
        KmsRegistry.gpuPolicy(one(block, "effectiveGpuPolicy")), number(block, "currentKeyVersion"),
        number(block, "minKeyVersion"), number(block, "rotationPeriod"), number(block, "lastRotation"),
        flag(block, "rotationDue"));
  }

  private Object one(DefaultBlockParameter block, String function) throws GovernanceException {
    return read(block, function).get(0);
  }

  private boolean flag(DefaultBlockParameter block, String function) throws GovernanceException {
    return (Boolean) one(block, function);
  }

  private long number(DefaultBlockParameter block, String function) throws GovernanceException {
    return ((BigInteger) one(block, function)).longValueExact();
  }

  @SuppressWarnings("unchecked")
  private List<byte[]> bytes32List(DefaultBlockParameter block, String function) throws GovernanceException {
    return (List<byte[]>) one(block, function);
  }
}
