package org.teekms.kms.onboarding;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Tuple;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.teekms.kms.audit.AuditDetail;
import org.teekms.kms.audit.AuditDraft;
import org.teekms.kms.audit.AuditLog;
import org.teekms.kms.roots.RootGenerationStore;
import org.teekms.kms.roots.RootState;
import org.teekms.kms.rotation.RotationJobs;

/**
 * The requester side of onboarding: stores the received generations sealed under THIS node's sealing key, in one
 * transaction with its audit entry. Only into a database that holds no generation yet (a fresh replica with its own
 * database); replicas sharing the source's database need no import. Secrets are zeroed by the caller afterwards.
 * A RETIRED generation keeps the source's destruction date: it is stored as {@code destroy_after} and a ROOT_ROTATION
 * job in APPS_MOVED (the rotation itself happened on the source) destroys this node's copy at that date.
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
    for (RootGenerationRelease r : received) {
      if (r.state() == RootState.RETIRED && r.destroyAfter() <= 0) {
        throw new IllegalArgumentException("the source sent RETIRED generation " + r.generation()
            + " without its destruction date (destroy_after): refusing to keep it indefinitely");
      }
      if (r.state() == RootState.CURRENT && r.destroyAfter() != 0) {
        throw new IllegalArgumentException("the source sent CURRENT generation " + r.generation() + " with a destruction date");
      }
    }
    Map<String, Long> destroyAt = new TreeMap<>();
    received.stream().filter(r -> r.state() == RootState.RETIRED)
        .forEach(r -> destroyAt.put(String.valueOf(r.generation()), r.destroyAfter()));
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
            if (r.state() == RootState.RETIRED) {
              chain = chain
                  .chain(() -> tx.preparedQuery("UPDATE root_generation SET destroy_after = $2 WHERE generation = $1")
                      .execute(Tuple.of(r.generation(), r.destroyAfter())))
                  .chain(() -> RotationJobs.recordImportedRetirement(tx, r.generation(), newest, r.destroyAfter(), now))
                  .replaceWithVoid();
            }
          }
          return chain.chain(() -> audit.append(tx, AuditDraft.allowed("ROOT_GENERATION", null, AuditDetail.json(Map.of(
              "step", "onboarded", "generations", received.stream().map(RootGenerationRelease::generation).toList(),
              "destroyAfter", destroyAt)))))
              .replaceWithVoid();
        }));
  }
}
