-- The change stream (the same tables as migrations/sqlite). Times are Unix
-- milliseconds; history ids are Gmail's uint64s, refused above i64::MAX.

-- One row per tracked user: how far their changes were emitted, what the
-- last push announced, their watch, and when they are next checked.
CREATE TABLE mailboxes (
    user_id           TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    cursor            BIGINT,
    pushed_history_id BIGINT,
    last_push_at      BIGINT,
    last_sync_at      BIGINT,
    watch_status      TEXT NOT NULL DEFAULT 'none',
    watch_expires_at  BIGINT,
    watch_renewed_at  BIGINT,
    watch_error       TEXT,
    next_check_at     BIGINT NOT NULL
);

CREATE INDEX mailboxes_next_check ON mailboxes (next_check_at);

-- The outbox. No foreign key to credentials: a user's events outlive the
-- user's deletion. A sequence hands out ids as transactions ask, not as
-- they commit: the store serializes its inserts (an advisory lock held to
-- commit), so that ids grow in commit order.
CREATE TABLE events (
    id              BIGSERIAL PRIMARY KEY,
    user_id         TEXT COLLATE "C" NOT NULL,
    kind            TEXT NOT NULL,
    email           TEXT,
    occurred_at     BIGINT NOT NULL,
    data            TEXT NOT NULL,
    delivered_at    BIGINT,
    abandoned_at    BIGINT,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL
);

CREATE INDEX events_user ON events (user_id, id);
-- Only undelivered events: each user's oldest one is what delivery looks for.
CREATE INDEX events_pending ON events (user_id, id)
    WHERE delivered_at IS NULL AND abandoned_at IS NULL;

-- Named leases: one holder at a time until `expires_at`.
CREATE TABLE leases (
    name       TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    holder     TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
