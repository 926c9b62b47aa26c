-- Per-node sealed copies of root generations. Replicas sharing one database each hold their own sealing key (the
-- local key provider binds it to the machine and the measured image), so each keeps its own copy of every live
-- generation: one row per (generation, sealing key). A node whose key has no copy obtains the secret by onboarding
-- from a peer over mutual RA-TLS and writes its copy (kms-server/README.md, "Sealing"). AAD as before
-- (RootSealing: kms id and generation), so a copy moved to another generation's row does not unseal.
CREATE TABLE root_seal (
    generation      integer NOT NULL REFERENCES root_generation (generation),
    sealing_key_id  text    NOT NULL CHECK (length(sealing_key_id) BETWEEN 1 AND 64),
    node_id         text,   -- the node that wrote the copy (informational)
    sealed_secret   bytea   NOT NULL CHECK (length(sealed_secret) = 12 + 32 + 16),
    created_at      bigint  NOT NULL,
    PRIMARY KEY (generation, sealing_key_id)
);

-- Existing copies move over; root_generation.sealed_secret stays NULL from now on (root_generation.sealing_key_id
-- keeps naming the key of the node that created or first imported the generation).
INSERT INTO root_seal (generation, sealing_key_id, node_id, sealed_secret, created_at)
    SELECT generation, sealing_key_id, NULL, sealed_secret, created_at FROM root_generation
    WHERE sealed_secret IS NOT NULL;
ALTER TABLE root_generation DROP CONSTRAINT root_generation_check;
UPDATE root_generation SET sealed_secret = NULL;
ALTER TABLE root_generation ADD CONSTRAINT root_generation_secret_moved CHECK (sealed_secret IS NULL);

-- Crypto-shredding covers every copy: when a generation becomes DESTROYED, all its sealed copies are deleted in the
-- same transaction; copies of a destroyed generation can never be added.
CREATE FUNCTION root_seal_shred() RETURNS trigger AS $$
BEGIN
    IF NEW.state = 'DESTROYED' THEN
        DELETE FROM root_seal WHERE generation = NEW.generation;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER root_generation_destroy_shreds AFTER UPDATE OF state ON root_generation
    FOR EACH ROW EXECUTE FUNCTION root_seal_shred();

CREATE FUNCTION root_seal_live_only() RETURNS trigger AS $$
BEGIN
    -- FOR SHARE: waits for a concurrent destroy to commit, then sees it.
    IF (SELECT state FROM root_generation WHERE generation = NEW.generation FOR SHARE) = 'DESTROYED' THEN
        RAISE EXCEPTION 'root generation % is destroyed: no sealed copy may be added', NEW.generation;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER root_seal_no_destroyed BEFORE INSERT ON root_seal
    FOR EACH ROW EXECUTE FUNCTION root_seal_live_only();
