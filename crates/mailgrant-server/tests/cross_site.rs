//! Another site cannot make a signed-in browser sign out, disconnect or sign
//! in with a code: state-changing requests whose `Sec-Fetch-Site` is not
//! `same-origin` (or, from a browser that does not send it, whose `Origin` is
//! not the server's) are refused with 403. Requests with neither header are
//! not from a browser and pass.

mod common;

use common::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};

const ALICE: &str = "alice@example.com";

async fn signed_in_app() -> TestApp {
    let app = TestApp::spawn().await;
    app.google.add_user(ALICE, 3);
    app.sign_in_ok(ALICE).await;
    app
}

async fn post(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = app.client.post(format!("{}{path}", app.address));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn a_logout_another_site_sends_is_refused_and_the_session_stays() {
    let app = signed_in_app().await;

    let response = post(&app, "/logout", &[("Sec-Fetch-Site", "cross-site")]).await;

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().await.unwrap().contains("cross-site"));
    assert_eq!(app.get("/api/profile").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_disconnect_from_another_origin_is_refused_and_the_grant_stays() {
    let app = signed_in_app().await;

    let response = post(&app, "/disconnect", &[("Origin", "https://evil.example")]).await;

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.rows().await.len(), 1);
    assert_eq!(app.google.live_refresh_tokens(ALICE).await, 1);
}

#[tokio::test]
async fn a_same_site_but_not_same_origin_disconnect_is_refused() {
    let app = signed_in_app().await;

    let response = post(&app, "/disconnect", &[("Sec-Fetch-Site", "same-site")]).await;

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.rows().await.len(), 1);
}

#[tokio::test]
async fn a_one_time_code_from_another_site_is_refused_as_json_even_with_x_requested_with() {
    let app = TestApp::spawn().await;

    let response = app
        .client
        .post(format!("{}/oauth2/code", app.address))
        .header("X-Requested-With", "XMLHttpRequest")
        .header("Origin", "https://evil.example")
        .json(&json!({"code": "4/0Asomething"}))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "forbidden");
    assert!(app.rows().await.is_empty());
}

#[tokio::test]
async fn a_logout_from_this_origin_or_from_no_browser_at_all_passes() {
    let app = signed_in_app().await;

    let same_origin = post(
        &app,
        "/logout",
        &[
            ("Sec-Fetch-Site", "same-origin"),
            ("Origin", &app.public_url),
        ],
    )
    .await;
    let no_browser = post(&app, "/logout", &[]).await;

    assert_eq!(same_origin.status(), StatusCode::SEE_OTHER);
    assert_eq!(no_browser.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get("/api/profile").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn our_own_form_post_passes_though_no_referrer_makes_its_origin_null() {
    let app = signed_in_app().await;

    let response = post(
        &app,
        "/logout",
        &[("Sec-Fetch-Site", "same-origin"), ("Origin", "null")],
    )
    .await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn an_origin_of_another_site_is_refused_when_the_browser_sends_no_sec_fetch_site() {
    let app = signed_in_app().await;

    let response = post(&app, "/logout", &[("Origin", "null")]).await;

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn pages_opened_from_another_site_still_load() {
    let app = signed_in_app().await;

    let response = app
        .client
        .get(format!("{}/", app.address))
        .header("Sec-Fetch-Site", "cross-site")
        .header("Origin", "https://elsewhere.example")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
}
