-- Avatars (MVS DIDs) customers register for their wallet address, so others can send to a
-- name. The worker registers them on chain (the fee wallet pays); the chain transaction's
-- state is the avatar's state.
CREATE TABLE customer_avatars (
    customer_id BIGINT  PRIMARY KEY REFERENCES customers (id),
    name        TEXT    NOT NULL,
    -- Lower-case name: avatar names are unique on chain regardless of case.
    name_key    TEXT    NOT NULL UNIQUE,
    chain_tx_id BIGINT  REFERENCES chain_txs (id),
    created_at  BIGINT  NOT NULL
);
