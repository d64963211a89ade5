-- One row per Google user who authorized this client.
-- Tokens are AES-256-GCM blobs (see src/crypto.rs), never plaintext.
CREATE TABLE credentials (
    user_id                 TEXT PRIMARY KEY NOT NULL,
    email                   TEXT,
    name                    TEXT,
    refresh_token           BLOB,
    access_token            BLOB,
    access_token_expires_at INTEGER,
    scopes                  TEXT NOT NULL DEFAULT '',
    revoked_at              INTEGER,
    revoked_reason          TEXT,
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL
);

CREATE INDEX credentials_email ON credentials (email);
