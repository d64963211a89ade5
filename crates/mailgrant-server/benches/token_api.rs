//! Throughput and latency of `GET /v1/users/{id}/token` for 100 users whose
//! tokens are fresh, against a ceiling measured in the same run: a bare axum
//! handler returning a constant, on the same runtime, on its own port.
//!
//! The load generator is `wrk`, a separate process, so the server's figures
//! are not the client's: `-t2 -c64 -d5s --latency`, a Lua script cycling over
//! the 100 users' paths with the API key. One warm-up of each target, then 5
//! alternating rounds; medians of Requests/sec and of the 99th percentile.
//!
//! Production settings: the default token cache TTL, a real SQLite file in a
//! temporary directory, no log subscriber. `MAILGRANT_BENCH_TOKEN_CACHE_TTL_MS`
//! overrides the TTL (0 turns the cache off) to show what the cache does;
//! `MAILGRANT_BENCH_LOG=info,sqlx=warn` installs the binary's default log
//! subscriber (one line per request, to stderr) to show what logging costs.
//!
//! ```text
//! cargo bench -p mailgrant-server --bench token_api
//! ```

mod support;

use std::path::Path;
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::routing::get;
use google_emulator::{ClientRegistration, Emulator};
use mailgrant::broker::DEFAULT_TOKEN_CACHE_TTL;
use mailgrant::config::ClientSecrets;
use mailgrant::crypto::Keyring;
use mailgrant::store;
use mailgrant_server::api_keys::ApiKeys;
use mailgrant_server::cli::emulator_endpoints;
use mailgrant_server::{App, AppState, Settings};
use serde_json::json;
use tokio::net::TcpListener;
use url::Url;

use support::Google;

const USERS: usize = 100;
const ROUNDS: usize = 5;
const CONNECTIONS: u32 = 64;
const THREADS: u32 = 2;
const ROUND: Duration = Duration::from_secs(5);
const WARM_UP: Duration = Duration::from_secs(3);
const API_KEY: &str = "bench-api-key-0123456789abcdef";
/// What the bare handler answers: the shape and size of a token API answer,
/// so the ceiling differs in the work done, not in the bytes sent.
const CONSTANT: &str = r#"{"access_token":"ya29.a0AfB_byC0nstantC0nstantC0nstantC0nstantC0nstantC0nstantC0nstant","token_type":"Bearer","expires_at":1900000000,"expires_in":3599,"scopes":["openid","https://www.googleapis.com/auth/userinfo.email","https://www.googleapis.com/auth/gmail.readonly"]}"#;

fn main() -> ExitCode {
    if !support::invoked_by_cargo_bench("token_api") {
        return ExitCode::SUCCESS;
    }
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("token_api: `wrk` is not installed; it is the load generator.");
        eprintln!("  Debian/Ubuntu: apt-get update && apt-get install -y wrk");
        eprintln!("  macOS:         brew install wrk");
        return ExitCode::FAILURE;
    }
    let ttl = match std::env::var("MAILGRANT_BENCH_TOKEN_CACHE_TTL_MS") {
        Ok(ms) => Duration::from_millis(
            ms.parse()
                .expect("MAILGRANT_BENCH_TOKEN_CACHE_TTL_MS: milliseconds"),
        ),
        Err(_) => DEFAULT_TOKEN_CACHE_TTL,
    };

    let log = std::env::var("MAILGRANT_BENCH_LOG").ok();
    if let Some(filter) = &log {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .init();
    }
    let load_at_start = support::load_average();
    // Servers live on the runtime's worker threads; this thread only drives
    // set-up and waits for wrk.
    let runtime = support::server_runtime();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (app, bare, paths) = runtime.block_on(async {
        let google = Google::start(Vec::new()).await;
        let app = spawn_app(&google, dir.path(), ttl).await;
        let paths = connect_users(&google, &app).await;
        let bare = spawn_bare().await;
        (app, bare, paths)
    });
    let script = dir.path().join("paths.lua");
    std::fs::write(&script, lua_script(&paths)).expect("write the wrk script");

    println!(
        "token_api: {USERS} users, wrk -t{THREADS} -c{CONNECTIONS} -d{}s, {ROUNDS} alternating rounds, token cache TTL {ttl:?}, logs {}",
        ROUND.as_secs(),
        log.as_deref().unwrap_or("off")
    );
    wrk(&app.address, &script, WARM_UP);
    wrk(&bare, &script, WARM_UP);
    let (mut token_api, mut ceiling) = (Vec::new(), Vec::new());
    for round in 1..=ROUNDS {
        let t = wrk(&app.address, &script, ROUND);
        let b = wrk(&bare, &script, ROUND);
        println!(
            "  round {round}: token API {:>9.0} req/s p99 {:>6.2} ms | bare {:>9.0} req/s p99 {:>6.2} ms",
            t.rps, t.p99_ms, b.rps, b.p99_ms
        );
        token_api.push(t);
        ceiling.push(b);
    }
    let refreshes = runtime.block_on(app.google.refresh_grants());
    assert_eq!(
        refreshes, 0,
        "fresh tokens must be served without a refresh"
    );

    let summary = |runs: &[Wrk]| {
        let rps: Vec<f64> = runs.iter().map(|r| r.rps).collect();
        let p99: Vec<f64> = runs.iter().map(|r| r.p99_ms).collect();
        (support::median(&rps), support::median(&p99), rps, p99)
    };
    let (t_rps, t_p99, t_all_rps, t_all_p99) = summary(&token_api);
    let (b_rps, b_p99, b_all_rps, b_all_p99) = summary(&ceiling);
    let ratio = t_rps / b_rps;
    let meets = ratio >= 0.5;
    println!("token API: median {t_rps:.0} req/s, median p99 {t_p99:.2} ms");
    println!("bare axum: median {b_rps:.0} req/s, median p99 {b_p99:.2} ms");
    println!(
        "ratio (token API / bare): {ratio:.3}; target >= 0.5: {}",
        if meets { "met" } else { "NOT MET" }
    );
    println!(
        "{}",
        json!({
            "bench": "token_api",
            "machine": support::machine(),
            "loadavg_1m": { "start": load_at_start, "end": support::load_average() },
            "users": USERS,
            "wrk": { "threads": THREADS, "connections": CONNECTIONS, "duration_s": ROUND.as_secs(), "rounds": ROUNDS },
            "token_cache_ttl_ms": ttl.as_millis() as u64,
            "log_filter": log,
            "token_api": { "rps_median": t_rps, "p99_ms_median": t_p99, "rps": t_all_rps, "p99_ms": t_all_p99 },
            "bare": { "rps_median": b_rps, "p99_ms_median": b_p99, "rps": b_all_rps, "p99_ms": b_all_p99 },
            "ratio": ratio,
            "target_ratio": 0.5,
            "meets_target": meets,
            "refresh_grants_during_load": refreshes,
        })
    );
    ExitCode::SUCCESS
}

/// The mailgrant app, running.
struct RunningApp {
    address: String,
    google: Google,
}

/// The real app with production settings but the API key and `ttl`, on a
/// SQLite file in `dir`, registered with `google` as its client.
async fn spawn_app(google: &Google, dir: &Path, ttl: Duration) -> RunningApp {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the app");
    let address = format!("http://{}", listener.local_addr().expect("app address"));
    let client = ClientRegistration {
        client_id: "bench.apps.googleusercontent.com".to_owned(),
        client_secret: "GOCSPX-bench".to_owned(),
        redirect_uris: vec![format!("{address}/oauth2callback")],
    };
    google.emulator.register_client(client.clone());
    let secrets_json = Emulator::client_secrets_json(&google.base, &client).to_string();
    let db_url = format!("sqlite://{}", dir.join("mailgrant.db").display());
    let keys = Keyring::from_config(&Keyring::generate_config_value()).expect("a keyring");
    let mut settings = Settings::new(
        ClientSecrets::parse(&secrets_json, "bench".as_ref()).expect("client secrets"),
        emulator_endpoints(&google.base).expect("emulator endpoints"),
        Url::parse(&address).expect("app URL"),
        store::open(&db_url).await.expect("open the SQLite store"),
        Arc::new(keys),
    );
    settings.api_keys = ApiKeys::parse(&[API_KEY.to_owned()]).expect("API key");
    settings.token_cache_ttl = ttl;
    let app = App::build(settings).expect("build the app");
    let router = mailgrant_server::router(AppState(Arc::new(app)));
    tokio::spawn(async move { axum::serve(listener, router).await.expect("app serves") });
    RunningApp {
        address,
        google: google.clone(),
    }
}

/// Signs `USERS` users in through the emulator's auto-approve flow, as a
/// browser would; returns each one's token API path, checked once.
async fn connect_users(google: &Google, app: &RunningApp) -> Vec<String> {
    let mut paths = Vec::with_capacity(USERS);
    for i in 0..USERS {
        let email = format!("bench{i}@example.com");
        let id = google.add_user(&email);
        let browser = support::no_redirects(true);
        let authorize = browser
            .get(format!(
                "{}/oauth2/authorize?login_hint={email}",
                app.address
            ))
            .send()
            .await
            .expect("authorize");
        let consent = location(&authorize, StatusCode::FOUND);
        let approved = browser.get(consent).send().await.expect("consent");
        let callback = location(&approved, StatusCode::FOUND);
        let signed_in = browser.get(callback).send().await.expect("callback");
        assert_eq!(
            signed_in.status(),
            StatusCode::SEE_OTHER,
            "{email} signs in"
        );
        let path = format!("/v1/users/{id}/token");
        let token = browser
            .get(format!("{}{path}", app.address))
            .bearer_auth(API_KEY)
            .send()
            .await
            .expect("token API");
        assert_eq!(token.status(), StatusCode::OK, "{email} has a token");
        paths.push(path);
    }
    paths
}

fn location(response: &reqwest::Response, status: StatusCode) -> String {
    assert_eq!(response.status(), status, "{}", response.url());
    response.headers()[header::LOCATION]
        .to_str()
        .expect("Location is ASCII")
        .to_owned()
}

/// The ceiling: the same axum and runtime, a route of the same shape, no work.
async fn spawn_bare() -> String {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the bare server");
    let address = format!("http://{}", listener.local_addr().expect("bare address"));
    let router = Router::new().route(
        "/v1/users/{id}/token",
        get(|| async { ([(header::CONTENT_TYPE, "application/json")], CONSTANT) }),
    );
    tokio::spawn(async move {
        axum::serve(listener, router)
            .await
            .expect("bare server serves")
    });
    address
}

/// Cycles over `paths` with the API key; requests are formatted once, so the
/// load generator spends its share of the two cores on sending them.
fn lua_script(paths: &[String]) -> String {
    let list: Vec<String> = paths.iter().map(|p| format!("  \"{p}\",")).collect();
    format!(
        r#"local paths = {{
{}
}}
local requests = nil
local i = 0
request = function()
  if requests == nil then
    requests = {{}}
    for n, path in ipairs(paths) do
      requests[n] = wrk.format("GET", path, {{ ["Authorization"] = "Bearer {API_KEY}" }})
    end
  end
  i = i % #requests + 1
  return requests[i]
end
"#,
        list.join("\n")
    )
}

/// One wrk run's figures.
struct Wrk {
    rps: f64,
    p99_ms: f64,
}

fn wrk(base: &str, script: &Path, duration: Duration) -> Wrk {
    let output = Command::new("wrk")
        .arg(format!("-t{THREADS}"))
        .arg(format!("-c{CONNECTIONS}"))
        .arg(format!("-d{}s", duration.as_secs()))
        .arg("--latency")
        .arg("-s")
        .arg(script)
        .arg(base)
        .output()
        .expect("run wrk");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "wrk failed: {text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Every answer must be a 200: errors are not throughput.
    assert!(
        !text.contains("Non-2xx or 3xx responses") && !text.contains("Socket errors"),
        "wrk saw failures against {base}:\n{text}"
    );
    let rps = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec in wrk's output:\n{text}"));
    let p99_ms = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .and_then(|v| latency_ms(v.trim()))
        .unwrap_or_else(|| panic!("no 99% latency in wrk's output:\n{text}"));
    Wrk { rps, p99_ms }
}

/// wrk's "812.00us", "1.23ms", "1.01s", "2.00m" in milliseconds.
fn latency_ms(value: &str) -> Option<f64> {
    let split = value.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale = match unit {
        "us" => 0.001,
        "ms" => 1.0,
        "s" => 1000.0,
        "m" => 60_000.0,
        _ => return None,
    };
    Some(number * scale)
}
