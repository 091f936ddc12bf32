-- Accounts: single-use e-mailed links, login throttling, the mail queue and sessions.

-- A single-use link (e-mail verification, password reset, staff invitation).
-- Only the SHA-256 of the token is stored: a leaked table opens no account.
CREATE TABLE account_tokens (
    id            BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash    TEXT    NOT NULL UNIQUE,
    purpose       TEXT    NOT NULL,
    operator_id   BIGINT  REFERENCES operators (id) ON DELETE CASCADE,
    invitation_id BIGINT,
    expires_at    BIGINT  NOT NULL,
    used_at       BIGINT,
    created_at    BIGINT  NOT NULL
);

-- Failed log-in attempts, per e-mail and per client address, shared by every server process.
CREATE TABLE login_failures (
    id           BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email        TEXT    NOT NULL,
    ip           TEXT    NOT NULL,
    attempted_at BIGINT  NOT NULL
);
CREATE INDEX login_failures_email ON login_failures (email, attempted_at);
CREATE INDEX login_failures_ip ON login_failures (ip, attempted_at);

-- The durable mail queue: written in the same transaction as the change that causes the mail,
-- delivered by a background task with retries.
CREATE TABLE mail_outbox (
    id              BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recipient       TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    text_body       TEXT    NOT NULL,
    html_body       TEXT    NOT NULL,
    attempts        BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    last_error      TEXT,
    sent_at         BIGINT,
    created_at      BIGINT  NOT NULL
);
CREATE INDEX mail_outbox_due ON mail_outbox (sent_at, next_attempt_at);

-- tower-sessions records. `id` is the SHA-256 of the cookie's session id.
CREATE TABLE sessions (
    id          TEXT    PRIMARY KEY,
    data        BYTEA   NOT NULL,
    expiry_date BIGINT  NOT NULL,
    operator_id BIGINT
);
CREATE INDEX sessions_expiry ON sessions (expiry_date);
CREATE INDEX sessions_operator ON sessions (operator_id);

CREATE TABLE stores (
    id         BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT    NOT NULL,
    slug       TEXT    NOT NULL UNIQUE,
    created_at BIGINT  NOT NULL
);

-- Who may work on a store, and as what: owner, manager or staff.
CREATE TABLE store_members (
    store_id    BIGINT  NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    operator_id BIGINT  NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    role        TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (store_id, operator_id)
);
CREATE INDEX store_members_operator ON store_members (operator_id);

CREATE TABLE store_invitations (
    id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    store_id    BIGINT  NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    email       TEXT    NOT NULL,
    role        TEXT    NOT NULL,
    invited_by  BIGINT  NOT NULL REFERENCES operators (id),
    accepted_at BIGINT,
    created_at  BIGINT  NOT NULL
);
CREATE INDEX store_invitations_store ON store_invitations (store_id);
