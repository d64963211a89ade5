//! A replica whose OAuth client Google refuses (a wrong or freshly rotated
//! secret) must not touch a single stored grant: every caller gets a 503
//! naming the cause, and once the secret is right every user works again
//! without going back through consent.

mod common;

use common::{TestApp, TestEmulator};
use mailgrant_server::api_keys::ApiKeys;
use reqwest::StatusCode;
use serde_json::Value;

const CLIENT: &str = "replicas.apps.googleusercontent.com";
const KEY: &str = "client-check-api-key-0123456789";
const USERS: usize = 50;

/// A replica on `first`'s database and keys, with `secret` as its client secret.
async fn replica(first: &TestApp, secret: &str) -> TestApp {
    let secret = mailgrant::SecretString::from(secret.to_owned());
    first
        .replica(move |settings| {
            settings.client_secrets.client_secret = secret;
            settings.api_keys = ApiKeys::parse(&[KEY.to_owned()]).unwrap();
        })
        .await
}

async fn tokens(app: &TestApp, users: &[String]) -> Vec<(StatusCode, Value)> {
    let calls = users.iter().map(|id| {
        let request = app
            .client
            .get(format!("{}/v1/users/{id}/token", app.address))
            .bearer_auth(KEY);
        async move {
            let response = request.send().await.unwrap();
            (response.status(), response.json().await.unwrap())
        }
    });
    futures::future::join_all(calls).await
}

#[tokio::test]
async fn a_replica_with_a_wrong_secret_changes_no_row_and_the_right_secret_brings_every_user_back()
{
    let google = TestEmulator::start().await;
    let first = TestApp::spawn_on(&google, CLIENT).await;
    let mut users = Vec::new();
    for i in 0..USERS {
        let email = format!("user{i}@example.com");
        users.push(google.add_user(&email, 1));
        first.sign_in_ok(&email).await;
    }
    first.expire_stored_tokens().await;
    let consents = google.counters().await["token_grants"]["authorization_code"].clone();
    let before = first.raw_table().await;
    assert_eq!(before.len(), USERS);

    let wrong = replica(&first, "GOCSPX-not-the-secret").await;
    let refused = tokens(&wrong, &users).await;
    let after_wrong = first.raw_table().await;
    let right = replica(&first, &first.client_secret).await;
    let served = tokens(&right, &users).await;

    assert_eq!(after_wrong, before, "rows changed under a wrong secret");
    for (status, body) in &refused {
        assert_eq!(*status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body["error"], "client_misconfigured");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("check the client secret")
        );
    }
    for (status, body) in &served {
        assert_eq!(*status, StatusCode::OK, "{body}");
        assert!(body["access_token"].as_str().is_some_and(|t| !t.is_empty()));
    }
    assert_eq!(
        google.counters().await["token_grants"]["authorization_code"],
        consents,
        "nobody had to consent again"
    );
}

#[tokio::test]
async fn the_home_page_says_the_client_secret_is_wrong_and_does_not_send_the_user_to_consent() {
    let google = TestEmulator::start().await;
    let app = TestApp::spawn_on(&google, CLIENT).await;
    google.add_user("alice@example.com", 3);
    app.sign_in_ok("alice@example.com").await;
    app.expire_stored_tokens().await;
    let body = serde_json::json!({"error": "invalid_client", "error_description": "Unauthorized"});
    google
        .control(
            "faults",
            serde_json::json!({"endpoint": "token", "count": 5, "status": 401, "body": body.to_string()}),
        )
        .await;

    let home = app.get("/").await;

    assert_eq!(home.status(), StatusCode::SERVICE_UNAVAILABLE);
    let page = home.text().await.unwrap();
    assert!(
        page.contains("the OAuth client is rejected by Google: check the client secret"),
        "{page}"
    );
    assert!(!page.contains("reconnect"), "{page}");
}

#[tokio::test]
async fn a_sign_in_while_google_disables_the_client_blames_the_client_and_stores_nothing() {
    let google = TestEmulator::start().await;
    google.add_user("alice@example.com", 1);
    let app = TestApp::spawn_on(&google, CLIENT).await;
    let to_google = app.authorize("login_hint=alice@example.com").await;
    let callback = app.approve(&to_google).await;
    google
        .control(
            &format!("clients/{CLIENT}/status"),
            serde_json::json!({"status": "disabled"}),
        )
        .await;

    let response = app.client.get(callback).send().await.unwrap();

    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("the OAuth client is rejected by Google: check the client secret")
            && page.contains("disabled_client"),
        "{page}"
    );
    assert!(!page.contains("authorize again"), "{page}");
    assert!(app.raw_table().await.is_empty());
}
