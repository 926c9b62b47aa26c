package org.teekms.governance;

import java.math.BigInteger;
import java.util.List;
import org.teekms.crypto.Bytes;
import org.teekms.crypto.Digests;
import org.teekms.governance.contracts.KmsRegistryContract;
import org.web3j.abi.EventEncoder;
import org.web3j.crypto.Credentials;
import org.web3j.protocol.core.DefaultBlockParameter;
import org.web3j.protocol.core.methods.response.Log;
import org.web3j.utils.Numeric;

/**
 * Binding of the KmsRegistry contract (see docs/governance.md) over its generated wrapper {@link
 * KmsRegistryContract}. Writes need a signer; reads do not.
 */
public final class KmsRegistry extends GovernanceContract {
  /** The registry's events by name (history, audits). */
  public static final ContractEvents EVENTS = ContractEvents.load("KmsRegistry");

  /** Registration state of an app id. */
  public enum AppStatus {
    NONE,
    REGISTERED,
    DEREGISTERED
  }

  /**
   * The published identity of one root generation (certificate and quote are in the KmsIdentitySet
   * event).
   */
  public record KmsIdentity(
      Bytes rootPublicKeys, Bytes caCertificateSha256, Bytes quoteSha256, long setAtBlock) {}

  /** Acceptable TCB statuses and advisory IDs. */
  public record TcbPolicy(List<String> statuses, List<String> advisoryIds) {
    public TcbPolicy {
      statuses = List.copyOf(statuses);
      advisoryIds = List.copyOf(advisoryIds);
    }
  }

  /** The result of registerApp: the new app id (its AppPolicy address) and the transaction. */
  public record Registration(String appId, TxResult tx) {}

  private final KmsRegistryContract contract;

  private KmsRegistry(
      ChainClient chain, String address, Credentials signer, ChainTransactionManager.Caller reads) {
    super(chain, address, signer, reads);
    this.contract = wrapper(chain, address, manager());
  }

  static KmsRegistryContract wrapper(
      ChainClient chain, String address, ChainTransactionManager manager) {
    return KmsRegistryContract.load(
        address, chain.web3j(), manager, ChainTransactionManager.NO_GAS);
  }

  /** The registry at {@code address}; {@code signer} may be null for read-only use. */
  public static KmsRegistry at(ChainClient chain, String address, Credentials signer) {
    return new KmsRegistry(chain, address, signer, latest(chain));
  }

  /**
   * A read-only registry whose eth_calls {@code caller} answers (a transport of its own; tests).
   */
  static KmsRegistry reading(
      ChainClient chain, String address, ChainTransactionManager.Caller caller) {
    return new KmsRegistry(chain, address, null, caller);
  }

  /**
   * The same registry, read-only, with every read at exactly the block with this hash (EIP-1898,
   * requireCanonical), so that several reads see one state.
   */
  public KmsRegistry atBlockHash(String blockHash) {
    return new KmsRegistry(chain, address, null, atHash(chain, blockHash));
  }

  /** The same registry, read-only, with every read at this block. */
  public KmsRegistry atBlock(DefaultBlockParameter block) {
    return new KmsRegistry(chain, address, null, at(chain, block));
  }

  @Override
  protected String contractName() {
    return "KmsRegistry";
  }

  @Override
  public ContractEvents eventTypes() {
    return EVENTS;
  }

  /**
   * Deploys a registry owned by {@code owner} (e.g. a multisig); returns it bound to {@code
   * deployer}.
   */
  public static Deployed deploy(ChainClient chain, Credentials deployer, String owner)
      throws GovernanceException {
    KmsRegistryContract deployed;
    try {
      deployed =
          ChainTransactionManager.get(
              KmsRegistryContract.deploy(
                  chain.web3j(),
                  new ChainTransactionManager(chain, deployer, latest(chain)),
                  ChainTransactionManager.NO_GAS,
                  owner));
    } catch (GovernanceException e) {
      throw e;
    } catch (Exception e) {
      throw new GovernanceException(
          GovernanceException.Kind.RPC, "KmsRegistry deployment failed: " + e.getMessage(), e);
    }
    TxResult tx = ChainTransactionManager.txResult(deployed.getTransactionReceipt().orElseThrow());
    return new Deployed(
        new KmsRegistry(chain, deployed.getContractAddress(), deployer, latest(chain)), tx);
  }

  // ---- ownership ----

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

  /** A freshly deployed registry and its deployment transaction. */
  public record Deployed(KmsRegistry registry, TxResult tx) {}

  // ---- KMS identity and replicas ----

  public TxResult setKmsIdentity(
      long generation, byte[] rootPublicKeys, byte[] caCertificate, byte[] quote)
      throws GovernanceException {
    return send(
        contract.setKmsIdentity(
            BigInteger.valueOf(generation), rootPublicKeys, caCertificate, quote));
  }

  public long kmsGeneration() throws GovernanceException {
    return read(contract.kmsGeneration()).longValueExact();
  }

  /**
   * Marks a RETIRED root generation DESTROYED on chain (irreversible; the KMS then refuses it
   * whatever its database says).
   */
  public TxResult destroyRootGeneration(long generation) throws GovernanceException {
    return send(contract.destroyRootGeneration(BigInteger.valueOf(generation)));
  }

  public long currentRootGeneration() throws GovernanceException {
    return read(contract.currentRootGeneration()).longValueExact();
  }

  public RootAnchor.State rootGenerationState(long generation) throws GovernanceException {
    BigInteger value = read(contract.rootGenerationState(BigInteger.valueOf(generation)));
    try {
      return RootAnchor.state(value);
    } catch (IllegalArgumentException e) {
      throw new GovernanceException(
          GovernanceException.Kind.RPC, "KmsRegistry at " + address + ": " + e.getMessage(), e);
    }
  }

  /** The anti-rollback anchor at the latest block. */
  public RootAnchor rootGenerations() throws GovernanceException {
    var r = read(contract.rootGenerations());
    try {
      return RootAnchor.of(r.component1(), r.component2());
    } catch (IllegalArgumentException e) {
      throw new GovernanceException(
          GovernanceException.Kind.RPC, "KmsRegistry at " + address + ": " + e.getMessage(), e);
    }
  }

  public KmsIdentity kmsIdentity(long generation) throws GovernanceException {
    KmsRegistryContract.KmsIdentity t = read(contract.kmsIdentity(BigInteger.valueOf(generation)));
    return new KmsIdentity(
        Bytes.copyOf(t.rootPublicKeys),
        Bytes.copyOf(t.caCertificateHash),
        Bytes.copyOf(t.quoteHash),
        t.setAtBlock.longValueExact());
  }

  /**
   * A generation's full identity as published in its KmsIdentitySet event, checked against the
   * stored hashes.
   */
  public record PublishedKmsIdentity(
      long generation,
      Bytes rootPublicKeys,
      Bytes caCertificate,
      Bytes quote,
      long blockNumber,
      String txHash) {}

  /**
   * The full identity of {@code generation} (CA certificate and quote come from the event log; the
   * registry keeps their SHA-256). Fails unless the event matches what the registry stores.
   */
  public PublishedKmsIdentity publishedIdentity(long generation) throws GovernanceException {
    KmsIdentity stored = kmsIdentity(generation);
    String generationTopic =
        Numeric.toHexStringWithPrefixZeroPadded(BigInteger.valueOf(generation), 64);
    List<Log> logs =
        chain.logs(
            List.of(address),
            java.util.Arrays.asList(
                List.of(EventEncoder.encode(KmsRegistryContract.KMSIDENTITYSET_EVENT)),
                null,
                List.of(generationTopic)));
    if (logs.size() != 1) {
      throw new GovernanceException(
          GovernanceException.Kind.RPC,
          logs.size() + " KmsIdentitySet events for generation " + generation + ", expected 1");
    }
    Log log = logs.get(0);
    KmsRegistryContract.KmsIdentitySetEventResponse event;
    try {
      event = KmsRegistryContract.getKmsIdentitySetEventFromLog(log);
    } catch (RuntimeException e) {
      throw new GovernanceException(
          GovernanceException.Kind.RPC,
          "malformed KmsIdentitySet event of generation " + generation + ": " + e.getMessage(),
          e);
    }
    Bytes keys = Bytes.copyOf(event.rootPublicKeys);
    Bytes cert = Bytes.copyOf(event.caCertificate);
    Bytes quote = Bytes.copyOf(event.quote);
    if (!keys.equals(stored.rootPublicKeys())
        || !Bytes.copyOf(sha256(cert.toByteArray())).equals(stored.caCertificateSha256())
        || !Bytes.copyOf(sha256(quote.toByteArray())).equals(stored.quoteSha256())) {
      throw new GovernanceException(
          GovernanceException.Kind.RPC,
          "KmsIdentitySet event of generation "
              + generation
              + " does not match the registry's stored identity");
    }
    return new PublishedKmsIdentity(
        generation,
        keys,
        cert,
        quote,
        log.getBlockNumber().longValueExact(),
        log.getTransactionHash());
  }

  private static byte[] sha256(byte[] data) {
    return Digests.sha256(data);
  }

  public TxResult addKmsMeasurement(byte[] measurement) throws GovernanceException {
    return send(contract.addKmsMeasurement(measurement));
  }

  public TxResult removeKmsMeasurement(byte[] measurement) throws GovernanceException {
    return send(contract.removeKmsMeasurement(measurement));
  }

  public List<byte[]> kmsMeasurements() throws GovernanceException {
    return bytes32List(read(contract.kmsMeasurements()));
  }

  public TxResult addKmsDevice(byte[] deviceId) throws GovernanceException {
    return send(contract.addKmsDevice(deviceId));
  }

  public TxResult removeKmsDevice(byte[] deviceId) throws GovernanceException {
    return send(contract.removeKmsDevice(deviceId));
  }

  public List<byte[]> kmsDevices() throws GovernanceException {
    return bytes32List(read(contract.kmsDevices()));
  }

  // ---- OS images, TCB, GPU ----

  public TxResult addOsImage(byte[] osImageHash) throws GovernanceException {
    return send(contract.addOsImage(osImageHash));
  }

  public TxResult removeOsImage(byte[] osImageHash) throws GovernanceException {
    return send(contract.removeOsImage(osImageHash));
  }

  public List<byte[]> osImages() throws GovernanceException {
    return bytes32List(read(contract.osImages()));
  }

  public boolean isOsImageAllowed(byte[] osImageHash) throws GovernanceException {
    return read(contract.isOsImageAllowed(osImageHash));
  }

  /** Registers a golden mrSystem (SHA-256(MRTD ‖ RTMR0 ‖ RTMR1 ‖ RTMR2)) for an OS image. */
  public TxResult addOsImageMeasurement(byte[] osImageHash, byte[] mrSystem)
      throws GovernanceException {
    return send(contract.addOsImageMeasurement(osImageHash, mrSystem));
  }

  public TxResult removeOsImageMeasurement(byte[] osImageHash, byte[] mrSystem)
      throws GovernanceException {
    return send(contract.removeOsImageMeasurement(osImageHash, mrSystem));
  }

  /** The golden mrSystem values registered for an OS image. */
  public List<byte[]> osImageMeasurements(byte[] osImageHash) throws GovernanceException {
    return bytes32List(read(contract.osImageMeasurements(osImageHash)));
  }

  public boolean isOsImageMeasurementAllowed(byte[] osImageHash, byte[] mrSystem)
      throws GovernanceException {
    return read(contract.isOsImageMeasurementAllowed(osImageHash, mrSystem));
  }

  public TxResult setTcbPolicy(List<String> statuses, List<String> advisoryIds)
      throws GovernanceException {
    return send(contract.setTcbPolicy(statuses, advisoryIds));
  }

  public TcbPolicy tcbPolicy() throws GovernanceException {
    var r = read(contract.getTcbPolicy());
    return new TcbPolicy(r.component1(), r.component2());
  }

  public TxResult setDefaultGpuPolicy(GpuPolicy policy) throws GovernanceException {
    return send(
        contract.setDefaultGpuPolicy(
            BigInteger.valueOf(policy.count()),
            policy.arch(),
            BigInteger.valueOf(policy.minDriverVersion())));
  }

  public GpuPolicy defaultGpuPolicy() throws GovernanceException {
    KmsRegistryContract.GpuPolicy p = read(contract.getDefaultGpuPolicy());
    return gpuPolicy(p.count, p.arch, p.minDriverVersion);
  }

  // ---- audit anchoring (docs/audit-log.md, "Anchoring") ----

  /**
   * The latest anchored audit head: hash of entry {@code entryCount} (0 / zero hash: nothing
   * anchored yet).
   */
  public record AuditAnchor(Bytes head, long entryCount, long atBlock) {}

  public TxResult setAuditAnchorer(String anchorer) throws GovernanceException {
    return send(contract.setAuditAnchorer(anchorer));
  }

  public String auditAnchorer() throws GovernanceException {
    return read(contract.auditAnchorer());
  }

  /**
   * Anchors the audit head; the registry refuses anything but the owner or the anchorer, and any
   * step backwards.
   */
  public TxResult anchorAuditHead(byte[] head, long entryCount) throws GovernanceException {
    return send(contract.anchorAuditHead(head, BigInteger.valueOf(entryCount)));
  }

  public AuditAnchor latestAuditAnchor() throws GovernanceException {
    KmsRegistryContract.AuditAnchor a = read(contract.latestAuditAnchor());
    return new AuditAnchor(
        Bytes.copyOf(a.head), a.entryCount.longValueExact(), a.atBlock.longValueExact());
  }

  // ---- apps ----

  public TxResult setOpenRegistration(boolean open) throws GovernanceException {
    return send(contract.setOpenRegistration(open));
  }

  public boolean openRegistration() throws GovernanceException {
    return read(contract.openRegistration());
  }

  /** Creates an app owned by {@code appOwner}; the app id is read from the AppRegistered event. */
  public Registration registerApp(String appOwner) throws GovernanceException {
    TxResult tx = send(contract.registerApp(appOwner));
    String topic = EventEncoder.encode(KmsRegistryContract.APPREGISTERED_EVENT);
    for (Log log : tx.logs()) {
      if (log.getAddress().equalsIgnoreCase(address) && log.getTopics().get(0).equals(topic)) {
        return new Registration(KmsRegistryContract.getAppRegisteredEventFromLog(log).app, tx);
      }
    }
    throw new GovernanceException(
        GovernanceException.Kind.RPC, "registerApp " + tx.txHash() + " emitted no AppRegistered");
  }

  public TxResult deregisterApp(String app) throws GovernanceException {
    return send(contract.deregisterApp(app));
  }

  public AppStatus appStatus(String app) throws GovernanceException {
    return appStatus(read(contract.appStatus(app)));
  }

  @SuppressWarnings("unchecked")
  public List<String> apps() throws GovernanceException {
    return List.copyOf((List<String>) read(contract.apps()));
  }

  public String appFactory() throws GovernanceException {
    return read(contract.appFactory());
  }

  /** The app's policy contract, bound to the same signer. */
  public AppPolicy app(String appId, Credentials signer) {
    return AppPolicy.at(chain, appId, signer);
  }

  // ---- decisions ----

  /** KmsRegistry.isAppAllowed at this binding's block: the verdict and its denial code. */
  public Verdict isAppAllowed(BootInfo boot) throws GovernanceException {
    return checkedVerdict(read(contract.isAppAllowed(boot.registryStruct())));
  }

  /** KmsRegistry.isKmsAllowed at this binding's block. */
  public Verdict isKmsAllowed(BootInfo boot) throws GovernanceException {
    return checkedVerdict(read(contract.isKmsAllowed(boot.registryStruct())));
  }

  public Verdict isAppAllowed(BootInfo boot, DefaultBlockParameter block)
      throws GovernanceException {
    return atBlock(block).isAppAllowed(boot);
  }

  private Verdict checkedVerdict(org.web3j.tuples.generated.Tuple3<Boolean, BigInteger, String> r)
      throws GovernanceException {
    try {
      return verdict(r);
    } catch (IllegalArgumentException | ArithmeticException e) {
      throw new GovernanceException(
          GovernanceException.Kind.RPC, "KmsRegistry at " + address + ": " + e.getMessage(), e);
    }
  }

  static AppStatus appStatus(BigInteger value) throws GovernanceException {
    if (value.signum() < 0 || value.compareTo(BigInteger.valueOf(AppStatus.values().length)) >= 0) {
      throw new GovernanceException(GovernanceException.Kind.RPC, "unknown app status " + value);
    }
    return AppStatus.values()[value.intValueExact()];
  }

  static GpuPolicy gpuPolicy(BigInteger count, String arch, BigInteger minDriverVersion) {
    return new GpuPolicy(count.intValueExact(), arch, minDriverVersion.longValueExact());
  }

  @SuppressWarnings("unchecked")
  static List<byte[]> bytes32List(List<?> values) {
    return List.copyOf((List<byte[]>) values);
  }
}
