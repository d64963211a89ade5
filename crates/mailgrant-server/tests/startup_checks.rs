//! What `mailgrant` checks before it serves or touches the store: the OAuth
//! client (asked of Google's token endpoint), the encryption keys (against
//! stored tokens), the key file's rights, the webhook secret; and
//! `users recheck`, which undoes a revocation found to be wrong. Each runs
//! the real binary as an operator would.

mod common;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{TestApp, free_port};
use serde_json::{Value, json};

const ALICE: &str = "alice@example.com";

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The `mailgrant` binary with `app`'s configuration, for a server at
/// 127.0.0.1:`port`, its client secret replaced by `secret`.
fn mailgrant(app: &TestApp, secret: &str, port: u16) -> Command {
    let public_url = format!("http://127.0.0.1:{port}");
    let mut json: Value =
        serde_json::from_str(&std::fs::read_to_string(&app.client_secrets_path).unwrap()).unwrap();
    json["web"]["client_secret"] = secret.into();
    json["web"]["redirect_uris"] = json!([format!("{public_url}/oauth2callback")]);
    let secrets = app.db_path.with_file_name(format!("secrets-{port}.json"));
    std::fs::write(&secrets, json.to_string()).unwrap();
    let mut command = app.mailgrant(&[]);
    command
        .env("MAILGRANT_PUBLIC_URL", &public_url)
        .env("MAILGRANT_CLIENT_SECRETS", &secrets);
    command
}

/// `mailgrant serve` on 127.0.0.1:`port` ([`mailgrant`]).
fn serve(app: &TestApp, secret: &str, port: u16, extra: &[&str]) -> Command {
    let mut command = mailgrant(app, secret, port);
    command
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(extra);
    command
}

/// Runs `command` until `/healthz` on `port` answers (true) or it exits (false).
async fn serves(mut command: Command, port: u16) -> bool {
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let http = common::no_redirects(false);
    let mut up = false;
    for _ in 0..200 {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if let Ok(response) = http
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
        {
            up = response.status().is_success();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    up
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refuses_an_oauth_client_google_rejects_and_starts_with_skip_client_check() {
    let app = TestApp::spawn().await;
    let before = app.google.refresh_grants().await;

    let wrong = serve(&app, "GOCSPX-wrong", free_port(), &[])
        .output()
        .unwrap();
    let port = free_port();
    let skipped = serves(
        serve(&app, "GOCSPX-wrong", port, &["--skip-client-check"]),
        port,
    )
    .await;
    let port = free_port();
    let right = serves(serve(&app, &app.client_secret, port, &[]), port).await;

    assert!(!wrong.status.success());
    let message = stderr(&wrong);
    assert!(
        message.contains("the OAuth client is rejected by Google: check the client secret")
            && message.contains("invalid_client"),
        "{message}"
    );
    assert!(!message.contains("GOCSPX-wrong"), "no secret in errors");
    assert!(skipped, "--skip-client-check starts without asking Google");
    assert!(right, "a good client starts");
    assert_eq!(
        app.google.refresh_grants().await,
        before,
        "the probe's refresh token never works"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_commands_blame_the_client_secret_not_the_user_and_change_nothing() {
    let app = TestApp::spawn().await;
    app.google.add_user(ALICE, 1);
    app.sign_in_ok(ALICE).await;
    app.expire_stored_tokens().await;
    let before = app.raw_table().await;

    let output = mailgrant(&app, "GOCSPX-rotated-away", free_port())
        .args(["users", "token", ALICE])
        .output()
        .unwrap();

    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("the OAuth client is rejected by Google: check the client secret"),
        "{message}"
    );
    assert!(!message.contains("authorize again"), "{message}");
    assert_eq!(app.raw_table().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refuses_keys_that_decrypt_none_of_the_stored_tokens() {
    let app = TestApp::spawn().await;
    app.google.add_user(ALICE, 1);
    app.sign_in_ok(ALICE).await;
    let before = app.raw_table().await;

    let output = serve(&app, &app.client_secret, free_port(), &[])
        .env(
            "MAILGRANT_ENCRYPTION_KEY",
            mailgrant::crypto::Keyring::generate_config_value(),
        )
        .output()
        .unwrap();

    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("none of the 1 stored tokens sampled decrypts")
            && message.contains(app.keys.current_key_id()),
        "{message}"
    );
    assert_eq!(app.raw_table().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refuses_an_empty_webhook_secret() {
    let app = TestApp::spawn().await;

    let output = serve(&app, &app.client_secret, free_port(), &[])
        .args([
            "--webhook-url",
            "http://127.0.0.1:9/hook",
            "--webhook-secret",
            " ",
        ])
        .output()
        .unwrap();

    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("--webhook-secret (MAILGRANT_WEBHOOK_SECRET) is empty"),
        "{}",
        stderr(&output)
    );
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_file_others_can_read_is_refused_with_the_chmod_to_run() {
    use std::os::unix::fs::PermissionsExt;
    let app = TestApp::spawn().await;
    let data = app.db_path.with_file_name("data");
    let list = || {
        Command::new(env!("CARGO_BIN_EXE_mailgrant"))
            .args(["users", "list", "--data-dir", data.to_str().unwrap()])
            .env_clear()
            .env("MAILGRANT_CLIENT_SECRETS", &app.client_secrets_path)
            .env("MAILGRANT_PUBLIC_URL", &app.address)
            .output()
            .unwrap()
    };
    assert!(list().status.success());
    let key_file = data.join("encryption.key");
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();

    let output = list();

    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains(&key_file.display().to_string())
            && message.contains("chmod 600")
            && message.contains("mode 644"),
        "{message}"
    );
}

#[test]
fn a_missing_client_secrets_file_names_its_os_error_once() {
    let output = Command::new(env!("CARGO_BIN_EXE_mailgrant"))
        .args([
            "users",
            "list",
            "--client-secrets",
            "/nonexistent/client_secrets.json",
        ])
        .env_clear()
        .output()
        .unwrap();

    let message = stderr(&output);
    assert!(!output.status.success());
    assert_eq!(
        message.matches("No such file or directory").count(),
        1,
        "{message}"
    );
    assert!(
        message.contains("/nonexistent/client_secrets.json"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_recheck_undoes_a_wrong_revocation_and_keeps_a_real_one() {
    let app = TestApp::spawn().await;
    let alice = app.google.add_user(ALICE, 1);
    app.sign_in_ok(ALICE).await;
    // A revocation recorded wrongly (an older version did so on a client
    // error): the sealed refresh token is still there.
    app.sql(&format!(
        "UPDATE credentials SET revoked_at = 1, revoked_reason = 'invalid_client', access_token = NULL WHERE user_id = '{alice}'"
    ))
    .await;

    let recheck = app.command(&["users", "recheck", ALICE]);
    let token = app.command(&["users", "token", ALICE]);
    app.google
        .control(&format!("users/{ALICE}/revoke"), json!({}))
        .await;
    let really_revoked = app.command(&["users", "recheck", ALICE]);

    assert!(recheck.status.success(), "{}", stderr(&recheck));
    assert!(
        stdout(&recheck).contains("is active"),
        "{}",
        stdout(&recheck)
    );
    assert!(token.status.success(), "{}", stderr(&token));
    assert!(!really_revoked.status.success());
    assert!(
        stderr(&really_revoked).contains("must authorize again"),
        "{}",
        stderr(&really_revoked)
    );
    let row = app.rows().await.remove(0);
    assert!(row.revoked_reason.unwrap().contains("invalid_grant"));
    assert!(row.refresh_token.is_some(), "the sealed token stays");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_does_not_read_serves_listen_variable() {
    let port = free_port();
    let mut demo = Command::new(env!("CARGO_BIN_EXE_mailgrant"));
    demo.arg("demo")
        .env("MAILGRANT_DEMO_LISTEN", format!("127.0.0.1:{port}"))
        .env("MAILGRANT_LISTEN", "not an address");

    assert!(serves(demo, port).await, "demo ignored MAILGRANT_LISTEN");
}
