-- The audit append as ONE statement (docs/audit-log.md, "Replicas and the single head", remedy 1). Before, the KMS
-- locked audit_head (SELECT ... FOR UPDATE), computed the entries' hashes, inserted them and moved the head in four
-- round trips, holding the head row's lock across each of them: on a CPU-starved host a descheduled KMS JVM held it
-- while every replica waited. audit_append does the lock, the hashes, the inserts and the head move inside
-- PostgreSQL, for a batch of drafts, and returns each entry's seq, prev_hash and entry_hash; the KMS recomputes every
-- hash with its own AuditEntryHasher and fails the transaction on any difference, so a function that hashed otherwise
-- could not write a chain the KMS and the verifiers disagree on. The entry format (tee-kms/audit/v1) is unchanged:
--
--   entry_hash = SHA-256( lp("tee-kms/audit/v1") || u64(seq) || uuid(event_id) || i64(event_time) || lp(kind)
--                         || lp(app_id) || lp(outcome) || lp(reason) || lp(detail_json) || prev_hash )
--
-- lp(x) = 4-byte big-endian length of x, then x; strings as UTF-8 (convert_to, whatever the database's encoding).
-- p_entries is a JSON array, in append order, of objects with eventId (UUID text), kind, appId (lower-case
-- hex, empty for none), outcome, reason and detailJson (the exact text stored and hashed). All entries of a call get
-- p_event_time (Unix ms, the KMS's clock).

CREATE FUNCTION audit_lp(x bytea) RETURNS bytea
    LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT int4send(length(x)) || x $$;

CREATE FUNCTION audit_append(p_event_time bigint, p_entries text)
    RETURNS TABLE (out_seq bigint, out_prev_hash bytea, out_entry_hash bytea)
    LANGUAGE plpgsql AS $$
DECLARE
    head_seq  bigint;
    head_hash bytea;
    e         json;
    app       bytea;
BEGIN
    SELECT h.seq, h.entry_hash INTO head_seq, head_hash FROM audit_head h FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'audit_head must hold exactly one row, found 0';
    END IF;
    FOR e IN SELECT a.value FROM json_array_elements(p_entries::json) WITH ORDINALITY AS a (value, n) ORDER BY a.n
    LOOP
        app := decode(e->>'appId', 'hex');
        out_seq := head_seq + 1;
        out_prev_hash := head_hash;
        out_entry_hash := sha256(
            audit_lp(convert_to('tee-kms/audit/v1', 'UTF8'))
            || int8send(out_seq) || uuid_send((e->>'eventId')::uuid) || int8send(p_event_time)
            || audit_lp(convert_to(e->>'kind', 'UTF8')) || audit_lp(app)
            || audit_lp(convert_to(e->>'outcome', 'UTF8')) || audit_lp(convert_to(e->>'reason', 'UTF8'))
            || audit_lp(convert_to(e->>'detailJson', 'UTF8'))
            || out_prev_hash);
        INSERT INTO audit_log (seq, event_id, event_time, kind, app_id, outcome, reason, detail_json, prev_hash,
                               entry_hash)
        VALUES (out_seq, (e->>'eventId')::uuid, p_event_time, e->>'kind', app, e->>'outcome', e->>'reason',
                e->>'detailJson', out_prev_hash, out_entry_hash);
        head_seq := out_seq;
        head_hash := out_entry_hash;
        RETURN NEXT;
    END LOOP;
    UPDATE audit_head SET seq = head_seq, entry_hash = head_hash;
END;
$$;
