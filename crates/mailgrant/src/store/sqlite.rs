//! The embedded default store: one SQLite file in WAL mode.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AssertSqlSafe, SqlitePool};

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
