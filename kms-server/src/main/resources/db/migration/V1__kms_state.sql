-- tee-kms schema, version 1. Applied by Flyway (org.teekms.kms.db.SchemaMigrator) before the server starts.
-- Never edit an applied migration: add V2__…, V3__… instead.

-- The deployment this database belongs to. One row; every replica on this database shares it.
CREATE TABLE kms_identity (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    kms_id      text        NOT NULL CHECK (length(kms_id) BETWEEN 1 AND 128),
    created_at  bigint      NOT NULL
);

-- Root generations. The secret is sealed (AES-256-GCM under the SealingKeyProvider's key, AAD binding kms id and
-- generation); a destroyed generation keeps its public facts but loses its ciphertext (crypto-shredding).
-- Lifecycle: STAGED (created by a root rotation, not yet used) -> CURRENT (new key versions use it) -> RETIRED (still
-- derives the key versions pinned to it, until destroy_after) -> DESTROYED.
CREATE TABLE root_generation (
    generation       integer PRIMARY KEY CHECK (generation > 0),
    state            text    NOT NULL CHECK (state IN ('STAGED', 'CURRENT', 'RETIRED', 'DESTROYED')),
    sealed_secret    bytea   CHECK (sealed_secret IS NULL OR length(sealed_secret) = 12 + 32 + 16),
    sealing_key_id   text    NOT NULL,
    root_public_key  bytea,
    ca_certificate   bytea,
    created_at       bigint  NOT NULL,
    retired_at       bigint,
    destroy_after    bigint,
    destroyed_at     bigint,
    CHECK ((state = 'DESTROYED') = (sealed_secret IS NULL))
);
-- Exactly one CURRENT generation at any time (at most one by index; the code keeps at least one).
CREATE UNIQUE INDEX root_generation_one_current ON root_generation (state) WHERE state = 'CURRENT';

-- Per-app key-version state: versions min_version..current_version are served; below min_version refused.
CREATE TABLE app_key_state (
    app_id           bytea   PRIMARY KEY CHECK (length(app_id) = 20),
    current_version  integer NOT NULL CHECK (current_version >= 1),
    min_version      integer NOT NULL CHECK (min_version >= 1),
    last_rotated_at  bigint  NOT NULL,
    updated_at       bigint  NOT NULL,
    CHECK (min_version <= current_version)
);

-- Each key version of an app is pinned, when created, to the root generation it is derived from, so a root rotation
-- never changes an existing version's keys (disks stay openable); versions are created in order, none skipped.
CREATE TABLE app_key_version (
    app_id           bytea   NOT NULL REFERENCES app_key_state (app_id),
    version          integer NOT NULL CHECK (version >= 1),
    root_generation  integer NOT NULL REFERENCES root_generation (generation),
    created_at       bigint  NOT NULL,
    PRIMARY KEY (app_id, version)
);
CREATE INDEX app_key_version_generation ON app_key_version (root_generation);

-- Rotation jobs: database state machines, claimed with FOR UPDATE SKIP LOCKED so one replica runs each step.
CREATE TABLE rotation_job (
    job_id            uuid    PRIMARY KEY,
    kind              text    NOT NULL CHECK (kind IN ('APP_ROTATION', 'ROOT_ROTATION')),
    -- APP_ROTATION: PENDING -> DONE. ROOT_ROTATION: PENDING -> GENERATED -> PROMOTED -> APPS_MOVED -> DONE.
    -- Every transition commits together with its effect and its audit entry (see org.teekms.kms.rotation).
    dedupe_key        text    NOT NULL UNIQUE,
    app_id            bytea   CHECK (app_id IS NULL OR length(app_id) = 20),
    from_version      integer,
    target_version    integer,
    target_min_version integer,
    from_generation   integer,
    target_generation integer,
    state             text    NOT NULL CHECK (state IN ('PENDING', 'GENERATED', 'PROMOTED', 'APPS_MOVED', 'DONE', 'FAILED')),
    reason            text    NOT NULL,
    attempts          integer NOT NULL DEFAULT 0,
    last_error        text,
    not_before        bigint  NOT NULL,
    created_at        bigint  NOT NULL,
    updated_at        bigint  NOT NULL,
    finished_at       bigint,
    CHECK ((kind = 'APP_ROTATION') = (app_id IS NOT NULL))
);
CREATE INDEX rotation_job_runnable ON rotation_job (not_before) WHERE finished_at IS NULL;

-- Audit log: append-only and hash-chained (docs/audit-log.md). entry_hash commits to every other column and to the
-- previous entry's hash, so an edited, deleted or reordered row breaks verification even for a database superuser.
CREATE TABLE audit_log (
    seq          bigint  PRIMARY KEY CHECK (seq > 0),
    event_id     uuid    NOT NULL UNIQUE,
    event_time   bigint  NOT NULL,
    kind         text    NOT NULL,
    app_id       bytea   NOT NULL,
    outcome      text    NOT NULL CHECK (outcome IN ('ALLOWED', 'DENIED')),
    reason       text    NOT NULL,
    detail_json  text    NOT NULL,
    prev_hash    bytea   NOT NULL CHECK (length(prev_hash) = 32),
    entry_hash   bytea   NOT NULL UNIQUE CHECK (length(entry_hash) = 32)
);
CREATE INDEX audit_log_app_time ON audit_log (app_id, event_time);
CREATE INDEX audit_log_time ON audit_log (event_time);

-- The chain head: one row, locked FOR UPDATE by every append, which serializes appends across replicas.
CREATE TABLE audit_head (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    seq         bigint  NOT NULL,
    entry_hash  bytea   NOT NULL CHECK (length(entry_hash) = 32)
);
INSERT INTO audit_head (seq, entry_hash) VALUES (0, decode(repeat('00', 32), 'hex'));

CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Key releases. Written in the same transaction as the audit entry that records them (audit_seq).
CREATE TABLE key_grant (
    grant_id           uuid    PRIMARY KEY,
    kind               text    NOT NULL CHECK (kind IN ('APP_KEYS', 'SIGN_CERT', 'ONBOARDING')),
    app_id             bytea   NOT NULL,
    instance_id        bytea   NOT NULL,
    key_versions       integer[] NOT NULL,
    root_generation    integer NOT NULL,
    policy_chain_id    bigint  NOT NULL,
    policy_block       bigint  NOT NULL,
    policy_block_hash  bytea   NOT NULL,
    granted_at         bigint  NOT NULL,
    audit_seq          bigint  NOT NULL UNIQUE REFERENCES audit_log (seq)
);
CREATE INDEX key_grant_app_time ON key_grant (app_id, granted_at);
