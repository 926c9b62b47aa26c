package org.teekms.kms.keystate;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

/**
 * A row of {@code app_key_state} (schema: db/migration, owned by Flyway, never by Hibernate): an
 * app's current and minimum key version. Written only by {@link AppKeyStateStore}; mutable because
 * Hibernate needs it so, and nothing outside this package sees an instance. Every change goes
 * through a method of this class: Quarkus enhances entities for inline dirty tracking, which sees
 * only writes made by the entity itself.
 */
@Entity
@Table(name = "app_key_state")
public class AppKeyStateRecord {

  @Id
  @Column(name = "app_id")
  byte[] appId;

  @Column(name = "current_version", nullable = false)
  int currentVersion;

  @Column(name = "min_version", nullable = false)
  int minVersion;

  @Column(name = "last_rotated_at", nullable = false)
  long lastRotatedAt;

  @Column(name = "updated_at", nullable = false)
  long updatedAt;

  protected AppKeyStateRecord() {}

  int currentVersion() {
    return currentVersion;
  }

  int minVersion() {
    return minVersion;
  }

  long lastRotatedAt() {
    return lastRotatedAt;
  }

  /** Moves to {@code current} / {@code min}; {@code rotated}: new versions were created. */
  void advance(int current, int min, long now, boolean rotated) {
    this.currentVersion = current;
    this.minVersion = min;
    this.updatedAt = now;
    if (rotated) {
      this.lastRotatedAt = now;
    }
  }
}
