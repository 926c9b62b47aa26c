package org.teekms.kms.grant;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.core.buffer.Buffer;
import io.vertx.mutiny.sqlclient.Tuple;
import java.util.Map;
import java.util.TreeMap;
import org.teekms.kms.audit.AuditDetail;
import org.teekms.kms.audit.AuditDraft;
import org.teekms.kms.audit.AuditEntry;
import org.teekms.kms.audit.AuditLog;

/**
 * Records key releases. A grant row and the audit entry that records it are written in ONE transaction (group-committed
 * with concurrent ones, {@link AuditLog#commit}): if the audit write fails, the grant does not exist and the caller
 * must not release any key (fail closed). Denials are audited on their own.
 */
public final class GrantLedger {

  private static final String INSERT_GRANT = "INSERT INTO key_grant (grant_id, kind, app_id, instance_id, key_versions, "
      + "root_generation, policy_chain_id, policy_block, policy_block_hash, granted_at, audit_seq) "
      + "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

  private final AuditLog audit;

  public GrantLedger(AuditLog audit) {
    this.audit = audit;
  }

  /**
   * Writes the grant and its audit entry atomically; the returned entry's event id is the grant id. The caller
   * releases keys only after this completes successfully.
   */
  public Uni<AuditEntry> recordGrant(Grant grant) {
    AuditDraft draft = new AuditDraft(grant.grantId(), "GRANT_" + grant.kind().name(), grant.appId(),
        AuditDraft.Outcome.ALLOWED, "", AuditDetail.json(grant.auditFacts()));
    return audit.commit(draft, new AuditLog.FollowUp(INSERT_GRANT, entry -> Tuple.tuple().addUUID(grant.grantId())
        .addString(grant.kind().name()).addBuffer(Buffer.buffer(grant.appId())).addBuffer(Buffer.buffer(grant.instanceId()))
        .addArrayOfInteger(grant.keyVersions().toArray(Integer[]::new)).addInteger(grant.rootGeneration())
        .addLong(grant.policyBlock().chainId()).addLong(grant.policyBlock().number())
        .addBuffer(Buffer.buffer(grant.policyBlock().hash().toByteArray())).addLong(entry.eventTimeMillis()).addLong(entry.seq())));
  }

  /** Audits a refusal. The refusal stands whether or not this write succeeds. */
  public Uni<AuditEntry> recordDenial(String kind, byte[] appId, String reason, Map<String, ?> facts) {
    return audit.appendAlone(AuditDraft.denied(kind, appId, reason, AuditDetail.json(new TreeMap<>(facts))));
  }
}
