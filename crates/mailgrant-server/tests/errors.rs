//! Every request has an id, and an error body never carries internal text
//! (database, crypto, transport errors): those go to the log under the
//! request's id, and the body carries the id.

mod common;

use common::{TestApp, TestEmulator, logs};
use mailgrant_server::api_keys::ApiKeys;
use reqwest::StatusCode;
use serde_json::json;

const ALICE: &str = "alice@example.com";
const KEY: &str = "errors-api-key-0123456789";

async fn app_with_key() -> TestApp {
    let google = TestEmulator::start().await;
    TestApp::spawn_with(&google, "errors.apps.googleusercontent.com", |settings| {
        settings.api_keys = ApiKeys::parse(&[KEY.to_owned()]).unwrap();
    })
    .await
}

/// `GET /v1/users` with the API key.
async fn users(app: &TestApp) -> reqwest::Response {
    app.client
        .get(format!("{}/v1/users", app.address))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap()
}

fn request_id(response: &reqwest::Response) -> String {
    response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// The log line of request `id` that mentions `text`.
fn logged(id: &str, text: &str) -> bool {
    logs()
        .lines()
        .any(|line| line.contains(&format!("id={id}")) && line.contains(text))
}

#[tokio::test]
async fn every_answer_names_its_request_with_a_fresh_id() {
    let app = TestApp::spawn().await;

    let first = app.get("/healthz").await;
    let second = app.get("/no/such/route").await;

    let (first, second) = (request_id(&first), request_id(&second));
    for id in [&first, &second] {
        assert_eq!(id.len(), 16, "{id}");
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
    }
    assert_ne!(first, second);
    assert!(
        logged(&first, "path=/healthz"),
        "the request line has the id"
    );
}

#[tokio::test]
async fn a_database_failure_is_a_503_with_a_request_id_and_no_internal_text_on_every_audience() {
    let app = app_with_key().await;
    app.google.add_user(ALICE, 3);
    app.sign_in_ok(ALICE).await;
    app.sql("DROP TABLE credentials").await;

    let answers = [
        users(&app).await,
        app.get("/api/messages").await,
        app.get("/messages/0000000000000001").await,
    ];

    for answer in answers {
        let path = answer.url().path().to_owned();
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert!(answer.headers().contains_key("retry-after"), "{path}");
        let id = request_id(&answer);
        let body = answer.text().await.unwrap();
        assert!(
            body.contains(&id),
            "{path}: the body names the request: {body}"
        );
        let lower = body.to_lowercase();
        for internal in ["database", "sqlite", "sqlx", "no such table"] {
            assert!(!lower.contains(internal), "{path}: `{internal}` in {body}");
        }
        assert!(
            logged(&id, "no such table"),
            "{path}: the log has the cause"
        );
    }
}

#[tokio::test]
async fn a_json_server_error_carries_the_request_id_in_its_body() {
    let app = app_with_key().await;
    app.sql("DROP TABLE credentials").await;

    let response = users(&app).await;

    let id = request_id(&response);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "unavailable");
    assert_eq!(body["request_id"], id.as_str());
}

#[tokio::test]
async fn an_unreachable_google_is_a_502_that_names_the_request_not_the_transport_error() {
    let app = TestApp::spawn().await;
    app.google.add_user(ALICE, 3);
    let google = app.authorize(&format!("login_hint={ALICE}")).await;
    let callback = app.approve(&google).await;
    app.google
        .control(
            "faults",
            json!({"endpoint": "token", "count": 20, "drop_connection": true}),
        )
        .await;

    let response = app.client.get(callback).send().await.unwrap();

    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let id = request_id(&response);
    let page = response.text().await.unwrap();
    assert!(page.contains("could not reach Google"), "{page}");
    assert!(page.contains(&id), "{page}");
    let line = logs()
        .lines()
        .find(|line| {
            line.contains(&format!("id={id}")) && line.contains("could not reach Google: ")
        })
        .map(str::to_owned)
        .expect("the transport error is logged under the request id");
    let detail = line.split("could not reach Google: ").nth(1).unwrap();
    let detail = detail.split('"').next().unwrap().trim();
    assert!(!detail.is_empty());
    assert!(!page.contains(detail), "`{detail}` is in the page");
    assert!(app.rows().await.is_empty());
}
