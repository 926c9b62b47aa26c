-- Automatic threshold backups of root generations (org.teekms.kms.custody.RootBackups, docs/root-custody.md §9).
-- One row per generation, written once by the step that split it; record_mac (HMAC under a key derived from the
-- generation's root) lets a node detect a row the host edited. STAGED: envelopes written (staging folder, then the
-- visible generation-G folder of the share store); PUBLISHED: the on-chain RootCustody backup equals this row.
CREATE TABLE root_backup (
    generation        integer PRIMARY KEY REFERENCES root_generation (generation),
    state             text    NOT NULL CHECK (state IN ('STAGED', 'PUBLISHED')),
    staging_tag       text    NOT NULL CHECK (staging_tag ~ '^[0-9a-f]{32}$'),
    threshold         integer NOT NULL CHECK (threshold BETWEEN 1 AND 255),
    commitments       bytea   NOT NULL,
    custodian_ids     bytea   NOT NULL CHECK (length(custodian_ids) % 32 = 0),
    envelope_digests  bytea   NOT NULL CHECK (length(envelope_digests) = length(custodian_ids)),
    record_mac        bytea   NOT NULL CHECK (length(record_mac) = 32),
    created_at        bigint  NOT NULL,
    published_block   bigint
);

-- ROOT_ROTATION with custody: PENDING -> GENERATED -> BACKED_UP -> PROMOTED -> APPS_MOVED -> DONE.
ALTER TABLE rotation_job DROP CONSTRAINT rotation_job_state_check;
ALTER TABLE rotation_job ADD CONSTRAINT rotation_job_state_check
    CHECK (state IN ('PENDING', 'GENERATED', 'BACKED_UP', 'PROMOTED', 'APPS_MOVED', 'DONE', 'FAILED'));
