package org.teekms.governance;

import java.math.BigInteger;
import java.util.List;
import org.teekms.crypto.Digests;
import org.web3j.crypto.Credentials;
import org.web3j.protocol.core.DefaultBlockParameter;
import org.web3j.protocol.core.methods.response.Log;
import org.web3j.utils.Numeric;

/** Binding of the KmsRegistry contract (see docs/governance.md). Writes need a signer; reads do not. */
public final class KmsRegistry extends GovernanceContract {
  public static final ContractAbi ABI = ContractAbi.load("KmsRegistry");

  /** Registration state of an app id. */
  public enum AppStatus { NONE, REGISTERED, DEREGISTERED }

  /** The published identity of one root generation (certificate and quote are in the KmsIdentitySet event). */
  public record KmsIdentity(byte[] rootPublicKeys, byte[] caCertificateSha256, byte[] quoteSha256,
      long setAtBlock) {}

  /** Acceptable TCB statuses and advisory IDs. */
  public record TcbPolicy(List<String> statuses, List<String> advisoryIds) {
    public TcbPolicy {
      statuses = List.copyOf(statuses);
      advisoryIds = List.copyOf(advisoryIds);
    }
  }

  /** The result of registerApp: the new app id (its AppPolicy address) and the transaction. */
  public record Registration(String appId, TxResult tx) {}

  private KmsRegistry(ChainClient chain, String address, Credentials signer) {
    super(chain, ABI, address, signer);
  }

  /** The registry at {@code address}; {@code signer} may be null for read-only use. */
  public static KmsRegistry at(ChainClient chain, String address, Credentials signer) {
    return new KmsRegistry(chain, address, signer);
  }

  /** Deploys a registry owned by {@code owner} (e.g. a multisig); returns it bound to {@code deployer}. */
  public static Deployed deploy(ChainClient chain, Credentials deployer, String owner) throws GovernanceException {
    String data = creationCode("KmsRegistry") + ABI.encodeConstructor(owner);
    TxResult tx = chain.send(deployer, null, data);
    String address = tx.contractAddress().orElseThrow(() -> new GovernanceException(
        GovernanceException.Kind.RPC, "deployment " + tx.txHash() + " has no contract address"));
    return new Deployed(new KmsRegistry(chain, address, deployer), tx);
  }

  /** A freshly deployed registry and its deployment transaction. */
  public record Deployed(KmsRegistry registry, TxResult tx) {}

  // ---- KMS identity and replicas ----

  public TxResult setKmsIdentity(long generation, byte[] rootPublicKeys, byte[] caCertificate, byte[] quote)
      throws GovernanceException {
    return send("setKmsIdentity", generation, rootPublicKeys, caCertificate, quote);
  }

  public long kmsGeneration() throws GovernanceException {
    return readLong("kmsGeneration");
  }

  /** Marks a RETIRED root generation DESTROYED on chain (irreversible; the KMS then refuses it whatever its database says). */
  public TxResult destroyRootGeneration(long generation) throws GovernanceException {
    return send("destroyRootGeneration", generation);
  }

  public long currentRootGeneration() throws GovernanceException {
    return readLong("currentRootGeneration");
  }

  public RootAnchor.State rootGenerationState(long generation) throws GovernanceException {
    int i = ((BigInteger) readOne("rootGenerationState", generation)).intValueExact();
    return RootAnchor.State.values()[i];
  }

  /** The anti-rollback anchor at the latest block. */
  public RootAnchor rootGenerations() throws GovernanceException {
    return RootAnchor.decode(read("rootGenerations"));
  }

  @SuppressWarnings("unchecked")
  public KmsIdentity kmsIdentity(long generation) throws GovernanceException {
    List<Object> t = (List<Object>) readOne("kmsIdentity", generation);
    return new KmsIdentity((byte[]) t.get(0), (byte[]) t.get(1), (byte[]) t.get(2),
        ((BigInteger) t.get(3)).longValueExact());
  }

  /** A generation's full identity as published in its KmsIdentitySet event, checked against the stored hashes. */
  public record PublishedKmsIdentity(long generation, byte[] rootPublicKeys, byte[] caCertificate, byte[] quote,
      long blockNumber, String txHash) {}

  /**
   * The full identity of {@code generation} (CA certificate and quote come from the event log; the registry keeps
   * their SHA-256). Fails unless the event matches what the registry stores.
   */
  public PublishedKmsIdentity publishedIdentity(long generation) throws GovernanceException {
    KmsIdentity stored = kmsIdentity(generation);
    String generationTopic = Numeric.toHexStringWithPrefixZeroPadded(BigInteger.valueOf(generation), 64);
    List<Log> logs = chain.logs(List.of(address),
        java.util.Arrays.asList(List.of(ABI.eventTopic("KmsIdentitySet")), null, List.of(generationTopic)));
    if (logs.size() != 1) {
      throw new GovernanceException(GovernanceException.Kind.RPC,
          logs.size() + " KmsIdentitySet events for generation " + generation + ", expected 1");
    }
    Log log = logs.get(0);
    var args = ABI.decodeEvent(log).args();
    byte[] keys = (byte[]) args.get("rootPublicKeys");
    byte[] cert = (byte[]) args.get("caCertificate");
    byte[] quote = (byte[]) args.get("quote");
    if (!java.security.MessageDigest.isEqual(keys, stored.rootPublicKeys())
        || !java.security.MessageDigest.isEqual(sha256(cert), stored.caCertificateSha256())
        || !java.security.MessageDigest.isEqual(sha256(quote), stored.quoteSha256())) {
      throw new GovernanceException(GovernanceException.Kind.RPC,
          "KmsIdentitySet event of generation " + generation + " does not match the registry's stored identity");
    }
    return new PublishedKmsIdentity(generation, keys, cert, quote, log.getBlockNumber().longValueExact(),
        log.getTransactionHash());
  }

  private static byte[] sha256(byte[] data) {
    return Digests.sha256(data);
  }

  public TxResult addKmsMeasurement(byte[] measurement) throws GovernanceException {
    return send("addKmsMeasurement", measurement);
  }

  public TxResult removeKmsMeasurement(byte[] measurement) throws GovernanceException {
    return send("removeKmsMeasurement", measurement);
  }

  public List<byte[]> kmsMeasurements() throws GovernanceException {
    return readBytes32List("kmsMeasurements");
  }

  public TxResult addKmsDevice(byte[] deviceId) throws GovernanceException {
    return send("addKmsDevice", deviceId);
  }

  public TxResult removeKmsDevice(byte[] deviceId) throws GovernanceException {
    return send("removeKmsDevice", deviceId);
  }

  public List<byte[]> kmsDevices() throws GovernanceException {
    return readBytes32List("kmsDevices");
  }

  // ---- OS images, TCB, GPU ----

  public TxResult addOsImage(byte[] osImageHash) throws GovernanceException {
    return send("addOsImage", osImageHash);
  }

  public TxResult removeOsImage(byte[] osImageHash) throws GovernanceException {
    return send("removeOsImage", osImageHash);
  }

  public List<byte[]> osImages() throws GovernanceException {
    return readBytes32List("osImages");
  }

  public boolean isOsImageAllowed(byte[] osImageHash) throws GovernanceException {
    return readBool("isOsImageAllowed", osImageHash);
  }

  /** Registers a golden mrSystem (SHA-256(MRTD ‖ RTMR0 ‖ RTMR1 ‖ RTMR2)) for an OS image. */
  public TxResult addOsImageMeasurement(byte[] osImageHash, byte[] mrSystem) throws GovernanceException {
    return send("addOsImageMeasurement", osImageHash, mrSystem);
  }

  public TxResult removeOsImageMeasurement(byte[] osImageHash, byte[] mrSystem) throws GovernanceException {
    return send("removeOsImageMeasurement", osImageHash, mrSystem);
  }

  /** The golden mrSystem values registered for an OS image. */
  @SuppressWarnings("unchecked")
  public List<byte[]> osImageMeasurements(byte[] osImageHash) throws GovernanceException {
    return (List<byte[]>) readOne("osImageMeasurements", osImageHash);
  }

  public boolean isOsImageMeasurementAllowed(byte[] osImageHash, byte[] mrSystem) throws GovernanceException {
    return readBool("isOsImageMeasurementAllowed", osImageHash, mrSystem);
  }

  public TxResult setTcbPolicy(List<String> statuses, List<String> advisoryIds) throws GovernanceException {
    return send("setTcbPolicy", statuses, advisoryIds);
  }

  @SuppressWarnings("unchecked")
  public TcbPolicy tcbPolicy() throws GovernanceException {
    List<Object> r = read("getTcbPolicy");
    return new TcbPolicy((List<String>) r.get(0), (List<String>) r.get(1));
  }

  public TxResult setDefaultGpuPolicy(GpuPolicy policy) throws GovernanceException {
    return send("setDefaultGpuPolicy", policy.count(), policy.arch(), policy.minDriverVersion());
  }

  public GpuPolicy defaultGpuPolicy() throws GovernanceException {
    return gpuPolicy(readOne("getDefaultGpuPolicy"));
  }

  // ---- apps ----

  public TxResult setOpenRegistration(boolean open) throws GovernanceException {
    return send("setOpenRegistration", open);
  }

  public boolean openRegistration() throws GovernanceException {
    return readBool("openRegistration");
  }

  /** Creates an app owned by {@code appOwner}; the app id is read from the AppRegistered event. */
  public Registration registerApp(String appOwner) throws GovernanceException {
    TxResult tx = send("registerApp", appOwner);
    String topic = ABI.eventTopic("AppRegistered");
    for (Log log : tx.logs()) {
      if (log.getAddress().equalsIgnoreCase(address) && log.getTopics().get(0).equals(topic)) {
        return new Registration((String) ABI.decodeEvent(log).args().get("app"), tx);
      }
    }
    throw new GovernanceException(GovernanceException.Kind.RPC, "registerApp " + tx.txHash() + " emitted no AppRegistered");
  }

  public TxResult deregisterApp(String app) throws GovernanceException {
    return send("deregisterApp", app);
  }

  public AppStatus appStatus(String app) throws GovernanceException {
    return AppStatus.values()[((BigInteger) readOne("appStatus", app)).intValueExact()];
  }

  @SuppressWarnings("unchecked")
  public List<String> apps() throws GovernanceException {
    return (List<String>) readOne("apps");
  }

  public String appFactory() throws GovernanceException {
    return (String) readOne("appFactory");
  }

  /** The app's policy contract, bound to the same signer. */
  public AppPolicy app(String appId, Credentials signer) {
    return AppPolicy.at(chain, appId, signer);
  }

  // ---- decisions ----

  public Verdict isAppAllowed(BootInfo boot) throws GovernanceException {
    return verdict(read("isAppAllowed", boot.abiTuple()));
  }

  public Verdict isKmsAllowed(BootInfo boot) throws GovernanceException {
    return verdict(read("isKmsAllowed", boot.abiTuple()));
  }

  public Verdict isAppAllowed(BootInfo boot, DefaultBlockParameter block) throws GovernanceException {
    return verdict(read(block, "isAppAllowed", boot.abiTuple()));
  }

  @SuppressWarnings("unchecked")
  static GpuPolicy gpuPolicy(Object tuple) {
    List<Object> t = (List<Object>) tuple;
    return new GpuPolicy(((BigInteger) t.get(0)).intValueExact(), (String) t.get(1),
        ((BigInteger) t.get(2)).longValueExact());
  }
}
