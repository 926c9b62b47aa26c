package org.teekms.kms.onboarding;

import io.smallrye.mutiny.Uni;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.teekms.kms.audit.AuditDetail;
import org.teekms.kms.audit.AuditDraft;
import org.teekms.kms.audit.AuditLog;
import org.teekms.kms.db.StateSessions;
import org.teekms.kms.roots.RootGenerationStore;
import org.teekms.kms.roots.RootState;
import org.teekms.kms.rotation.RotationJobs;

/**
 * The requester side of onboarding: stores the received generations sealed under THIS node's
 * sealing key, in one transaction with its audit entry (one Hibernate Reactive session; the audit
 * append is explicit SQL in it). {@link #importInto}: a database that holds no generation yet (a
 * fresh replica with its own database); a RETIRED generation keeps the source's destruction date:
 * it is stored as {@code destroy_after} and a ROOT_ROTATION job in APPS_MOVED (the rotation itself
 * happened on the source) destroys this node's copy at that date. {@link #addCopies}: a database
 * shared with other replicas whose generations have no copy under this node's sealing key yet (the
 * database's generations and dates stay authoritative; only copies are added). Secrets are zeroed
 * by the caller afterwards.
 */
public final class RootImport {

  private RootImport() {}

  public static Uni<Void> importInto(
      StateSessions sessions,
      RootGenerationStore roots,
      AuditLog audit,
      List<RootGenerationRelease> received,
      String sourceKmsId,
      long now) {
    if (!roots.kmsId().equals(sourceKmsId)) {
      throw new IllegalArgumentException(
          "the source serves KMS '" + sourceKmsId + "', this node is '" + roots.kmsId() + "'");
    }
    long currents =
        received.stream().filter(r -> r.state() == org.teekms.kms.roots.RootState.CURRENT).count();
    if (currents != 1) {
      throw new IllegalArgumentException(
          "exactly one CURRENT generation must be received, got " + currents);
    }
    int newest = received.stream().mapToInt(RootGenerationRelease::generation).max().orElseThrow();
    if (received.stream()
            .filter(r -> r.state() == org.teekms.kms.roots.RootState.CURRENT)
            .findFirst()
            .orElseThrow()
            .generation()
        != newest) {
      throw new IllegalArgumentException("the CURRENT generation must be the newest one received");
    }
    for (RootGenerationRelease r : received) {
      if (r.state() == RootState.RETIRED && r.destroyAfter() <= 0) {
        throw new IllegalArgumentException(
            "the source sent RETIRED generation "
                + r.generation()
                + " without its destruction date (destroy_after): refusing to keep it indefinitely");
      }
      if (r.state() == RootState.CURRENT && r.destroyAfter() != 0) {
        throw new IllegalArgumentException(
            "the source sent CURRENT generation " + r.generation() + " with a destruction date");
      }
    }
    Map<String, Long> destroyAt = new TreeMap<>();
    received.stream()
        .filter(r -> r.state() == RootState.RETIRED)
        .forEach(r -> destroyAt.put(String.valueOf(r.generation()), r.destroyAfter()));
    return sessions.inTransaction(
        tx ->
            roots
                .count(tx)
                .onItem()
                .transformToUni(
                    count -> {
                      if (count > 0) {
                        return Uni.createFrom()
                            .failure(
                                new IllegalStateException(
                                    "this database already holds root generations"));
                      }
                      Uni<Void> chain = Uni.createFrom().voidItem();
                      for (RootGenerationRelease r : received) {
                        chain =
                            chain.chain(
                                () -> {
                                  byte[] secret = r.secret();
                                  try {
                                    return roots.insert(
                                        tx, r.generation(), r.state(), secret, r.createdAt());
                                  } finally {
                                    java.util.Arrays.fill(secret, (byte) 0);
                                  }
                                });
                        if (r.state() == RootState.RETIRED) {
                          chain =
                              chain
                                  .chain(
                                      () ->
                                          roots.setDestroyAfter(
                                              tx, r.generation(), r.destroyAfter()))
                                  .chain(
                                      () ->
                                          RotationJobs.recordImportedRetirement(
                                              tx, r.generation(), newest, r.destroyAfter(), now))
                                  .replaceWithVoid();
                        }
                      }
                      return chain
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
                                                  "onboarded",
                                                  "generations",
                                                  received.stream()
                                                      .map(RootGenerationRelease::generation)
                                                      .toList(),
                                                  "destroyAfter",
                                                  destroyAt)))))
                          .replaceWithVoid();
                    }));
  }

  /**
   * Adds this node's sealed copies of the generations in {@code missing} (live generations of this
   * database without a copy under this node's key), taken from {@code received}; every missing
   * generation must have been received, in the same state as in the database. One transaction with
   * its audit entry. Returns the generations copied.
   */
  public static Uni<List<Integer>> addCopies(
      StateSessions sessions,
      RootGenerationStore roots,
      AuditLog audit,
      List<RootGenerationRelease> received,
      String sourceKmsId,
      long now) {
    if (!roots.kmsId().equals(sourceKmsId)) {
      throw new IllegalArgumentException(
          "the source serves KMS '" + sourceKmsId + "', this node is '" + roots.kmsId() + "'");
    }
    Map<Integer, RootGenerationRelease> byGeneration = new java.util.HashMap<>();
    received.forEach(r -> byGeneration.put(r.generation(), r));
    return sessions.inTransaction(
        tx ->
            roots
                .missingCopies(tx)
                .chain(
                    missing ->
                        roots
                            .list(tx)
                            .chain(
                                all -> {
                                  if (missing.isEmpty()) {
                                    return Uni.createFrom().item(missing);
                                  }
                                  Map<Integer, org.teekms.kms.roots.RootState> states =
                                      new java.util.HashMap<>();
                                  all.forEach(g -> states.put(g.generation(), g.state()));
                                  Uni<Void> chain = Uni.createFrom().voidItem();
                                  for (int generation : missing) {
                                    RootGenerationRelease r = byGeneration.get(generation);
                                    if (r == null) {
                                      return Uni.createFrom()
                                          .failure(
                                              new IllegalStateException(
                                                  "the source did not release root generation "
                                                      + generation
                                                      + ", which this node lacks (released: "
                                                      + byGeneration.keySet()
                                                      + ")"));
                                    }
                                    if (r.state() != states.get(generation)) {
                                      return Uni.createFrom()
                                          .failure(
                                              new IllegalStateException(
                                                  "the source calls root generation "
                                                      + generation
                                                      + " "
                                                      + r.state()
                                                      + ", this database "
                                                      + states.get(generation)));
                                    }
                                    chain =
                                        chain.chain(
                                            () -> {
                                              byte[] secret = r.secret();
                                              try {
                                                return roots.addCopy(tx, generation, secret, now);
                                              } finally {
                                                java.util.Arrays.fill(secret, (byte) 0);
                                              }
                                            });
                                  }
                                  return chain
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
                                                              "sealed-copy-added",
                                                              "generations",
                                                              missing,
                                                              "sealingKeyId",
                                                              roots.sealingKeyId())))))
                                      .replaceWith(missing);
                                })));
  }
}
