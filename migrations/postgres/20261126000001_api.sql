-- The public REST API (store API keys, idempotency records) and outgoing webhooks.

-- A store's API key. Only the SHA-256 of the key is kept; `prefix` is shown to tell keys apart.
CREATE TABLE api_keys (
    id           BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    store_id     BIGINT  NOT NULL REFERENCES stores (id),
    name         TEXT    NOT NULL,
    prefix       TEXT    NOT NULL,
    key_hash     TEXT    NOT NULL UNIQUE,
    -- Space-separated scopes, e.g. "points:read points:write".
    scopes       TEXT    NOT NULL,
    created_by   BIGINT  REFERENCES operators (id),
    created_at   BIGINT  NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX api_keys_store ON api_keys (store_id);

-- The answer to an API write sent with an Idempotency-Key, replayed for 24 hours.
CREATE TABLE idempotency_records (
    store_id      BIGINT  NOT NULL REFERENCES stores (id),
    idem_key      TEXT    NOT NULL,
    request_hash  TEXT    NOT NULL,
    status_code   BIGINT  NOT NULL,
    response_body TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    PRIMARY KEY (store_id, idem_key)
);
CREATE INDEX idempotency_records_created ON idempotency_records (created_at);

-- Where a store wants events delivered. The signing secret is sealed under the master key
-- (it must be recoverable to sign), never stored in the clear.
CREATE TABLE webhook_endpoints (
    id              BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    store_id        BIGINT  NOT NULL REFERENCES stores (id),
    url             TEXT    NOT NULL,
    description     TEXT    NOT NULL DEFAULT '',
    -- Space-separated event types; empty means every event.
    event_types     TEXT    NOT NULL,
    sealed_secret   BYTEA   NOT NULL,
    -- Events up to this id happened before the endpoint existed and are not sent to it.
    after_event_id  BIGINT  NOT NULL,
    disabled_at     BIGINT,
    disabled_reason TEXT,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    deleted_at      BIGINT
);
CREATE INDEX webhook_endpoints_store ON webhook_endpoints (store_id);

-- One message to one endpoint and its attempts. `msg_id` (the webhook-id header) stays the
-- same across retries and manual redeliveries so receivers can drop duplicates.
CREATE TABLE webhook_deliveries (
    id                 BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint_id        BIGINT  NOT NULL REFERENCES webhook_endpoints (id),
    store_id           BIGINT  NOT NULL REFERENCES stores (id),
    event_id           BIGINT  REFERENCES events (id),
    msg_id             TEXT    NOT NULL,
    event_type         TEXT    NOT NULL,
    payload            TEXT    NOT NULL,
    -- pending, succeeded, failed (will be retried), dead (gave up or endpoint disabled)
    status             TEXT    NOT NULL,
    attempts           BIGINT  NOT NULL DEFAULT 0,
    -- Milliseconds since the epoch, so tests can run the retry schedule quickly.
    next_attempt_at    BIGINT  NOT NULL,
    last_attempt_at    BIGINT,
    last_status_code   BIGINT,
    last_response      TEXT,
    last_error         TEXT,
    created_at         BIGINT  NOT NULL,
    updated_at         BIGINT  NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);

-- How far the fan-out has read the event log (one row).
CREATE TABLE webhook_fanout (
    id            BIGINT  PRIMARY KEY CHECK (id = 1),
    last_event_id BIGINT  NOT NULL
);
INSERT INTO webhook_fanout (id, last_event_id) VALUES (1, 0);
