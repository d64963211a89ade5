//! What the change stream keeps in the database: each user's mailbox
//! tracking (cursor, watch, schedule), the durable outbox of events, and
//! leases that give one replica at a time a user's work.
//!
//! Times are Unix milliseconds, given by the caller (so tests can move a
//! clock). History ids are Gmail's `uint64`s, kept as integers.

use async_trait::async_trait;

use super::StoreError;

/// Where a user's Gmail watch stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchStatus {
    /// Not watched (no topic configured, or not yet tried): polled.
    None,
    /// Google accepted the watch; pushes expected until `watch_expires_at`.
    Watching,
    /// Google refused the watch (`watch_error` says why): polled.
    Failed,
}

impl WatchStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Watching => "watching",
            Self::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Self {
        match text {
            "watching" => Self::Watching,
            "failed" => Self::Failed,
            _ => Self::None,
        }
    }
}

/// One user's change tracking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailboxState {
    pub user_id: String,
    /// Events have been emitted for every change up to this history id.
    /// `None`: not started (the first sync takes the profile's id).
    pub cursor: Option<u64>,
    /// The highest history id a push announced (may be ahead of `cursor`).
    pub pushed_history_id: Option<u64>,
    pub last_push_at: Option<i64>,
    pub last_sync_at: Option<i64>,
    pub watch_status: WatchStatus,
    /// Google's `expiration` of the current watch.
    pub watch_expires_at: Option<i64>,
    /// When the watch was last (re)newed or tried.
    pub watch_renewed_at: Option<i64>,
    pub watch_error: Option<String>,
    /// When this user's next scheduled check (poll or watch renewal) is due.
    pub next_check_at: i64,
}

/// An event to append to the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    /// `message.added`, `message.deleted`, `labels.changed`, `mailbox.resynced`, …
    pub kind: String,
    pub email: Option<String>,
    pub occurred_at: i64,
    /// The event's `data`, as JSON text.
    pub data: String,
}

/// An event as stored. `id`s grow in commit order across the whole
/// database, so a reader that pages with `after` misses none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    pub id: i64,
    pub user_id: String,
    pub kind: String,
    pub email: Option<String>,
    pub occurred_at: i64,
    pub data: String,
    /// When the webhook acknowledged it.
    pub delivered_at: Option<i64>,
    /// When delivery was given up (older than `--webhook-max-age`).
    pub abandoned_at: Option<i64>,
    pub attempts: u32,
    pub next_attempt_at: i64,
}

/// How a sync's result is committed: only if the cursor is still the one
/// the sync started from, so two syncs of one user can never both emit.
#[derive(Clone, Debug)]
pub struct SyncCommit<'a> {
    pub user_id: &'a str,
    pub expected_cursor: Option<u64>,
    pub new_cursor: u64,
    pub events: &'a [NewEvent],
    pub at: i64,
}

/// Outbox totals, for the operator view and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutboxStats {
    /// Neither delivered nor abandoned.
    pub pending: u64,
    /// `occurred_at` of the oldest pending event.
    pub oldest_pending_at: Option<i64>,
    pub abandoned: u64,
}

#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// The user's tracking row, if any.
    async fn mailbox(&self, user_id: &str) -> Result<Option<MailboxState>, StoreError>;

    /// Creates the user's row (cursor `None`, status `None`, `next_check_at`)
    /// if absent; an existing row is left as it is. Returns the row.
    async fn track(&self, user_id: &str, next_check_at: i64) -> Result<MailboxState, StoreError>;

    /// Records a verified push: `pushed_history_id` becomes the larger of
    /// the stored one and `history_id`; `last_push_at = at`. Creates the
    /// row if absent. Durable when it returns.
    async fn note_push(&self, user_id: &str, history_id: u64, at: i64) -> Result<(), StoreError>;

    /// In one transaction: if the row's cursor is still `expected_cursor`,
    /// sets it to `new_cursor`, `last_sync_at = at`, and appends `events`
    /// (in order). `false` and nothing written when the cursor moved.
    async fn commit_sync(&self, commit: SyncCommit<'_>) -> Result<bool, StoreError>;

    /// Records a watch outcome: status, expiration, error, `watch_renewed_at = at`.
    async fn set_watch(
        &self,
        user_id: &str,
        status: WatchStatus,
        expires_at: Option<i64>,
        error: Option<&str>,
        at: i64,
    ) -> Result<(), StoreError>;

    /// Claims up to `limit` rows whose `next_check_at <= now` by moving their
    /// `next_check_at` to `now + lease_ms` (so another replica does not take
    /// them meanwhile), and returns them as they were before the claim.
    /// Rows claimed by a concurrent caller are skipped.
    async fn claim_due(
        &self,
        now: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<MailboxState>, StoreError>;

    /// Sets when the user's next check is due.
    async fn schedule(&self, user_id: &str, next_check_at: i64) -> Result<(), StoreError>;

    /// Forgets the user's tracking row (disconnect). Their events stay.
    async fn untrack(&self, user_id: &str) -> Result<bool, StoreError>;

    /// Events with `id > after`, oldest first, at most `limit`; one user's
    /// or everyone's.
    async fn events_after(
        &self,
        user_id: Option<&str>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StoreError>;

    /// For each user with a pending event, that user's *oldest* pending
    /// event, if its `next_attempt_at <= now`; at most `limit`, oldest
    /// first. (Later events of a user wait: delivery is in order per user.)
    async fn due_deliveries(&self, now: i64, limit: u32) -> Result<Vec<StoredEvent>, StoreError>;

    /// The webhook acknowledged the event.
    async fn mark_delivered(&self, event_id: i64, at: i64) -> Result<(), StoreError>;

    /// A delivery attempt failed: `attempts += 1`, retry at `next_attempt_at`.
    async fn mark_failed(&self, event_id: i64, next_attempt_at: i64) -> Result<(), StoreError>;

    /// Delivery is given up for the event (too old).
    async fn mark_abandoned(&self, event_id: i64, at: i64) -> Result<(), StoreError>;

    /// Outbox totals, for everyone or one user.
    async fn outbox_stats(&self, user_id: Option<&str>) -> Result<OutboxStats, StoreError>;

    /// The newest event of the user, if any.
    async fn last_event(&self, user_id: &str) -> Result<Option<StoredEvent>, StoreError>;
}

/// Named leases in the database: one holder at a time, until it releases
/// the lease or lets it lapse (a holder that died). The same lease
/// for every replica that uses the database.
#[async_trait]
pub trait Leases: Send + Sync + 'static {
    /// Takes `name` for `holder` until `now + ttl_ms`, or renews it if
    /// `holder` has it. `false` when another holder's lease has not lapsed.
    async fn try_acquire(
        &self,
        name: &str,
        holder: &str,
        now: i64,
        ttl_ms: i64,
    ) -> Result<bool, StoreError>;

    /// Gives the lease up, if `holder` has it.
    async fn release(&self, name: &str, holder: &str) -> Result<(), StoreError>;
}
