package org.teekms.kms.admission;

import io.smallrye.mutiny.Uni;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Predicate;
import org.jboss.logging.Logger;
import org.teekms.keys.AppId;
import org.teekms.kms.grant.GrantLedger;

/**
 * Audits the refusals that happen before admission, when the client's RA-TLS certificate did not
 * verify (a forged or foreign quote, an event log that does not replay, a certificate expired or
 * unbound, GPU evidence that does not verify, collateral unavailable): there is no verified app to
 * file them under, so they are filed under the app the certificate <em>claims</em> ({@code kind}
 * {@code DENY_APP_KEYS_CLAIMED} / {@code DENY_SIGN_CERT_CLAIMED}, fact {@code appIdVerified:
 * false}), and an app's owner sees that someone presented its name and was refused. Refusals after
 * the handshake verified (debug TD, TCB, OS image, GPU policy …) are audited by {@link
 * AdmissionController} under the verified app.
 *
 * <p>Anyone can name any app, so the writes are bounded per source address ({@code
 * teekms.audit.claimed-refusals-*}): over budget a refusal is counted ({@link #dropped}) and not
 * written. Not audited at all: {@code RATE_LIMITED} (the certificate was never looked at) and
 * {@code NO_CLIENT_CERTIFICATE} (nothing claimed). In order:
 *
 * <ol>
 *   <li>the code is one of those two: nothing;
 *   <li>the source is over budget: counted as dropped;
 *   <li>the certificate names no app (it does not parse, or has no single 20-byte app-id event):
 *       counted as unnamed;
 *   <li>else written (best effort, bounded by the database wait: the refusal stands either way).
 * </ol>
 */
public final class ClaimedRefusals {

  private static final Logger LOG = Logger.getLogger(ClaimedRefusals.class);
  static final Set<DenyCode> NOT_AUDITED =
      Set.of(DenyCode.RATE_LIMITED, DenyCode.NO_CLIENT_CERTIFICATE);

  private final GrantLedger ledger;
  private final Predicate<String> perSource;
  private final Duration dbWait;
  private final LongAdder written = new LongAdder();
  private final LongAdder dropped = new LongAdder();
  private final LongAdder unnamed = new LongAdder();

  /**
   * @param perSource takes one unit of a source's budget; false when the source is over it
   */
  public ClaimedRefusals(GrantLedger ledger, Predicate<String> perSource, Duration dbWait) {
    this.ledger = ledger;
    this.perSource = perSource;
    this.dbWait = dbWait;
  }

  /**
   * Audits {@code denied} of a call of {@code kind} ({@code DENY_APP_KEYS} or {@code
   * DENY_SIGN_CERT}) from {@code source}; completes (never fails) once written, skipped or failed.
   *
   * @param claimedApp read lazily, only for a refusal within budget (it parses the certificate)
   */
  public Uni<Void> record(
      String kind,
      String source,
      java.util.function.Supplier<Optional<AppId>> claimedApp,
      AdmissionDenied denied) {
    if (NOT_AUDITED.contains(denied.code())) {
      return Uni.createFrom().voidItem();
    }
    if (!perSource.test(source)) {
      dropped.increment();
      return Uni.createFrom().voidItem();
    }
    Optional<AppId> app = claimedApp.get();
    if (app.isEmpty()) {
      unnamed.increment();
      return Uni.createFrom().voidItem();
    }
    Map<String, Object> facts = new LinkedHashMap<>();
    facts.put("appIdVerified", false);
    facts.put("appIdFrom", "app-id event of the client certificate's event log, not verified");
    facts.put("detail", denied.detail());
    facts.put("source", source);
    return ledger
        .recordDenial(kind + "_CLAIMED", app.get(), denied.code().name(), facts)
        .ifNoItem()
        .after(dbWait)
        .fail()
        .onItem()
        .invoke(written::increment)
        .onFailure()
        .invoke(
            e ->
                LOG.warnf(
                    "refusal (%s) of a certificate claiming app 0x%s could not be audited: %s",
                    denied.code(), app.get().toHex(), e.getMessage()))
        .onFailure()
        .recoverWithNull()
        .replaceWithVoid();
  }

  /** Refusals written under their claimed app. */
  public long written() {
    return written.sum();
  }

  /** Refusals not written because their source was over budget. */
  public long dropped() {
    return dropped.sum();
  }

  /** Refusals within budget whose certificate named no app. */
  public long unnamed() {
    return unnamed.sum();
  }
}
