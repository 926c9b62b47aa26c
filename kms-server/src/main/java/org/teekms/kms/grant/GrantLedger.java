package org.teekms.kms.grant;

import io.smallrye.mutiny.Uni;
import java.util.Map;
import java.util.TreeMap;
import org.teekms.keys.AppId;
import org.teekms.kms.audit.AuditDetail;
import org.teekms.kms.audit.AuditDraft;
import org.teekms.kms.audit.AuditEntry;
import org.teekms.kms.audit.AuditLog;

/**
 * Records key releases. A grant row ({@link KeyGrantRecord}, persisted through Hibernate Reactive)
 * and the audit entry that records it are written in ONE transaction (group-committed with
 * concurrent ones, {@link AuditLog#commit}): the entry is appended first, the grant row points at
 * its seq; if either write fails, neither exists and the caller must not release any key (fail
 * closed). Denials are audited on their own.
 */
public final class GrantLedger {

  private final AuditLog audit;

  public GrantLedger(AuditLog audit) {
    this.audit = audit;
  }

  /**
   * Writes the grant and its audit entry atomically; the returned entry's event id is the grant id.
   * The caller releases keys only after this completes successfully.
   */
  public Uni<AuditEntry> recordGrant(Grant grant) {
    AuditDraft draft =
        new AuditDraft(
            grant.grantId(),
            "GRANT_" + grant.kind().name(),
            grant.appId(),
            AuditDraft.Outcome.ALLOWED,
            "",
            AuditDetail.json(grant.auditFacts()));
    return audit.commit(
        draft, (session, entry) -> session.persist(KeyGrantRecord.of(grant, entry)));
  }

  /**
   * Audits a refusal. The refusal stands whether or not this write succeeds.
   *
   * @param appId the app it is filed under, or null for none
   */
  public Uni<AuditEntry> recordDenial(
      String kind, AppId appId, String reason, Map<String, ?> facts) {
    return audit.appendAlone(
        AuditDraft.denied(kind, appId, reason, AuditDetail.json(new TreeMap<>(facts))));
  }
}
