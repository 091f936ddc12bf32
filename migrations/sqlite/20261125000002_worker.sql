-- The worker's write-ahead log of chain transactions.

-- Every transaction the platform signs, stored (raw bytes and txid) before it is broadcast,
-- so a crash between signing and broadcasting loses nothing and doubles nothing: on restart
-- the stored transaction is broadcast again, never rebuilt from scratch.
CREATE TABLE chain_txs (
    id              INTEGER PRIMARY KEY,
    txid            TEXT    NOT NULL UNIQUE,
    raw_hex         TEXT    NOT NULL,
    purpose         TEXT    NOT NULL,
    point_system_id BIGINT  REFERENCES point_systems (id),
    state           TEXT    NOT NULL,
    attempts        BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL DEFAULT 0,
    last_error      TEXT,
    height          BIGINT,
    -- Times a reorganisation took it out of the chain after it had confirmed.
    reorgs          BIGINT  NOT NULL DEFAULT 0,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);
CREATE INDEX chain_txs_state ON chain_txs (state, next_attempt_at);

-- Outputs spent by a stored transaction that is not final yet. The primary key makes two
-- workers that picked the same output collide in the database instead of on chain.
CREATE TABLE reserved_outpoints (
    outpoint    TEXT    PRIMARY KEY,
    chain_tx_id BIGINT  NOT NULL REFERENCES chain_txs (id) ON DELETE CASCADE
);
CREATE INDEX reserved_outpoints_tx ON reserved_outpoints (chain_tx_id);

ALTER TABLE operations ADD COLUMN chain_tx_id BIGINT REFERENCES chain_txs (id);
-- When the points first became spendable; a confirmation after a reorganisation does not
-- credit them again.
ALTER TABLE operations ADD COLUMN credited_at BIGINT;
CREATE INDEX operations_chain_tx ON operations (chain_tx_id);
ALTER TABLE point_systems ADD COLUMN issue_chain_tx_id BIGINT REFERENCES chain_txs (id);
ALTER TABLE point_systems ADD COLUMN issue_error TEXT;

-- Keys with a platform-wide role (the fee wallet), one per role.
CREATE TABLE platform_keys (
    role   TEXT    PRIMARY KEY,
    key_id BIGINT  NOT NULL UNIQUE REFERENCES custody_keys (id)
);

-- How far the deposit scan has read the chain (blocks at the required depth).
CREATE TABLE chain_scan (
    name   TEXT    PRIMARY KEY,
    height BIGINT  NOT NULL
);
