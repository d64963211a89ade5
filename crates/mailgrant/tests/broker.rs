//! The broker against the emulator over real HTTP, on a real SQLite file: one
//! refresh per user however many callers, rotation, and what a failed write
//! must not lose.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use google_emulator::EmulatorConfig;
use mailgrant::ExposeSecret;
use mailgrant::broker::RefreshCoordinator;
use mailgrant::store::{
    CredentialStore, EncryptedToken, EventStore, GrantUpdate, Leases, RefreshUpdate, StoreError,
    StoredCredential, TokenPair,
};

mod gmail_common;

use gmail_common::{Bench, concurrent_tokens, count};

/// A store that can be told to fail the next refresh write, as a crash between
/// Google's answer and the database would.
struct FlakyStore {
    inner: Arc<dyn CredentialStore>,
    fail_next_refresh: AtomicBool,
}

#[async_trait]
impl CredentialStore for FlakyStore {
    fn refresh_coordinator(&self) -> Arc<dyn RefreshCoordinator> {
        self.inner.refresh_coordinator()
    }
    fn events(&self) -> Arc<dyn EventStore> {
        self.inner.events()
    }
    fn leases(&self) -> Arc<dyn Leases> {
        self.inner.leases()
    }
    async fn get(&self, user_id: &str) -> Result<Option<StoredCredential>, StoreError> {
        self.inner.get(user_id).await
    }
    async fn find_by_email(&self, email: &str) -> Result<Option<StoredCredential>, StoreError> {
        self.inner.find_by_email(email).await
    }
    async fn save_grant(&self, grant: &GrantUpdate) -> Result<StoredCredential, StoreError> {
        self.inner.save_grant(grant).await
    }
    async fn save_refresh(
        &self,
        user_id: &str,
        update: &RefreshUpdate,
    ) -> Result<bool, StoreError> {
        if self.fail_next_refresh.swap(false, Ordering::SeqCst) {
            return Err(StoreError::Database(sqlx::Error::PoolClosed));
        }
        self.inner.save_refresh(user_id, update).await
    }
    async fn mark_revoked(
        &self,
        user_id: &str,
        refresh_token: &EncryptedToken,
        reason: &str,
    ) -> Result<bool, StoreError> {
        self.inner
            .mark_revoked(user_id, refresh_token, reason)
            .await
    }
    async fn reinstate(&self, user_id: &str, update: &RefreshUpdate) -> Result<bool, StoreError> {
        self.inner.reinstate(user_id, update).await
    }
    async fn delete(&self, user_id: &str) -> Result<bool, StoreError> {
        self.inner.delete(user_id).await
    }
    async fn list(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<StoredCredential>, StoreError> {
        self.inner.list(after, limit).await
    }
    async fn session_cutoff(&self, user_id: &str) -> Result<Option<i64>, StoreError> {
        self.inner.session_cutoff(user_id).await
    }
    async fn end_sessions(&self, user_id: &str, at_ms: i64) -> Result<(), StoreError> {
        self.inner.end_sessions(user_id, at_ms).await
    }
    async fn use_state(&self, state_hash: &str, expires_at_ms: i64) -> Result<bool, StoreError> {
        self.inner.use_state(state_hash, expires_at_ms).await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
    async fn replace_tokens(
        &self,
        user_id: &str,
        expected: &TokenPair,
        replacement: &TokenPair,
    ) -> Result<bool, StoreError> {
        self.inner
            .replace_tokens(user_id, expected, replacement)
            .await
    }
}

/// The Gmail bench, with a store that can fail on demand.
struct Harness {
    bench: Bench,
    store: Arc<FlakyStore>,
}

impl std::ops::Deref for Harness {
    type Target = Bench;
    fn deref(&self) -> &Bench {
        &self.bench
    }
}

impl Harness {
    async fn start(config: EmulatorConfig) -> Self {
        let mut flaky = None;
        let bench = Bench::start_with_store(config, |inner| {
            let store = Arc::new(FlakyStore {
                inner,
                fail_next_refresh: AtomicBool::new(false),
            });
            flaky = Some(store.clone());
            store
        })
        .await;
        Self {
            bench,
            store: flaky.expect("the bench wraps its store"),
        }
    }

    /// A new user, consented at the emulator; returns the user id.
    async fn connect(&self, email: &str) -> String {
        self.bench.connect(email, 1).await
    }

    /// Makes every stored access token look expired to the broker.
    async fn expire_stored_tokens(&self) {
        let pool = sqlx::SqlitePool::connect(&self.db_url).await.unwrap();
        sqlx::query("UPDATE credentials SET access_token_expires_at = 0")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }

    async fn refresh_grants(&self) -> u64 {
        count(&self.counters().await, "/token_grants/refresh_token")
    }

    async fn stored_refresh_token(&self, user_id: &str) -> String {
        let row = self.store.get(user_id).await.unwrap().unwrap();
        let sealed = row.refresh_token.unwrap();
        self.keys
            .decrypt(&sealed.0, user_id)
            .unwrap()
            .expose_secret()
            .to_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_callers_with_an_expired_token_make_exactly_one_refresh() {
    let h = Harness::start(EmulatorConfig::default()).await;
    let user = h.connect("storm@example.com").await;
    h.expire_stored_tokens().await;

    let tokens = concurrent_tokens(std::slice::from_ref(&h.broker), &user, 1000).await;

    assert_eq!(h.refresh_grants().await, 1);
    assert!(
        tokens.iter().all(|t| t == &tokens[0]),
        "every caller got the one new token"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_users_times_twenty_callers_make_exactly_five_hundred_refreshes() {
    let h = Harness::start(EmulatorConfig::default()).await;
    let mut users = Vec::new();
    for i in 0..500 {
        users.push(h.connect(&format!("user{i}@example.com")).await);
    }
    h.expire_stored_tokens().await;

    let calls = users.iter().flat_map(|user| {
        (0..20).map(|_| {
            let (broker, user) = (h.broker.clone(), user.clone());
            tokio::spawn(async move { broker.access_token(&user).await.map(|_| ()) })
        })
    });
    let results = futures::future::join_all(calls.collect::<Vec<_>>()).await;

    assert!(results.into_iter().all(|r| r.unwrap().is_ok()));
    assert_eq!(h.refresh_grants().await, 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_refresh_token_is_stored_before_the_access_token_is_handed_out() {
    let h = Harness::start(EmulatorConfig {
        rotate_refresh_tokens: true,
        ..EmulatorConfig::default()
    })
    .await;
    let user = h.connect("rotate@example.com").await;
    let first = h.stored_refresh_token(&user).await;
    h.expire_stored_tokens().await;

    let calls = (0..200).map(|_| {
        let (broker, user) = (h.broker.clone(), user.clone());
        tokio::spawn(async move { broker.access_token(&user).await.map(|_| ()) })
    });
    assert!(
        futures::future::join_all(calls)
            .await
            .into_iter()
            .all(|r| r.unwrap().is_ok())
    );

    let second = h.stored_refresh_token(&user).await;
    assert_ne!(first, second, "the rotated token replaced the old one");
    assert_eq!(h.refresh_grants().await, 1);
    // The stored (rotated) token is the one that keeps working.
    h.expire_stored_tokens().await;
    h.broker.access_token(&user).await.unwrap();
    assert_eq!(h.refresh_grants().await, 2);
    assert_ne!(h.stored_refresh_token(&user).await, second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_write_after_a_rotation_hands_out_nothing_and_loses_no_grant() {
    let h = Harness::start(EmulatorConfig {
        rotate_refresh_tokens: true,
        ..EmulatorConfig::default()
    })
    .await;
    let user = h.connect("crash@example.com").await;
    let before = h.stored_refresh_token(&user).await;
    h.expire_stored_tokens().await;
    h.store.fail_next_refresh.store(true, Ordering::SeqCst);

    let failed = h.broker.access_token(&user).await;

    assert!(
        failed.is_err(),
        "no access token without its rotated refresh token stored"
    );
    assert_eq!(h.stored_refresh_token(&user).await, before);
    // Google keeps the old token usable until the new one is used, so the
    // stored one still refreshes.
    let token = h.broker.access_token(&user).await.unwrap();
    assert!(token.access_token.expose_secret().starts_with("ya29."));
    assert!(h.store.get(&user).await.unwrap().unwrap().revoked.is_none());
}
