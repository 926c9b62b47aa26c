package org.teekms.kms.roots;

import io.smallrye.mutiny.Uni;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Arrays;
import java.util.Map;
import org.teekms.kms.audit.AuditDetail;
import org.teekms.kms.audit.AuditDraft;
import org.teekms.kms.audit.AuditLog;
import org.teekms.kms.db.StateSessions;

/**
 * Creates root generation 1 on the first start of a KMS deployment: 32 random bytes from the TEE's
 * RNG, sealed at once, audited in the same transaction (one Hibernate Reactive session; the audit
 * append is explicit SQL in it). Replicas starting together serialize on a transaction-scoped
 * advisory lock, so exactly one of them generates; the others find the generation already there.
 */
public final class RootBootstrap {

  /** Advisory lock key: ASCII "teekms-b" as a 64-bit integer. */
  static final long BOOTSTRAP_LOCK = 0x7465656b6d732d62L;

  private RootBootstrap() {}

  /**
   * @return true if this call created generation 1, false if a generation already existed
   */
  public static Uni<Boolean> ensureBootstrapped(
      StateSessions sessions, RootGenerationStore roots, AuditLog audit, Clock clock) {
    return sessions.inTransaction(
        session ->
            session
                .createNativeQuery(
                    "SELECT 1 FROM (SELECT pg_advisory_xact_lock(" + BOOTSTRAP_LOCK + ")) AS l",
                    Integer.class)
                .getSingleResult()
                .chain(() -> roots.count(session))
                .chain(
                    count -> {
                      if (count > 0) {
                        return Uni.createFrom().item(false);
                      }
                      long now = clock.millis();
                      byte[] secret = RootSecrets.draw(new SecureRandom());
                      Uni<Void> insert;
                      try {
                        insert = roots.insert(session, 1, RootState.CURRENT, secret, now);
                      } finally {
                        Arrays.fill(secret, (byte) 0);
                      }
                      return insert
                          .chain(
                              () ->
                                  audit.append(
                                      session,
                                      AuditDraft.allowed(
                                          "ROOT_GENERATION",
                                          null,
                                          AuditDetail.json(
                                              Map.of(
                                                  "step",
                                                  "bootstrap",
                                                  "generation",
                                                  1,
                                                  "kmsId",
                                                  roots.kmsId())))))
                          .replaceWith(true);
                    }));
  }
}
