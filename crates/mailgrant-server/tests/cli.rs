//! The `mailgrant` binary: start-up checks and the operator commands, run as a
//! user would run them, on the same SQLite file the server uses.

mod common;

use std::process::Output;

use common::TestApp;
use serde_json::json;

const ALICE: &str = "alice@example.com";

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn serve_with(secrets: &str, extra: &[&str]) -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("client_secrets.json");
    std::fs::write(&path, secrets).unwrap();
    let data = dir.path().join("data");
    let mut args = vec![
        "serve",
        "--client-secrets",
        path.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ];
    args.extend_from_slice(extra);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_mailgrant"))
        .args(&args)
        .env_clear()
        .output()
        .unwrap();
    (output, dir)
}

const SECRETS: &str = r#"{"web":{"client_id":"x.apps.googleusercontent.com","client_secret":"GOCSPX-cli-secret",
  "auth_uri":"https://accounts.google.com/o/oauth2/auth","token_uri":"https://oauth2.googleapis.com/token",
  "redirect_uris":["https://mail.example.com/oauth2callback"]}}"#;

#[test]
fn serve_refuses_a_redirect_uri_that_is_not_registered() {
    let (output, dir) = serve_with(SECRETS, &["--public-url", "http://localhost:8080"]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("redirect URI http://localhost:8080/oauth2callback is not registered"),
        "{err}"
    );
    assert!(err.contains("https://mail.example.com/oauth2callback"));
    assert!(!dir.path().join("data").exists(), "nothing was created");
}

#[test]
fn serve_refuses_a_broken_client_secrets_file_naming_the_field() {
    let broken = SECRETS.replace("\"client_id\"", "\"client_idx\"");
    let (output, _dir) = serve_with(&broken, &["--public-url", "https://mail.example.com"]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains("field `web.client_id` is missing"), "{err}");
    assert!(!err.contains("GOCSPX-cli-secret"));
}

#[test]
fn serve_refuses_a_client_secrets_file_that_is_not_json() {
    let (output, _dir) = serve_with("{\"web\": ", &["--public-url", "https://mail.example.com"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("is not valid JSON"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_commands_list_show_token_messages_and_revoke() {
    let app = TestApp::spawn().await;
    let user_id = app.google.add_user(ALICE, 30);
    app.sign_in_ok(ALICE).await;

    let list = app.command(&["users", "list"]);
    assert!(list.status.success(), "{}", stderr(&list));
    assert_eq!(stdout(&list), format!("{user_id}\t{ALICE}\tactive\n"));

    let show = app.command(&["users", "show", ALICE]);
    assert!(stdout(&show).contains(&format!("id:            {user_id}")));
    assert!(stdout(&show).contains("refresh token: stored (encrypted)"));

    let token = app.command(&["users", "token", &user_id]);
    assert!(token.status.success(), "{}", stderr(&token));
    let access_token = stdout(&token).trim().to_owned();
    let profile = app
        .google
        .http
        .get(format!("{}/gmail/v1/users/me/profile", app.google.base))
        .bearer_auth(&access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(profile.status(), 200, "the printed token works at Gmail");
    assert!(
        !stderr(&token).contains(&access_token),
        "the token is on stdout only, never in logs"
    );

    let messages = app.command(&["messages", "list", ALICE, "--max-results", "7"]);
    assert!(messages.status.success(), "{}", stderr(&messages));
    assert_eq!(stdout(&messages).lines().count(), 7);

    let revoke = app.command(&["users", "revoke", ALICE]);
    assert!(revoke.status.success(), "{}", stderr(&revoke));
    assert!(app.rows().await.is_empty());
    assert_eq!(stdout(&app.command(&["users", "list"])), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_for_a_revoked_grant_names_the_user_and_the_consent_url() {
    let app = TestApp::spawn().await;
    app.google.add_user(ALICE, 3);
    app.sign_in_ok(ALICE).await;
    app.google
        .control(&format!("users/{ALICE}/revoke"), json!({}))
        .await;
    app.google.control("tokens/expire", json!({})).await;
    // The stored access token is still within its lifetime for us; only a
    // refresh discovers the revocation, so make the CLI need one.
    let messages = app.command(&["messages", "list", ALICE]);

    assert!(!messages.status.success());
    let err = stderr(&messages);
    assert!(err.contains(&format!("user {ALICE}")), "{err}");
    assert!(err.contains("must authorize again"), "{err}");
    assert!(
        err.contains(&format!(
            "{}/oauth2/authorize?login_hint=alice%40example.com&prompt=consent",
            app.address
        )),
        "{err}"
    );
    let show = app.command(&["users", "show", ALICE]);
    assert!(
        stdout(&show).contains("status:        revoked"),
        "{}",
        stdout(&show)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_user_is_a_clear_error() {
    let app = TestApp::spawn().await;
    let output = app.command(&["users", "token", "nobody@example.com"]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("no stored user nobody@example.com"));
}
