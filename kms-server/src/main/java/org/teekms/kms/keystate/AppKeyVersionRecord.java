package org.teekms.kms.keystate;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.IdClass;
import jakarta.persistence.Table;
import java.io.Serializable;
import java.util.Arrays;
import org.teekms.keys.AppId;

/**
 * A row of {@code app_key_version}: one key version of an app and the root generation it was pinned
 * to when created (never changed afterwards). Written only by {@link AppKeyStateStore}.
 */
@Entity
@Table(name = "app_key_version")
@IdClass(AppKeyVersionRecord.Key.class)
public class AppKeyVersionRecord {

  @Id
  @Column(name = "app_id")
  byte[] appId;

  @Id
  @Column(name = "version")
  int version;

  @Column(name = "root_generation", nullable = false)
  int rootGeneration;

  @Column(name = "created_at", nullable = false)
  long createdAt;

  protected AppKeyVersionRecord() {}

  AppKeyVersionRecord(AppId appId, int version, int rootGeneration, long createdAt) {
    this.appId = appId.toBytes();
    this.version = version;
    this.rootGeneration = rootGeneration;
    this.createdAt = createdAt;
  }

  int version() {
    return version;
  }

  int rootGeneration() {
    return rootGeneration;
  }

  /** The primary key (app, version); compares the app id by content. */
  public static class Key implements Serializable {
    private static final long serialVersionUID = 1L;

    byte[] appId;
    int version;

    protected Key() {}

    Key(byte[] appId, int version) {
      this.appId = appId.clone();
      this.version = version;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Key k && version == k.version && Arrays.equals(appId, k.appId);
    }

    @Override
    public int hashCode() {
      return 31 * Arrays.hashCode(appId) + version;
    }
  }
}
