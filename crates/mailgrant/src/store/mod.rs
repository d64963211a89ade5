//! Where credentials live: one [`CredentialStore`] trait, an embedded SQLite
//! implementation (the default), and PostgreSQL for several replicas that
//! share the work.
//!
//! The store only ever sees encrypted tokens ([`EncryptedToken`]); encryption is
//! the broker's job, so an implementation is plain SQL.

mod events;
mod events_sql;
mod postgres;
mod sql;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;

use crate::broker::RefreshCoordinator;

pub use events::{
    EventStore, Leases, MailboxState, NewEvent, OutboxStats, StoredEvent, SyncCommit, WatchStatus,
};
pub use postgres::{PostgresCoordinator, PostgresStore};
pub use sqlite::SqliteStore;

/// A token as stored: an opaque AES-GCM blob. `Debug` shows only its length.
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptedToken(pub Vec<u8>);

impl std::fmt::Debug for EncryptedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EncryptedToken({} bytes)", self.0.len())
    }
}

/// One user's stored grant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCredential {
    /// Google's stable user id (`id` of v2 userinfo, `sub` of OpenID Connect).
    pub user_id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub refresh_token: Option<EncryptedToken>,
    pub access_token: Option<EncryptedToken>,
    /// Unix seconds.
    pub access_token_expires_at: Option<i64>,
    /// Scopes Google reported as granted.
    pub scopes: Vec<String>,
    pub revoked: Option<Revocation>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// When and why a grant stopped working.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revocation {
    pub at: i64,
    pub reason: String,
}

/// A row's two encrypted tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenPair {
    pub refresh_token: Option<EncryptedToken>,
    pub access_token: Option<EncryptedToken>,
}

/// What a completed authorization writes.
#[derive(Clone, Debug)]
pub struct GrantUpdate {
    pub user_id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    /// `None` keeps the stored refresh token (Google returns one only on consent).
    pub refresh_token: Option<EncryptedToken>,
    pub access_token: EncryptedToken,
    pub access_token_expires_at: i64,
    pub scopes: Vec<String>,
}

/// What a successful refresh writes. The access token and a rotated refresh token
/// are written in one statement, so a crash cannot keep one without the other.
#[derive(Clone, Debug)]
pub struct RefreshUpdate {
    pub access_token: EncryptedToken,
    pub access_token_expires_at: i64,
    pub scopes: Vec<String>,
    pub refresh_token: Option<EncryptedToken>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    // Causes are in the messages, so not also `source`s: a printed cause
    // chain would name them twice.
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("database migration failed: {0}")]
    Migration(sqlx::migrate::MigrateError),
    #[error("unsupported database URL scheme `{0}` (use sqlite://PATH or postgres://USER@HOST/DB)")]
    UnsupportedUrl(String),
    /// Gmail's history ids are `uint64`s; the database keeps signed 64-bit
    /// integers, so an id above `i64::MAX` is refused (nothing is written).
    #[error("history id {0} is above the largest one the database stores ({max})", max = i64::MAX)]
    HistoryIdOutOfRange(u64),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        Self::Database(error)
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        Self::Migration(error)
    }
}

/// Storage of credentials, shared by every replica that uses the same database.
#[async_trait]
pub trait CredentialStore: Send + Sync + 'static {
    /// How one user's refreshes are serialized among everyone using this
    /// store: in memory for an embedded file, a lock the database holds
    /// for a shared one. The same coordination each time it is asked.
    fn refresh_coordinator(&self) -> Arc<dyn RefreshCoordinator>;

    /// The change stream's tables in the same database.
    fn events(&self) -> Arc<dyn EventStore>;

    /// Leases in the same database, shared by every replica that uses it.
    fn leases(&self) -> Arc<dyn Leases>;

    async fn get(&self, user_id: &str) -> Result<Option<StoredCredential>, StoreError>;
    async fn find_by_email(&self, email: &str) -> Result<Option<StoredCredential>, StoreError>;
    /// Inserts or updates the user after a consent; a new refresh token clears a revocation.
    async fn save_grant(&self, grant: &GrantUpdate) -> Result<StoredCredential, StoreError>;
    /// Records a refresh; `false` when the user is gone or revoked meanwhile.
    async fn save_refresh(&self, user_id: &str, update: &RefreshUpdate)
    -> Result<bool, StoreError>;
    /// Marks the grant dead and forgets its access token. The encrypted
    /// refresh token stays until a new consent replaces it or the user is
    /// deleted, so that a revocation found to be wrong can be undone
    /// ([`CredentialStore::reinstate`]).
    /// Only while the row still holds `refresh_token`, the token Google
    /// refused: a new consent stored meanwhile is not revoked by a refresh
    /// of the old one.
    async fn mark_revoked(
        &self,
        user_id: &str,
        refresh_token: &EncryptedToken,
        reason: &str,
    ) -> Result<bool, StoreError>;
    /// Records a refresh that worked for a revoked row and clears the
    /// revocation; `false` when the row is gone or not revoked.
    async fn reinstate(&self, user_id: &str, update: &RefreshUpdate) -> Result<bool, StoreError>;
    /// Removes the user's row entirely.
    async fn delete(&self, user_id: &str) -> Result<bool, StoreError>;
    /// Users ordered by id, after `after`, at most `limit`.
    async fn list(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<StoredCredential>, StoreError>;
    /// Unix milliseconds: sessions of `user_id` issued at or before it are
    /// ended (logout, disconnect, a new consent). `None`: none ended.
    async fn session_cutoff(&self, user_id: &str) -> Result<Option<i64>, StoreError>;
    /// Ends every session of `user_id` issued at or before `at_ms`, on every
    /// replica. The cutoff only moves forward.
    async fn end_sessions(&self, user_id: &str, at_ms: i64) -> Result<(), StoreError>;
    /// Records the first use of a login state (by its hash) until `expires_at_ms`;
    /// `false` when it was used already, here or on another replica.
    /// Records of expired states are dropped on the way.
    async fn use_state(&self, state_hash: &str, expires_at_ms: i64) -> Result<bool, StoreError>;
    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Swaps the user's tokens for re-encrypted ones, only if they are still
    /// `expected` (a refresh in between makes it `false`; read and try again).
    async fn replace_tokens(
        &self,
        user_id: &str,
        expected: &TokenPair,
        replacement: &TokenPair,
    ) -> Result<bool, StoreError>;
}

/// Opens the store a `--database` URL names, running its migrations.
pub async fn open(url: &str) -> Result<Arc<dyn CredentialStore>, StoreError> {
    match scheme(url) {
        "sqlite" => Ok(Arc::new(SqliteStore::open(url).await?)),
        "postgres" | "postgresql" => Ok(Arc::new(PostgresStore::open(url).await?)),
        other => Err(StoreError::UnsupportedUrl(other.to_owned())),
    }
}

/// Whether the URL names a database several replicas share (PostgreSQL),
/// which [`open`] would open as such.
pub fn is_shared(url: &str) -> bool {
    matches!(scheme(url), "postgres" | "postgresql")
}

fn scheme(url: &str) -> &str {
    url.split(':').next().unwrap_or_default()
}

/// Unix seconds now.
pub fn now_unix() -> i64 {
    now_unix_ms() / 1000
}

/// Unix milliseconds now.
pub fn now_unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

pub(crate) fn join_scopes(scopes: &[String]) -> String {
    scopes.join(" ")
}

pub(crate) fn split_scopes(scopes: &str) -> Vec<String> {
    scopes.split_whitespace().map(str::to_owned).collect()
}
