package org.teekms.kms.keys;

import java.time.Clock;
import java.util.HexFormat;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;
import org.teekms.keys.AppId;
import org.teekms.keys.VersionRef;
import org.teekms.keys.KeyVersionPolicy;
import org.teekms.keys.KmsKeyDeriver;
import org.teekms.kms.admission.AdmissionDenied;
import org.teekms.kms.admission.DenyCode;
import org.teekms.kms.grant.PolicyBlockRef;
import org.teekms.kms.keystate.AppKeyState;
import org.teekms.kms.operator.RegistryOwnerPort;

/**
 * Answers AppEnv/GetAppEnvEncryptPubKey (docs/env-secrets.md §3). Read-only: it writes nothing, audits nothing and
 * creates no key version. Checks, in order; the first failure is the reason:
 * <ol>
 *   <li>the app id is 20 bytes ({@code REQUEST_INVALID});</li>
 *   <li>the chain is read at a pinned block (head − confirmations, by hash) ({@code CHAIN_UNAVAILABLE});</li>
 *   <li>the app is REGISTERED there ({@code APP_NOT_REGISTERED}) and its {@code currentKeyVersion} /
 *       {@code minKeyVersion} are plausible (1 ≤ min ≤ current), else {@code CHAIN_UNAVAILABLE};</li>
 *   <li>the root generation of that version: the one this KMS pinned it to if it already created the version, else the
 *       CURRENT generation, which is what the first admission (or app rotation) will pin it to;</li>
 *   <li>derivation ({@code KMS_UNAVAILABLE} if the generation's secret is not held, e.g. destroyed).</li>
 * </ol>
 * The key of a version not yet created here can only differ from the one later served if a root rotation happens in
 * between; an agent then fails its boot with ENV_DECRYPTION_FAILED and the owner re-encrypts (docs/operations.md).
 */
public final class EnvPublicKeyReader {
  private final RegistryOwnerPort chain;
  private final long chainId;
  private final Function<byte[], Optional<AppKeyState>> state;
  private final Supplier<KmsKeyDeriver> deriver;
  private final Clock clock;

  /** What the service encodes. */
  public record Answer(EnvPublicKeyIssuer.EnvPublicKey key, PolicyBlockRef block) {}

  public EnvPublicKeyReader(RegistryOwnerPort chain, long chainId, Function<byte[], Optional<AppKeyState>> state,
      Supplier<KmsKeyDeriver> deriver, Clock clock) {
    this.chain = chain;
    this.chainId = chainId;
    this.state = state;
    this.deriver = deriver;
    this.clock = clock;
  }

  public Answer read(byte[] appId) {
    if (appId.length != 20) {
      throw new AdmissionDenied(DenyCode.REQUEST_INVALID, "app_id must be 20 bytes, got " + appId.length);
    }
    String app = "0x" + HexFormat.of().formatHex(appId);
    RegistryOwnerPort.OwnerRead pin = chain.owner();
    if (pin.failure() != null) {
      throw new AdmissionDenied(DenyCode.CHAIN_UNAVAILABLE, "cannot pin a block: " + pin.failure());
    }
    RegistryOwnerPort.AppVersionsRead versions = chain.appVersions(appId, pin.blockHash());
    if (versions.notRegistered()) {
      throw new AdmissionDenied(DenyCode.APP_NOT_REGISTERED, versions.failure() + " at block " + pin.blockNumber());
    }
    if (versions.failure() != null) {
      throw new AdmissionDenied(DenyCode.CHAIN_UNAVAILABLE, versions.failure());
    }
    if (versions.minimum() < 1 || versions.current() < versions.minimum() || versions.current() > Integer.MAX_VALUE) {
      throw new AdmissionDenied(DenyCode.CHAIN_UNAVAILABLE, "app " + app + " reports implausible key versions (current "
          + versions.current() + ", min " + versions.minimum() + ") at block " + pin.blockNumber());
    }
    int current = (int) versions.current();
    KmsKeyDeriver d;
    Optional<AppKeyState> known;
    try {
      d = deriver.get();
      known = state.apply(appId);
    } catch (RuntimeException e) {
      throw new AdmissionDenied(DenyCode.KMS_UNAVAILABLE, "key state unreadable: " + e.getClass().getSimpleName());
    }
    int generation = known.flatMap(s -> s.version(current)).map(AppKeyState.KeyVersion::rootGeneration)
        .orElse(d.keyring().currentGeneration());
    try {
      EnvPublicKeyIssuer.EnvPublicKey key = EnvPublicKeyIssuer.issue(d, new VersionRef(generation, AppId.of(appId), current),
          new KeyVersionPolicy(current, (int) versions.minimum(), Set.of()), clock.instant().getEpochSecond());
      byte[] hash = HexFormat.of().parseHex(pin.blockHash().startsWith("0x") ? pin.blockHash().substring(2)
          : pin.blockHash());
      return new Answer(key, new PolicyBlockRef(chainId, pin.blockNumber(), hash));
    } catch (RuntimeException e) {
      throw new AdmissionDenied(DenyCode.KMS_UNAVAILABLE, "root generation " + generation + " of app " + app
          + " version " + current + " cannot be derived: " + e.getMessage());
    }
  }
}
