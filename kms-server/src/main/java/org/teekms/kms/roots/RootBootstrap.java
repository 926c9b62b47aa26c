package org.teekms.kms.roots;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Arrays;
import java.util.Map;
import org.teekms.kms.audit.AuditDetail;
import org.teekms.kms.audit.AuditDraft;
import org.teekms.kms.audit.AuditLog;

/**
 * Creates root generation 1 on the first start of a KMS deployment: 32 random bytes from the TEE's
 * RNG, sealed at once, audited in the same transaction. Replicas starting together serialize on a
 * transaction-scoped advisory lock, so exactly one of them generates; the others find the
 * generation already there.
 */
public final class RootBootstrap {

  /** Advisory lock key: ASCII "teekms-b" as a 64-bit integer. */
  static final long BOOTSTRAP_LOCK = 0x7465656b6d732d62L;

  private RootBootstrap() {}

  /**
   * @return true if this call created generation 1, false if a generation already existed
   */
  public static Uni<Boolean> ensureBootstrapped(
      Pool pool, RootGenerationStore roots, AuditLog audit, Clock clock) {
    return pool.withTransaction(
        tx ->
            tx.query("SELECT pg_advisory_xact_lock(" + BOOTSTRAP_LOCK + ")")
                .execute()
                .chain(() -> tx.query("SELECT count(*) FROM root_generation").execute())
                .onItem()
                .transformToUni(
                    rows -> {
                      if (rows.iterator().next().getLong(0) > 0) {
                        return Uni.createFrom().item(false);
                      }
                      long now = clock.millis();
                      byte[] secret = RootSecrets.draw(new SecureRandom());
                      Uni<Void> insert;
                      try {
                        insert = roots.insert(tx, 1, RootState.CURRENT, secret, now);
                      } finally {
                        Arrays.fill(secret, (byte) 0);
                      }
                      return insert
                          .chain(
                              () ->
                                  audit.append(
                                      tx,
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
