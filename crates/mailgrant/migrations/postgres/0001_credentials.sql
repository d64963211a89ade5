-- One row per Google user who authorized this client; the same columns as
-- the SQLite store (migrations/sqlite). Tokens are AES-256-GCM blobs (see
-- src/crypto.rs), never plaintext. Times are Unix seconds.
-- `COLLATE "C"`: user ids compare and sort bytewise, as in SQLite, so
-- `list` pages the same way on either store.
CREATE TABLE credentials (
    user_id                 TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    email                   TEXT,
    name                    TEXT,
    refresh_token           BYTEA,
    access_token            BYTEA,
    access_token_expires_at BIGINT,
    scopes                  TEXT NOT NULL DEFAULT '',
    revoked_at              BIGINT,
    revoked_reason          TEXT,
    created_at              BIGINT NOT NULL,
    updated_at              BIGINT NOT NULL
);

CREATE INDEX credentials_email ON credentials (email);
