package org.teekms.kms.roots;

import io.smallrye.mutiny.Uni;
import org.teekms.kms.db.StateSessions;

/**
 * Binds a database to one KMS deployment id, so a node configured for another deployment refuses to
 * use it.
 */
public final class KmsIdentityStore {

  private KmsIdentityStore() {}

  /**
   * Records {@code kmsId} on first use; afterwards fails unless it matches what the database holds.
   */
  public static Uni<String> claim(StateSessions sessions, String kmsId, long now) {
    if (kmsId == null || kmsId.isBlank() || kmsId.length() > 128) {
      throw new IllegalArgumentException("kms id must be 1-128 characters");
    }
    return sessions.inTransaction(
        session ->
            session
                .createNativeQuery(
                    "INSERT INTO kms_identity (kms_id, created_at) VALUES (?1, ?2) "
                        + "ON CONFLICT (singleton) DO NOTHING")
                .setParameter(1, kmsId)
                .setParameter(2, now)
                .executeUpdate()
                .chain(
                    () ->
                        session
                            .createNativeQuery("SELECT kms_id FROM kms_identity", String.class)
                            .getSingleResult())
                .map(
                    stored -> {
                      if (!stored.equals(kmsId)) {
                        throw new IllegalStateException(
                            "this database belongs to KMS '" + stored + "', not '" + kmsId + "'");
                      }
                      return stored;
                    }));
  }
}
