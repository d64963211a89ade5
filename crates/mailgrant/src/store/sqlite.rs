//! The embedded default store: one SQLite file in WAL mode.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AssertSqlSafe, Sqlite, SqlitePool, Transaction};

use super::events_sql::{MAILBOX_COLUMNS, MailboxRow, sql_event_methods};
use super::sql::{COLUMNS, Row, sql_store_helpers, sql_store_methods};
use super::{
    CredentialStore, EncryptedToken, GrantUpdate, RefreshUpdate, StoreError, StoredCredential,
    TokenPair, join_scopes, now_unix, now_unix_ms,
};
use crate::broker::{InProcessCoordinator, RefreshCoordinator};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// A shared statement (`$n` parameters) as SQLite numbers them: `?n`.
/// Only a `$` before a digit is a parameter.
fn statement(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        let parameter = c == '$' && chars.peek().is_some_and(char::is_ascii_digit);
        out.push(if parameter { '?' } else { c });
    }
    out
}

/// Credentials in an SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// One process uses the file, so its refreshes are serialized in memory.
    coordinator: Arc<InProcessCoordinator>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` (`sqlite://PATH`) and migrates it.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self {
            pool,
            coordinator: Arc::default(),
        })
    }

    sql_store_helpers!();

    fn coordination(&self) -> Arc<dyn RefreshCoordinator> {
        self.coordinator.clone()
    }
}

sql_store_methods!(SqliteStore);
sql_event_methods!(SqliteStore);

/// A transaction that takes the database's one write lock at once
/// (`BEGIN IMMEDIATE`): one that read first and wrote later could find its
/// snapshot stale and fail instead of waiting its turn.
async fn begin_write(pool: &SqlitePool) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

/// One writer at a time commits, in the order it took the write lock, and
/// `AUTOINCREMENT` numbers in that order too: nothing to do.
async fn order_event_ids(_: &mut Transaction<'static, Sqlite>) -> Result<(), sqlx::Error> {
    Ok(())
}

/// Reads the due rows and moves them in one write transaction, which no
/// other claimer (of this process or another on the file) can interleave.
async fn claim_due_rows(
    pool: &SqlitePool,
    now: i64,
    lease_ms: i64,
    limit: u32,
) -> Result<Vec<MailboxRow>, sqlx::Error> {
    let due = "SELECT user_id FROM mailboxes WHERE next_check_at <= ?1
               ORDER BY next_check_at, user_id LIMIT ?2";
    let mut transaction = begin_write(pool).await?;
    let rows: Vec<MailboxRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {MAILBOX_COLUMNS} FROM mailboxes WHERE user_id IN ({due})"
    )))
    .bind(now)
    .bind(i64::from(limit))
    .fetch_all(&mut *transaction)
    .await?;
    sqlx::query(AssertSqlSafe(format!(
        "UPDATE mailboxes SET next_check_at = ?3 WHERE user_id IN ({due})"
    )))
    .bind(now)
    .bind(i64::from(limit))
    .bind(now.saturating_add(lease_ms))
    .execute(&mut *transaction)
    .await?;
    transaction.commit().await?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::statement;

    #[test]
    fn statements_get_sqlites_numbered_parameters_and_keep_other_dollars() {
        assert_eq!(
            statement("UPDATE t SET a = $2, b = '$x' WHERE id = $1 AND c = $10"),
            "UPDATE t SET a = ?2, b = '$x' WHERE id = ?1 AND c = ?10"
        );
    }
}
