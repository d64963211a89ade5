//! Refresh storms against the broker, built directly as
//! `crates/mailgrant/tests/broker.rs` builds it (token cache off), with the
//! emulator in process over real HTTP and a real SQLite file:
//!
//! - (a) 1 user × 1,000 concurrent `access_token` calls, its token expired;
//! - (b) 500 users × 20 concurrent calls each, all expired.
//!
//! Each storm runs 5 times, the tokens re-expired before each run by an SQL
//! UPDATE on the file; the report gives the median wall time and the refresh
//! grants Google counted per run, which must be exactly 1 and exactly 500
//! (anything else fails the bench: single-flight is broken).
//!
//! ```text
//! cargo bench -p mailgrant-server --bench refresh_storm
//! ```

mod support;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use google_emulator::{ClientRegistration, Emulator};
use mailgrant::broker::{
    Broker, BrokerConfig, DEFAULT_REFRESH_MARGIN, InProcessCoordinator, NoEvents, RetryPolicy,
};
use mailgrant::config::{ClientSecrets, DEFAULT_SCOPES};
use mailgrant::crypto::Keyring;
use mailgrant::metrics::Metrics;
use mailgrant::oauth::{AuthorizationRequest, OAuthClient, RedirectTarget};
use mailgrant::store;
use mailgrant::{ExposeSecret, SecretString};
use mailgrant_server::cli::emulator_endpoints;
use serde_json::{Value, json};
use url::Url;

use support::Google;

const RUNS: usize = 5;
const REDIRECT: &str = "http://127.0.0.1:9/oauth2callback";

fn main() -> ExitCode {
    if !support::invoked_by_cargo_bench("refresh_storm") {
        return ExitCode::SUCCESS;
    }
    let load_at_start = support::load_average();
    let runtime = support::server_runtime();
    let (one, many) = runtime.block_on(async {
        let one = storm("a", 1, 1_000).await;
        let many = storm("b", 500, 20).await;
        (one, many)
    });
    let (Ok(one), Ok(many)) = (one, many) else {
        return ExitCode::FAILURE;
    };
    println!(
        "{}",
        json!({
            "bench": "refresh_storm",
            "machine": support::machine(),
            "loadavg_1m": { "start": load_at_start, "end": support::load_average() },
            "storms": [one, many],
        })
    );
    ExitCode::SUCCESS
}

/// `users` users × `callers` concurrent calls, `RUNS` times; the figures as
/// JSON, or `Err` (already reported) when a run did not make one refresh
/// per user.
async fn storm(label: &str, users: usize, callers: usize) -> Result<Value, ()> {
    let h = Harness::start().await;
    let mut ids = Vec::with_capacity(users);
    for i in 0..users {
        ids.push(h.connect(&format!("storm-{label}-{i}@example.com")).await);
    }
    let (mut walls, mut grants) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        support::expire_stored_tokens(&h.db_url).await;
        let before = h.google.refresh_grants().await;
        let started = Instant::now();
        let calls = ids.iter().flat_map(|id| {
            (0..callers).map(|_| {
                let (broker, id) = (h.broker.clone(), id.clone());
                tokio::spawn(async move {
                    broker
                        .access_token(&id)
                        .await
                        .map(|t| (id, t.access_token.expose_secret().to_owned()))
                })
            })
        });
        let results = futures::future::join_all(calls.collect::<Vec<_>>()).await;
        let wall = started.elapsed();
        let refreshed = h.google.refresh_grants().await - before;
        let mut tokens = std::collections::HashMap::new();
        for result in results {
            let (id, token) = result
                .expect("a caller panicked")
                .expect("a caller got no token");
            tokens
                .entry(id)
                .or_insert_with(std::collections::HashSet::new)
                .insert(token);
        }
        assert!(
            tokens.values().all(|t| t.len() == 1),
            "every caller of a user got the one new token"
        );
        walls.push(wall);
        grants.push(refreshed);
    }
    let ms: Vec<f64> = walls.iter().map(|w| w.as_secs_f64() * 1000.0).collect();
    let median = support::median(&ms);
    let calls = users * callers;
    println!(
        "storm ({label}) {users} user(s) × {callers} concurrent calls = {calls} calls: median wall {median:.1} ms over {RUNS} runs {:?}; refresh grants per run {grants:?}",
        ms.iter()
            .map(|m| (m * 10.0).round() / 10.0)
            .collect::<Vec<_>>()
    );
    let figures = json!({
        "storm": label, "users": users, "callers_per_user": callers, "calls": calls,
        "runs": RUNS, "wall_ms_median": median, "wall_ms": ms, "refresh_grants": grants,
        "expected_refresh_grants": users,
    });
    if grants.iter().any(|&g| g != users as u64) {
        eprintln!(
            "refresh_storm FAILED: storm ({label}) expected exactly {users} refresh grant(s) per run, the emulator counted {grants:?}"
        );
        return Err(());
    }
    Ok(figures)
}

/// The emulator, a SQLite file and a broker on them.
struct Harness {
    google: Google,
    broker: Arc<Broker>,
    db_url: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Harness {
    async fn start() -> Self {
        let client = ClientRegistration {
            client_id: "bench-storm.apps.googleusercontent.com".to_owned(),
            client_secret: "GOCSPX-bench-storm".to_owned(),
            redirect_uris: vec![REDIRECT.to_owned()],
        };
        let google = Google::start(vec![client.clone()]).await;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db_url = format!("sqlite://{}", dir.path().join("storm.db").display());
        let secrets_json = Emulator::client_secrets_json(&google.base, &client).to_string();
        let secrets =
            ClientSecrets::parse(&secrets_json, "bench".as_ref()).expect("client secrets");
        let endpoints = emulator_endpoints(&google.base).expect("emulator endpoints");
        let http = mailgrant::http::client();
        let scopes = DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect();
        let broker = Arc::new(Broker::new(BrokerConfig {
            store: store::open(&db_url).await.expect("open the SQLite store"),
            keys: Arc::new(
                Keyring::from_config(&Keyring::generate_config_value()).expect("a keyring"),
            ),
            oauth: Arc::new(OAuthClient::new(&secrets, &endpoints, scopes, http.clone())),
            http,
            userinfo_url: endpoints.userinfo.clone(),
            reauthorize_url: Url::parse("https://app.example/oauth2/authorize").expect("URL"),
            refresh_margin: DEFAULT_REFRESH_MARGIN,
            retry: RetryPolicy::default(),
            coordinator: Arc::new(InProcessCoordinator::default()),
            events: Arc::new(NoEvents),
            metrics: Arc::new(Metrics::default()),
            // Every call goes to the store: the storm is about refreshes,
            // not about the in-memory copy.
            token_cache_ttl: Duration::ZERO,
        }));
        Self {
            google,
            broker,
            db_url,
            http: support::no_redirects(false),
            _dir: dir,
        }
    }

    /// The whole consent for a new user at the emulator; returns the user id.
    async fn connect(&self, email: &str) -> String {
        self.google.add_user(email);
        let request = AuthorizationRequest {
            login_hint: Some(email.to_owned()),
            ..AuthorizationRequest::default()
        };
        let redirect = Url::parse(REDIRECT).expect("URL");
        let (url, pending) = self.broker.oauth().authorization_url(&redirect, &request);
        let response = self.http.get(url).send().await.expect("consent");
        let location = Url::parse(response.headers()["location"].to_str().expect("ASCII"))
            .expect("a callback URL");
        let code = location
            .query_pairs()
            .find(|(k, _)| k == "code")
            .expect("a code")
            .1
            .into_owned();
        let verifier = SecretString::from(pending.pkce_verifier);
        self.broker
            .complete_authorization(&code, Some(&verifier), &RedirectTarget::Callback(redirect))
            .await
            .expect("the grant is stored")
            .user
            .id
    }
}
