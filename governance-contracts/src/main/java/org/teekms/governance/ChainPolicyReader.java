package org.teekms.governance;

import java.io.IOException;
import java.math.BigInteger;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;
import org.web3j.protocol.core.DefaultBlockParameter;
import org.web3j.protocol.core.DefaultBlockParameterName;
import org.web3j.protocol.core.methods.response.EthBlock;

/**
 * Reads KmsRegistry.isAppAllowed / isKmsAllowed with eth_call at a pinned block: the chain's "finalized" block when
 * configured and supported, else head − confirmations. The call names the block by hash (EIP-1898,
 * requireCanonical), and every read checks that the block pinned before is still canonical, so a reorganization
 * deeper than the confirmations is reported (REORG) instead of silently changing a decision. Decisions are cached
 * per (view, block, BootInfo) for {@code cacheTtl}. Never throws; every failure is a denial.
 */
public final class ChainPolicyReader implements PolicyReader, AutoCloseable {
  private final PolicyReaderConfig config;
  private final ChainClient chain;
  private final LongSupplier nanoTime;
  private final Map<CacheKey, CachedDecision> cache;
  private final AtomicReference<Pin> lastPin = new AtomicReference<>();
  private volatile boolean finalizedUnsupported;
  private final long pinReuseNanos;
  private final AtomicReference<TimedPin> recentPin = new AtomicReference<>();
  private final Map<KeyStateKey, AppChainState> keyStates;

  private record Pin(long number, String hash) {}

  private record TimedPin(Pin pin, long fetchedAtNanos) {}

  /** keyState() of an app at a block hash: a pure function of the two (bounded map, dropped on a reorganization). */
  private record KeyStateKey(String app, String blockHash) {}

  private record AppChainState(AppKeyVersions versions, GpuPolicy gpuPolicy) {}

  private record CacheKey(String view, long blockNumber, String blockHash, BootInfo boot) {}

  private record CachedDecision(PolicyDecision decision, long expiresAtNanos) {}

  /** Thrown inside this class only: a reorganization past a pinned block. */
  private static final class ReorgException extends Exception {
    private static final long serialVersionUID = 1L;

    ReorgException(String message) {
      super(message);
    }
  }

  public ChainPolicyReader(PolicyReaderConfig config) {
    this(config, Duration.ZERO, System::nanoTime);
  }

  /**
   * @param pinReuse how long one pinned block (and the chain id check made with it) serves further decisions before
   *     the head is read again; zero = every decision pins afresh. A few seconds (below the block time) saves three of
   *     the five RPC requests of a decision under load, at the price of policy changes applying that much later.
   */
  public ChainPolicyReader(PolicyReaderConfig config, Duration pinReuse) {
    this(config, pinReuse, System::nanoTime);
  }

  ChainPolicyReader(PolicyReaderConfig config, LongSupplier nanoTime) {
    this(config, Duration.ZERO, nanoTime);
  }

  ChainPolicyReader(PolicyReaderConfig config, Duration pinReuse, LongSupplier nanoTime) {
    if (pinReuse.isNegative()) throw new IllegalArgumentException("pinReuse is negative");
    this.pinReuseNanos = pinReuse.toNanos();
    this.config = config;
    this.nanoTime = nanoTime;
    this.chain = ChainClient.connect(config.rpcUrl(), config.chainId(), config.rpcTimeout(), Duration.ofSeconds(1));
    int max = config.cacheMaxEntries();
    this.cache = new LinkedHashMap<>(16, 0.75f, true) {
      private static final long serialVersionUID = 1L;

      @Override
      protected boolean removeEldestEntry(Map.Entry<CacheKey, CachedDecision> eldest) {
        return size() > max;
      }
    };
    this.keyStates = new LinkedHashMap<>(16, 0.75f, true) {
      private static final long serialVersionUID = 1L;

      @Override
      protected boolean removeEldestEntry(Map.Entry<KeyStateKey, AppChainState> eldest) {
        return size() > Math.max(16, max);
      }
    };
  }

  public PolicyReaderConfig config() {
    return config;
  }

  @Override
  public PolicyDecision isAppAllowed(BootInfo boot) {
    return decide("isAppAllowed", boot);
  }

  @Override
  public PolicyDecision isKmsAllowed(BootInfo boot) {
    return decide("isKmsAllowed", boot);
  }

  @Override
  @SuppressWarnings("unchecked")
  public PublishedRootKeys kmsRootPublicKeys(long generation) {
    if (generation < 1 || generation > 0xffffffffL) {
      return PublishedRootKeys.unavailable(generation, "generation " + generation + " is not a uint32 >= 1");
    }
    Pin pin;
    try {
      chain.checkChainId();
      pin = pinBlock();
      checkStillCanonical(pin);
    } catch (GovernanceException e) {
      return PublishedRootKeys.unavailable(generation, e.getMessage());
    } catch (ReorgException e) {
      return PublishedRootKeys.unavailable(generation, "REORG: " + e.getMessage());
    }
    try {
      long published = ((java.math.BigInteger) KmsRegistry.ABI.decodeResult("kmsGeneration",
          chain.callAtBlockHash(config.registryAddress(), KmsRegistry.ABI.encodeCall("kmsGeneration"), pin.hash()))
          .get(0)).longValueExact();
      if (generation > published) {
        return PublishedRootKeys.notPublished(generation, pin.number(), pin.hash(), "the registry publishes root "
            + "generations up to " + published + " at block " + pin.number());
      }
      List<Object> identity = (List<Object>) KmsRegistry.ABI.decodeResult("kmsIdentity", chain.callAtBlockHash(
          config.registryAddress(), KmsRegistry.ABI.encodeCall("kmsIdentity", generation),
          pin.hash())).get(0);
      return PublishedRootKeys.published(generation, (byte[]) identity.get(0), pin.number(), pin.hash());
    } catch (GovernanceException e) {
      return PublishedRootKeys.unavailable(generation, e.getMessage());
    } catch (RuntimeException e) {
      return PublishedRootKeys.unavailable(generation, "malformed answer from kmsIdentity at block " + pin.number()
          + ": " + e.getMessage());
    }
  }

  private PolicyDecision decide(String view, BootInfo boot) {
    Pin pin;
    boolean reused = false;
    try {
      TimedPin recent = recentPin.get();
      if (recent != null && pinReuseNanos > 0 && nanoTime.getAsLong() - recent.fetchedAtNanos() < pinReuseNanos) {
        pin = recent.pin();
        reused = true;
      } else {
        long fetchedAt = nanoTime.getAsLong();
        chain.checkChainId();
        pin = pinBlock();
        checkStillCanonical(pin);
        recentPin.set(new TimedPin(pin, fetchedAt));
      }
    } catch (GovernanceException e) {
      return failure(e, -1, "");
    } catch (ReorgException e) {
      return PolicyDecision.failed(PolicyDecision.Failure.REORG, e.getMessage());
    }

    CacheKey key = new CacheKey(view, pin.number(), pin.hash(), boot);
    // A decision always involves a live RPC: with a reused pin the view is called (a cached allow is never served
    // without a live chain).
    PolicyDecision cached = reused ? null : cached(key);
    if (cached != null) return cached;

    PolicyDecision decision;
    try {
      String data = KmsRegistry.ABI.encodeCall(view, boot.abiTuple());
      String result = chain.callAtBlockHash(config.registryAddress(), data, pin.hash());
      List<Object> out = KmsRegistry.ABI.decodeResult(view, result);
      boolean allowed = (Boolean) out.get(0);
      AppKeyVersions versions = null;
      GpuPolicy gpuPolicy = null;
      if (allowed && view.equals("isAppAllowed")) {
        // The key versions the KMS may serve and the GPU policy the view applied (so the KMS can enforce it on its
        // own verified GPU facts too), both read at the very block that allowed the boot; cached per (app, block).
        KeyStateKey stateKey = new KeyStateKey(boot.appAddress().toLowerCase(java.util.Locale.ROOT), pin.hash());
        AppChainState state;
        synchronized (keyStates) {
          state = keyStates.get(stateKey);
        }
        if (state == null) {
          String keyState = chain.callAtBlockHash(boot.appAddress(), AppPolicy.ABI.encodeCall("keyState"), pin.hash());
          String gpu = chain.callAtBlockHash(boot.appAddress(), AppPolicy.ABI.encodeCall("effectiveGpuPolicy"), pin.hash());
          state = new AppChainState(AppPolicy.keyVersions(AppPolicy.ABI.decodeResult("keyState", keyState)),
              KmsRegistry.gpuPolicy(AppPolicy.ABI.decodeResult("effectiveGpuPolicy", gpu).get(0)));
          synchronized (keyStates) {
            keyStates.put(stateKey, state);
          }
        }
        versions = state.versions();
        gpuPolicy = state.gpuPolicy();
      }
      decision = PolicyDecision.fromChain(allowed, (String) out.get(1), pin.number(), pin.hash(), versions, gpuPolicy);
    } catch (GovernanceException e) {
      // The call may have failed because the pinned block vanished in a reorganization just now.
      try {
        checkStillCanonical(pin);
      } catch (ReorgException r) {
        return PolicyDecision.failed(PolicyDecision.Failure.REORG, r.getMessage(), pin.number(), pin.hash());
      } catch (GovernanceException ignored) {
        // report the original failure
      }
      return failure(e, pin.number(), pin.hash());
    } catch (RuntimeException e) {
      return PolicyDecision.failed(PolicyDecision.Failure.CALL_FAILED,
          "malformed answer from " + view + " at block " + pin.number() + ": " + e.getMessage(), pin.number(),
          pin.hash());
    }
    if (!config.cacheTtl().isZero()) {
      synchronized (cache) {
        cache.put(key, new CachedDecision(decision, nanoTime.getAsLong() + config.cacheTtl().toNanos()));
      }
    }
    return decision;
  }

  private PolicyDecision cached(CacheKey key) {
    synchronized (cache) {
      CachedDecision c = cache.get(key);
      if (c == null) return null;
      if (nanoTime.getAsLong() - c.expiresAtNanos() >= 0) {
        cache.remove(key);
        return null;
      }
      return c.decision();
    }
  }

  /** Number of cached decisions (tests and metrics). */
  public int cacheSize() {
    synchronized (cache) {
      return cache.size();
    }
  }

  private Pin pinBlock() throws GovernanceException {
    if (config.preferFinalized() && !finalizedUnsupported) {
      try {
        Optional<EthBlock.Block> finalized = chain.block(DefaultBlockParameterName.FINALIZED);
        if (finalized.isPresent()) return pinOf(finalized.get());
      } catch (GovernanceException e) {
        if (e.getCause() instanceof IOException) throw e; // unreachable, not "unsupported"
      }
      finalizedUnsupported = true; // the endpoint rejects or lacks the tag: use confirmations from now on
    }
    long head = chain.blockNumber();
    long number = Math.max(0, head - config.confirmations());
    EthBlock.Block block = chain.block(DefaultBlockParameter.valueOf(BigInteger.valueOf(number)))
        .orElseThrow(() -> new GovernanceException(GovernanceException.Kind.RPC,
            "the node reports head " + head + " but has no block " + number));
    return pinOf(block);
  }

  private static Pin pinOf(EthBlock.Block block) {
    return new Pin(block.getNumber().longValueExact(), block.getHash());
  }

  /**
   * The block pinned before this one must still be canonical. On a reorganization the cache is dropped and the new
   * pin remembered, so the next read works on the new chain; this read is denied.
   */
  private void checkStillCanonical(Pin pin) throws GovernanceException, ReorgException {
    Pin last = lastPin.get();
    if (last != null) {
      String hashNow;
      if (last.number() == pin.number()) {
        hashNow = pin.hash();
      } else {
        hashNow = chain.block(DefaultBlockParameter.valueOf(BigInteger.valueOf(last.number())))
            .map(EthBlock.Block::getHash).orElse("(no block)");
      }
      if (!hashNow.equalsIgnoreCase(last.hash())) {
        synchronized (cache) {
          cache.clear();
        }
        synchronized (keyStates) {
          keyStates.clear();
        }
        recentPin.set(null);
        lastPin.set(pin);
        throw new ReorgException("chain reorganized past pinned block " + last.number() + ": its hash was "
            + last.hash() + ", now " + hashNow + " (more than " + config.confirmations()
            + " confirmations deep); denied until re-read");
      }
      if (pin.number() < last.number()) return; // an older canonical block: keep the newer reference
    }
    lastPin.set(pin);
  }

  private static PolicyDecision failure(GovernanceException e, long blockNumber, String blockHash) {
    PolicyDecision.Failure f = switch (e.kind()) {
      case WRONG_CHAIN -> PolicyDecision.Failure.WRONG_CHAIN;
      case RPC -> e.getCause() instanceof IOException || e.getCause() instanceof RuntimeException
          ? PolicyDecision.Failure.RPC_UNAVAILABLE
          : PolicyDecision.Failure.CALL_FAILED;
      default -> PolicyDecision.Failure.CALL_FAILED;
    };
    String prefix = e.kind() == GovernanceException.Kind.REVERTED ? "policy view reverted: " : "";
    return PolicyDecision.failed(f, prefix + e.getMessage(), blockNumber, blockHash);
  }

  @Override
  public void close() {
    chain.close();
  }
}
