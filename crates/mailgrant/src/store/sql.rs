//! What the SQLite and PostgreSQL stores share: the `credentials` row (the
//! same columns and types: `TEXT`, `BLOB`/`BYTEA`, `INTEGER`/`BIGINT`), and
//! the statements and code of every [`CredentialStore`](super::CredentialStore)
//! method but `refresh_coordinator`, written once in [`sql_store_methods`].
//! The statements use PostgreSQL's `$n` parameters; each store's
//! `statement` function turns them into its own dialect.

use sqlx::FromRow;

use super::{EncryptedToken, Revocation, StoredCredential, split_scopes};

pub(super) const COLUMNS: &str = "user_id, email, name, refresh_token, access_token, access_token_expires_at, \
                       scopes, revoked_at, revoked_reason, created_at, updated_at";

#[derive(FromRow)]
pub(super) struct Row {
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

/// A row by one column's value: for `impl SqliteStore`/`impl PostgresStore`,
/// with the same needs as [`sql_store_methods`].
macro_rules! sql_store_helpers {
    () => {
        async fn fetch_one_where(
            &self,
            column: &str,
            value: &str,
        ) -> Result<Option<StoredCredential>, StoreError> {
            let sql = format!("SELECT {COLUMNS} FROM credentials WHERE {column} = $1");
            let row: Option<Row> = sqlx::query_as(AssertSqlSafe(statement(&sql)))
                .bind(value)
                .fetch_optional(&self.pool)
                .await?;
            Ok(row.map(Into::into))
        }

        /// A refresh's tokens, written to a live row, or with `reinstate` to
        /// a revoked one whose revocation it clears.
        async fn write_refresh(
            &self,
            user_id: &str,
            update: &RefreshUpdate,
            reinstate: bool,
        ) -> Result<bool, StoreError> {
            let (clear, status) = if reinstate {
                (", revoked_at = NULL, revoked_reason = NULL", "IS NOT NULL")
            } else {
                ("", "IS NULL")
            };
            let sql = format!(
                "UPDATE credentials SET
                     access_token = $2,
                     access_token_expires_at = $3,
                     scopes = $4,
                     refresh_token = COALESCE($5, refresh_token),
                     updated_at = $6{clear}
                 WHERE user_id = $1 AND revoked_at {status}"
            );
            let result = sqlx::query(AssertSqlSafe(statement(&sql)))
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
    };
}

pub(super) use sql_store_helpers;

/// `impl CredentialStore for $store`, for a cloneable store with a `pool`
/// field, a `coordination()` method (its `refresh_coordinator`) and the
/// change stream's methods (`sql_event_methods`), in a module with a
/// `statement(&str) -> String` function (its parameter syntax).
macro_rules! sql_store_methods {
    ($store:ty) => {
        #[async_trait]
        impl CredentialStore for $store {
            fn refresh_coordinator(&self) -> Arc<dyn RefreshCoordinator> {
                self.coordination()
            }

            fn events(&self) -> Arc<dyn $crate::store::EventStore> {
                Arc::new(self.clone())
            }

            fn leases(&self) -> Arc<dyn $crate::store::Leases> {
                Arc::new(self.clone())
            }

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
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
                     ON CONFLICT (user_id) DO UPDATE SET
                         email = excluded.email,
                         name = COALESCE(excluded.name, credentials.name),
                         refresh_token = COALESCE(excluded.refresh_token, credentials.refresh_token),
                         access_token = excluded.access_token,
                         access_token_expires_at = excluded.access_token_expires_at,
                         scopes = excluded.scopes,
                         revoked_at = CASE WHEN $9 THEN NULL ELSE credentials.revoked_at END,
                         revoked_reason = CASE WHEN $9 THEN NULL ELSE credentials.revoked_reason END,
                         updated_at = excluded.updated_at
                     RETURNING {COLUMNS}"
                );
                let row: Row = sqlx::query_as(AssertSqlSafe(statement(&sql)))
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
                self.write_refresh(user_id, update, false).await
            }

            async fn reinstate(
                &self,
                user_id: &str,
                update: &RefreshUpdate,
            ) -> Result<bool, StoreError> {
                self.write_refresh(user_id, update, true).await
            }

            async fn mark_revoked(
                &self,
                user_id: &str,
                refresh_token: &EncryptedToken,
                reason: &str,
            ) -> Result<bool, StoreError> {
                let now = now_unix();
                // The refresh token stays (encrypted): see the trait's doc.
                let result = sqlx::query(AssertSqlSafe(statement(
                    "UPDATE credentials SET
                         access_token = NULL, access_token_expires_at = NULL,
                         revoked_at = $2, revoked_reason = $3, updated_at = $2
                     WHERE user_id = $1 AND refresh_token = $4",
                )))
                .bind(user_id)
                .bind(now)
                .bind(reason)
                .bind(&refresh_token.0)
                .execute(&self.pool)
                .await?;
                Ok(result.rows_affected() == 1)
            }

            async fn delete(&self, user_id: &str) -> Result<bool, StoreError> {
                let result = sqlx::query(AssertSqlSafe(statement("DELETE FROM credentials WHERE user_id = $1")))
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
                    "SELECT {COLUMNS} FROM credentials WHERE user_id > $1 ORDER BY user_id LIMIT $2"
                );
                let rows: Vec<Row> = sqlx::query_as(AssertSqlSafe(statement(&sql)))
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
                // `IS NOT DISTINCT FROM` compares NULLs as equal, unlike `=`.
                let result = sqlx::query(AssertSqlSafe(statement(
                    "UPDATE credentials SET refresh_token = $4, access_token = $5
                     WHERE user_id = $1
                       AND refresh_token IS NOT DISTINCT FROM $2
                       AND access_token IS NOT DISTINCT FROM $3",
                )))
                .bind(user_id)
                .bind(bytes(&expected.refresh_token))
                .bind(bytes(&expected.access_token))
                .bind(bytes(&replacement.refresh_token))
                .bind(bytes(&replacement.access_token))
                .execute(&self.pool)
                .await?;
                Ok(result.rows_affected() == 1)
            }

            async fn session_cutoff(&self, user_id: &str) -> Result<Option<i64>, StoreError> {
                let cutoff: Option<i64> = sqlx::query_scalar(AssertSqlSafe(statement(
                    "SELECT valid_after FROM session_cutoffs WHERE user_id = $1",
                )))
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?;
                Ok(cutoff)
            }

            async fn end_sessions(&self, user_id: &str, at_ms: i64) -> Result<(), StoreError> {
                sqlx::query(AssertSqlSafe(statement(
                    "INSERT INTO session_cutoffs (user_id, valid_after) VALUES ($1, $2)
                     ON CONFLICT (user_id) DO UPDATE SET valid_after =
                         CASE WHEN excluded.valid_after > session_cutoffs.valid_after
                              THEN excluded.valid_after ELSE session_cutoffs.valid_after END",
                )))
                .bind(user_id)
                .bind(at_ms)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn use_state(&self, state_hash: &str, expires_at_ms: i64) -> Result<bool, StoreError> {
                sqlx::query(AssertSqlSafe(statement("DELETE FROM used_states WHERE expires_at < $1")))
                    .bind(now_unix_ms())
                    .execute(&self.pool)
                    .await?;
                let result = sqlx::query(AssertSqlSafe(statement(
                    "INSERT INTO used_states (state_hash, expires_at) VALUES ($1, $2)
                     ON CONFLICT (state_hash) DO NOTHING",
                )))
                .bind(state_hash)
                .bind(expires_at_ms)
                .execute(&self.pool)
                .await?;
                Ok(result.rows_affected() == 1)
            }

            async fn ping(&self) -> Result<(), StoreError> {
                sqlx::query(AssertSqlSafe(statement("SELECT 1"))).execute(&self.pool).await?;
                Ok(())
            }
        }
    };
}

pub(super) use sql_store_methods;
