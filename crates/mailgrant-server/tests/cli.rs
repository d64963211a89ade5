//! The `mailgrant` binary: start-up checks and the operator commands, run as a
//! user would run them, on the same SQLite file the server uses.

mod common;
mod stream;

use std::process::Output;
use std::time::Duration;

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

#[test]
fn a_postgres_database_without_a_shared_key_is_refused_before_anything_is_written() {
    let (output, dir) = serve_with(
        SECRETS,
        &[
            "--public-url",
            "https://mail.example.com",
            "--database",
            "postgres://postgres@127.0.0.1:5432/test",
        ],
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("set the same MAILGRANT_ENCRYPTION_KEY"),
        "{}",
        stderr(&output)
    );
    assert!(!dir.path().join("data").exists(), "no key file made");
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

fn key_ids(rows: &[common::Row]) -> Vec<String> {
    rows.iter()
        .flat_map(|r| [r.refresh_token.as_ref(), r.access_token.as_ref()])
        .flatten()
        .map(|blob| {
            mailgrant::crypto::Keyring::key_id_of(blob)
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotate_reencrypts_every_token_and_old_keys_are_then_unneeded() {
    let app = TestApp::spawn().await;
    app.google.add_user(ALICE, 3);
    app.google.add_user("bob@example.com", 3);
    app.sign_in_ok(ALICE).await;
    app.sign_in_ok("bob@example.com").await;
    let old_id = app.keys.current_key_id().to_owned();
    let new_key = mailgrant::crypto::Keyring::generate_config_value();
    let both = format!("{new_key},{}", app.key_config);

    let rotate = app.command_with_key(&["keys", "rotate"], &both);

    assert!(rotate.status.success(), "{}", stderr(&rotate));
    assert!(
        stdout(&rotate).contains("re-encrypted 2 users"),
        "{}",
        stdout(&rotate)
    );
    let new_id = mailgrant::crypto::Keyring::from_config(&new_key)
        .unwrap()
        .current_key_id()
        .to_owned();
    let ids = key_ids(&app.rows().await);
    assert_eq!(ids.len(), 4);
    assert!(
        ids.iter().all(|id| *id == new_id),
        "{ids:?} still uses {old_id}"
    );
    // The new key alone now reads everything.
    let token = app.command_with_key(&["users", "token", ALICE], &new_key);
    assert!(token.status.success(), "{}", stderr(&token));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotate_with_a_wrong_key_names_the_user_and_changes_nothing() {
    let app = TestApp::spawn().await;
    app.google.add_user(ALICE, 3);
    app.sign_in_ok(ALICE).await;
    let before = app.rows().await;
    let unrelated = mailgrant::crypto::Keyring::generate_config_value();

    let rotate = app.command_with_key(&["keys", "rotate"], &unrelated);

    assert!(!rotate.status.success());
    let err = stderr(&rotate);
    assert!(
        err.contains(&format!("the tokens of user {}", before[0].user_id)),
        "{err}"
    );
    assert!(err.contains("nothing was changed"), "{err}");
    assert_eq!(app.rows().await, before);
}

#[test]
fn keys_rotate_on_the_key_file_puts_a_new_key_in_front_and_keeps_the_old() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_mailgrant"))
            .args(args)
            .arg("--data-dir")
            .arg(dir.path())
            .env_clear()
            .output()
            .unwrap()
    };
    let first = run(&["keys", "rotate"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let one = std::fs::read_to_string(dir.path().join("encryption.key")).unwrap();
    let second = run(&["keys", "rotate"]);
    assert!(second.status.success(), "{}", stderr(&second));
    let two = std::fs::read_to_string(dir.path().join("encryption.key")).unwrap();
    let keys: Vec<&str> = two.trim().split(',').collect();
    assert_eq!(keys.len(), 3, "generated, then two rotations: {two}");
    assert!(
        two.trim().ends_with(one.trim()),
        "the old keys stay, after the new one"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("encryption.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_writes_authorized_user_json_that_import_takes_into_another_deployment() {
    let google = common::TestEmulator::start().await;
    let user_id = google.add_user(ALICE, 3);
    let first = TestApp::spawn_on(&google, "moving.apps.googleusercontent.com").await;
    first.sign_in_ok(ALICE).await;
    let second = TestApp::spawn_on(&google, "moving.apps.googleusercontent.com").await;
    let file = tempfile::NamedTempFile::new().unwrap();
    let path = file.path().to_str().unwrap();

    let export = first.command(&["users", "export", ALICE, "--output", path]);
    assert!(export.status.success(), "{}", stderr(&export));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(json["type"], "authorized_user");
    assert_eq!(json["client_id"], "moving.apps.googleusercontent.com");
    assert!(json["refresh_token"].as_str().unwrap().starts_with("1//"));
    assert!(!stderr(&export).contains(json["refresh_token"].as_str().unwrap()));

    let import = second.command(&["users", "import", path]);

    assert!(import.status.success(), "{}", stderr(&import));
    assert_eq!(stdout(&import), format!("imported {user_id}\t{ALICE}\n"));
    let token = second.command(&["users", "token", ALICE]);
    assert!(token.status.success(), "{}", stderr(&token));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_of_another_clients_or_a_revoked_grant_stores_nothing() {
    let app = TestApp::spawn().await;
    app.google.add_user(ALICE, 3);
    app.sign_in_ok(ALICE).await;
    let file = tempfile::NamedTempFile::new().unwrap();
    let path = file.path().to_str().unwrap().to_owned();
    assert!(
        app.command(&["users", "export", ALICE, "--output", &path])
            .status
            .success()
    );
    let exported: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    app.google
        .control(&format!("users/{ALICE}/revoke"), json!({}))
        .await;
    app.sql("DELETE FROM credentials").await;

    let revoked = app.command(&["users", "import", &path]);
    let mut other = exported.clone();
    other["client_id"] = "someone-else.apps.googleusercontent.com".into();
    std::fs::write(&path, other.to_string()).unwrap();
    let foreign = app.command(&["users", "import", &path]);
    std::fs::write(&path, "{\"type\": \"service_account\"}").unwrap();
    let wrong_type = app.command(&["users", "import", &path]);

    assert!(!revoked.status.success());
    assert!(
        stderr(&revoked).contains("nothing was stored"),
        "{}",
        stderr(&revoked)
    );
    assert!(
        stderr(&foreign).contains("holds a grant to OAuth client someone-else"),
        "{}",
        stderr(&foreign)
    );
    assert!(
        stderr(&wrong_type).contains("is not an authorized_user file"),
        "{}",
        stderr(&wrong_type)
    );
    assert!(app.rows().await.is_empty());
}

/// A child process killed when dropped, even when the test fails.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary and returns it with the first stdout line containing `marker`.
fn spawn_until(args: &[&str], marker: &str) -> (Child, String) {
    use std::io::BufRead;
    let mut child = Child(
        std::process::Command::new(env!("CARGO_BIN_EXE_mailgrant"))
            .args(args)
            .env_clear()
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(stdout).lines();
    let line = lines
        .by_ref()
        .map(|l| l.unwrap())
        .find(|l| l.contains(marker))
        .unwrap_or_else(|| panic!("the output never said {marker}"));
    // Keep draining so the child never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (child, line)
}

/// Starts `mailgrant demo` (auto-approving) with `extra` arguments; returns
/// it with the URL it says to open.
fn spawn_demo(extra: &[&str]) -> (Child, String) {
    let mut args = vec!["demo", "--listen", "127.0.0.1:0", "--auto-approve"];
    args.extend_from_slice(extra);
    let (demo, line) = spawn_until(&args, "Open http");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_owned();
    (demo, url)
}

/// Signs `email` in to the demo at `url`; returns the signed-in browser.
async fn demo_sign_in(url: &str, email: &str) -> reqwest::Client {
    let browser = common::no_redirects(true);
    let google = browser
        .get(format!("{url}oauth2/authorize?login_hint={email}"))
        .send()
        .await
        .unwrap();
    let callback = browser.get(common::location(&google)).send().await.unwrap();
    let signed_in = browser
        .get(common::location(&callback))
        .send()
        .await
        .unwrap();
    assert_eq!(
        signed_in.status(),
        reqwest::StatusCode::SEE_OTHER,
        "{}",
        signed_in.text().await.unwrap()
    );
    browser
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_serves_the_whole_flow_with_nothing_configured() {
    let (_demo, url) = spawn_demo(&[]);

    let browser = demo_sign_in(&url, "alice@example.com").await;
    let page = browser
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    assert!(
        page.contains("<strong id=\"user\">alice@example.com</strong>"),
        "{page}"
    );
    assert_eq!(page.matches("<tr class=").count(), 25);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_the_demo_mail_delivered_on_the_emulator_s_page_is_pushed_to_the_signed_in_user() {
    // Arrange: the demo, Alice signed in and watched.
    let emulator = format!("127.0.0.1:{}", common::free_port());
    let (_demo, url) = spawn_demo(&["--emulator-listen", &emulator]);
    let browser = demo_sign_in(&url, "alice@example.com").await;
    stream::wait_watched(&format!("http://{emulator}"), ALICE).await;

    // Act: deliver a message with the emulator's form.
    let delivered = common::no_redirects(false)
        .post(format!("http://{emulator}/emulator/mail"))
        .form(&[
            ("to", "alice@example.com"),
            ("subject", "Pushed in the demo"),
        ])
        .send()
        .await
        .unwrap();

    // Assert: pushed, synced, and in Alice's own events for her page.
    assert_eq!(delivered.status(), reqwest::StatusCode::SEE_OTHER);
    stream::eventually(
        Duration::from_secs(10),
        "the push reaches Alice's events",
        async || {
            let page: serde_json::Value = browser
                .get(format!("{url}api/events"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            page["events"].as_array().unwrap().iter().any(|e| {
                e["type"] == "message.added" && e["data"]["subject"] == "Pushed in the demo"
            })
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_command_writes_client_secrets_that_point_at_itself() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("client_secrets.json");
    let (_emulator, line) = spawn_until(
        &[
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--write-client-secrets",
            path.to_str().unwrap(),
        ],
        "Google emulator on",
    );
    let base = line.rsplit(' ').next().unwrap().to_owned();

    let secrets = mailgrant::config::ClientSecrets::load(&path).unwrap();

    assert!(secrets.token_uri.as_str().starts_with(&base));
    assert!(
        secrets
            .ensure_redirect_uri("http://localhost:8080/oauth2callback")
            .is_ok()
    );
    let auth = common::no_redirects(false)
        .get(secrets.auth_uri.clone())
        .query(&[
            ("client_id", secrets.client_id.as_str()),
            ("redirect_uri", "http://localhost:8080/oauth2callback"),
            ("response_type", "code"),
            ("scope", "openid email"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        auth.status(),
        reqwest::StatusCode::OK,
        "the consent page answers"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_the_flow_against_the_configured_google() {
    let google = common::TestEmulator::start().await;
    google.add_user(ALICE, 30);
    // A port that was free a moment ago, so the redirect URI is known up front.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let public_url = format!("http://127.0.0.1:{port}");
    let client = google_emulator::ClientRegistration {
        client_id: "serve.apps.googleusercontent.com".to_owned(),
        client_secret: "GOCSPX-serve-test".to_owned(),
        redirect_uris: vec![format!("{public_url}/oauth2callback")],
    };
    google.emulator.register_client(client.clone());
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("client_secrets.json");
    std::fs::write(
        &secrets,
        google_emulator::Emulator::client_secrets_json(&google.base, &client).to_string(),
    )
    .unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_mailgrant"));
    command
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--public-url",
            &public_url,
        ])
        .env_clear()
        .env("MAILGRANT_CLIENT_SECRETS", &secrets)
        .env("MAILGRANT_DATA_DIR", dir.path().join("data"))
        .env(
            "MAILGRANT_USERINFO_URL",
            format!("{}/oauth2/v2/userinfo", google.base),
        )
        .env("MAILGRANT_REVOKE_URL", format!("{}/revoke", google.base))
        .env("MAILGRANT_GMAIL_API_URL", format!("{}/", google.base))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let _serve = Child(command.spawn().unwrap());
    let browser = common::no_redirects(true);
    let mut health = None;
    for _ in 0..100 {
        if let Ok(response) = browser.get(format!("{public_url}/healthz")).send().await {
            health = Some(response.status());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(health, Some(reqwest::StatusCode::OK));

    let to_google = browser
        .get(format!("{public_url}/oauth2/authorize?login_hint={ALICE}"))
        .send()
        .await
        .unwrap();
    let callback = browser
        .get(common::location(&to_google))
        .send()
        .await
        .unwrap();
    let signed_in = browser
        .get(common::location(&callback))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), reqwest::StatusCode::SEE_OTHER);
    let page: serde_json::Value = browser
        .get(format!("{public_url}/api/messages"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(page["messages"].as_array().unwrap().len(), 30);
    let key_file = dir.path().join("data").join("encryption.key");
    assert!(
        key_file.exists(),
        "the embedded default generated its key file"
    );
}

#[test]
fn the_embedded_default_announces_its_generated_key_once() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("client_secrets.json");
    std::fs::write(&secrets, SECRETS).unwrap();
    let list = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_mailgrant"))
            .args(["users", "list", "--public-url", "https://mail.example.com"])
            .arg("--client-secrets")
            .arg(&secrets)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .env_clear()
            .output()
            .unwrap()
    };
    let first = list();
    let second = list();
    assert!(
        first.status.success() && second.status.success(),
        "{}",
        stderr(&first)
    );
    assert!(
        stderr(&first).contains("generated a new encryption key"),
        "{}",
        stderr(&first)
    );
    assert!(!stderr(&second).contains("generated a new encryption key"));
    let key = std::fs::read_to_string(dir.path().join("data/encryption.key")).unwrap();
    assert!(
        !stderr(&first).contains(key.trim()),
        "the key itself is never printed"
    );
}
