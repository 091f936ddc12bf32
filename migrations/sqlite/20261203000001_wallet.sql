-- The customer wallet: e-mailed single-use sign-in links and their throttling.

-- A sign-in link to a customer's wallet. Only the SHA-256 of the token is stored.
CREATE TABLE customer_tokens (
    id          INTEGER PRIMARY KEY,
    token_hash  TEXT    NOT NULL UNIQUE,
    customer_id BIGINT  NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    expires_at  BIGINT  NOT NULL,
    used_at     BIGINT,
    created_at  BIGINT  NOT NULL
);
CREATE INDEX customer_tokens_customer ON customer_tokens (customer_id);

-- Every request for a sign-in link, known address or not (so the limit reveals nothing),
-- per e-mail and per client address.
CREATE TABLE wallet_link_requests (
    id           INTEGER PRIMARY KEY,
    email        TEXT    NOT NULL,
    ip           TEXT    NOT NULL,
    requested_at BIGINT  NOT NULL
);
CREATE INDEX wallet_link_requests_email ON wallet_link_requests (email, requested_at);
CREATE INDEX wallet_link_requests_ip ON wallet_link_requests (ip, requested_at);
