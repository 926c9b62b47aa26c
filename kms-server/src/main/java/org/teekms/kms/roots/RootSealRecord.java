package org.teekms.kms.roots;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.IdClass;
import jakarta.persistence.Table;
import java.io.Serializable;
import java.util.Objects;

/**
 * A row of {@code root_seal}: one node's sealed copy of a generation's secret ({@link
 * RootSealing}), keyed by the generation and the id of the sealing key. Read only by {@link
 * RootGenerationStore}; copies are added with explicit SQL ({@code ON CONFLICT DO NOTHING}: adding
 * a copy is idempotent) and deleted only by the database's trigger when their generation is
 * destroyed, which also refuses a copy of a destroyed generation.
 */
@Entity
@Table(name = "root_seal")
@IdClass(RootSealRecord.Key.class)
public class RootSealRecord {

  @Id
  @Column(name = "generation")
  int generation;

  @Id
  @Column(name = "sealing_key_id")
  String sealingKeyId;

  @Column(name = "node_id")
  String nodeId;

  @Column(name = "sealed_secret", nullable = false)
  byte[] sealedSecret;

  @Column(name = "created_at", nullable = false)
  long createdAt;

  protected RootSealRecord() {}

  byte[] sealedSecret() {
    return sealedSecret.clone();
  }

  /** The primary key (generation, sealing key id). */
  public static class Key implements Serializable {
    private static final long serialVersionUID = 1L;

    int generation;
    String sealingKeyId;

    protected Key() {}

    Key(int generation, String sealingKeyId) {
      this.generation = generation;
      this.sealingKeyId = sealingKeyId;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Key k
          && generation == k.generation
          && Objects.equals(sealingKeyId, k.sealingKeyId);
    }

    @Override
    public int hashCode() {
      return Objects.hash(generation, sealingKeyId);
    }
  }
}
