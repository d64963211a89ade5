-- The change stream (the same tables as migrations/postgres). Times are Unix
-- milliseconds; history ids are Gmail's uint64s, refused above i64::MAX.

-- One row per tracked user: how far their changes were emitted, what the
-- last push announced, their watch, and when they are next checked.
CREATE TABLE mailboxes (
    user_id           TEXT PRIMARY KEY NOT NULL,
    cursor            INTEGER,
    pushed_history_id INTEGER,
    last_push_at      INTEGER,
    last_sync_at      INTEGER,
    watch_status      TEXT NOT NULL DEFAULT 'none',
    watch_expires_at  INTEGER,
    watch_renewed_at  INTEGER,
    watch_error       TEXT,
    next_check_at     INTEGER NOT NULL
);

CREATE INDEX mailboxes_next_check ON mailboxes (next_check_at);

-- The outbox. No foreign key to credentials: a user's events outlive the
-- user's deletion. AUTOINCREMENT: ids are never reused, and SQLite's one
-- writer at a time makes them grow in commit order.
CREATE TABLE events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id         TEXT NOT NULL,
    kind            TEXT NOT NULL,
    email           TEXT,
    occurred_at     INTEGER NOT NULL,
    data            TEXT NOT NULL,
    delivered_at    INTEGER,
    abandoned_at    INTEGER,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL
);

CREATE INDEX events_user ON events (user_id, id);
-- Only undelivered events: each user's oldest one is what delivery looks for.
CREATE INDEX events_pending ON events (user_id, id)
    WHERE delivered_at IS NULL AND abandoned_at IS NULL;

-- Named leases: one holder at a time until `expires_at`.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY NOT NULL,
    holder     TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
