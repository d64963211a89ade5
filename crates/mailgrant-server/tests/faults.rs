//! Faults over real processes: the database taken away under a running
//! `mailgrant serve` (an SQLite file, a PostgreSQL cluster of the test's
//! own) and brought back; `keys rotate` and `serve` killed with SIGKILL in
//! the middle of their work. Each test counts the faults it injected and
//! the rows it checked, and prints them.

mod common;
mod key_rotation;
mod pg_cluster;
#[allow(dead_code, reason = "the restart test uses the rest")]
mod serve_process;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{TestApp, TestEmulator};
use key_rotation::{KillPoint, ROWS, kill_rotations, seed};
use mailgrant::crypto::Keyring;
use pg_cluster::Cluster;
use serde_json::json;
use serve_process::{Answer, Server};
use sqlx::Connection as _;

/// `mailgrant serve` for the users signed in by `app`, without the change
/// stream: its background syncs would refresh tokens under the faults
/// these tests time.
fn serve(app: &TestApp) -> std::process::Command {
    let mut command = app.mailgrant(&["serve"]);
    command.env("MAILGRANT_NO_CHANGE_STREAM", "true");
    command
}

/// Users signed in before a fault.
const USERS: usize = 8;

/// `serve` keeps a decrypted access token this long ([`mailgrant::broker::DEFAULT_TOKEN_CACHE_TTL`]);
/// waiting it out makes the next token request read the store.
const TOKEN_CACHE_TTL: Duration = Duration::from_millis(1100);

/// The contract while the store is down: 503, when to retry, and a
/// request id to find the logged cause by.
fn is_unavailable(answer: &Answer) -> bool {
    answer.status == 503 && answer.retry_after.is_some() && answer.body.get("request_id").is_some()
}

/// Asserts that the fault was felt and that every answer it caused keeps
/// the contract (no 500).
fn assert_unavailable_during(what: &str, answers: &[Answer]) {
    let failed: Vec<&Answer> = answers.iter().filter(|a| a.status != 200).collect();
    assert!(!failed.is_empty(), "{what}: no answer felt the fault");
    assert!(
        failed.iter().all(|a| is_unavailable(a)),
        "{what}: 503 with Retry-After and a request_id expected, got {failed:#?}"
    );
}

/// Signs in `count` users through the in-process app; their Google ids.
async fn sign_in_users(app: &TestApp, count: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..count {
        let email = format!("user{i}@example.com");
        ids.push(app.google.add_user(&email, 1));
        app.sign_in_ok(&email).await;
    }
    ids
}

/// The SQLite data directory renamed, a plain file at its path; put back
/// when dropped (also when the test fails).
struct DirectoryAway {
    path: PathBuf,
    away: PathBuf,
}

impl DirectoryAway {
    fn take(path: &Path) -> Self {
        let away = path.with_extension("away");
        std::fs::rename(path, &away).unwrap();
        std::fs::write(path, "the data directory is away").unwrap();
        Self {
            path: path.to_owned(),
            away,
        }
    }
}

impl Drop for DirectoryAway {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let _ = std::fs::rename(&self.away, &self.path);
    }
}

/// The pool's open connections keep their file: the kernel keeps a renamed
/// inode, and permissions are checked only when a file is opened (and as
/// root not even then, so `chmod 000` changes nothing). What fails is every
/// connection the pool opens: with the data directory renamed and a plain
/// file in its place, SQLite can neither open the database nor create an
/// empty one there. Bursts of concurrent requests make the pool open them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_file_taken_away_answers_503_and_the_same_process_recovers_with_nothing_lost() {
    let app = TestApp::spawn().await;
    let users = sign_in_users(&app, USERS).await;
    let mut server = Server::start(serve(&app)).await;
    let before = app.raw_table().await;

    let away = DirectoryAway::take(app.db_path.parent().unwrap());
    let (mut tokens, mut health, mut bursts) = (Vec::new(), Vec::new(), 0);
    // At most five bursts: until a token and a /healthz request each needed
    // a connection the pool could not open.
    while bursts < 5
        && (tokens.iter().all(|a: &Answer| a.status == 200)
            || health.iter().all(|a: &Answer| a.status == 200))
    {
        tokio::time::sleep(TOKEN_CACHE_TTL).await;
        let (t, h) = server.burst(&users).await;
        tokens.extend(t);
        health.extend(h);
        bursts += 1;
    }
    drop(away);
    tokio::time::sleep(TOKEN_CACHE_TTL).await;
    let (after, health_after) = server.burst(&users).await;

    assert!(server.is_running(), "serve kept running");
    assert!(
        after.iter().all(|a| a.body["access_token"].is_string())
            && health_after.iter().all(|a| a.status == 200),
        "the same process serves again: {after:#?} {health_after:#?}"
    );
    let rows = app.raw_table().await;
    assert_eq!(rows, before, "no row changed or was lost");
    println!(
        "sqlite outage: {bursts} bursts, {} requests while away ({} not served); rows checked: {}, rows lost: 0",
        tokens.len() + health.len(),
        tokens
            .iter()
            .chain(&health)
            .filter(|a| a.status != 200)
            .count(),
        rows.len()
    );
    assert_unavailable_during("token API", &tokens);
    assert_unavailable_during("/healthz", &health);
}

/// Every column of every credentials row in PostgreSQL, one JSON line a row.
async fn pg_table(url: &str) -> Vec<String> {
    let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query_scalar("SELECT row_to_json(c)::text FROM credentials c ORDER BY user_id")
        .fetch_all(&mut connection)
        .await
        .unwrap()
}

/// `pg_ctl stop -m fast` ends every connection, pooled or not; while the
/// cluster is down the pool tries to connect until its acquire timeout
/// (five seconds), so each request waits that long for its answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_mid_test_answers_503_and_the_same_process_recovers_with_nothing_lost() {
    let mut cluster = Cluster::start();
    let store = mailgrant::store::open(&cluster.url()).await.unwrap();
    let google = TestEmulator::start().await;
    let app = TestApp::spawn_with(&google, "pg-client.apps.googleusercontent.com", |s| {
        s.store = store;
    })
    .await;
    let users = sign_in_users(&app, USERS).await;
    let mut command = serve(&app);
    command.env("MAILGRANT_DATABASE", cluster.url());
    let mut server = Server::start(command).await;
    let before = pg_table(&cluster.url()).await;

    cluster.stop();
    tokio::time::sleep(TOKEN_CACHE_TTL).await;
    let started = Instant::now();
    let (tokens, health) = server.burst(&users).await;
    let waited = started.elapsed();
    let survived = server.is_running();
    cluster.resume();
    server.wait_healthy().await;
    let (after, _) = server.burst(&users).await;

    assert!(survived, "serve kept running: {}", server.log());
    assert!(
        after.iter().all(|a| a.status == 200),
        "the same process serves again: {after:#?}"
    );
    let rows = pg_table(&cluster.url()).await;
    assert_eq!(rows, before, "no row changed or was lost");
    println!(
        "postgres outage: 1 stop and start, {} requests while stopped (answered within {waited:?}); rows checked: {}, rows lost: 0",
        tokens.len() + health.len(),
        rows.len()
    );
    assert!(
        tokens.iter().chain(&health).all(is_unavailable),
        "503 with Retry-After and a request_id expected: {tokens:#?} {health:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotate_killed_at_any_point_leaves_every_token_readable_with_the_configured_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (
        Keyring::generate_config_value(),
        Keyring::generate_config_value(),
    );
    seed(dir.path(), &Keyring::from_config(&old).unwrap()).await;
    let configured = format!("{new},{old}");
    let points = [
        KillPoint::AtOnce,
        KillPoint::After(Duration::from_millis(30)),
        KillPoint::Rotated(1),
        KillPoint::Rotated(ROWS / 3),
        KillPoint::Rotated(ROWS / 3),
    ];

    let midway = kill_rotations(dir.path(), Some(&configured), &points, || {
        Keyring::from_config(&configured).unwrap()
    })
    .await;

    assert!(midway >= 3, "{midway} kills landed midway");
    println!(
        "keys rotate (MAILGRANT_ENCRYPTION_KEY): {} SIGKILLs, {midway} midway; rows checked: {} x {ROWS}, rows lost: 0",
        points.len(),
        points.len() + 1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotate_killed_at_any_point_leaves_every_token_readable_with_the_key_file_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, _) = Keyring::load_or_generate(dir.path()).unwrap();
    seed(dir.path(), &keys).await;
    let points = [
        KillPoint::AtOnce,
        KillPoint::KeyFileWritten,
        KillPoint::After(Duration::from_millis(30)),
        KillPoint::Rotated(1),
        KillPoint::Rotated(ROWS / 2),
    ];
    let on_disk = || {
        let text = std::fs::read_to_string(dir.path().join("encryption.key")).unwrap();
        Keyring::from_config(&text).unwrap()
    };

    let midway = kill_rotations(dir.path(), None, &points, on_disk).await;

    assert!(midway >= 2, "{midway} kills landed midway");
    // The first key, and one from each run that got past writing the key
    // file: KeyFileWritten, both Rotated and the last, at least.
    assert!(
        on_disk().key_ids().len() >= 5,
        "each rotation put a key in front and kept the older ones: {:?}",
        on_disk().key_ids()
    );
    println!(
        "keys rotate (key file): {} SIGKILLs, {midway} midway; rows checked: {} x {ROWS}, rows lost: 0",
        points.len(),
        points.len() + 1
    );
}

/// Google answers refreshes late, so that every one is waiting on Google
/// when `serve` is killed (the emulator then never completes them: the
/// broken connection ends its handler).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_killed_mid_refresh_loses_no_grant_and_a_new_process_serves_every_user() {
    let app = TestApp::spawn().await;
    let google = &app.google;
    let users = sign_in_users(&app, USERS).await;
    let mut server = Server::start(serve(&app)).await;
    let before = app.rows().await;
    let consents = google.counters().await["token_grants"]["authorization_code"].clone();
    app.expire_stored_tokens().await;
    google
        .control(
            "faults",
            json!({"endpoint": "token", "count": USERS, "delay_ms": 3000}),
        )
        .await;

    let in_flight: Vec<_> = users
        .iter()
        .map(|id| tokio::spawn(server.token(id)))
        .collect();
    // Well inside the delay: every refresh is waiting on Google.
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.kill();
    let mut unanswered = 0;
    for request in in_flight {
        unanswered += usize::from(request.await.unwrap().is_err());
    }
    let after_kill = app.rows().await;
    google
        .http
        .delete(format!("{}/emulator/faults", google.base))
        .send()
        .await
        .unwrap();
    let refreshes = google.refresh_grants().await;
    let restarted = Server::start(serve(&app)).await;
    let (tokens, _) = restarted.burst(&users).await;

    assert_eq!(
        unanswered, USERS,
        "no request was answered before the kill (each waits on the delayed token endpoint)"
    );
    assert_eq!(
        after_kill, before,
        "every row, its sealed refresh token and its status, is as before"
    );
    assert!(after_kill.iter().all(|r| r.revoked_at.is_none()));
    assert!(
        tokens.iter().all(|a| a.body["access_token"].is_string()),
        "every user has a token again: {tokens:#?}"
    );
    assert_eq!(
        google.refresh_grants().await - refreshes,
        USERS as u64,
        "each came from a refresh with the stored refresh token"
    );
    assert_eq!(
        google.counters().await["token_grants"]["authorization_code"],
        consents,
        "nobody had to consent again"
    );
    println!(
        "serve killed mid-refresh: {USERS} delayed refreshes, 1 SIGKILL; rows checked: {}, rows lost: 0, tokens served after restart: {}",
        after_kill.len(),
        tokens.len()
    );
}
