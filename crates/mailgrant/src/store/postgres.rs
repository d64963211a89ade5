//! The store for several replicas: one PostgreSQL database they share, with
//! the same table and statements as the SQLite store (`super::sql`), and
//! refresh locks the database holds ([`PostgresCoordinator`]).

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, PgPool, Postgres, Transaction};

use crate::broker::{RefreshCoordinator, RefreshGuard};

use super::events_sql::{MailboxRow, sql_event_methods};
use super::sql::{COLUMNS, Row, sql_store_helpers, sql_store_methods};
use super::{
    CredentialStore, EncryptedToken, GrantUpdate, RefreshUpdate, StoreError, StoredCredential,
    TokenPair, join_scopes, now_unix, now_unix_ms,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The shared statements are written with PostgreSQL's `$n` parameters.
fn statement(sql: &str) -> String {
    sql.to_owned()
}

/// Credentials in a PostgreSQL database.
#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: PgPool,
    /// Connections for refresh locks only: a refresh holds its lock while it
    /// reads and writes through `pool`, so the two must not share a limit.
    lock_pool: PgPool,
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://USER@HOST/DB`) and
    /// migrates it. Replicas that start together migrate once: sqlx holds
    /// an advisory lock while it migrates.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&pool).await?;
        // Lazy: a replica that never refreshes opens none. Waiting for a
        // lock connection is waiting for a refresh slot, so no short timeout.
        let lock_pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(60))
            .connect_lazy_with(
                options.options([("idle_in_transaction_session_timeout", IDLE_IN_LOCK_TIMEOUT)]),
            );
        Ok(Self { pool, lock_pool })
    }

    /// Refresh locks held by the database: [`PostgresCoordinator`].
    pub fn coordinator(&self) -> PostgresCoordinator {
        PostgresCoordinator {
            pool: self.lock_pool.clone(),
        }
    }
}

/// Serializes one user's refreshes across every replica of a PostgreSQL
/// store: a transaction-level advisory lock on the user id's hash, held as
/// long as the guard's transaction; dropping the guard rolls it back (sqlx
/// sends the rollback as the connection goes back to its pool), which
/// releases the lock. Two users whose ids hash alike only wait for each
/// other.
///
/// A replica whose process dies releases its locks as its connection
/// closes. One whose host vanishes does not, until the server gives up on
/// the connection: `idle_in_transaction_session_timeout` on the lock
/// connections bounds that, and `lock_timeout` bounds a waiter.
#[derive(Clone, Debug)]
pub struct PostgresCoordinator {
    pool: PgPool,
}

/// The advisory lock space of refresh locks: the two-key form keeps them
/// apart from one-key locks (sqlx's migration lock, other applications').
const LOCK_SPACE: i32 = 0x6d67_7266; // "mgrf"

/// Longer than the longest refresh: 4 tries of at most 30 s plus backoff.
const LOCK_TIMEOUT: &str = "150s";

/// Ends the session of a replica that stopped answering while holding a
/// lock; longer than any refresh.
pub(super) const IDLE_IN_LOCK_TIMEOUT: &str = "180s";

#[async_trait]
impl RefreshCoordinator for PostgresCoordinator {
    async fn lock(&self, user_id: &str) -> Result<RefreshGuard, StoreError> {
        let mut transaction = self.pool.begin().await?;
        sqlx::query(AssertSqlSafe(format!(
            "SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"
        )))
        .execute(&mut *transaction)
        .await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
            .bind(LOCK_SPACE)
            .bind(user_id)
            .execute(&mut *transaction)
            .await?;
        Ok(RefreshGuard::new(transaction))
    }
}

impl PostgresStore {
    sql_store_helpers!();

    fn coordination(&self) -> Arc<dyn RefreshCoordinator> {
        Arc::new(self.coordinator())
    }
}

sql_store_methods!(PostgresStore);
sql_event_methods!(PostgresStore);

/// The advisory lock that serializes event inserts (two-key form, apart
/// from the refresh locks' space).
const EVENTS_LOCK_SPACE: i32 = 0x6d67_6576; // "mgev"

async fn begin_write(pool: &PgPool) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    pool.begin().await
}

/// A sequence hands out ids as transactions insert, not as they commit: a
/// transaction could commit id 8 while one that took 7 is still open, and
/// a reader that saw 8 would page past 7 for good. Holding one lock from
/// the first insert to commit makes ids grow in commit order. Taken after
/// the cursor's row lock and last, so no two transactions wait on each
/// other in a circle.
async fn order_event_ids(
    transaction: &mut Transaction<'static, Postgres>,
) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock($1, 0)")
        .bind(EVENTS_LOCK_SPACE)
        .execute(&mut **transaction)
        .await?;
    Ok(())
}

/// Locks the due rows, skipping those a concurrent claimer has locked, and
/// moves them in the same statement. A row another claimer moved after this
/// statement's snapshot is checked again once locked, and then not due.
async fn claim_due_rows(
    pool: &PgPool,
    now: i64,
    lease_ms: i64,
    limit: u32,
) -> Result<Vec<MailboxRow>, sqlx::Error> {
    sqlx::query_as(
        "WITH due AS (
             SELECT user_id, next_check_at FROM mailboxes WHERE next_check_at <= $1
             ORDER BY next_check_at, user_id LIMIT $2
             FOR UPDATE SKIP LOCKED
         )
         UPDATE mailboxes m SET next_check_at = $3
         FROM due WHERE m.user_id = due.user_id
         RETURNING m.user_id, m.cursor, m.pushed_history_id, m.last_push_at, m.last_sync_at,
             m.watch_status, m.watch_expires_at, m.watch_renewed_at, m.watch_error,
             due.next_check_at",
    )
    .bind(now)
    .bind(i64::from(limit))
    .bind(now.saturating_add(lease_ms))
    .fetch_all(pool)
    .await
}
