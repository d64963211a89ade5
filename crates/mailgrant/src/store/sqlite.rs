//! The embedded default store: one SQLite file in WAL mode.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AssertSqlSafe, FromRow, SqlitePool};

use super::{
    CredentialStore, EncryptedToken, GrantUpdate, RefreshUpdate, Revocation, StoreError,
    StoredCredential, TokenPair, join_scopes, now_unix, split_scopes,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

const COLUMNS: &str = "user_id, email, name, refresh_token, access_token, access_token_expires_at, \
                       scopes, revoked_at, revoked_reason, created_at, updated_at";

/// Credentials in an SQLite file.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
}

#[derive(FromRow)]
struct Row {
    user_id: String,
    email: Option<String>,
    name: Option<String>,
    refresh_token: Option<Vec<u8>>,
    access_token: Option<Vec<u8>>,
    access_token_expires_at: Option<i64>,
    scopes: String,
    revoked_at: Option<i64>,
    revoked_reason: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl From<Row> for StoredCredential {
    fn from(row: Row) -> Self {
        Self {
            user_id: row.user_id,
            email: row.email,
            name: row.name,
            refresh_token: row.refresh_token.map(EncryptedToken),
            access_token: row.access_token.map(EncryptedToken),
            access_token_expires_at: row.access_token_expires_at,
            scopes: split_scopes(&row.scopes),
            revoked: row.revoked_at.map(|at| Revocation {
                at,
                reason: row.revoked_reason.unwrap_or_default(),
            }),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
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
        Ok(Self { pool })
    }

    async fn fetch_one_where(
        &self,
        column: &str,
        value: &str,
    ) -> Result<Option<StoredCredential>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM credentials WHERE {column} = ?1");
        let row: Option<Row> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(value)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(Into::into))
    }
}

#[async_trait]
impl CredentialStore for SqliteStore {
    async fn get(&self, user_id: &str) -> Result<Option<StoredCredential>, StoreError> {
        self.fetch_one_where("user_id", user_id).await
    }

    async fn find_by_email(&self, email: &str) -> Result<Option<StoredCredential>, StoreError> {
        self.fetch_one_where("email", email).await
    }

    async fn save_grant(&self, grant: &GrantUpdate) -> Result<StoredCredential, StoreError> {
        let now = now_unix();
        let has_new_refresh_token = grant.refresh_token.is_some();
        let sql = format!(
            "INSERT INTO credentials (user_id, email, name, refresh_token, access_token,
                 access_token_expires_at, scopes, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)
             ON CONFLICT (user_id) DO UPDATE SET
                 email = excluded.email,
                 name = COALESCE(excluded.name, credentials.name),
                 refresh_token = COALESCE(excluded.refresh_token, credentials.refresh_token),
                 access_token = excluded.access_token,
                 access_token_expires_at = excluded.access_token_expires_at,
                 scopes = excluded.scopes,
                 revoked_at = CASE WHEN ?9 THEN NULL ELSE credentials.revoked_at END,
                 revoked_reason = CASE WHEN ?9 THEN NULL ELSE credentials.revoked_reason END,
                 updated_at = excluded.updated_at
             RETURNING {COLUMNS}"
        );
        let row: Row = sqlx::query_as(AssertSqlSafe(sql))
            .bind(&grant.user_id)
            .bind(&grant.email)
            .bind(&grant.name)
            .bind(grant.refresh_token.as_ref().map(|t| &t.0))
            .bind(&grant.access_token.0)
            .bind(grant.access_token_expires_at)
            .bind(join_scopes(&grant.scopes))
            .bind(now)
            .bind(has_new_refresh_token)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.into())
    }

    async fn save_refresh(
        &self,
        user_id: &str,
        update: &RefreshUpdate,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE credentials SET
                 access_token = ?2,
                 access_token_expires_at = ?3,
                 scopes = ?4,
                 refresh_token = COALESCE(?5, refresh_token),
                 updated_at = ?6
             WHERE user_id = ?1 AND revoked_at IS NULL",
        )
        .bind(user_id)
        .bind(&update.access_token.0)
        .bind(update.access_token_expires_at)
        .bind(join_scopes(&update.scopes))
        .bind(update.refresh_token.as_ref().map(|t| &t.0))
        .bind(now_unix())
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn mark_revoked(&self, user_id: &str, reason: &str) -> Result<bool, StoreError> {
        let now = now_unix();
        let result = sqlx::query(
            "UPDATE credentials SET
                 refresh_token = NULL, access_token = NULL, access_token_expires_at = NULL,
                 revoked_at = ?2, revoked_reason = ?3, updated_at = ?2
             WHERE user_id = ?1",
        )
        .bind(user_id)
        .bind(now)
        .bind(reason)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn delete(&self, user_id: &str) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM credentials WHERE user_id = ?1")
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn list(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<StoredCredential>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM credentials WHERE user_id > ?1 ORDER BY user_id LIMIT ?2"
        );
        let rows: Vec<Row> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(after.unwrap_or(""))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn replace_tokens(
        &self,
        user_id: &str,
        expected: &TokenPair,
        replacement: &TokenPair,
    ) -> Result<bool, StoreError> {
        let bytes = |t: &Option<EncryptedToken>| t.as_ref().map(|t| t.0.clone());
        // `IS` compares NULLs as equal, unlike `=`.
        let result = sqlx::query(
            "UPDATE credentials SET refresh_token = ?4, access_token = ?5
             WHERE user_id = ?1 AND refresh_token IS ?2 AND access_token IS ?3",
        )
        .bind(user_id)
        .bind(bytes(&expected.refresh_token))
        .bind(bytes(&expected.access_token))
        .bind(bytes(&replacement.refresh_token))
        .bind(bytes(&replacement.access_token))
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}
