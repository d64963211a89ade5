//! Bad input gets a clear error and changes no stored data.

mod common;

use common::{TestApp, query_param};
use reqwest::StatusCode;
use serde_json::json;

const ALICE: &str = "alice@example.com";

async fn signed_in_app() -> TestApp {
    let app = TestApp::spawn().await;
    app.google.add_user(ALICE, 5);
    app.sign_in_ok(ALICE).await;
    app
}

/// Starts a fresh authorization and returns the callback URL Google would send.
async fn fresh_callback(app: &TestApp) -> url::Url {
    let google = app.authorize(&format!("login_hint={ALICE}")).await;
    app.approve(&google).await
}

fn with_param(url: &url::Url, name: &str, value: Option<&str>) -> url::Url {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut url = url.clone();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    if let Some(value) = value {
        url.query_pairs_mut().append_pair(name, value);
    }
    url
}

#[tokio::test]
async fn callback_without_a_sign_in_in_progress_is_rejected() {
    let app = TestApp::spawn().await;
    let response = app
        .get("/oauth2callback?code=4/0Aforged&state=whatever")
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("no sign-in is in progress")
    );
    assert!(app.rows().await.is_empty());
}

#[tokio::test]
async fn callback_with_missing_state_is_rejected() {
    let app = TestApp::spawn().await;
    app.google.add_user(ALICE, 5);
    let callback = with_param(&fresh_callback(&app).await, "state", None);
    let response = app.client.get(callback).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("no state"));
    assert!(app.rows().await.is_empty());
}

#[tokio::test]
async fn callback_with_forged_state_is_rejected() {
    let app = TestApp::spawn().await;
    app.google.add_user(ALICE, 5);
    let callback = with_param(
        &fresh_callback(&app).await,
        "state",
        Some("forged-state-value"),
    );
    let response = app.client.get(callback).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("does not match"));
    assert!(app.rows().await.is_empty());
}

#[tokio::test]
async fn callback_with_replayed_state_is_rejected() {
    let app = TestApp::spawn().await;
    app.google.add_user(ALICE, 5);
    let callback = fresh_callback(&app).await;
    assert_eq!(
        app.client
            .get(callback.clone())
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::SEE_OTHER
    );
    let before = app.rows().await;

    let replay = app.client.get(callback).send().await.unwrap();

    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.rows().await, before);
}

#[tokio::test]
async fn replayed_code_is_rejected_and_changes_nothing() {
    let app = signed_in_app().await;
    let used = fresh_callback(&app).await;
    assert_eq!(
        app.client.get(used.clone()).send().await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
    let before = app.rows().await;
    // A new sign-in (new state), fed the code that was already exchanged.
    let fresh = fresh_callback(&app).await;
    let replay = with_param(&fresh, "code", query_param(&used, "code").as_deref());

    let response = app.client.get(replay).send().await.unwrap();

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("invalid_grant"));
    assert_eq!(app.rows().await, before);
}

#[tokio::test]
async fn access_denied_returns_home_with_a_notice_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let google = app.authorize(&format!("login_hint={ALICE}")).await;
    let state = query_param(&google, "state").unwrap();

    let response = app
        .get(&format!(
            "/oauth2callback?error=access_denied&state={state}"
        ))
        .await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/?notice=access_denied");
    assert!(
        app.get("/?notice=access_denied")
            .await
            .text()
            .await
            .unwrap()
            .contains("did not grant access")
    );
    assert!(app.rows().await.is_empty());
}

#[tokio::test]
async fn malformed_token_response_is_a_clear_error_and_stores_nothing() {
    let app = TestApp::spawn().await;
    app.google.add_user(ALICE, 5);
    let callback = fresh_callback(&app).await;
    app.google
        .control(
            "faults",
            json!({"endpoint": "token", "count": 1, "status": 200, "body": "{\"access_token\": \"ya29.leaked\", \"expires_in\": \"soon\""}),
        )
        .await;

    let response = app.client.get(callback).send().await.unwrap();

    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let page = response.text().await.unwrap();
    assert!(page.contains("could not be read"), "{page}");
    assert!(!page.contains("ya29.leaked"));
    assert!(app.rows().await.is_empty());
}

#[tokio::test]
async fn userinfo_without_an_id_is_a_clear_error_and_stores_nothing() {
    let app = TestApp::spawn().await;
    app.google.add_user(ALICE, 5);
    let callback = fresh_callback(&app).await;
    app.google
        .control(
            "faults",
            json!({"endpoint": "userinfo", "count": 1, "status": 200, "body": "{\"email\": \"alice@example.com\"}"}),
        )
        .await;

    let response = app.client.get(callback).send().await.unwrap();

    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(response.text().await.unwrap().contains("without a user id"));
    assert!(app.rows().await.is_empty());
}

#[tokio::test]
async fn one_time_code_without_x_requested_with_is_refused() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(format!("{}/oauth2/code", app.address))
        .json(&json!({"code": "4/0Asomething"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().await.unwrap().contains("X-Requested-With"));
    assert!(app.rows().await.is_empty());
}

#[tokio::test]
async fn one_time_code_that_is_not_json_is_a_bad_request() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(format!("{}/oauth2/code", app.address))
        .header("X-Requested-With", "XMLHttpRequest")
        .body("4/0Asomething")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(app.rows().await.is_empty());
}

#[tokio::test]
async fn forged_one_time_code_is_rejected_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(format!("{}/oauth2/code", app.address))
        .header("X-Requested-With", "XMLHttpRequest")
        .json(&json!({"code": "4/0Aforged"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(app.rows().await.is_empty());
}

#[tokio::test]
async fn forged_session_cookie_is_not_a_sign_in() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(format!("{}/api/messages", app.address))
        .header(
            "Cookie",
            "mailgrant_session={\"user_id\":\"1\",\"email\":null}",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}
