//! The token API for backends (`/v1`), over real HTTP.

mod common;

use common::{TestApp, TestEmulator};
use reqwest::StatusCode;
use serde_json::{Value, json};

const ALICE: &str = "alice@example.com";
const KEY: &str = "test-api-key-0123456789abcdef";
const SEND: &str = "https://www.googleapis.com/auth/gmail.send";

async fn app_with_key() -> TestApp {
    let google = TestEmulator::start().await;
    TestApp::spawn_with(
        &google,
        "token-api.apps.googleusercontent.com",
        |settings| {
            settings.api_keys =
                mailgrant_server::api_keys::ApiKeys::parse(&[KEY.to_owned()]).unwrap();
            settings.optional_scopes = vec![SEND.to_owned()];
        },
    )
    .await
}

fn v1(app: &TestApp, path: &str) -> reqwest::RequestBuilder {
    app.client.get(format!("{}/v1{path}", app.address))
}

/// `GET /v1{path}` with the right API key.
async fn keyed(app: &TestApp, path: &str) -> reqwest::Response {
    v1(app, path).bearer_auth(KEY).send().await.unwrap()
}

/// `DELETE /v1{path}` with the right API key.
async fn keyed_delete(app: &TestApp, path: &str) -> reqwest::Response {
    app.client
        .delete(format!("{}/v1{path}", app.address))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn token_api_refuses_a_missing_or_wrong_key_and_accepts_the_right_one() {
    let app = app_with_key().await;
    let user_id = app.google.add_user(ALICE, 3);
    app.sign_in_ok(ALICE).await;

    let missing = v1(&app, "/users").send().await.unwrap();
    let wrong = v1(&app, "/users")
        .bearer_auth("test-api-key-0123456789abcdeX")
        .send()
        .await
        .unwrap();
    let right = keyed(&app, "/users").await;

    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        missing.headers()["www-authenticate"],
        "Bearer realm=\"mailgrant\""
    );
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(right.status(), StatusCode::OK);
    let body: Value = right.json().await.unwrap();
    assert_eq!(body["users"][0]["id"], user_id.as_str());
    assert_eq!(body["users"][0]["email"], ALICE);
    assert_eq!(body["users"][0]["status"], "active");
    assert!(body["next_after"].is_null());
}

#[tokio::test]
async fn token_api_is_disabled_without_configured_keys() {
    let app = TestApp::spawn().await;
    let response = keyed(&app, "/users").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("no API keys are configured")
    );
}

#[tokio::test]
async fn token_endpoint_hands_out_a_working_token_with_expiry_and_scopes() {
    let app = app_with_key().await;
    let user_id = app.google.add_user(ALICE, 3);
    app.sign_in_ok(ALICE).await;

    let response = keyed(&app, &format!("/users/{user_id}/token")).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let token: Value = response.json().await.unwrap();
    assert_eq!(token["token_type"], "Bearer");
    let expires_in = token["expires_in"].as_i64().unwrap();
    assert!((3500..=3599).contains(&expires_in), "{expires_in}");
    assert!(
        token["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "https://www.googleapis.com/auth/gmail.readonly")
    );
    let profile = app
        .google
        .http
        .get(format!("{}/gmail/v1/users/me/profile", app.google.base))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(profile.status(), StatusCode::OK);
    let logs = common::logs();
    assert!(logs.contains("/v1/users/"), "the call was logged");
    assert!(
        !logs.contains(token["access_token"].as_str().unwrap()),
        "the token is not"
    );
    assert!(!logs.contains(KEY), "nor the API key");
}

#[tokio::test]
async fn users_are_paged_in_id_order() {
    let app = app_with_key().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let email = format!("user{i}@example.com");
        ids.push(app.google.add_user(&email, 1));
        app.sign_in_ok(&email).await;
    }
    ids.sort();

    let first: Value = keyed(&app, "/users?limit=3").await.json().await.unwrap();
    let after = first["next_after"].as_str().unwrap();
    let second: Value = keyed(&app, &format!("/users?limit=3&after={after}"))
        .await
        .json()
        .await
        .unwrap();

    let page_ids = |page: &Value| {
        page["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!([page_ids(&first), page_ids(&second)].concat(), ids);
    assert!(second["next_after"].is_null());
    let bad = keyed(&app, "/users?limit=0").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn unknown_user_is_404_and_delete_revokes_and_removes_the_row() {
    let app = app_with_key().await;
    let user_id = app.google.add_user(ALICE, 3);
    app.sign_in_ok(ALICE).await;
    assert_eq!(
        keyed(&app, "/users/nobody").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        keyed(&app, "/users/nobody/token").await.status(),
        StatusCode::NOT_FOUND
    );

    let deleted = keyed_delete(&app, &format!("/users/{user_id}")).await;

    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert!(app.rows().await.is_empty());
    assert_eq!(app.google.live_refresh_tokens(ALICE).await, 0);
    let again = keyed_delete(&app, &format!("/users/{user_id}")).await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn revoked_grant_answers_409_with_a_consent_url_until_the_user_consents_again() {
    let app = app_with_key().await;
    let user_id = app.google.add_user(ALICE, 3);
    app.sign_in_ok(ALICE).await;
    app.google
        .control(&format!("users/{ALICE}/revoke"), json!({}))
        .await;
    app.expire_stored_tokens().await;

    let response = keyed(&app, &format!("/users/{user_id}/token")).await;

    assert_eq!(response.status(), StatusCode::CONFLICT);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "authorization_required");
    assert!(
        body["authorization_url"]
            .as_str()
            .unwrap()
            .contains("prompt=consent")
    );
    let user: Value = keyed(&app, &format!("/users/{user_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(user["status"], "revoked");
    assert!(
        user["revoked_reason"]
            .as_str()
            .unwrap()
            .contains("invalid_grant")
    );
    assert!(user["revoked_at"].is_i64());

    app.sign_in_ok(ALICE).await;
    let again = keyed(&app, &format!("/users/{user_id}/token")).await;
    assert_eq!(again.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_scope_the_user_did_not_grant_answers_an_incremental_authorization_url() {
    let app = app_with_key().await;
    let user_id = app.google.add_user(ALICE, 3);
    app.sign_in_ok(ALICE).await;
    let send = SEND;

    let response = keyed(&app, &format!("/users/{user_id}/token?scope={send}")).await;

    assert_eq!(response.status(), StatusCode::CONFLICT);
    let body: Value = response.json().await.unwrap();
    let url = url::Url::parse(body["authorization_url"].as_str().unwrap()).unwrap();
    assert_eq!(common::query_param(&url, "scope").as_deref(), Some(send));
    assert_eq!(
        common::query_param(&url, "login_hint").as_deref(),
        Some(ALICE)
    );
    // Following it asks Google for that scope only, on top of earlier grants.
    let google = app.authorize(url.query().unwrap()).await;
    assert_eq!(common::query_param(&google, "scope").as_deref(), Some(send));
    assert_eq!(
        common::query_param(&google, "include_granted_scopes").as_deref(),
        Some("true")
    );
    let callback = app.approve(&google).await;
    assert_eq!(
        app.client.get(callback).send().await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
    let granted = keyed(&app, &format!("/users/{user_id}/token?scope={send}")).await;
    assert_eq!(granted.status(), StatusCode::OK);
    let token: Value = granted.json().await.unwrap();
    let scopes = token["scopes"].as_array().unwrap();
    assert!(
        scopes.iter().any(|s| s == send)
            && scopes
                .iter()
                .any(|s| s == "https://www.googleapis.com/auth/gmail.readonly")
    );
}

#[tokio::test]
async fn openapi_document_describes_every_token_api_route() {
    let app = TestApp::spawn().await;
    let doc: Value = app.get("/v1/openapi.json").await.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/v1/users",
        "/v1/users/{id}",
        "/v1/users/{id}/token",
        "/v1/users/{id}/events",
        "/v1/events",
    ] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
    assert!(doc["paths"]["/v1/users/{id}"]["delete"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_token_requests_make_one_refresh() {
    let app = app_with_key().await;
    let user_id = app.google.add_user(ALICE, 3);
    app.sign_in_ok(ALICE).await;
    app.expire_stored_tokens().await;

    let path = format!("/users/{user_id}/token");
    let responses = futures::future::join_all((0..1000).map(|_| keyed(&app, &path))).await;

    assert!(responses.iter().all(|r| r.status() == StatusCode::OK));
    assert_eq!(app.google.refresh_grants().await, 1);
}
