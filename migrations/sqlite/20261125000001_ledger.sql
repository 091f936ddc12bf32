-- The ledger: custodial keys, point systems, customers, balances and operations.

-- secp256k1 keys the platform holds, sealed under the master key (nonce || XChaCha20-Poly1305).
CREATE TABLE custody_keys (
    id            INTEGER PRIMARY KEY,
    purpose       TEXT    NOT NULL,
    address       TEXT    NOT NULL UNIQUE,
    public_key    TEXT    NOT NULL,
    sealed_secret BLOB   NOT NULL,
    created_at    BIGINT  NOT NULL
);

-- One MST per store. Its treasury holds the issued supply until points are awarded.
CREATE TABLE point_systems (
    id              INTEGER PRIMARY KEY,
    store_id        BIGINT  NOT NULL UNIQUE REFERENCES stores (id),
    symbol          TEXT    NOT NULL UNIQUE,
    name            TEXT    NOT NULL,
    description     TEXT    NOT NULL,
    decimals        BIGINT  NOT NULL CHECK (decimals BETWEEN 0 AND 19),
    max_supply      BIGINT  NOT NULL CHECK (max_supply > 0 AND max_supply <= 9007199254740991),
    secondary_issue BIGINT  NOT NULL,
    issuer_avatar   TEXT    NOT NULL,
    treasury_key_id BIGINT  NOT NULL UNIQUE REFERENCES custody_keys (id),
    status          TEXT    NOT NULL,
    issue_txid      TEXT,
    created_at      BIGINT  NOT NULL
);

-- A customer of the platform, known by e-mail; one custodial address holds every store's points.
CREATE TABLE customers (
    id         INTEGER PRIMARY KEY,
    email      TEXT    NOT NULL UNIQUE,
    key_id     BIGINT  NOT NULL UNIQUE REFERENCES custody_keys (id),
    created_at BIGINT  NOT NULL
);

-- How a store knows a customer: by the store's own external id.
CREATE TABLE store_customers (
    store_id    BIGINT  NOT NULL REFERENCES stores (id),
    external_id TEXT    NOT NULL,
    customer_id BIGINT  NOT NULL REFERENCES customers (id),
    name        TEXT,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    PRIMARY KEY (store_id, external_id)
);
CREATE UNIQUE INDEX store_customers_customer ON store_customers (store_id, customer_id);

-- Points per custodial address and point system. `available` is what may be spent now
-- (pending outgoing already subtracted); the CHECKs are the last line of defence behind
-- the conditional updates in the ledger code.
CREATE TABLE balances (
    key_id          BIGINT  NOT NULL REFERENCES custody_keys (id),
    point_system_id BIGINT  NOT NULL REFERENCES point_systems (id),
    available       BIGINT  NOT NULL DEFAULT 0 CHECK (available >= 0),
    pending_in      BIGINT  NOT NULL DEFAULT 0 CHECK (pending_in >= 0),
    confirmed       BIGINT  NOT NULL DEFAULT 0 CHECK (confirmed >= 0),
    PRIMARY KEY (key_id, point_system_id)
);

-- Every movement of points. from_key_id is NULL for deposits from outside; to_key_id is
-- NULL for withdrawals and transfers to external addresses.
CREATE TABLE operations (
    id                  INTEGER PRIMARY KEY,
    point_system_id     BIGINT  NOT NULL REFERENCES point_systems (id),
    kind                TEXT    NOT NULL,
    amount              BIGINT  NOT NULL CHECK (amount > 0),
    from_key_id         BIGINT  REFERENCES custody_keys (id),
    to_key_id           BIGINT  REFERENCES custody_keys (id),
    to_address          TEXT    NOT NULL,
    to_avatar           TEXT,
    actor               TEXT    NOT NULL,
    reason              TEXT,
    idempotency_key     TEXT,
    request_fingerprint TEXT,
    state               TEXT    NOT NULL,
    txid                TEXT,
    height              BIGINT,
    error               TEXT,
    created_at          BIGINT  NOT NULL,
    updated_at          BIGINT  NOT NULL
);
CREATE UNIQUE INDEX operations_idempotency ON operations (point_system_id, idempotency_key);
CREATE INDEX operations_state ON operations (state, point_system_id);
CREATE INDEX operations_from ON operations (from_key_id, created_at);
CREATE INDEX operations_to ON operations (to_key_id, created_at);

-- Things that happened, in order, for webhooks and live pages: written in the same
-- transaction as the change they describe, read by cursor (id).
CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    store_id   BIGINT  NOT NULL REFERENCES stores (id),
    event_type TEXT    NOT NULL,
    data       TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);
CREATE INDEX events_store ON events (store_id, id);
