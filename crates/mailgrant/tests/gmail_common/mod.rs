//! The Gmail client's test bench: the emulator on 127.0.0.1:0, a broker on
//! a fresh SQLite file (or a given database), users connected through the
//! emulator's auto-approve consent, and the emulator's controls (counters,
//! faults, mailbox changes) over real HTTP.

#![allow(
    dead_code,
    reason = "each gmail_* test file uses a different part of the bench"
)]

use std::sync::Arc;
use std::time::Duration;

use google_emulator::{ClientRegistration, Emulator, EmulatorConfig, QuotaConfig, UserSeed};
use mailgrant::broker::{Broker, BrokerConfig, NoEvents, RetryPolicy};
use mailgrant::config::{ClientSecrets, DEFAULT_SCOPES, GoogleEndpoints};
use mailgrant::crypto::Keyring;
use mailgrant::gmail::{Gmail, GmailOptions, Mailbox};
use mailgrant::metrics::Metrics;
use mailgrant::oauth::{AuthorizationRequest, OAuthClient, RedirectTarget};
use mailgrant::store::CredentialStore;
use mailgrant::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use url::Url;

const REDIRECT: &str = "http://127.0.0.1:9/oauth2callback";
pub const GMAIL_MODIFY: &str = "https://www.googleapis.com/auth/gmail.modify";

pub struct Bench {
    pub base: String,
    pub emulator: Emulator,
    pub broker: Arc<Broker>,
    pub keys: Arc<Keyring>,
    oauth: Arc<OAuthClient>,
    userinfo_url: Url,
    /// The broker's database, for changes behind its back.
    pub db_url: String,
    /// For the emulator's controls; follows no redirects.
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// Quick retries, so tests that exercise them stay fast; `max_delay`
/// leaves room for the emulator's whole-second `Retry-After`.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        attempts: 4,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_secs(3),
    }
}

/// Fast retries and no pacing: tests that are not about quota.
pub fn unpaced() -> GmailOptions {
    GmailOptions {
        retry: fast_retry(),
        quota: None,
        ..GmailOptions::default()
    }
}

/// An emulator without a quota (tests that are not about it).
pub fn no_quota() -> EmulatorConfig {
    EmulatorConfig {
        quota: None,
        ..EmulatorConfig::default()
    }
}

/// An emulator allowing each user `units` per sliding `window`.
pub fn quota(units: u32, window: Duration) -> EmulatorConfig {
    EmulatorConfig {
        quota: Some(QuotaConfig { units, window }),
        ..EmulatorConfig::default()
    }
}

impl Bench {
    pub async fn start(config: EmulatorConfig) -> Self {
        Self::start_with_store(config, |store| store).await
    }

    /// Like [`Bench::start`], with the SQLite store passed through `wrap`
    /// (a store that fails on demand, say).
    pub async fn start_with_store(
        config: EmulatorConfig,
        wrap: impl FnOnce(Arc<dyn CredentialStore>) -> Arc<dyn CredentialStore>,
    ) -> Self {
        Self::start_on(config, None, wrap).await
    }

    /// Like [`Bench::start_with_store`], on the database at `db_url`
    /// (a fresh SQLite file when `None`).
    pub async fn start_on(
        config: EmulatorConfig,
        db_url: Option<String>,
        wrap: impl FnOnce(Arc<dyn CredentialStore>) -> Arc<dyn CredentialStore>,
    ) -> Self {
        let client = ClientRegistration {
            client_id: "gmail-test.apps.googleusercontent.com".to_owned(),
            client_secret: "GOCSPX-gmail-test".to_owned(),
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
        let db_url =
            db_url.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("gmail.db").display()));
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
        let oauth = Arc::new(OAuthClient::new(&secrets, &endpoints, scopes, http));
        let store = wrap(mailgrant::store::open(&db_url).await.unwrap());
        let broker = Arc::new(broker(&keys, &oauth, &endpoints.userinfo, store));
        Self {
            base,
            emulator,
            broker,
            keys,
            oauth,
            userinfo_url: endpoints.userinfo,
            db_url,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            _dir: dir,
        }
    }

    /// Another replica: its own connection to the same database and its own
    /// broker, with the store's refresh coordination.
    pub async fn replica(&self) -> Arc<Broker> {
        let store = mailgrant::store::open(&self.db_url).await.unwrap();
        Arc::new(broker(&self.keys, &self.oauth, &self.userinfo_url, store))
    }

    /// A Gmail client for the emulator.
    pub fn gmail(&self, options: GmailOptions) -> Gmail {
        self.gmail_at(&format!("{}/", self.base), options)
    }

    /// A Gmail client whose API root is `base` (tokens still come from
    /// the emulator).
    pub fn gmail_at(&self, base: &str, options: GmailOptions) -> Gmail {
        Gmail::with_options(
            mailgrant::http::client(),
            Url::parse(base).unwrap(),
            self.broker.clone(),
            options,
        )
    }

    /// A new user with `messages` generated messages, connected with the
    /// default scopes (gmail.readonly); returns the user id.
    pub async fn connect(&self, email: &str, messages: usize) -> String {
        self.connect_with(email, messages, &[]).await
    }

    /// Like [`Bench::connect`], also granting `extra` scopes.
    pub async fn connect_with(&self, email: &str, messages: usize, extra: &[&str]) -> String {
        self.emulator.add_user(UserSeed {
            email: email.to_owned(),
            name: email.to_owned(),
            messages,
        });
        let mut scopes: Vec<String> = DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect();
        scopes.extend(extra.iter().map(|s| (*s).to_owned()));
        let request = AuthorizationRequest {
            scopes,
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

    /// The user's current access token, as Gmail sees it.
    pub async fn access_token(&self, user_id: &str) -> String {
        let token = self.broker.access_token(user_id).await.unwrap();
        token.access_token.expose_secret().to_owned()
    }

    pub async fn counters(&self) -> Value {
        self.get_json("/emulator/counters").await
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        response.json().await.unwrap()
    }

    /// POST to a control; asserts a 2xx and returns the JSON answer.
    pub async fn control(&self, path: &str, body: &Value) -> Value {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    /// The next `count` Gmail calls (batch parts included) answer `status`
    /// with `body`.
    pub async fn fault(&self, count: u32, status: u16, body: &Value) {
        self.control(
            "/emulator/faults",
            &json!({"endpoint": "gmail", "count": count, "status": status, "body": body.to_string()}),
        )
        .await;
    }

    /// Gmail's error envelope (reference §5).
    pub fn google_error(status: u16, reason: &str, message: &str) -> Value {
        json!({"error": {"code": status, "message": message,
            "errors": [{"message": message, "domain": "global", "reason": reason}]}})
    }
}

/// A broker on `store` with the bench's keys and client, quick retries and
/// no token cache (tests change rows behind its back).
fn broker(
    keys: &Arc<Keyring>,
    oauth: &Arc<OAuthClient>,
    userinfo_url: &Url,
    store: Arc<dyn CredentialStore>,
) -> Broker {
    Broker::new(BrokerConfig {
        coordinator: store.refresh_coordinator(),
        store,
        keys: keys.clone(),
        oauth: oauth.clone(),
        http: mailgrant::http::client(),
        userinfo_url: userinfo_url.clone(),
        reauthorize_url: Url::parse("https://app.example/oauth2/authorize").unwrap(),
        refresh_margin: Duration::from_secs(300),
        retry: fast_retry(),
        events: Arc::new(NoEvents),
        metrics: Arc::new(Metrics::default()),
        token_cache_ttl: Duration::ZERO,
    })
}

/// `callers` concurrent `access_token` calls for `user` on each broker,
/// each on its own task; the tokens they got.
pub async fn concurrent_tokens(brokers: &[Arc<Broker>], user: &str, callers: usize) -> Vec<String> {
    let calls = brokers.iter().flat_map(|broker| {
        (0..callers).map(|_| {
            let (broker, user) = (broker.clone(), user.to_owned());
            tokio::spawn(async move {
                broker
                    .access_token(&user)
                    .await
                    .map(|t| t.access_token.expose_secret().to_owned())
            })
        })
    });
    futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect()
}

/// The number at `pointer` in the counters.
pub fn count(counters: &Value, pointer: &str) -> u64 {
    counters
        .pointer(pointer)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("no counter {pointer} in {counters}"))
}

/// A mailbox of a new user on a bench without quota, unpaced.
pub async fn mailbox_of(email: &str, messages: usize) -> (Bench, Mailbox) {
    let bench = Bench::start(no_quota()).await;
    let user = bench.connect(email, messages).await;
    let mailbox = bench.gmail(unpaced()).user(&user);
    (bench, mailbox)
}
