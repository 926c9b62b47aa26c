package org.teekms.kms.onboarding;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import java.util.List;
import java.util.Map;
import org.teekms.kms.audit.AuditDetail;
import org.teekms.kms.audit.AuditDraft;
import org.teekms.kms.audit.AuditLog;
import org.teekms.kms.roots.RootGenerationStore;

/**
 * The requester side of onboarding: stores the received generations sealed under THIS node's sealing key, in one
 * transaction with its audit entry. Only into a database that holds no generation yet (a fresh replica with its own
 * database); replicas sharing the source's database need no import. Secrets are zeroed by the caller afterwards.
 */
public final class RootImport {

  private RootImport() {}

  public static Uni<Void> importInto(Pool pool, RootGenerationStore roots, AuditLog audit, List<RootGenerationRelease> received,
      String sourceKmsId, long now) {
    if (!roots.kmsId().equals(sourceKmsId)) {
      throw new IllegalArgumentException("the source serves KMS '" + sourceKmsId + "', this node is '" + roots.kmsId() + "'");
    }
    long currents = received.stream().filter(r -> r.state() == org.teekms.kms.roots.RootState.CURRENT).count();
    if (currents != 1) {
      throw new IllegalArgumentException("exactly one CURRENT generation must be received, got " + currents);
    }
    int newest = received.stream().mapToInt(RootGenerationRelease::generation).max().orElseThrow();
    if (received.stream().filter(r -> r.state() == org.teekms.kms.roots.RootState.CURRENT).findFirst().orElseThrow()
        .generation() != newest) {
      throw new IllegalArgumentException("the CURRENT generation must be the newest one received");
    }
    return pool.withTransaction(tx -> tx.query("SELECT count(*) FROM root_generation").execute()
        .onItem().transformToUni(rows -> {
          if (rows.iterator().next().getLong(0) > 0) {
            return Uni.createFrom().failure(new IllegalStateException("this database already holds root generations"));
          }
          Uni<Void> chain = Uni.createFrom().voidItem();
          for (RootGenerationRelease r : received) {
            chain = chain.chain(() -> {
              byte[] secret = r.secret();
              try {
                return roots.insert(tx, r.generation(), r.state(), secret, r.createdAt());
              } finally {
                java.util.Arrays.fill(secret, (byte) 0);
              }
            });
          }
          return chain.chain(() -> audit.append(tx, AuditDraft.allowed("ROOT_GENERATION", null, AuditDetail.json(Map.of(
              "step", "onboarded", "generations", received.stream().map(RootGenerationRelease::generation).toList())))))
              .replaceWithVoid();
        }));
  }
}
