package org.teekms.kms.keys;

import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import java.time.Clock;
import java.util.HexFormat;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;
import org.teekms.keys.AppId;
import org.teekms.keys.KeyVersionPolicy;
import org.teekms.keys.KmsKeyDeriver;
import org.teekms.keys.VersionRef;
import org.teekms.kms.admission.AdmissionDenied;
import org.teekms.kms.admission.DenyCode;
import org.teekms.kms.grant.PolicyBlockRef;
import org.teekms.kms.keystate.AppKeyState;
import org.teekms.kms.operator.RegistryOwnerPort;

/**
 * Answers AppEnv/GetAppEnvEncryptPubKey (docs/env-secrets.md §3). Read-only: it writes nothing,
 * audits nothing and creates no key version. Checks, in order; the first failure is the reason:
 *
 * <ol>
 *   <li>the app id is 20 bytes ({@code REQUEST_INVALID});
 *   <li>the chain is read at a pinned block (head − confirmations, by hash) ({@code
 *       CHAIN_UNAVAILABLE});
 *   <li>the app is REGISTERED there ({@code APP_NOT_REGISTERED}) and its {@code currentKeyVersion}
 *       / {@code minKeyVersion} are plausible (1 ≤ min ≤ current), else {@code CHAIN_UNAVAILABLE};
 *   <li>the root generation of that version: the one this KMS pinned it to if it already created
 *       the version, else the CURRENT generation, which is what the first admission (or app
 *       rotation) will pin it to;
 *   <li>derivation ({@code KMS_UNAVAILABLE} if the generation's secret is not held, e.g.
 *       destroyed).
 * </ol>
 *
 * The key of a version not yet created here can only differ from the one later served if a root
 * rotation happens in between; an agent then fails its boot with ENV_DECRYPTION_FAILED and the
 * owner re-encrypts (docs/operations.md). Non-blocking: the chain reads (blocking RPCs) and the
 * derivation run on the worker pool, the database reads are reactive; the answer (or the refusal,
 * as {@link AdmissionDenied}) arrives through the Uni.
 */
public final class EnvPublicKeyReader {
  private final RegistryOwnerPort chain;
  private final long chainId;
  private final Function<AppId, Uni<Optional<AppKeyState>>> state;
  private final Supplier<Uni<KmsKeyDeriver>> deriver;
  private final Clock clock;

  /** What the service encodes. */
  public record Answer(EnvPublicKeyIssuer.EnvPublicKey key, PolicyBlockRef block) {}

  /** The app's versions as the chain states them at the pinned block (checks 1-3 passed). */
  private record Pinned(AppId app, int current, int minimum, long blockNumber, String blockHash) {}

  /**
   * @param state the app's key state in this KMS's database (reactive)
   * @param deriver a deriver over the keyring as of now (reactive: the keyring is refreshed from
   *     the database first)
   */
  public EnvPublicKeyReader(
      RegistryOwnerPort chain,
      long chainId,
      Function<AppId, Uni<Optional<AppKeyState>>> state,
      Supplier<Uni<KmsKeyDeriver>> deriver,
      Clock clock) {
    this.chain = chain;
    this.chainId = chainId;
    this.state = state;
    this.deriver = deriver;
    this.clock = clock;
  }

  /** The answer, or a failure with {@link AdmissionDenied} carrying the first check that failed. */
  public Uni<Answer> read(byte[] appId) {
    if (appId.length != 20) {
      return Uni.createFrom()
          .failure(
              new AdmissionDenied(
                  DenyCode.REQUEST_INVALID, "app_id must be 20 bytes, got " + appId.length));
    }
    AppId app = AppId.of(appId);
    return Uni.createFrom()
        .item(() -> pin(app))
        .runSubscriptionOn(Infrastructure.getDefaultWorkerPool())
        .chain(
            pin ->
                Uni.combine()
                    .all()
                    .unis(
                        Uni.createFrom().deferred(deriver::get),
                        Uni.createFrom().deferred(() -> state.apply(app)))
                    .asTuple()
                    .onFailure(e -> !(e instanceof AdmissionDenied))
                    .transform(
                        e ->
                            new AdmissionDenied(
                                DenyCode.KMS_UNAVAILABLE,
                                "key state unreadable: " + e.getClass().getSimpleName()))
                    .emitOn(Infrastructure.getDefaultWorkerPool())
                    .map(t -> issue(pin, t.getItem1(), t.getItem2())));
  }

  /** Checks 2 and 3: the chain read at a pinned block. Blocking (RPCs). */
  private Pinned pin(AppId appId) {
    String app = appId.toString();
    RegistryOwnerPort.OwnerRead pin = chain.owner();
    if (pin.failure() != null) {
      throw new AdmissionDenied(DenyCode.CHAIN_UNAVAILABLE, "cannot pin a block: " + pin.failure());
    }
    RegistryOwnerPort.AppVersionsRead versions = chain.appVersions(appId, pin.blockHash());
    if (versions.notRegistered()) {
      throw new AdmissionDenied(
          DenyCode.APP_NOT_REGISTERED, versions.failure() + " at block " + pin.blockNumber());
    }
    if (versions.failure() != null) {
      throw new AdmissionDenied(DenyCode.CHAIN_UNAVAILABLE, versions.failure());
    }
    if (versions.minimum() < 1
        || versions.current() < versions.minimum()
        || versions.current() > Integer.MAX_VALUE) {
      throw new AdmissionDenied(
          DenyCode.CHAIN_UNAVAILABLE,
          "app "
              + app
              + " reports implausible key versions (current "
              + versions.current()
              + ", min "
              + versions.minimum()
              + ") at block "
              + pin.blockNumber());
    }
    return new Pinned(
        appId,
        (int) versions.current(),
        (int) versions.minimum(),
        pin.blockNumber(),
        pin.blockHash());
  }

  /** Checks 4 and 5: the generation of the version, then derivation. CPU-bound. */
  private Answer issue(Pinned pin, KmsKeyDeriver d, Optional<AppKeyState> known) {
    int current = pin.current();
    int generation =
        known
            .flatMap(s -> s.version(current))
            .map(AppKeyState.KeyVersion::rootGeneration)
            .orElse(d.keyring().currentGeneration());
    try {
      EnvPublicKeyIssuer.EnvPublicKey key =
          EnvPublicKeyIssuer.issue(
              d,
              new VersionRef(generation, pin.app(), current),
              new KeyVersionPolicy(current, pin.minimum(), Set.of()),
              clock.instant().getEpochSecond());
      byte[] hash =
          HexFormat.of()
              .parseHex(
                  pin.blockHash().startsWith("0x")
                      ? pin.blockHash().substring(2)
                      : pin.blockHash());
      return new Answer(key, new PolicyBlockRef(chainId, pin.blockNumber(), hash));
    } catch (RuntimeException e) {
      throw new AdmissionDenied(
          DenyCode.KMS_UNAVAILABLE,
          "root generation "
              + generation
              + " of app "
              + pin.app()
              + " version "
              + current
              + " cannot be derived: "
              + e.getMessage());
    }
  }
}
