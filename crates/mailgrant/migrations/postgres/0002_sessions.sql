-- Browser sessions live in encrypted cookies; what the server must know of
-- them across replicas lives here (the same tables as migrations/postgres).
-- Times are Unix milliseconds.

-- Sessions of a user issued at or before `valid_after` are refused: set on
-- logout, disconnect and a new consent. Kept when the credentials row is
-- deleted, so a copied cookie stays dead.
CREATE TABLE session_cutoffs (
    user_id     TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    valid_after BIGINT NOT NULL
);

-- A login `state` is good once across every replica: its SHA-256 (never the
-- state itself) is recorded on first use, until the state would expire.
CREATE TABLE used_states (
    state_hash TEXT PRIMARY KEY NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX used_states_expiry ON used_states (expires_at);
