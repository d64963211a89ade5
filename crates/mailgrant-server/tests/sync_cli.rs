//! `mailgrant messages sync`: JSON lines of every message, then with
//! `--state` only what changed, as an operator would run it.

mod common;

use std::path::Path;
use std::process::Output;

use common::{TestApp, TestEmulator};
use serde_json::{Value, json};

const ALICE: &str = "alice@example.com";
const GMAIL_MODIFY: &str = "https://www.googleapis.com/auth/gmail.modify";
/// Deleting a message for good needs this scope.
const MAIL_GOOGLE_COM: &str = "https://mail.google.com/";

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// `type` and `id` of each line, sorted.
fn summary(lines: &[Value]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = lines
        .iter()
        .map(|l| {
            (
                l["type"].as_str().unwrap().to_owned(),
                l["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

/// An app whose users also grant the scopes to change their mail, and
/// Alice signed in with `messages` messages.
async fn app_with_alice(messages: usize) -> TestApp {
    let app = TestApp::spawn_with(&TestEmulator::start().await, "sync.apps.example", |s| {
        s.scopes
            .extend([GMAIL_MODIFY.to_owned(), MAIL_GOOGLE_COM.to_owned()]);
    })
    .await;
    app.google.add_user(ALICE, messages);
    app.sign_in_ok(ALICE).await;
    app
}

/// A Gmail call as Alice, with the token the CLI prints.
async fn as_alice(app: &TestApp, method: reqwest::Method, path: &str, body: Option<Value>) {
    let token = stdout(&app.command(&["users", "token", ALICE]));
    let url = format!("{}/gmail/v1/users/me/{path}", app.google.base);
    let mut request = app
        .google
        .http
        .request(method, url)
        .bearer_auth(token.trim());
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
}

fn sync(app: &TestApp, state: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "messages",
        "sync",
        ALICE,
        "--state",
        state.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let output = app.command(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    output
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_writes_every_message_then_with_the_state_file_only_the_changes() {
    let app = app_with_alice(120).await;
    let dir = tempfile::tempdir().unwrap();
    let (state, file) = (dir.path().join("state.json"), dir.path().join("out.jsonl"));

    let first = sync(&app, &state, &["--output", file.to_str().unwrap()]);
    let written = lines(&std::fs::read_to_string(&file).unwrap());
    assert_eq!(written.len(), 120);
    assert!(written.iter().all(|l| l["type"] == "message"));
    assert!(
        written[0]["payload"]["headers"].is_array(),
        "metadata by default"
    );
    assert!(stdout(&first).is_empty());
    let err = stderr(&first);
    assert!(
        err.contains("full sync of alice@example.com: 120 messages, 0 deleted"),
        "{err}"
    );
    assert!(
        !err.contains("ETA"),
        "no progress bar when stderr is no terminal"
    );
    let ids: Vec<&str> = written.iter().map(|l| l["id"].as_str().unwrap()).collect();
    let (relabelled, deleted) = (ids[5].to_owned(), ids[9].to_owned());

    let mut added = Vec::new();
    for subject in ["One", "Two"] {
        let new = app
            .google
            .control(
                &format!("users/{ALICE}/messages"),
                json!({ "subject": subject }),
            )
            .await;
        added.push(new["id"].as_str().unwrap().to_owned());
    }
    let body = json!({"addLabelIds": ["STARRED"], "removeLabelIds": ["UNREAD"]});
    let modify = format!("messages/{relabelled}/modify");
    as_alice(&app, reqwest::Method::POST, &modify, Some(body)).await;
    let delete = format!("messages/{deleted}");
    as_alice(&app, reqwest::Method::DELETE, &delete, None).await;

    let second = sync(&app, &state, &[]);
    let changes = lines(&stdout(&second));
    let mut expected = vec![
        ("message".to_owned(), added[0].clone()),
        ("message".to_owned(), added[1].clone()),
        ("message".to_owned(), relabelled.clone()),
        ("deleted".to_owned(), deleted),
    ];
    expected.sort();
    assert_eq!(summary(&changes), expected);
    let starred = changes
        .iter()
        .find(|l| l["id"] == relabelled.as_str())
        .unwrap();
    assert!(
        starred["labelIds"]
            .as_array()
            .unwrap()
            .contains(&json!("STARRED"))
    );
    let err = stderr(&second);
    assert!(
        err.contains("incremental sync of alice@example.com: 3 messages, 1 deleted, 0 unmatched"),
        "{err}"
    );

    let third = sync(&app, &state, &[]);
    assert!(stdout(&third).is_empty());
    assert!(stderr(&third).contains("incremental sync of alice@example.com: 0 messages"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_after_history_expired_sends_everything_again_and_says_so() {
    let app = app_with_alice(30).await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    sync(
        &app,
        &state,
        &["--query", "in:inbox", "--format", "minimal"],
    );
    // Gmail forgets the history up to a change made after that sync.
    app.google
        .control(
            &format!("users/{ALICE}/messages"),
            json!({"subject": "New"}),
        )
        .await;
    app.google
        .control(&format!("users/{ALICE}/history/expire"), json!({}))
        .await;
    let inbox = app.command(&[
        "messages",
        "list",
        ALICE,
        "--query",
        "in:inbox",
        "--max-results",
        "500",
    ]);

    let again = sync(
        &app,
        &state,
        &["--query", "in:inbox", "--format", "minimal"],
    );

    let lines = lines(&stdout(&again));
    assert!(!lines.is_empty());
    assert_eq!(lines.len(), stdout(&inbox).lines().count());
    assert!(
        lines
            .iter()
            .all(|l| l["type"] == "message" && l["payload"].is_null())
    );
    let err = stderr(&again);
    assert!(err.contains("full sync (history from "), "{err}");
    assert!(err.contains("has expired) of alice@example.com"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_for_a_revoked_grant_names_the_user_and_the_consent_url() {
    let app = app_with_alice(3).await;
    app.google
        .control(&format!("users/{ALICE}/revoke"), json!({}))
        .await;
    // Only a refresh discovers the revocation.
    app.google.control("tokens/expire", json!({})).await;
    app.expire_stored_tokens().await;

    let output = app.command(&["messages", "sync", ALICE]);

    assert!(!output.status.success());
    assert!(stdout(&output).is_empty());
    let err = stderr(&output);
    assert!(
        err.contains(&format!("user {ALICE}")) && err.contains("must authorize again"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "send them to {}/oauth2/authorize?login_hint=alice%40example.com&prompt=consent",
            app.address
        )),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_file_of_another_user_is_refused() {
    let app = app_with_alice(3).await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    std::fs::write(
        &state,
        r#"{"user_id":"someone-else","history_id":"5","query":null,"format":"metadata"}"#,
    )
    .unwrap();

    let output = app.command(&[
        "messages",
        "sync",
        ALICE,
        "--state",
        state.to_str().unwrap(),
    ]);

    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("holds the sync state of user someone-else"),
        "{}",
        stderr(&output)
    );
}
