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

use super::sql::{COLUMNS, Row, sql_store_helpers, sql_store_methods};
use super::{
    CredentialStore, EncryptedToken, GrantUpdate, RefreshUpdate, StoreError, StoredCredential,
    TokenPair, join_scopes, now_unix,
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
            .connect_lazy_with(options);
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
/// store: a transaction-level advisory lock (`pg_advisory_xact_lock`) on a
/// 64-bit hash of the user id, held as long as the guard's transaction.
/// Dropping the guard rolls the transaction back, which releases the lock;
/// so does the database when a replica dies holding it. Two users whose ids
/// hash alike only wait for each other.
#[derive(Clone, Debug)]
pub struct PostgresCoordinator {
    pool: PgPool,
}

#[async_trait]
impl RefreshCoordinator for PostgresCoordinator {
    async fn lock(&self, user_id: &str) -> Result<RefreshGuard, StoreError> {
        let mut transaction = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(user_id)
            .execute(&mut *transaction)
            .await?;
        Ok(RefreshGuard::new(AdvisoryLock(Some(transaction))))
    }
}

/// The transaction that holds an advisory lock.
struct AdvisoryLock(Option<Transaction<'static, Postgres>>);

impl Drop for AdvisoryLock {
    fn drop(&mut self) {
        let Some(transaction) = self.0.take() else {
            return;
        };
        // Rolled back now rather than when sqlx next uses the connection, so
        // the next replica waiting for this user gets the lock at once.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(error) = transaction.rollback().await {
                    tracing::warn!(%error, "could not release a refresh lock; the database will when the connection closes");
                }
            });
        }
    }
}

impl PostgresStore {
    sql_store_helpers!();

    fn coordination(&self) -> Arc<dyn RefreshCoordinator> {
        Arc::new(self.coordinator())
    }
}

sql_store_methods!(PostgresStore);
