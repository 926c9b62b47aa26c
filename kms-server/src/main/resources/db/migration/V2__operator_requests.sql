-- Nonces of accepted-for-verification operator requests (teekms rotate ...): a nonce is spent once, whatever the
-- outcome, so a captured signed request cannot be replayed. Rows older than the freshness window are useless (a
-- request that old is refused as stale) and may be pruned.
CREATE TABLE operator_request_nonce (
  nonce       BYTEA PRIMARY KEY,
  action      TEXT NOT NULL,
  signer      TEXT NOT NULL,
  received_at BIGINT NOT NULL
);
