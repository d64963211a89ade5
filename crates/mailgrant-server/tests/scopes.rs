//! `/oauth2/authorize?scope=` asks Google only for scopes the server is
//! configured with (`--scopes`) or may ask for on demand
//! (`--optional-scopes`): a crafted link cannot make a user grant more.

mod common;

use common::{TestApp, TestEmulator, query_param};
use mailgrant_server::api_keys::ApiKeys;
use reqwest::StatusCode;
use reqwest::header::SET_COOKIE;

const ALICE: &str = "alice@example.com";
const KEY: &str = "scopes-api-key-0123456789";
const FULL_ACCESS: &str = "https://mail.google.com/";
const READONLY: &str = "https://www.googleapis.com/auth/gmail.readonly";
const SEND: &str = "https://www.googleapis.com/auth/gmail.send";

async fn app_with_optional(optional: &[&str]) -> TestApp {
    let google = TestEmulator::start().await;
    let optional: Vec<String> = optional.iter().map(|s| (*s).to_owned()).collect();
    TestApp::spawn_with(&google, "scopes.apps.googleusercontent.com", |settings| {
        settings.optional_scopes = optional;
        settings.api_keys = ApiKeys::parse(&[KEY.to_owned()]).unwrap();
    })
    .await
}

fn encoded(scope: &str) -> String {
    url::form_urlencoded::byte_serialize(scope.as_bytes()).collect()
}

#[tokio::test]
async fn a_scope_the_server_is_not_configured_for_is_refused_by_name() {
    let app = app_with_optional(&[SEND]).await;

    let response = app
        .get(&format!("/oauth2/authorize?scope={}", encoded(FULL_ACCESS)))
        .await;

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response.headers().get(SET_COOKIE).is_none(),
        "no sign-in starts"
    );
    let page = response.text().await.unwrap();
    assert!(page.contains(FULL_ACCESS), "{page}");
}

#[tokio::test]
async fn one_bad_scope_among_good_ones_is_refused() {
    let app = app_with_optional(&[]).await;

    let response = app
        .get(&format!(
            "/oauth2/authorize?scope={}",
            encoded(&format!("{READONLY} {FULL_ACCESS}"))
        ))
        .await;

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_configured_or_optional_scope_is_asked_of_google() {
    let app = app_with_optional(&[SEND]).await;

    for scope in [READONLY, SEND] {
        let google = app.authorize(&format!("scope={}", encoded(scope))).await;

        assert_eq!(query_param(&google, "scope").as_deref(), Some(scope));
    }
}

#[tokio::test]
async fn the_token_api_refuses_a_scope_the_server_may_not_ask_for_instead_of_a_dead_link() {
    let app = app_with_optional(&[]).await;
    let user_id = app.google.add_user(ALICE, 3);
    app.sign_in_ok(ALICE).await;

    let response = app
        .client
        .get(format!(
            "{}/v1/users/{user_id}/token?scope={}",
            app.address,
            encoded(SEND)
        ))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains(SEND), "{body}");
}
