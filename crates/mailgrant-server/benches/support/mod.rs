//! What both benchmarks share: an in-process emulator on port 0, the runtime
//! the `mailgrant` binary uses, medians and the one-line JSON record.
//!
//! Benches cannot reach `tests/common`, so the little they need of it is here.
#![allow(
    dead_code,
    reason = "each bench binary uses a different part of the support module"
)]

use std::time::Duration;

use google_emulator::{ClientRegistration, Emulator, EmulatorConfig, UserSeed};
use serde_json::Value;
use tokio::net::TcpListener;

/// `cargo bench` passes `--bench` to a `harness = false` target; `cargo test
/// --all-targets` (and clippy's test build) does not. Without it the target
/// only says how to run it, so test runs stay fast.
pub fn invoked_by_cargo_bench(name: &str) -> bool {
    if std::env::args().any(|a| a == "--bench") {
        return true;
    }
    println!("{name}: a benchmark; run it with `cargo bench -p mailgrant-server --bench {name}`");
    false
}

/// The runtime `#[tokio::main]` builds for the `mailgrant` binary: multi
/// threaded, one worker per core, every driver on.
pub fn server_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// An auto-approving emulator serving on 127.0.0.1, port 0.
#[derive(Clone)]
pub struct Google {
    pub base: String,
    pub emulator: Emulator,
    http: reqwest::Client,
}

impl Google {
    pub async fn start(clients: Vec<ClientRegistration>) -> Self {
        let emulator = Emulator::new(EmulatorConfig {
            auto_approve: true,
            clients,
            users: Vec::new(),
            ..EmulatorConfig::default()
        });
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the emulator");
        let base = format!(
            "http://{}",
            listener.local_addr().expect("emulator address")
        );
        let router = emulator.router();
        tokio::spawn(async move {
            axum::serve(listener, router)
                .await
                .expect("emulator serves")
        });
        Self {
            base,
            emulator,
            http: no_redirects(false),
        }
    }

    /// Adds a Google account with one message; returns its id.
    pub fn add_user(&self, email: &str) -> String {
        self.emulator.add_user(UserSeed {
            email: email.to_owned(),
            name: format!("Bench {email}"),
            messages: 1,
        })
    }

    /// `token_grants.refresh_token` of `GET /emulator/counters`.
    pub async fn refresh_grants(&self) -> u64 {
        let counters: Value = self
            .http
            .get(format!("{}/emulator/counters", self.base))
            .send()
            .await
            .expect("emulator counters")
            .json()
            .await
            .expect("emulator counters are JSON");
        counters["token_grants"]["refresh_token"]
            .as_u64()
            .expect("counters carry token_grants.refresh_token")
    }
}

/// A client that does not follow redirects, with or without a cookie jar.
pub fn no_redirects(cookies: bool) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(cookies)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client")
}

/// Sets every stored access token's expiry to 0 on the SQLite file behind
/// the store's back, as `tests/common` does.
pub async fn expire_stored_tokens(db_url: &str) {
    let pool = sqlx::SqlitePool::connect(db_url)
        .await
        .expect("open the SQLite file");
    sqlx::query("UPDATE credentials SET access_token_expires_at = 0")
        .execute(&pool)
        .await
        .expect("expire the stored tokens");
    pool.close().await;
}

/// The median (the mean of the middle two for an even count).
pub fn median(values: &[f64]) -> f64 {
    assert!(!values.is_empty(), "median of nothing");
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

/// The machine the figures came from: cores and CPU model.
pub fn machine() -> Value {
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    serde_json::json!({ "cores": cores, "cpu": cpu })
}

/// The 1-minute load average: other work on the machine shows in the figures,
/// so the record keeps it.
pub fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}
