-- Operator accounts: the people who run stores on the platform.
CREATE TABLE operators (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    verified_at   BIGINT,
    created_at    BIGINT  NOT NULL
);
