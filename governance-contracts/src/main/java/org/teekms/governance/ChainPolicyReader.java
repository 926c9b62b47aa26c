package org.teekms.governance;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.io.IOException;
import java.math.BigInteger;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;
import java.util.stream.Collectors;
import org.teekms.crypto.Bytes;
import org.teekms.governance.contracts.AppPolicyContract;
import org.teekms.governance.contracts.KmsRegistryContract;
import org.web3j.protocol.core.DefaultBlockParameter;
import org.web3j.protocol.core.DefaultBlockParameterName;
import org.web3j.protocol.core.RemoteCall;
import org.web3j.protocol.core.methods.response.EthBlock;

/**
 * Reads KmsRegistry.isAppAllowed / isKmsAllowed with eth_call at a pinned block, from a quorum of
 * independent RPC endpoints so that no single endpoint decides. Per decision, in order (the first
 * failure is the answer, a denial):
 *
 * <ol>
 *   <li>every endpoint is asked for its chain id; one serving another chain denies (WRONG_CHAIN);
 *   <li>the pinned block number: the k-th highest head among the endpoints that answered, minus the
 *       confirmations (or their "finalized" block), never lower than the newest block pinned before
 *       (monotonic);
 *   <li>every endpoint is asked for that block: two different (hash, timestamp) answers deny
 *       (DISAGREEMENT, counted in {@link #disagreements()}); fewer than k answers deny
 *       (RPC_UNAVAILABLE);
 *   <li>the block's timestamp must be at most {@code maxBlockAge} old (STALE_BLOCK);
 *   <li>the block pinned before must still be canonical on the agreeing endpoints (REORG
 *       otherwise);
 *   <li>each eth_call (the view, then for an allow the app's key state and GPU policy and the
 *       registry's root anchor) names the block by hash (EIP-1898, requireCanonical) and goes to
 *       every agreeing endpoint: any two different answers deny (DISAGREEMENT), fewer than k
 *       answers deny (RPC_UNAVAILABLE).
 * </ol>
 *
 * An endpoint that does not answer only counts against the quorum; an endpoint that answers
 * differently denies the decision whatever the count, since it proves that one of them lies. What
 * the quorum does not cover (all k lying alike, a header whose hash is not recomputed) is written
 * in docs/security.md. Decisions are cached per (view, block, BootInfo) for {@code cacheTtl}. Never
 * throws; every failure is a denial.
 */
public final class ChainPolicyReader implements PolicyReader, AutoCloseable {
  private final PolicyReaderConfig config;
  private final List<ChainClient> endpoints;
  private final LongSupplier nanoTime;
  private final Clock clock;
  private final ExecutorService fanOut;
  private final Cache<CacheKey, PolicyDecision> cache;
  private final AtomicReference<Pin> lastPin = new AtomicReference<>();
  private volatile boolean finalizedUnsupported;
  private final long pinReuseNanos;
  private final AtomicReference<TimedPin> recentPin = new AtomicReference<>();
  private final Cache<KeyStateKey, AppChainState> keyStates;
  private final Cache<String, RootAnchor> anchors;

  /**
   * Generated wrappers bound to a pinned block, by (pin, contract address, what they read). A
   * wrapper only encodes, decodes and routes its calls to the quorum at its pin, so one per pin is
   * enough; building one per decision cost more than its eth_call's encoding (web3j's constructor
   * builds an ENS resolver with a new OkHttpClient and trust manager).
   */
  private final Cache<WrapperKey, Object> wrappers = Caffeine.newBuilder().maximumSize(64).build();

  private record WrapperKey(Pin pin, String address, String what) {}

  private final LongAdder disagreements = new LongAdder();
  private static final String NEWEST_SEEN = " (the newest block already seen)";

  /** A block the quorum agreed on, and the endpoints that agreed (later calls go to them only). */
  private record Pin(long number, String hash, long timestamp, List<ChainClient> agreed) {}

  private record TimedPin(Pin pin, long fetchedAtNanos) {}

  /**
   * keyState() of an app at a block hash: a pure function of the two (bounded map, dropped on a
   * reorganization).
   */
  private record KeyStateKey(String app, String blockHash) {}

  private record AppChainState(AppKeyVersions versions, GpuPolicy gpuPolicy) {}

  private record CacheKey(View view, long blockNumber, String blockHash, BootInfo boot) {}

  /** The registry's two policy views. */
  private enum View {
    APP("isAppAllowed"),
    KMS("isKmsAllowed");

    final String label;

    View(String label) {
      this.label = label;
    }
  }

  /** A block header as one endpoint reports it; two endpoints agree when these are equal. */
  private record Header(String hash, long timestamp) {}

  /** One endpoint's answer to an eth_call: the returned data, or the revert reason. */
  private record CallAnswer(String data, String revert) {}

  /** Thrown inside this class only: the decision is a denial for this reason. */
  private static final class Denial extends Exception {
    private static final long serialVersionUID = 1L;
    final PolicyDecision.Failure failure;

    Denial(PolicyDecision.Failure failure, String message) {
      super(message);
      this.failure = failure;
    }
  }

  /** What one endpoint returns for one request; a GovernanceException means "no answer from it". */
  @FunctionalInterface
  private interface EndpointCall<T> {
    T apply(ChainClient c) throws GovernanceException;
  }

  public ChainPolicyReader(PolicyReaderConfig config) {
    this(config, Duration.ZERO, System::nanoTime, Clock.systemUTC());
  }

  /**
   * @param pinReuse how long one pinned block (and the chain id check made with it) serves further
   *     decisions before the head is read again; zero = every decision pins afresh. A few seconds
   *     (below the block time) saves three of the five RPC requests of a decision under load, at
   *     the price of policy changes applying that much later.
   */
  public ChainPolicyReader(PolicyReaderConfig config, Duration pinReuse) {
    this(config, pinReuse, System::nanoTime, Clock.systemUTC());
  }

  ChainPolicyReader(PolicyReaderConfig config, LongSupplier nanoTime) {
    this(config, Duration.ZERO, nanoTime, Clock.systemUTC());
  }

  ChainPolicyReader(PolicyReaderConfig config, Duration pinReuse, LongSupplier nanoTime) {
    this(config, pinReuse, nanoTime, Clock.systemUTC());
  }

  /**
   * @param clock wall clock the pinned block's timestamp is compared with ({@code maxBlockAge})
   */
  public ChainPolicyReader(
      PolicyReaderConfig config, Duration pinReuse, LongSupplier nanoTime, Clock clock) {
    if (pinReuse.isNegative()) throw new IllegalArgumentException("pinReuse is negative");
    this.pinReuseNanos = pinReuse.toNanos();
    this.config = config;
    this.nanoTime = nanoTime;
    this.clock = clock;
    this.endpoints =
        config.rpcUrls().stream()
            .map(
                url ->
                    ChainClient.connect(
                        url, config.chainId(), config.rpcTimeout(), Duration.ofSeconds(1)))
            .toList();
    AtomicInteger threads = new AtomicInteger();
    this.fanOut =
        endpoints.size() == 1
            ? null
            : Executors.newFixedThreadPool(
                endpoints.size(),
                r -> {
                  Thread t = new Thread(r, "chain-quorum-" + threads.incrementAndGet());
                  t.setDaemon(true);
                  return t;
                });
    int max = config.cacheMaxEntries();
    // Bounded (least useful entries evicted); decisions also expire cacheTtl after they were read,
    // on this reader's
    // clock. A reorganization drops all three (checkCanonical).
    this.cache =
        Caffeine.newBuilder()
            .maximumSize(max)
            .expireAfterWrite(config.cacheTtl())
            .ticker(nanoTime::getAsLong)
            .build();
    this.keyStates = Caffeine.newBuilder().maximumSize(Math.max(16, max)).build();
    this.anchors = Caffeine.newBuilder().maximumSize(16).build();
  }

  public PolicyReaderConfig config() {
    return config;
  }

  /**
   * How many decisions were denied because endpoints answered differently (an alert: one of them
   * lies).
   */
  public long disagreements() {
    return disagreements.sum();
  }

  @Override
  public PolicyDecision isAppAllowed(BootInfo boot) {
    return decide(View.APP, boot);
  }

  @Override
  public PolicyDecision isKmsAllowed(BootInfo boot) {
    return decide(View.KMS, boot);
  }

  /**
   * The root public keys the registry publishes for {@code generation}, read through the quorum at
   * one freshly pinned block ({@code kmsGeneration}, then {@code kmsIdentity(generation)}). Never
   * throws.
   */
  @Override
  public PublishedRootKeys kmsRootPublicKeys(long generation) {
    if (generation < 1 || generation > 0xffffffffL) {
      return PublishedRootKeys.unavailable(
          generation, "generation " + generation + " is not a uint32 >= 1");
    }
    Pin pin;
    try {
      pin = freshPin();
    } catch (Denial d) {
      if (d.failure == PolicyDecision.Failure.DISAGREEMENT) disagreements.increment();
      return PublishedRootKeys.unavailable(generation, d.getMessage());
    }
    try {
      long published = quorum(registry(pin, "kmsGeneration").kmsGeneration()).longValueExact();
      if (generation > published) {
        return PublishedRootKeys.notPublished(
            generation,
            pin.number(),
            pin.hash(),
            "the registry publishes root "
                + "generations up to "
                + published
                + " at block "
                + pin.number());
      }
      KmsRegistryContract.KmsIdentity identity =
          quorum(registry(pin, "kmsIdentity").kmsIdentity(BigInteger.valueOf(generation)));
      return PublishedRootKeys.published(
          generation, Bytes.copyOf(identity.rootPublicKeys), pin.number(), pin.hash());
    } catch (Denial d) {
      if (d.failure == PolicyDecision.Failure.DISAGREEMENT) disagreements.increment();
      return PublishedRootKeys.unavailable(generation, d.getMessage());
    } catch (RuntimeException e) {
      return PublishedRootKeys.unavailable(
          generation,
          "malformed answer from kmsIdentity at block " + pin.number() + ": " + e.getMessage());
    }
  }

  /**
   * The registry's root-generation anchor at a freshly pinned block, read from the quorum like any
   * decision (the KMS checks it at startup before unsealing). Empty with the reason when the chain
   * could not be read reliably.
   */
  public PolicyDecision rootAnchor() {
    Pin pin;
    try {
      pin = freshPin();
      RootAnchor anchor = anchorAt(pin);
      return PolicyDecision.fromChain(
          ChainDenial.NONE, "", pin.number(), pin.hash(), null, null, anchor);
    } catch (Denial d) {
      return denial(d, -1, "");
    } catch (RuntimeException e) {
      return PolicyDecision.failed(
          PolicyDecision.Failure.CALL_FAILED,
          "malformed rootGenerations() answer: " + e.getMessage());
    }
  }

  /**
   * An app's whole policy (registration, disabled, compose hashes, key state, effective GPU policy)
   * and the registry's platform policy (OS images with their golden measurements, TCB statuses and
   * advisories), every field read through the quorum at one freshly pinned block: what an end
   * user's verifier checks a response against ({@code teekms verify response --rpc-url}, the
   * verifier service). Never throws; a chain that cannot be read reliably gives a policy whose
   * {@link OnChainAppPolicy#failure()} says why.
   */
  public OnChainAppPolicy appPolicy(String appAddress) {
    String registryAddress = config.registryAddress().toLowerCase(Locale.ROOT);
    String app = appAddress == null ? "" : appAddress.toLowerCase(Locale.ROOT);
    if (!org.web3j.crypto.WalletUtils.isValidAddress(app)) {
      return OnChainAppPolicy.unavailable(
          config.chainId(),
          registryAddress,
          app,
          -1,
          "",
          "app id must be a 20-byte address, got '" + app + "'");
    }
    Pin pin;
    try {
      pin = freshPin();
    } catch (Denial d) {
      if (d.failure == PolicyDecision.Failure.DISAGREEMENT) disagreements.increment();
      return OnChainAppPolicy.unavailable(
          config.chainId(), registryAddress, app, -1, "", d.getMessage());
    }
    String what = "the policy of app " + app;
    try {
      KmsRegistryContract registry = registry(pin, what);
      KmsRegistry.AppStatus status = KmsRegistry.appStatus(quorum(registry.appStatus(app)));
      Map<String, List<String>> images = new LinkedHashMap<>();
      for (byte[] image : KmsRegistry.bytes32List(quorum(registry.osImages()))) {
        images.put(
            hex(image),
            KmsRegistry.bytes32List(quorum(registry.osImageMeasurements(image))).stream()
                .map(ChainPolicyReader::hex)
                .toList());
      }
      var tcb = quorum(registry.getTcbPolicy());
      boolean disabled = false;
      List<String> composeHashes = List.of();
      boolean upToDate = false;
      GpuPolicy gpu = GpuPolicy.NONE;
      AppKeyVersions keys = null;
      boolean due = false;
      if (status != KmsRegistry.AppStatus.NONE) {
        AppPolicyContract policy = app(pin, app, what);
        disabled = quorum(policy.disabled());
        composeHashes =
            KmsRegistry.bytes32List(quorum(policy.composeHashes())).stream()
                .map(ChainPolicyReader::hex)
                .toList();
        upToDate = quorum(policy.requireTcbUpToDate());
        AppPolicyContract.GpuPolicy g = quorum(policy.effectiveGpuPolicy());
        gpu = KmsRegistry.gpuPolicy(g.count, g.arch, g.minDriverVersion);
        keys = AppPolicy.keyVersions(quorum(policy.keyState()));
        due = quorum(policy.rotationDue());
      }
      return new OnChainAppPolicy(
          config.chainId(),
          registryAddress,
          app,
          pin.number(),
          pin.hash(),
          java.util.Optional.empty(),
          status,
          disabled,
          composeHashes,
          images,
          tcb.component1(),
          tcb.component2(),
          upToDate,
          gpu,
          keys,
          due);
    } catch (Denial d) {
      if (d.failure == PolicyDecision.Failure.DISAGREEMENT) disagreements.increment();
      return OnChainAppPolicy.unavailable(
          config.chainId(), registryAddress, app, pin.number(), pin.hash(), d.getMessage());
    } catch (GovernanceException | RuntimeException e) {
      return OnChainAppPolicy.unavailable(
          config.chainId(),
          registryAddress,
          app,
          pin.number(),
          pin.hash(),
          "malformed answer reading " + what + " at block " + pin.number() + ": " + e.getMessage());
    }
  }

  /**
   * The latest audit head the registry records ({@code anchor}: zero entries when none yet), read
   * through the quorum at a freshly pinned block, or why it could not be read.
   */
  public record AnchoredAuditHead(
      long blockNumber,
      String blockHash,
      KmsRegistry.AuditAnchor anchor,
      Optional<String> failure) {}

  /**
   * The latest anchored audit head (what {@code teekms audit verify --anchored} checks), for the
   * verifier page.
   */
  public AnchoredAuditHead latestAuditAnchor() {
    Pin pin;
    try {
      pin = freshPin();
    } catch (Denial d) {
      if (d.failure == PolicyDecision.Failure.DISAGREEMENT) disagreements.increment();
      return new AnchoredAuditHead(-1, "", null, Optional.of(d.getMessage()));
    }
    try {
      var a = quorum(registry(pin, "the latest audit anchor").latestAuditAnchor());
      return new AnchoredAuditHead(
          pin.number(),
          pin.hash(),
          new KmsRegistry.AuditAnchor(
              Bytes.copyOf(a.head), a.entryCount.longValueExact(), a.atBlock.longValueExact()),
          Optional.empty());
    } catch (Denial d) {
      if (d.failure == PolicyDecision.Failure.DISAGREEMENT) disagreements.increment();
      return new AnchoredAuditHead(pin.number(), pin.hash(), null, Optional.of(d.getMessage()));
    } catch (RuntimeException e) {
      return new AnchoredAuditHead(
          pin.number(),
          pin.hash(),
          null,
          Optional.of(
              "malformed answer reading the latest "
                  + "audit anchor at block "
                  + pin.number()
                  + ": "
                  + e.getMessage()));
    }
  }

  /**
   * The registry's events that change what every app's CVMs are checked against (part of each app's
   * history).
   */
  static final List<String> PLATFORM_EVENTS =
      List.of(
          "OsImageAdded",
          "OsImageRemoved",
          "OsImageMeasurementAdded",
          "OsImageMeasurementRemoved",
          "TcbPolicyChanged",
          "DefaultGpuPolicyChanged");

  /**
   * An app's policy history up to the block its policy was read at, oldest first, or why it could
   * not be read.
   *
   * @param failure empty when {@code events} is the whole history up to {@code blockNumber}
   */
  public record AppHistory(
      long blockNumber, String blockHash, List<PolicyEvent> events, Optional<String> failure) {
    public AppHistory {
      events = List.copyOf(events);
      java.util.Objects.requireNonNull(failure, "failure");
    }

    static AppHistory unavailable(long blockNumber, String blockHash, String reason) {
      return new AppHistory(blockNumber, blockHash, List.of(), Optional.of(reason));
    }
  }

  /**
   * Logs as one endpoint returned them; two endpoints agree when the logs' every field is equal.
   */
  private record Logs(List<org.web3j.protocol.core.methods.response.Log> logs) {
    @Override
    public boolean equals(Object o) {
      return o instanceof Logs other && canonical().equals(other.canonical());
    }

    @Override
    public int hashCode() {
      return canonical().hashCode();
    }

    private List<String> canonical() {
      return logs.stream()
          .map(
              l ->
                  (l.getBlockNumber()
                          + " "
                          + l.getBlockHash()
                          + " "
                          + l.getTransactionHash()
                          + " "
                          + l.getLogIndex()
                          + " "
                          + l.getAddress()
                          + " "
                          + l.getTopics()
                          + " "
                          + l.getData())
                      .toLowerCase(Locale.ROOT))
          .toList();
    }

    @Override
    public String toString() {
      return logs.size() + " logs";
    }
  }

  /**
   * The history behind {@code policy} (read by {@link #appPolicy}), from the chain's first block up
   * to the block the policy was read at: every event of the app's contract (compose hashes and
   * devices added and removed, GPU and TCB requirements, key rotations, minimum key version,
   * rotation period, disabled), the registry's events about the app (registered, deregistered), and
   * the registry's events that change what every CVM is checked against (OS images and their golden
   * measurements added and removed, TCB policy, default GPU policy). The logs are asked of every
   * endpoint and must agree as the policy's views did; a log of the pinned block with another block
   * hash, or a pinned block that is no longer canonical once the logs are read, makes the history
   * unavailable. Never throws.
   */
  public AppHistory appHistory(OnChainAppPolicy policy) {
    long n = policy.blockNumber();
    String hash = policy.blockHash();
    if (policy.failure().isPresent()) {
      return AppHistory.unavailable(
          n, hash, "the policy itself could not be read: " + policy.failure().get());
    }
    String app = policy.app();
    String registryAddress = policy.registry();
    String appTopic =
        org.web3j.utils.Numeric.toHexStringWithPrefixZeroPadded(
            org.web3j.utils.Numeric.toBigInt(app), 64);
    List<String> platform = PLATFORM_EVENTS.stream().map(KmsRegistry.EVENTS::eventTopic).toList();
    List<String> registration =
        List.of(
            KmsRegistry.EVENTS.eventTopic("AppRegistered"),
            KmsRegistry.EVENTS.eventTopic("AppDeregistered"));
    DefaultBlockParameter to = DefaultBlockParameter.valueOf(BigInteger.valueOf(n));
    String what = "the history of app " + app + " up to block " + n;
    try {
      Map<ChainClient, Object> answers =
          ask(
              endpoints,
              c -> {
                List<org.web3j.protocol.core.methods.response.Log> logs =
                    new ArrayList<>(c.logs(List.of(app), List.of(), to));
                // Registry events about this app: topic0 = event, topic1 = by (any), topic2 = app.
                logs.addAll(
                    c.logs(
                        List.of(registryAddress),
                        java.util.Arrays.asList(registration, null, List.of(appTopic)),
                        to));
                logs.addAll(c.logs(List.of(registryAddress), List.of(platform), to));
                for (var l : logs) {
                  if (l.getBlockNumber() == null
                      || l.getBlockNumber().longValueExact() > n
                      || (l.getBlockNumber().longValueExact() == n
                          && !hash.equalsIgnoreCase(l.getBlockHash()))) {
                    throw new GovernanceException(
                        GovernanceException.Kind.RPC,
                        c.rpcUrl()
                            + " returned a log of block "
                            + l.getBlockNumber()
                            + " "
                            + l.getBlockHash()
                            + ", not of the chain up to block "
                            + n
                            + " "
                            + hash);
                  }
                }
                return new Logs(logs);
              });
      Logs logs = (Logs) agreed(answers, what);
      Map<ChainClient, Object> headers =
          ask(
              endpoints,
              c -> c.block(to).map(b -> b.getHash().toLowerCase(Locale.ROOT)).orElse("(no block)"));
      String now = (String) agreed(headers, "block " + n);
      if (!now.equalsIgnoreCase(hash)) {
        return AppHistory.unavailable(
            n,
            hash,
            "chain reorganized while reading "
                + what
                + ": block "
                + n
                + " was "
                + hash
                + ", now "
                + now);
      }
      return new AppHistory(n, hash, AppPolicy.events(app, logs.logs()), Optional.empty());
    } catch (Denial d) {
      if (d.failure == PolicyDecision.Failure.DISAGREEMENT) disagreements.increment();
      return AppHistory.unavailable(n, hash, d.getMessage());
    } catch (GovernanceException | RuntimeException e) {
      return AppHistory.unavailable(
          n, hash, "malformed answer reading " + what + ": " + e.getMessage());
    }
  }

  private static String hex(byte[] b) {
    return org.web3j.utils.Numeric.toHexString(b);
  }

  private PolicyDecision decide(View view, BootInfo boot) {
    Pin pin;
    boolean reused = false;
    try {
      TimedPin recent = recentPin.get();
      if (recent != null
          && pinReuseNanos > 0
          && nanoTime.getAsLong() - recent.fetchedAtNanos() < pinReuseNanos) {
        pin = recent.pin();
        reused = true;
      } else {
        pin = freshPin();
      }
    } catch (Denial d) {
      return denial(d, -1, "");
    }

    CacheKey key = new CacheKey(view, pin.number(), pin.hash(), boot);
    // A decision always involves a live RPC: with a reused pin the view is called (a cached allow
    // is never served
    // without a live chain).
    PolicyDecision cached = reused ? null : cached(key);
    if (cached != null) return cached;

    PolicyDecision decision;
    try {
      KmsRegistryContract registry = registry(pin, view.label);
      GovernanceContract.Verdict verdict =
          GovernanceContract.verdict(
              quorum(
                  view == View.APP
                      ? registry.isAppAllowed(boot.registryStruct())
                      : registry.isKmsAllowed(boot.registryStruct())));
      boolean allowed = verdict.allowed();
      AppKeyVersions versions = null;
      GpuPolicy gpuPolicy = null;
      RootAnchor anchor = null;
      if (allowed && view == View.APP) {
        // The key versions the KMS may serve and the GPU policy the view applied (so the KMS can
        // enforce it on its
        // own verified GPU facts too), both read at the very block that allowed the boot; cached
        // per (app, block).
        KeyStateKey stateKey =
            new KeyStateKey(boot.appAddress().toLowerCase(Locale.ROOT), pin.hash());
        AppChainState state;
        state = keyStates.getIfPresent(stateKey);
        if (state == null) {
          AppKeyVersions keyState =
              AppPolicy.keyVersions(quorum(app(pin, boot.appAddress(), "keyState").keyState()));
          AppPolicyContract.GpuPolicy gpu =
              quorum(app(pin, boot.appAddress(), "effectiveGpuPolicy").effectiveGpuPolicy());
          state =
              new AppChainState(
                  keyState, KmsRegistry.gpuPolicy(gpu.count, gpu.arch, gpu.minDriverVersion));
          keyStates.put(stateKey, state);
        }
        versions = state.versions();
        gpuPolicy = state.gpuPolicy();
      }
      if (allowed) anchor = anchorAt(pin);
      decision =
          PolicyDecision.fromChain(
              verdict.denial(),
              verdict.reason(),
              pin.number(),
              pin.hash(),
              versions,
              gpuPolicy,
              anchor);
    } catch (Denial d) {
      if (d.failure != PolicyDecision.Failure.DISAGREEMENT) {
        // The call may have failed because the pinned block vanished in a reorganization just now.
        try {
          checkCanonical(pin, pin.agreed());
        } catch (Denial r) {
          if (r.failure == PolicyDecision.Failure.REORG) return denial(r, pin.number(), pin.hash());
        }
      }
      return denial(d, pin.number(), pin.hash());
    } catch (RuntimeException e) {
      return PolicyDecision.failed(
          PolicyDecision.Failure.CALL_FAILED,
          "malformed answer from "
              + view.label
              + " at block "
              + pin.number()
              + ": "
              + e.getMessage(),
          pin.number(),
          pin.hash());
    }
    if (!config.cacheTtl().isZero()) {
      cache.put(key, decision);
    }
    return decision;
  }

  private RootAnchor anchorAt(Pin pin) throws Denial {
    RootAnchor known = anchors.getIfPresent(pin.hash());
    if (known != null) return known;
    var generations = quorum(registry(pin, "rootGenerations").rootGenerations());
    RootAnchor anchor = RootAnchor.of(generations.component1(), generations.component2());
    anchors.put(pin.hash(), anchor);
    return anchor;
  }

  /**
   * The registry's generated wrapper, its eth_calls answered by the quorum at the pinned block
   * (step 6).
   */
  private KmsRegistryContract registry(Pin pin, String what) {
    return (KmsRegistryContract)
        wrappers.get(
            new WrapperKey(pin, config.registryAddress(), what),
            k -> KmsRegistry.wrapper(endpoints.get(0), k.address(), quorumAt(k.pin(), k.what())));
  }

  /**
   * An app's generated wrapper, its eth_calls answered by the quorum at the pinned block (step 6).
   */
  private AppPolicyContract app(Pin pin, String appAddress, String what) {
    return (AppPolicyContract)
        wrappers.get(
            new WrapperKey(pin, appAddress, what),
            k -> AppPolicy.wrapper(endpoints.get(0), k.address(), quorumAt(k.pin(), k.what())));
  }

  private ChainTransactionManager quorumAt(Pin pin, String what) {
    return new ChainTransactionManager(null, null, (to, data) -> call(pin, to, data, what));
  }

  /**
   * Runs a wrapper's view through the quorum: a Denial comes out as itself; an answer that does not
   * decode is an IllegalArgumentException (the callers' "malformed answer", CALL_FAILED).
   */
  private static <T> T quorum(RemoteCall<T> view) throws Denial {
    try {
      return ChainTransactionManager.get(view);
    } catch (Denial | RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  private Pin freshPin() throws Denial {
    long fetchedAt = nanoTime.getAsLong();
    Pin pin = pinBlock();
    checkCanonical(pin, pin.agreed());
    lastPin.accumulateAndGet(pin, (a, b) -> a == null || b.number() >= a.number() ? b : a);
    recentPin.set(new TimedPin(pin, fetchedAt));
    return pin;
  }

  private PolicyDecision denial(Denial d, long blockNumber, String blockHash) {
    if (d.failure == PolicyDecision.Failure.DISAGREEMENT) disagreements.increment();
    return PolicyDecision.failed(d.failure, d.getMessage(), blockNumber, blockHash);
  }

  private PolicyDecision cached(CacheKey key) {
    return cache.getIfPresent(key); // null when absent or expired
  }

  /**
   * The newest block a policy read was pinned at (number, hash, timestamp in seconds), for
   * operators.
   */
  public record PinnedBlock(long number, String hash, long timestamp) {}

  /** The newest block pinned so far; empty before the first policy read. */
  public java.util.Optional<PinnedBlock> lastPinned() {
    Pin p = lastPin.get();
    return p == null
        ? java.util.Optional.empty()
        : java.util.Optional.of(new PinnedBlock(p.number(), p.hash(), p.timestamp()));
  }

  /** The chain's latest block as a quorum of endpoints reports it (timestamp in seconds). */
  public record HeadTime(long number, long timestamp, int answered) {}

  /**
   * The chain's clock: every endpoint is asked for its chain id and its latest block; among the
   * endpoints that serve the configured chain, the quorum-th newest block timestamp (and that
   * block's number), so that fewer endpoints than the quorum cannot make the chain look newer than
   * it is. What the KMS compares its own clock with; pins nothing, caches nothing.
   *
   * @throws GovernanceException an endpoint serves another chain ({@code WRONG_CHAIN}), or fewer
   *     than the quorum reported a latest block ({@code RPC}); the message names counts only, never
   *     an endpoint URL
   */
  public HeadTime headTime() throws GovernanceException {
    Map<ChainClient, Object> answers =
        ask(
            endpoints,
            c -> {
              c.checkChainId();
              EthBlock.Block b =
                  c.block(DefaultBlockParameterName.LATEST)
                      .orElseThrow(
                          () ->
                              new GovernanceException(
                                  GovernanceException.Kind.RPC, "no latest block"));
              return new long[] {b.getNumber().longValueExact(), b.getTimestamp().longValueExact()};
            });
    for (Object o : answers.values()) {
      if (o instanceof GovernanceException e && e.kind() == GovernanceException.Kind.WRONG_CHAIN) {
        throw new GovernanceException(
            GovernanceException.Kind.WRONG_CHAIN,
            "an RPC endpoint serves another chain id than " + config.chainId());
      }
    }
    List<long[]> heads =
        answers.values().stream()
            .filter(o -> o instanceof long[])
            .map(o -> (long[]) o)
            .sorted(Comparator.comparingLong((long[] h) -> h[1]).reversed())
            .toList();
    if (heads.size() < config.quorum()) {
      throw new GovernanceException(
          GovernanceException.Kind.RPC,
          "only "
              + heads.size()
              + " of "
              + endpoints.size()
              + " RPC endpoints reported their latest block, "
              + config.quorum()
              + " needed");
    }
    long[] h = heads.get(config.quorum() - 1);
    return new HeadTime(h[0], h[1], heads.size());
  }

  /** Number of cached decisions (tests and metrics). */
  public int cacheSize() {
    cache.cleanUp();
    return (int) cache.estimatedSize();
  }

  /** Steps 1-4 of the class comment. */
  private Pin pinBlock() throws Denial {
    Map<ChainClient, Object> chainIds =
        ask(
            endpoints,
            c -> {
              c.checkChainId();
              return Boolean.TRUE;
            });
    for (Object o : chainIds.values()) {
      if (o instanceof GovernanceException e && e.kind() == GovernanceException.Kind.WRONG_CHAIN) {
        throw new Denial(PolicyDecision.Failure.WRONG_CHAIN, e.getMessage());
      }
    }
    List<ChainClient> live = answered(chainIds);
    requireQuorum(live.size(), chainIds, "answered");

    Map<ChainClient, Object> heads = ask(live, this::candidateNumber);
    List<Long> numbers =
        heads.values().stream()
            .filter(o -> o instanceof Long)
            .map(o -> (Long) o)
            .sorted(Comparator.reverseOrder())
            .toList();
    requireQuorum(numbers.size(), heads, "reported their head");
    long number = numbers.get(config.quorum() - 1);
    Pin last = lastPin.get();
    if (last != null && number < last.number()) {
      number = last.number(); // never go back to an older block than one already seen
    }
    long at = number;
    Map<ChainClient, Object> headers =
        ask(
            live,
            c ->
                c.block(DefaultBlockParameter.valueOf(BigInteger.valueOf(at)))
                    .map(
                        b ->
                            new Header(
                                b.getHash().toLowerCase(Locale.ROOT),
                                b.getTimestamp().longValueExact()))
                    .orElseThrow(
                        () ->
                            new GovernanceException(
                                GovernanceException.Kind.RPC,
                                c.rpcUrl()
                                    + " has no block "
                                    + at
                                    + (last != null && at == last.number() ? NEWEST_SEEN : "")
                                    + " yet")));
    Header header;
    try {
      header = (Header) agreed(headers, "block " + at);
    } catch (Denial d) {
      boolean behind =
          headers.values().stream()
              .anyMatch(
                  o ->
                      o instanceof GovernanceException e
                          && e.getMessage().endsWith(NEWEST_SEEN + " yet"));
      if (!behind || d.failure == PolicyDecision.Failure.DISAGREEMENT) throw d;
      throw new Denial(
          PolicyDecision.Failure.STALE_BLOCK,
          d.getMessage()
              + ": the endpoints serve an older chain "
              + "than one already read; refused (monotonic)");
    }
    List<ChainClient> agreed = answered(headers);
    long age = clock.instant().getEpochSecond() - header.timestamp();
    if (age > config.maxBlockAge().toSeconds()) {
      throw new Denial(
          PolicyDecision.Failure.STALE_BLOCK,
          "pinned block "
              + at
              + " "
              + header.hash()
              + " is "
              + age
              + " s old, more than the "
              + config.maxBlockAge().toSeconds()
              + " s allowed (teekms.chain.max-block-age): "
              + "the endpoints serve a stale chain, or this node's clock is ahead of the chain's");
    }
    return new Pin(at, header.hash(), header.timestamp(), agreed);
  }

  /** The block number this endpoint would pin: its finalized block, or head − confirmations. */
  private Long candidateNumber(ChainClient c) throws GovernanceException {
    if (config.preferFinalized() && !finalizedUnsupported) {
      try {
        Optional<EthBlock.Block> finalized = c.block(DefaultBlockParameterName.FINALIZED);
        if (finalized.isPresent()) return finalized.get().getNumber().longValueExact();
      } catch (GovernanceException e) {
        if (e.getCause() instanceof IOException) throw e; // unreachable, not "unsupported"
      }
      finalizedUnsupported =
          true; // an endpoint rejects or lacks the tag: use confirmations from now on
    }
    return Math.max(0, c.blockNumber() - config.confirmations());
  }

  /**
   * Step 5: the block pinned before must still be canonical. On a reorganization the caches are
   * dropped and the new pin remembered, so the next read works on the new chain; this read is
   * denied.
   */
  private void checkCanonical(Pin pin, List<ChainClient> among) throws Denial {
    Pin last = lastPin.get();
    if (last == null) return;
    String hashNow;
    if (last.number() == pin.number()) {
      hashNow = pin.hash();
    } else if (last.number() > pin.number()) {
      return;
    } else {
      long n = last.number();
      Map<ChainClient, Object> headers =
          ask(
              among,
              c ->
                  c.block(DefaultBlockParameter.valueOf(BigInteger.valueOf(n)))
                      .map(b -> b.getHash().toLowerCase(Locale.ROOT))
                      .orElse("(no block)"));
      hashNow = (String) agreed(headers, "block " + n);
    }
    if (!hashNow.equalsIgnoreCase(last.hash())) {
      cache.invalidateAll();
      keyStates.invalidateAll();
      anchors.invalidateAll();
      wrappers.invalidateAll();
      recentPin.set(null);
      lastPin.set(pin);
      throw new Denial(
          PolicyDecision.Failure.REORG,
          "chain reorganized past pinned block "
              + last.number()
              + ": its hash was "
              + last.hash()
              + ", now "
              + hashNow
              + " (more than "
              + config.confirmations()
              + " confirmations deep); denied until re-read");
    }
  }

  /**
   * Step 6: eth_call at the pinned block on every agreeing endpoint; one agreed answer or a denial.
   */
  private String call(Pin pin, String to, String data, String what) throws Denial {
    Map<ChainClient, Object> answers =
        ask(
            pin.agreed(),
            c -> {
              try {
                return new CallAnswer(
                    c.callAtBlockHash(to, data, pin.hash()).toLowerCase(Locale.ROOT), null);
              } catch (GovernanceException e) {
                if (e.kind() == GovernanceException.Kind.REVERTED)
                  return new CallAnswer(null, e.getMessage());
                throw e;
              }
            });
    CallAnswer a = (CallAnswer) agreed(answers, what + " at block " + pin.number());
    if (a.revert() != null)
      throw new Denial(PolicyDecision.Failure.CALL_FAILED, "policy view reverted: " + a.revert());
    return a.data();
  }

  /**
   * The one answer the endpoints gave: DISAGREEMENT naming who said what when they differ,
   * RPC_UNAVAILABLE when fewer than the quorum answered.
   */
  private Object agreed(Map<ChainClient, Object> answers, String what) throws Denial {
    Map<Object, List<String>> byAnswer = new LinkedHashMap<>();
    answers.forEach(
        (c, o) -> {
          if (!(o instanceof GovernanceException))
            byAnswer.computeIfAbsent(o, k -> new ArrayList<>()).add(c.rpcUrl());
        });
    if (byAnswer.size() > 1) {
      throw new Denial(
          PolicyDecision.Failure.DISAGREEMENT,
          "RPC endpoints disagree on "
              + what
              + ": "
              + byAnswer.entrySet().stream()
                  .map(e -> e.getValue() + " say " + describe(e.getKey()))
                  .collect(Collectors.joining("; "))
              + " (one of them lies or serves another chain; denied)");
    }
    int count = byAnswer.values().stream().mapToInt(List::size).sum();
    requireQuorum(count, answers, "answered " + what);
    return byAnswer.keySet().iterator().next();
  }

  private static String describe(Object answer) {
    if (answer instanceof Header h)
      return "hash " + h.hash() + " (timestamp " + h.timestamp() + ")";
    if (answer instanceof CallAnswer a) {
      if (a.revert() != null) return "revert \"" + a.revert() + "\"";
      String d = a.data();
      return d.length() > 74 ? d.substring(0, 74) + "… (" + (d.length() - 2) / 2 + " bytes)" : d;
    }
    return String.valueOf(answer);
  }

  private void requireQuorum(int count, Map<ChainClient, Object> answers, String what)
      throws Denial {
    if (count >= config.quorum()) return;
    List<String> errors =
        answers.values().stream()
            .filter(o -> o instanceof GovernanceException)
            .map(o -> ((GovernanceException) o).getMessage())
            .toList();
    if (endpoints.size() == 1) {
      throw new Denial(
          failureOf(
              answers.values().stream()
                  .filter(o -> o instanceof GovernanceException)
                  .map(o -> (GovernanceException) o)
                  .findFirst()
                  .orElse(null)),
          errors.isEmpty() ? "no answer" : errors.get(0));
    }
    throw new Denial(
        PolicyDecision.Failure.RPC_UNAVAILABLE,
        "only "
            + count
            + " of "
            + endpoints.size()
            + " RPC endpoints "
            + what
            + ", "
            + config.quorum()
            + " needed: "
            + String.join("; ", errors));
  }

  private static PolicyDecision.Failure failureOf(GovernanceException e) {
    if (e == null) return PolicyDecision.Failure.RPC_UNAVAILABLE;
    return switch (e.kind()) {
      case WRONG_CHAIN -> PolicyDecision.Failure.WRONG_CHAIN;
      case RPC ->
          e.getCause() instanceof IOException || e.getCause() instanceof RuntimeException
              ? PolicyDecision.Failure.RPC_UNAVAILABLE
              : PolicyDecision.Failure.CALL_FAILED;
      default -> PolicyDecision.Failure.CALL_FAILED;
    };
  }

  private static List<ChainClient> answered(Map<ChainClient, Object> answers) {
    return answers.entrySet().stream()
        .filter(e -> !(e.getValue() instanceof GovernanceException))
        .map(Map.Entry::getKey)
        .toList();
  }

  /**
   * Asks every endpoint in parallel; each value is its answer or the GovernanceException it failed
   * with.
   */
  private <T> Map<ChainClient, Object> ask(List<ChainClient> among, EndpointCall<T> call) {
    Map<ChainClient, Object> out = new LinkedHashMap<>();
    if (fanOut == null || among.size() == 1) {
      for (ChainClient c : among) out.put(c, once(c, call));
      return out;
    }
    Map<ChainClient, CompletableFuture<Object>> futures = new LinkedHashMap<>();
    for (ChainClient c : among)
      futures.put(c, CompletableFuture.supplyAsync(() -> once(c, call), fanOut));
    futures.forEach((c, f) -> out.put(c, f.join()));
    return out;
  }

  private static <T> Object once(ChainClient c, EndpointCall<T> call) {
    try {
      return call.apply(c);
    } catch (GovernanceException e) {
      return e;
    } catch (RuntimeException e) {
      return new GovernanceException(
          GovernanceException.Kind.RPC,
          "malformed answer from " + c.rpcUrl() + ": " + e.getMessage(),
          e);
    }
  }

  @Override
  public void close() {
    endpoints.forEach(ChainClient::close);
    if (fanOut != null) fanOut.shutdownNow();
  }
}
