package org.teekms.kms.roots;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.EnumType;
import jakarta.persistence.Enumerated;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.util.Optional;

/**
 * A row of {@code root_generation}: a generation's public facts and lifecycle (its secret lives in
 * {@code root_seal}, {@link RootSealRecord}; the legacy {@code sealed_secret} column is always NULL
 * since V3 and is not mapped). Written only by {@link RootGenerationStore}. At most one row is
 * CURRENT (a unique partial index): a promotion flushes the old CURRENT row's retirement before the
 * new row becomes CURRENT. Moving a row to DESTROYED fires the trigger that deletes every sealed
 * copy of it in the same transaction. Every change goes through a method of this class: Quarkus
 * enhances entities for inline dirty tracking, which sees only writes made by the entity itself.
 */
@Entity
@Table(name = "root_generation")
public class RootGenerationRecord {

  @Id
  @Column(name = "generation")
  int generation;

  @Enumerated(EnumType.STRING)
  @Column(name = "state", nullable = false)
  RootState state;

  @Column(name = "sealing_key_id", nullable = false)
  String sealingKeyId;

  @Column(name = "created_at", nullable = false)
  long createdAt;

  @Column(name = "retired_at")
  Long retiredAt;

  @Column(name = "destroy_after")
  Long destroyAfter;

  @Column(name = "destroyed_at")
  Long destroyedAt;

  protected RootGenerationRecord() {}

  RootGenerationRecord(int generation, RootState state, String sealingKeyId, long createdAt) {
    this.generation = generation;
    this.state = state;
    this.sealingKeyId = sealingKeyId;
    this.createdAt = createdAt;
  }

  RootState state() {
    return state;
  }

  void retire(long now, long destroyAfter) {
    this.state = RootState.RETIRED;
    this.retiredAt = now;
    this.destroyAfter = destroyAfter;
  }

  void makeCurrent() {
    this.state = RootState.CURRENT;
  }

  void destroy(long now) {
    this.state = RootState.DESTROYED;
    this.destroyedAt = now;
  }

  void destroyAfter(long at) {
    this.destroyAfter = at;
  }

  RootGeneration toGeneration() {
    return new RootGeneration(
        generation,
        state,
        sealingKeyId,
        createdAt,
        Optional.ofNullable(retiredAt),
        Optional.ofNullable(destroyAfter),
        Optional.ofNullable(destroyedAt));
  }
}
