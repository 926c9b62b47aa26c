package org.teekms.kms.grant;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.util.UUID;
import org.teekms.keys.AppId;
import org.teekms.kms.audit.AuditEntry;

/**
 * A row of {@code key_grant} (schema: db/migration, managed by Flyway, never by Hibernate). Written
 * only by {@link GrantLedger}, in the transaction that appends its audit entry; {@code auditSeq} is
 * that entry's sequence number. Mutable because Hibernate needs it so; nothing outside this package
 * sees an instance.
 */
@Entity
@Table(name = "key_grant")
public class KeyGrantRecord {

  @Id
  @Column(name = "grant_id")
  UUID grantId;

  @Column(name = "kind", nullable = false)
  String kind;

  @Column(name = "app_id", nullable = false)
  byte[] appId;

  @Column(name = "instance_id", nullable = false)
  byte[] instanceId;

  @Column(name = "key_versions", nullable = false)
  Integer[] keyVersions;

  @Column(name = "root_generation", nullable = false)
  int rootGeneration;

  @Column(name = "policy_chain_id", nullable = false)
  long policyChainId;

  @Column(name = "policy_block", nullable = false)
  long policyBlock;

  @Column(name = "policy_block_hash", nullable = false)
  byte[] policyBlockHash;

  @Column(name = "granted_at", nullable = false)
  long grantedAt;

  @Column(name = "audit_seq", nullable = false, unique = true)
  long auditSeq;

  protected KeyGrantRecord() {}

  /** The row for {@code grant}, recorded by the audit entry {@code entry}. */
  static KeyGrantRecord of(Grant grant, AuditEntry entry) {
    KeyGrantRecord r = new KeyGrantRecord();
    r.grantId = grant.grantId();
    r.kind = grant.kind().name();
    r.appId = grant.appId().map(AppId::toBytes).orElse(new byte[0]);
    r.instanceId = grant.instanceId().toByteArray();
    r.keyVersions = grant.keyVersions().toArray(Integer[]::new);
    r.rootGeneration = grant.rootGeneration();
    r.policyChainId = grant.policyBlock().chainId();
    r.policyBlock = grant.policyBlock().number();
    r.policyBlockHash = grant.policyBlock().hash().toByteArray();
    r.grantedAt = entry.eventTimeMillis();
    r.auditSeq = entry.seq();
    return r;
  }

  public UUID grantId() {
    return grantId;
  }

  public long auditSeq() {
    return auditSeq;
  }
}
