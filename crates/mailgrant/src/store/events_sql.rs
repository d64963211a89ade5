//! What the SQLite and PostgreSQL stores share of the change stream's tables
//! (`mailboxes`, `events`, `leases`): their rows, and the code of every
//! [`EventStore`](super::EventStore) and [`Leases`](super::Leases) method,
//! written once in [`sql_event_methods`]. As in `super::sql`, statements use
//! PostgreSQL's `$n` parameters and each store's `statement` turns them into
//! its dialect; what the dialects do differently (claiming due rows, keeping
//! event ids in commit order) each store writes itself.

use sqlx::FromRow;

use super::StoreError;
use super::events::{MailboxState, StoredEvent, WatchStatus};

pub(super) const MAILBOX_COLUMNS: &str = "user_id, cursor, pushed_history_id, last_push_at, \
    last_sync_at, watch_status, watch_expires_at, watch_renewed_at, watch_error, next_check_at";

pub(super) const EVENT_COLUMNS: &str = "id, user_id, kind, email, occurred_at, data, \
    delivered_at, abandoned_at, attempts, next_attempt_at";

/// Neither delivered nor given up.
pub(super) const PENDING: &str = "delivered_at IS NULL AND abandoned_at IS NULL";

/// A history id as the database keeps it: a signed 64-bit integer. Gmail's
/// ids are `uint64`s; one above `i64::MAX` is refused rather than wrapped,
/// which would make it compare below every other.
pub(super) fn history_id(id: u64) -> Result<i64, StoreError> {
    i64::try_from(id).map_err(|_| StoreError::HistoryIdOutOfRange(id))
}

#[derive(FromRow)]
pub(super) struct MailboxRow {
    user_id: String,
    cursor: Option<i64>,
    pushed_history_id: Option<i64>,
    last_push_at: Option<i64>,
    last_sync_at: Option<i64>,
    watch_status: String,
    watch_expires_at: Option<i64>,
    watch_renewed_at: Option<i64>,
    watch_error: Option<String>,
    next_check_at: i64,
}

impl From<MailboxRow> for MailboxState {
    fn from(row: MailboxRow) -> Self {
        Self {
            user_id: row.user_id,
            // Only ids that `history_id` let through are stored.
            cursor: row.cursor.map(i64::cast_unsigned),
            pushed_history_id: row.pushed_history_id.map(i64::cast_unsigned),
            last_push_at: row.last_push_at,
            last_sync_at: row.last_sync_at,
            watch_status: WatchStatus::parse(&row.watch_status),
            watch_expires_at: row.watch_expires_at,
            watch_renewed_at: row.watch_renewed_at,
            watch_error: row.watch_error,
            next_check_at: row.next_check_at,
        }
    }
}

#[derive(FromRow)]
pub(super) struct EventRow {
    id: i64,
    user_id: String,
    kind: String,
    email: Option<String>,
    occurred_at: i64,
    data: String,
    delivered_at: Option<i64>,
    abandoned_at: Option<i64>,
    attempts: i64,
    next_attempt_at: i64,
}

impl From<EventRow> for StoredEvent {
    fn from(row: EventRow) -> Self {
        Self {
            id: row.id,
            user_id: row.user_id,
            kind: row.kind,
            email: row.email,
            occurred_at: row.occurred_at,
            data: row.data,
            delivered_at: row.delivered_at,
            abandoned_at: row.abandoned_at,
            attempts: u32::try_from(row.attempts).unwrap_or(u32::MAX),
            next_attempt_at: row.next_attempt_at,
        }
    }
}

/// Outbox totals as one row.
#[derive(FromRow)]
pub(super) struct StatsRow {
    pub(super) pending: i64,
    pub(super) oldest_pending_at: Option<i64>,
    pub(super) abandoned: i64,
}

/// `impl EventStore` and `impl Leases` for `$store`, a store with a `pool`
/// field, in a module with these functions:
/// - `statement(&str) -> String`, its parameter syntax;
/// - `begin_write(&pool)`, a transaction that will write;
/// - `order_event_ids(&mut transaction)`, called before a transaction
///   inserts events, so that their ids grow in commit order;
/// - `claim_due_rows(&pool, now, lease_ms, limit) -> Vec<MailboxRow>`, the
///   claimed rows as they were, in any order.
macro_rules! sql_event_methods {
    ($store:ty) => {
        #[async_trait]
        impl $crate::store::EventStore for $store {
            async fn mailbox(
                &self,
                user_id: &str,
            ) -> Result<Option<$crate::store::MailboxState>, StoreError> {
                use $crate::store::events_sql::{MAILBOX_COLUMNS, MailboxRow};
                let sql = format!("SELECT {MAILBOX_COLUMNS} FROM mailboxes WHERE user_id = $1");
                let row: Option<MailboxRow> = sqlx::query_as(AssertSqlSafe(statement(&sql)))
                    .bind(user_id)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(Into::into))
            }

            async fn track(
                &self,
                user_id: &str,
                next_check_at: i64,
            ) -> Result<$crate::store::MailboxState, StoreError> {
                use $crate::store::events_sql::{MAILBOX_COLUMNS, MailboxRow};
                // The no-op update makes an existing row come back too.
                let sql = format!(
                    "INSERT INTO mailboxes (user_id, watch_status, next_check_at)
                     VALUES ($1, 'none', $2)
                     ON CONFLICT (user_id) DO UPDATE SET next_check_at = mailboxes.next_check_at
                     RETURNING {MAILBOX_COLUMNS}"
                );
                let row: MailboxRow = sqlx::query_as(AssertSqlSafe(statement(&sql)))
                    .bind(user_id)
                    .bind(next_check_at)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(row.into())
            }

            async fn note_push(
                &self,
                user_id: &str,
                history_id: u64,
                at: i64,
            ) -> Result<(), StoreError> {
                let history_id = $crate::store::events_sql::history_id(history_id)?;
                // Not `GREATEST`: SQLite's two-argument `max` is NULL if either is.
                sqlx::query(AssertSqlSafe(statement(
                    "INSERT INTO mailboxes (user_id, pushed_history_id, last_push_at,
                         watch_status, next_check_at)
                     VALUES ($1, $2, $3, 'none', $3)
                     ON CONFLICT (user_id) DO UPDATE SET
                         pushed_history_id = CASE
                             WHEN mailboxes.pushed_history_id IS NULL
                                  OR excluded.pushed_history_id > mailboxes.pushed_history_id
                             THEN excluded.pushed_history_id
                             ELSE mailboxes.pushed_history_id END,
                         last_push_at = excluded.last_push_at",
                )))
                .bind(user_id)
                .bind(history_id)
                .bind(at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn commit_sync(
                &self,
                commit: $crate::store::SyncCommit<'_>,
            ) -> Result<bool, StoreError> {
                use $crate::store::events_sql::history_id;
                let expected = commit.expected_cursor.map(history_id).transpose()?;
                let new_cursor = history_id(commit.new_cursor)?;
                let mut transaction = begin_write(&self.pool).await?;
                // `IS NOT DISTINCT FROM`: an expected `None` matches a NULL cursor.
                let moved = sqlx::query(AssertSqlSafe(statement(
                    "UPDATE mailboxes SET cursor = $3, last_sync_at = $4
                     WHERE user_id = $1 AND cursor IS NOT DISTINCT FROM $2",
                )))
                .bind(commit.user_id)
                .bind(expected)
                .bind(new_cursor)
                .bind(commit.at)
                .execute(&mut *transaction)
                .await?;
                if moved.rows_affected() != 1 {
                    // Dropping the transaction rolls it back.
                    return Ok(false);
                }
                if !commit.events.is_empty() {
                    order_event_ids(&mut transaction).await?;
                }
                for event in commit.events {
                    sqlx::query(AssertSqlSafe(statement(
                        "INSERT INTO events (user_id, kind, email, occurred_at, data,
                             attempts, next_attempt_at)
                         VALUES ($1, $2, $3, $4, $5, 0, $6)",
                    )))
                    .bind(commit.user_id)
                    .bind(&event.kind)
                    .bind(&event.email)
                    .bind(event.occurred_at)
                    .bind(&event.data)
                    .bind(commit.at)
                    .execute(&mut *transaction)
                    .await?;
                }
                transaction.commit().await?;
                Ok(true)
            }

            async fn set_watch(
                &self,
                user_id: &str,
                status: $crate::store::WatchStatus,
                expires_at: Option<i64>,
                error: Option<&str>,
                at: i64,
            ) -> Result<(), StoreError> {
                sqlx::query(AssertSqlSafe(statement(
                    "UPDATE mailboxes SET watch_status = $2, watch_expires_at = $3,
                         watch_error = $4, watch_renewed_at = $5
                     WHERE user_id = $1",
                )))
                .bind(user_id)
                .bind(status.as_str())
                .bind(expires_at)
                .bind(error)
                .bind(at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn claim_due(
                &self,
                now: i64,
                lease_ms: i64,
                limit: u32,
            ) -> Result<Vec<$crate::store::MailboxState>, StoreError> {
                let rows = claim_due_rows(&self.pool, now, lease_ms, limit).await?;
                let mut claimed: Vec<$crate::store::MailboxState> =
                    rows.into_iter().map(Into::into).collect();
                claimed.sort_by(|a, b| {
                    (a.next_check_at, &a.user_id).cmp(&(b.next_check_at, &b.user_id))
                });
                Ok(claimed)
            }

            async fn schedule(&self, user_id: &str, next_check_at: i64) -> Result<(), StoreError> {
                sqlx::query(AssertSqlSafe(statement(
                    "UPDATE mailboxes SET next_check_at = $2 WHERE user_id = $1",
                )))
                .bind(user_id)
                .bind(next_check_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn untrack(&self, user_id: &str) -> Result<bool, StoreError> {
                let result = sqlx::query(AssertSqlSafe(statement(
                    "DELETE FROM mailboxes WHERE user_id = $1",
                )))
                .bind(user_id)
                .execute(&self.pool)
                .await?;
                Ok(result.rows_affected() == 1)
            }

            async fn events_after(
                &self,
                user_id: Option<&str>,
                after: i64,
                limit: u32,
            ) -> Result<Vec<$crate::store::StoredEvent>, StoreError> {
                use $crate::store::events_sql::{EVENT_COLUMNS, EventRow};
                let filter = if user_id.is_some() {
                    "AND user_id = $3"
                } else {
                    ""
                };
                let sql = format!(
                    "SELECT {EVENT_COLUMNS} FROM events WHERE id > $1 {filter}
                     ORDER BY id LIMIT $2"
                );
                let mut query = sqlx::query_as(AssertSqlSafe(statement(&sql)))
                    .bind(after)
                    .bind(i64::from(limit));
                if let Some(user_id) = user_id {
                    query = query.bind(user_id);
                }
                let rows: Vec<EventRow> = query.fetch_all(&self.pool).await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn due_deliveries(
                &self,
                now: i64,
                limit: u32,
            ) -> Result<Vec<$crate::store::StoredEvent>, StoreError> {
                use $crate::store::events_sql::{EVENT_COLUMNS, EventRow, PENDING};
                let sql = format!(
                    "SELECT {EVENT_COLUMNS} FROM events
                     WHERE id IN (SELECT MIN(id) FROM events WHERE {PENDING} GROUP BY user_id)
                       AND next_attempt_at <= $1
                     ORDER BY id LIMIT $2"
                );
                let rows: Vec<EventRow> = sqlx::query_as(AssertSqlSafe(statement(&sql)))
                    .bind(now)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn mark_delivered(&self, event_id: i64, at: i64) -> Result<(), StoreError> {
                sqlx::query(AssertSqlSafe(statement(
                    "UPDATE events SET delivered_at = $2 WHERE id = $1",
                )))
                .bind(event_id)
                .bind(at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn mark_failed(
                &self,
                event_id: i64,
                next_attempt_at: i64,
            ) -> Result<(), StoreError> {
                sqlx::query(AssertSqlSafe(statement(
                    "UPDATE events SET attempts = attempts + 1, next_attempt_at = $2
                     WHERE id = $1",
                )))
                .bind(event_id)
                .bind(next_attempt_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn mark_abandoned(&self, event_id: i64, at: i64) -> Result<(), StoreError> {
                sqlx::query(AssertSqlSafe(statement(
                    "UPDATE events SET abandoned_at = $2 WHERE id = $1",
                )))
                .bind(event_id)
                .bind(at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn outbox_stats(
                &self,
                user_id: Option<&str>,
            ) -> Result<$crate::store::OutboxStats, StoreError> {
                use $crate::store::events_sql::{PENDING, StatsRow};
                let filter = if user_id.is_some() {
                    "WHERE user_id = $1"
                } else {
                    ""
                };
                let sql = format!(
                    "SELECT COUNT(CASE WHEN {PENDING} THEN 1 END) AS pending,
                         MIN(CASE WHEN {PENDING} THEN occurred_at END) AS oldest_pending_at,
                         COUNT(abandoned_at) AS abandoned
                     FROM events {filter}"
                );
                let mut query = sqlx::query_as(AssertSqlSafe(statement(&sql)));
                if let Some(user_id) = user_id {
                    query = query.bind(user_id);
                }
                let row: StatsRow = query.fetch_one(&self.pool).await?;
                Ok($crate::store::OutboxStats {
                    pending: row.pending.cast_unsigned(),
                    oldest_pending_at: row.oldest_pending_at,
                    abandoned: row.abandoned.cast_unsigned(),
                })
            }

            async fn last_event(
                &self,
                user_id: &str,
            ) -> Result<Option<$crate::store::StoredEvent>, StoreError> {
                use $crate::store::events_sql::{EVENT_COLUMNS, EventRow};
                let sql = format!(
                    "SELECT {EVENT_COLUMNS} FROM events WHERE user_id = $1 ORDER BY id DESC LIMIT 1"
                );
                let row: Option<EventRow> = sqlx::query_as(AssertSqlSafe(statement(&sql)))
                    .bind(user_id)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(Into::into))
            }
        }

        #[async_trait]
        impl $crate::store::Leases for $store {
            async fn try_acquire(
                &self,
                name: &str,
                holder: &str,
                now: i64,
                ttl_ms: i64,
            ) -> Result<bool, StoreError> {
                // Nothing is written, and no row counted, when another
                // holder's lease has not lapsed.
                let result = sqlx::query(AssertSqlSafe(statement(
                    "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
                     ON CONFLICT (name) DO UPDATE SET
                         holder = excluded.holder, expires_at = excluded.expires_at
                     WHERE leases.holder = excluded.holder OR leases.expires_at <= $4",
                )))
                .bind(name)
                .bind(holder)
                .bind(now.saturating_add(ttl_ms))
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(result.rows_affected() == 1)
            }

            async fn release(&self, name: &str, holder: &str) -> Result<(), StoreError> {
                sqlx::query(AssertSqlSafe(statement(
                    "DELETE FROM leases WHERE name = $1 AND holder = $2",
                )))
                .bind(name)
                .bind(holder)
                .execute(&self.pool)
                .await?;
                Ok(())
            }
        }
    };
}

pub(super) use sql_event_methods;
