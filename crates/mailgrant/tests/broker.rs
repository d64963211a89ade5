//! The broker against the emulator over real HTTP, on a real SQLite file: one
//! refresh per user however many callers, rotation, and what a failed write
//! must not lose.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use google_emulator::{ClientRegistration, Emulator, EmulatorConfig, UserSeed};
use mailgrant::broker::{Broker, BrokerConfig, InProcessCoordinator, NoEvents, RetryPolicy};
use mailgrant::config::{ClientSecrets, DEFAULT_SCOPES, GoogleEndpoints};
use mailgrant::crypto::Keyring;
use mailgrant::metrics::Metrics;
use mailgrant::oauth::{AuthorizationRequest, OAuthClient, RedirectTarget};
use mailgrant::store::{
    self, CredentialStore, GrantUpdate, RefreshUpdate, StoreError, StoredCredential, TokenPair,
};
use mailgrant::{ExposeSecret, SecretString};
use url::Url;

const REDIRECT: &str = "http://127.0.0.1:9/oauth2callback";

/// A store that can be told to fail the next refresh write, as a crash between
/// Google's answer and the database would.
struct FlakyStore {
    inner: Arc<dyn CredentialStore>,
    fail_next_refresh: AtomicBool,
}

#[async_trait]
impl CredentialStore for FlakyStore {
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
    async fn mark_revoked(&self, user_id: &str, reason: &str) -> Result<bool, StoreError> {
        self.inner.mark_revoked(user_id, reason).await
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

struct Harness {
    base: String,
    emulator: Emulator,
    broker: Arc<Broker>,
    store: Arc<FlakyStore>,
    keys: Arc<Keyring>,
    db_url: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Harness {
    async fn start(config: EmulatorConfig) -> Self {
        let client = ClientRegistration {
            client_id: "broker-test.apps.googleusercontent.com".to_owned(),
            client_secret: "GOCSPX-broker-test".to_owned(),
            redirect_uris: vec![REDIRECT.to_owned()],
        };
        let emulator = Emulator::new(EmulatorConfig {
            auto_approve: true,
            clients: vec![client.clone()],
            users: Vec::new(),
            ..config
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let router = emulator.router();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

        let dir = tempfile::tempdir().unwrap();
        let db_url = format!("sqlite://{}", dir.path().join("broker.db").display());
        let store = Arc::new(FlakyStore {
            inner: store::open(&db_url).await.unwrap(),
            fail_next_refresh: AtomicBool::new(false),
        });
        let keys = Arc::new(Keyring::from_config(&Keyring::generate_config_value()).unwrap());
        let secrets_json = Emulator::client_secrets_json(&base, &client).to_string();
        let secrets = ClientSecrets::parse(&secrets_json, "test".as_ref()).unwrap();
        let endpoints = GoogleEndpoints {
            userinfo: Url::parse(&format!("{base}/oauth2/v2/userinfo")).unwrap(),
            revoke: Url::parse(&format!("{base}/revoke")).unwrap(),
            gmail_api: Url::parse(&format!("{base}/")).unwrap(),
        };
        let http = mailgrant::http::client();
        let scopes = DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect();
        let broker = Arc::new(Broker::new(BrokerConfig {
            store: store.clone(),
            keys: keys.clone(),
            oauth: Arc::new(OAuthClient::new(&secrets, &endpoints, scopes, http.clone())),
            http: http.clone(),
            userinfo_url: endpoints.userinfo.clone(),
            reauthorize_url: Url::parse("https://app.example/oauth2/authorize").unwrap(),
            refresh_margin: Duration::from_secs(300),
            retry: RetryPolicy {
                attempts: 3,
                base_delay: Duration::from_millis(5),
                max_delay: Duration::from_millis(20),
            },
            coordinator: Arc::new(InProcessCoordinator::default()),
            events: Arc::new(NoEvents),
            metrics: Arc::new(Metrics::default()),
            // The tests change rows behind the broker's back, as another
            // replica would; no in-memory copy may hide that.
            token_cache_ttl: Duration::ZERO,
        }));
        Self {
            base,
            emulator,
            broker,
            store,
            keys,
            db_url,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            _dir: dir,
        }
    }

    /// The whole consent for a new user at the emulator; returns the user id.
    async fn connect(&self, email: &str) -> String {
        self.emulator.add_user(UserSeed {
            email: email.to_owned(),
            name: email.to_owned(),
            messages: 1,
        });
        let request = AuthorizationRequest {
            login_hint: Some(email.to_owned()),
            ..AuthorizationRequest::default()
        };
        let redirect = Url::parse(REDIRECT).unwrap();
        let (url, pending) = self.broker.oauth().authorization_url(&redirect, &request);
        let response = self.http.get(url).send().await.unwrap();
        let location = Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
        let code = location
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned();
        let verifier = SecretString::from(pending.pkce_verifier);
        let connected = self
            .broker
            .complete_authorization(&code, Some(&verifier), &RedirectTarget::Callback(redirect))
            .await
            .unwrap();
        connected.user.id
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
        let counters: serde_json::Value = self
            .http
            .get(format!("{}/emulator/counters", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        counters["token_grants"]["refresh_token"].as_u64().unwrap()
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

    let calls = (0..1000).map(|_| {
        let (broker, user) = (h.broker.clone(), user.clone());
        tokio::spawn(async move {
            broker
                .access_token(&user)
                .await
                .map(|t| t.access_token.expose_secret().to_owned())
        })
    });
    let tokens: Vec<String> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();

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
