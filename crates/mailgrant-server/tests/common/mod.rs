//! Spawns the real app and the emulator on port 0, each with a fresh SQLite file,
//! and drives them over HTTP with a cookie-keeping client that does not follow
//! redirects (zero2prod's `spawn_app`).
#![allow(
    dead_code,
    reason = "each test binary uses a different part of the harness"
)]

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use google_emulator::{ClientRegistration, Emulator, EmulatorConfig, UserSeed};
use mailgrant::broker::RetryPolicy;
use mailgrant::config::ClientSecrets;
use mailgrant::crypto::Keyring;
use mailgrant::store;
use mailgrant_server::cli::emulator_endpoints;
use mailgrant_server::{App, AppState, Settings};
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::Value;
use tokio::net::TcpListener;
use url::Url;

/// Everything every test's logs went to (at debug level), for the log test.
pub static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn capture_logs() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        tracing_subscriber::fmt()
            .with_env_filter("debug,mailgrant=trace,mailgrant_server=trace")
            .with_writer(|| LogWriter)
            .with_ansi(false)
            .init();
    });
}

pub fn logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap()).into_owned()
}

/// A running emulator.
#[derive(Clone)]
pub struct TestEmulator {
    pub base: String,
    pub emulator: Emulator,
    pub http: reqwest::Client,
    clients: Arc<Mutex<std::collections::HashMap<String, ClientRegistration>>>,
}

impl TestEmulator {
    /// An auto-approving emulator with no users or clients.
    pub async fn start() -> Self {
        Self::start_with(EmulatorConfig {
            auto_approve: true,
            clients: Vec::new(),
            users: Vec::new(),
            ..EmulatorConfig::default()
        })
        .await
    }

    pub async fn start_with(config: EmulatorConfig) -> Self {
        capture_logs();
        let emulator = Emulator::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let router = emulator.router();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Self {
            base,
            emulator,
            http: no_redirects(false),
            clients: Arc::default(),
        }
    }

    /// Adds a user with `messages` generated messages; returns the user's Google id.
    pub fn add_user(&self, email: &str, messages: usize) -> String {
        self.emulator.add_user(UserSeed {
            email: email.to_owned(),
            name: format!("Test {email}"),
            messages,
        })
    }

    pub async fn control(&self, path: &str, body: Value) -> Value {
        let response = self
            .http
            .post(format!("{}/emulator/{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "control {path}: {}",
            response.status()
        );
        response.json().await.unwrap_or(Value::Null)
    }

    pub async fn counters(&self) -> Value {
        self.http
            .get(format!("{}/emulator/counters", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// What a control route shows (`GET /emulator/{path}`), as JSON.
    pub async fn look(&self, path: &str) -> Value {
        self.http
            .get(format!("{}/emulator/{path}", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// How many of `email`'s refresh tokens still work, over all clients.
    pub async fn live_refresh_tokens(&self, email: &str) -> u64 {
        let grants: Value = self
            .http
            .get(format!("{}/emulator/grants/{email}", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        grants["grants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["refresh_tokens_live"].as_u64().unwrap())
            .sum()
    }

    pub async fn refresh_grants(&self) -> u64 {
        self.counters().await["token_grants"]["refresh_token"]
            .as_u64()
            .unwrap()
    }
}

pub fn no_redirects(cookies: bool) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(cookies)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// A running mailgrant server.
pub struct TestApp {
    /// Where the server listens.
    pub address: String,
    /// Its public URL: `address`, or the same with `https://`.
    pub public_url: String,
    pub google: TestEmulator,
    pub client: reqwest::Client,
    pub client_secret: String,
    pub db_path: PathBuf,
    pub keys: Arc<Keyring>,
    /// `MAILGRANT_ENCRYPTION_KEY` for the same keys.
    pub key_config: String,
    /// A client_secrets.json for this app's client.
    pub client_secrets_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_on(
            &TestEmulator::start().await,
            "test-client.apps.googleusercontent.com",
        )
        .await
    }

    /// A server using `client_id` at `google`; apps sharing a client id share
    /// the user's grant at Google, as two deployments of one app would.
    pub async fn spawn_on(google: &TestEmulator, client_id: &str) -> Self {
        Self::spawn_with(google, client_id, |_| {}).await
    }

    /// Like [`TestApp::spawn_on`], with a last say on the settings.
    pub async fn spawn_with(
        google: &TestEmulator,
        client_id: &str,
        customize: impl FnOnce(&mut Settings),
    ) -> Self {
        Self::spawn_at("http", google, client_id, customize).await
    }

    /// A server whose public URL is `https://` (as behind a TLS-terminating
    /// proxy); it still listens on plain HTTP at `address`.
    /// Another server on this app's database and keys, at an address of its
    /// own, as a second replica behind a load balancer; `customize` has the
    /// last say on its settings.
    pub async fn replica(&self, customize: impl FnOnce(&mut Settings)) -> Self {
        let store = store::open(&format!("sqlite://{}", self.db_path.display()))
            .await
            .unwrap();
        let keys = self.keys.clone();
        let secrets: Value =
            serde_json::from_str(&std::fs::read_to_string(&self.client_secrets_path).unwrap())
                .unwrap();
        let client_id = secrets["web"]["client_id"].as_str().unwrap().to_owned();
        let mut replica = Self::spawn_with(&self.google, &client_id, move |settings| {
            settings.store = store;
            settings.keys = keys;
            customize(settings);
        })
        .await;
        replica.db_path = self.db_path.clone();
        replica.keys = self.keys.clone();
        replica.key_config = self.key_config.clone();
        replica
    }

    pub async fn spawn_behind_https(google: &TestEmulator, client_id: &str) -> Self {
        Self::spawn_at("https", google, client_id, |_| {}).await
    }

    async fn spawn_at(
        scheme: &str,
        google: &TestEmulator,
        client_id: &str,
        customize: impl FnOnce(&mut Settings),
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let public_url = format!("{scheme}://{}", listener.local_addr().unwrap());
        let redirect_uri = format!("{public_url}/oauth2callback");
        let client_secret = format!("GOCSPX-test-{}", rand::random::<u64>());
        let mut registration = ClientRegistration {
            client_id: client_id.to_owned(),
            client_secret: client_secret.clone(),
            redirect_uris: vec![redirect_uri.clone()],
        };
        // Keep redirect URIs (and the secret) of earlier apps on the same client.
        {
            let mut clients = google.clients.lock().unwrap();
            if let Some(existing) = clients.get(client_id) {
                registration.client_secret = existing.client_secret.clone();
                registration
                    .redirect_uris
                    .extend(existing.redirect_uris.clone());
            }
            clients.insert(client_id.to_owned(), registration.clone());
        }
        let client_secret = registration.client_secret.clone();
        google.emulator.register_client(registration.clone());
        let secrets_json = Emulator::client_secrets_json(&google.base, &registration).to_string();
        let dir = tempfile::tempdir().unwrap();
        let db_path = dir.path().join("mailgrant.db");
        let key_config = Keyring::generate_config_value();
        let keys = Arc::new(Keyring::from_config(&key_config).unwrap());
        let client_secrets_path = dir.path().join("client_secrets.json");
        std::fs::write(&client_secrets_path, &secrets_json).unwrap();
        let mut settings = Settings::new(
            ClientSecrets::parse(&secrets_json, "test".as_ref()).unwrap(),
            emulator_endpoints(&google.base).unwrap(),
            Url::parse(&public_url).unwrap(),
            store::open(&format!("sqlite://{}", db_path.display()))
                .await
                .unwrap(),
            keys.clone(),
        );
        // Transient failures are retried quickly in tests.
        settings.retry = RetryPolicy {
            attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
        };
        settings.http_timeout = Duration::from_secs(2);
        // Tests change rows behind the app's back (as another replica would);
        // no in-memory copy may hide that.
        settings.token_cache_ttl = Duration::ZERO;
        // The change stream works in the background (syncs, refreshes,
        // watches): it runs in the tests about it, not under the others'
        // counts.
        settings.stream.run = false;
        customize(&mut settings);
        let app = App::build(settings).unwrap();
        let router = mailgrant_server::router(AppState(Arc::new(app)));
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Self {
            address,
            public_url,
            google: google.clone(),
            client: no_redirects(true),
            client_secret,
            db_path,
            keys,
            key_config,
            client_secrets_path,
            _dir: dir,
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .unwrap()
    }

    /// `GET /oauth2/authorize?QUERY`: returns Google's authorization URL.
    pub async fn authorize(&self, query: &str) -> Url {
        let response = self.get(&format!("/oauth2/authorize?{query}")).await;
        assert_eq!(response.status(), StatusCode::FOUND);
        location(&response)
    }

    /// Follows Google's (auto-approving) authorization URL to the callback URL.
    pub async fn approve(&self, authorization_url: &Url) -> Url {
        let response = self
            .client
            .get(authorization_url.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::FOUND,
            "{}",
            response.text().await.unwrap()
        );
        location(&response)
    }

    /// The whole sign-in for `email`; returns the callback's response.
    pub async fn sign_in(&self, email: &str) -> reqwest::Response {
        let google = self.authorize(&format!("login_hint={email}")).await;
        let callback = self.approve(&google).await;
        self.client.get(callback).send().await.unwrap()
    }

    pub async fn sign_in_ok(&self, email: &str) {
        let response = self.sign_in(email).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "{}",
            response.text().await.unwrap()
        );
        assert_eq!(response.headers()[LOCATION], "/");
    }

    /// Runs the `mailgrant` binary with this app's configuration.
    pub fn command(&self, args: &[&str]) -> std::process::Output {
        self.command_with_key(args, &self.key_config)
    }

    /// Runs the binary with another `MAILGRANT_ENCRYPTION_KEY`.
    pub fn command_with_key(&self, args: &[&str], key: &str) -> std::process::Output {
        self.mailgrant(args)
            .env("MAILGRANT_ENCRYPTION_KEY", key)
            .output()
            .unwrap()
    }

    /// Makes every stored access token look expired to mailgrant (Google's
    /// copies stay valid): the next use must refresh.
    pub async fn expire_stored_tokens(&self) {
        self.sql("UPDATE credentials SET access_token_expires_at = 0")
            .await;
    }

    /// Runs one statement on the app's SQLite file.
    pub async fn sql(&self, statement: &str) {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", self.db_path.display()))
            .await
            .unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_owned()))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }

    /// Every column of every row of the credentials table ([`raw_table_of`]).
    pub async fn raw_table(&self) -> Vec<String> {
        raw_table_of(&self.db_path).await
    }

    /// Every row of the credentials table, as the database holds it.
    pub async fn rows(&self) -> Vec<Row> {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", self.db_path.display()))
            .await
            .unwrap();
        let rows = sqlx::query_as::<_, Row>(
            "SELECT user_id, email, refresh_token, access_token, scopes, revoked_at, revoked_reason
             FROM credentials ORDER BY user_id",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        pool.close().await;
        rows
    }
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Row {
    pub user_id: String,
    pub email: Option<String>,
    pub refresh_token: Option<Vec<u8>>,
    pub access_token: Option<Vec<u8>>,
    pub scopes: String,
    pub revoked_at: Option<i64>,
    pub revoked_reason: Option<String>,
}

pub fn location(response: &reqwest::Response) -> Url {
    let value = response.headers()[LOCATION].to_str().unwrap();
    Url::parse(value).unwrap_or_else(|_| {
        Url::parse("http://relative.invalid")
            .unwrap()
            .join(value)
            .unwrap()
    })
}

pub fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The API key [`TestApp::mailgrant`] configures for `serve`'s token API.
pub const API_KEY: &str = "test-api-key-0123456789";

impl TestApp {
    /// The `mailgrant` binary with this app's configuration and keys (as
    /// [`TestApp::command`] runs it), to be started by the caller.
    pub fn mailgrant(&self, args: &[&str]) -> std::process::Command {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_mailgrant"));
        command
            .args(args)
            .env_clear()
            .env("MAILGRANT_CLIENT_SECRETS", &self.client_secrets_path)
            .env("MAILGRANT_PUBLIC_URL", &self.address)
            .env(
                "MAILGRANT_DATABASE",
                format!("sqlite://{}", self.db_path.display()),
            )
            .env("MAILGRANT_ENCRYPTION_KEY", &self.key_config)
            .env("MAILGRANT_API_KEYS", API_KEY)
            .env(
                "MAILGRANT_USERINFO_URL",
                format!("{}/oauth2/v2/userinfo", self.google.base),
            )
            .env(
                "MAILGRANT_REVOKE_URL",
                format!("{}/revoke", self.google.base),
            )
            .env("MAILGRANT_GMAIL_API_URL", format!("{}/", self.google.base))
            .env("RUST_LOG", "debug");
        command
    }
}

/// A port of 127.0.0.1 that nothing listens on (for a process to bind).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Every column of every row of the credentials table in the SQLite file at
/// `db_path`, each row one line of SQLite's `quote()` literals: for "nothing
/// changed" checks.
pub async fn raw_table_of(db_path: &std::path::Path) -> Vec<String> {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db_path.display()))
        .await
        .unwrap();
    let columns: Vec<String> =
        sqlx::query_scalar("SELECT name FROM pragma_table_info('credentials') ORDER BY cid")
            .fetch_all(&pool)
            .await
            .unwrap();
    let line = columns
        .iter()
        .map(|c| format!("quote({c})"))
        .collect::<Vec<_>>()
        .join(" || '|' || ");
    let rows = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT {line} FROM credentials ORDER BY user_id"
    )))
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    rows
}
