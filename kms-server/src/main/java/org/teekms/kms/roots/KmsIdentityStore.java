package org.teekms.kms.roots;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Tuple;

/**
 * Binds a database to one KMS deployment id, so a node configured for another deployment refuses to
 * use it.
 */
public final class KmsIdentityStore {

  private KmsIdentityStore() {}

  /**
   * Records {@code kmsId} on first use; afterwards fails unless it matches what the database holds.
   */
  public static Uni<String> claim(Pool pool, String kmsId, long now) {
    if (kmsId == null || kmsId.isBlank() || kmsId.length() > 128) {
      throw new IllegalArgumentException("kms id must be 1-128 characters");
    }
    return pool.withTransaction(
        tx ->
            tx.preparedQuery(
                    "INSERT INTO kms_identity (kms_id, created_at) VALUES ($1, $2) ON CONFLICT (singleton) DO NOTHING")
                .execute(Tuple.of(kmsId, now))
                .chain(() -> tx.query("SELECT kms_id FROM kms_identity").execute())
                .map(
                    rows -> {
                      String stored = rows.iterator().next().getString("kms_id");
                      if (!stored.equals(kmsId)) {
                        throw new IllegalStateException(
                            "this database belongs to KMS '" + stored + "', not '" + kmsId + "'");
                      }
                      return stored;
                    }));
  }
}
