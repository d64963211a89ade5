//! The credential lifecycle over real HTTP: refresh before expiry, transient
//! versus fatal failures, webhooks, metrics.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;
use common::{TestApp, TestEmulator};
use mailgrant::SecretString;
use mailgrant::webhook::{
    EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookSink, signature,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

const ALICE: &str = "alice@example.com";
const KEY: &str = "lifecycle-api-key-0123456789";
const WEBHOOK_SECRET: &str = "webhook-secret-for-tests";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A webhook receiver that keeps every event whose signature checks out.
#[derive(Clone, Default)]
struct Receiver {
    events: Arc<Mutex<Vec<Value>>>,
    bad_signatures: Arc<Mutex<usize>>,
}

impl Receiver {
    async fn start(&self) -> url::Url {
        let this = self.clone();
        let router = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let this = this.clone();
                async move {
                    // As the README tells receivers: check the signature over
                    // id, timestamp and body; refuse stale or repeated ids.
                    let header = |name: &str| {
                        headers
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned()
                    };
                    let (id, timestamp) = (header(EVENT_ID_HEADER), header(TIMESTAMP_HEADER));
                    let sent: u64 = timestamp.parse().unwrap_or_default();
                    let expected = signature(WEBHOOK_SECRET, &id, sent, &body);
                    let fresh = now().abs_diff(sent) <= 300;
                    let event: Value = serde_json::from_slice(&body).unwrap();
                    if header(SIGNATURE_HEADER) != expected || !fresh || event["id"] != id.as_str()
                    {
                        *this.bad_signatures.lock().unwrap() += 1;
                    } else {
                        let mut events = this.events.lock().unwrap();
                        if !events.iter().any(|e| e["id"] == id.as_str()) {
                            events.push(event);
                        }
                    }
                    StatusCode::NO_CONTENT
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url =
            url::Url::parse(&format!("http://{}/hook", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        url
    }

    /// Waits (bounded) until `n` events arrived.
    async fn wait_for(&self, n: usize) -> Vec<Value> {
        for _ in 0..200 {
            if self.events.lock().unwrap().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.events.lock().unwrap().clone()
    }
}

async fn app_with(receiver: &Receiver, timeout: Duration) -> TestApp {
    let url = receiver.start().await;
    let google = TestEmulator::start().await;
    TestApp::spawn_with(
        &google,
        "lifecycle.apps.googleusercontent.com",
        |settings| {
            settings.api_keys =
                mailgrant_server::api_keys::ApiKeys::parse(&[KEY.to_owned()]).unwrap();
            settings.http_timeout = timeout;
            settings.events = Arc::new(WebhookSink::new(
                mailgrant::http::client(),
                url,
                SecretString::from(WEBHOOK_SECRET.to_owned()),
            ));
        },
    )
    .await
}

async fn token(app: &TestApp, user_id: &str) -> reqwest::Response {
    app.client
        .get(format!("{}/v1/users/{user_id}/token", app.address))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap()
}

async fn fault(app: &TestApp, fault: Value) {
    app.google.control("faults", fault).await;
}

#[tokio::test]
async fn token_about_to_expire_is_refreshed_before_use_not_after_a_failure() {
    let receiver = Receiver::default();
    let app = app_with(&receiver, Duration::from_secs(2)).await;
    let user_id = app.google.add_user(ALICE, 3);
    app.sign_in_ok(ALICE).await;
    // Valid at Google for another 200 s: inside the 5-minute margin.
    app.sql(&format!("UPDATE credentials SET access_token_expires_at = unixepoch() + 200 WHERE user_id = '{user_id}'")).await;
    let gmail_before = app.google.counters().await["gmail_calls"].as_u64().unwrap();

    let response = app.get("/api/messages").await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.google.refresh_grants().await, 1);
    let gmail_after = app.google.counters().await["gmail_calls"].as_u64().unwrap();
    assert_eq!(
        gmail_after - gmail_before,
        1,
        "one Gmail call: no 401 and retry"
    );
}

#[tokio::test]
async fn transient_token_endpoint_failures_are_retried_and_never_revoke() {
    let receiver = Receiver::default();
    let app = app_with(&receiver, Duration::from_millis(500)).await;
    let user_id = app.google.add_user(ALICE, 3);
    app.sign_in_ok(ALICE).await;
    for failure in [
        json!({"endpoint": "token", "count": 1, "status": 503, "body": "<html>Service Unavailable</html>", "content_type": "text/html"}),
        json!({"endpoint": "token", "count": 1, "status": 500, "body": "{\"error\":\"internal_failure\"}"}),
        json!({"endpoint": "token", "count": 1, "drop_connection": true}),
        json!({"endpoint": "token", "count": 1, "delay_ms": 1500}),
        json!({"endpoint": "token", "count": 1, "status": 200, "body": "not json at all"}),
    ] {
        app.expire_stored_tokens().await;
        fault(&app, failure.clone()).await;

        let response = token(&app, &user_id).await;

        assert_eq!(response.status(), StatusCode::OK, "after {failure}");
        assert!(app.rows().await[0].revoked_at.is_none(), "after {failure}");
    }
    let events = receiver.wait_for(6).await;
    let recovered: Vec<_> = events
        .iter()
        .filter(|e| e["type"] == "credential.refreshed_after_failure")
        .collect();
    assert_eq!(recovered.len(), 5, "{events:?}");
    assert!(
        recovered
            .iter()
            .all(|e| e["user_id"] == user_id.as_str() && e["failed_attempts"] == 1)
    );
    assert_eq!(*receiver.bad_signatures.lock().unwrap(), 0);
}

#[tokio::test]
async fn token_endpoint_down_longer_than_the_retries_is_a_503_that_keeps_the_grant() {
    let receiver = Receiver::default();
    let app = app_with(&receiver, Duration::from_secs(2)).await;
    let user_id = app.google.add_user(ALICE, 3);
    app.sign_in_ok(ALICE).await;
    app.expire_stored_tokens().await;
    fault(&app, json!({"endpoint": "token", "count": 10, "status": 503, "body": "{\"error\":\"temporarily_unavailable\"}"})).await;

    let response = token(&app, &user_id).await;

    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    let rows = app.rows().await;
    assert!(rows[0].revoked_at.is_none() && rows[0].refresh_token.is_some());
    app.google
        .http
        .delete(format!("{}/emulator/faults", app.google.base))
        .send()
        .await
        .unwrap();
    assert_eq!(token(&app, &user_id).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn invalid_grant_is_fatal_recorded_with_when_and_why_and_keeps_the_sealed_refresh_token() {
    let receiver = Receiver::default();
    let app = app_with(&receiver, Duration::from_secs(2)).await;
    let alice = app.google.add_user(ALICE, 3);
    app.sign_in_ok(ALICE).await;
    app.expire_stored_tokens().await;
    let sealed = app.rows().await[0].refresh_token.clone();
    app.google
        .control(&format!("users/{ALICE}/revoke"), json!({}))
        .await;
    let before = app.google.refresh_grants().await;

    let revoked = token(&app, &alice).await;

    assert_eq!(revoked.status(), StatusCode::CONFLICT);
    let row = app.rows().await.remove(0);
    assert!(row.revoked_reason.unwrap().contains("invalid_grant"));
    assert!(row.revoked_at.is_some());
    assert!(sealed.is_some());
    assert_eq!(row.refresh_token, sealed, "the sealed refresh token stays");
    assert_eq!(row.access_token, None);
    // Fatal means no retries: Google saw no further successful refresh.
    assert_eq!(app.google.refresh_grants().await, before);
    let events = receiver.wait_for(2).await;
    assert_eq!(
        events
            .iter()
            .map(|e| e["type"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["credential.created", "credential.revoked"]
    );
}

#[tokio::test]
async fn errors_about_the_client_touch_no_row_answer_503_and_alarm_once() {
    let receiver = Receiver::default();
    let app = app_with(&receiver, Duration::from_secs(2)).await;
    let alice = app.google.add_user(ALICE, 3);
    app.sign_in_ok(ALICE).await;
    app.expire_stored_tokens().await;
    let before = app.rows().await;
    let answers = [
        ("invalid_client", "Unauthorized"),
        ("unauthorized_client", "Unauthorized"),
        ("disabled_client", "The OAuth client was disabled."),
        ("deleted_client", "The OAuth client was deleted."),
    ];

    let mut responses = Vec::new();
    for (error, description) in answers {
        let body = json!({"error": error, "error_description": description}).to_string();
        fault(
            &app,
            json!({"endpoint": "token", "count": 1, "status": 401, "body": body}),
        )
        .await;
        let response = token(&app, &alice).await;
        let status = response.status();
        let retry_after = response.headers().contains_key("retry-after");
        responses.push((status, retry_after, response.json::<Value>().await.unwrap()));
    }

    assert_eq!(app.rows().await, before, "no row changed");
    for ((status, retry_after, body), (error, description)) in responses.iter().zip(answers) {
        assert_eq!(*status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert!(retry_after);
        assert_eq!(body["error"], "client_misconfigured");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains("the OAuth client is rejected by Google: check the client secret")
                && message.contains(error)
                && message.contains(description),
            "{message}"
        );
    }
    // Each was answered at once: no retries of a client error.
    assert_eq!(app.google.refresh_grants().await, 0);
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l == "mailgrant_client_misconfigured_total 4"),
        "{metrics}"
    );
    // One alarm a minute, however many callers hit the fault.
    let events = receiver.wait_for(3).await;
    let alarms: Vec<_> = events
        .iter()
        .filter(|e| e["type"] == "client.misconfigured")
        .collect();
    assert_eq!(alarms.len(), 1, "{events:?}");
    assert_eq!(alarms[0]["code"], "invalid_client");
    assert!(events.iter().all(|e| e["type"] != "credential.revoked"));
    // The fault is gone: the same grant works, no consent needed.
    assert_eq!(token(&app, &alice).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn metrics_count_refreshes_revocations_gmail_calls_and_token_api_latency() {
    let receiver = Receiver::default();
    let app = app_with(&receiver, Duration::from_secs(2)).await;
    let user_id = app.google.add_user(ALICE, 3);
    app.sign_in_ok(ALICE).await;
    app.expire_stored_tokens().await;
    assert_eq!(token(&app, &user_id).await.status(), StatusCode::OK);
    assert_eq!(app.get("/api/messages").await.status(), StatusCode::OK);
    app.client
        .post(format!("{}/disconnect", app.address))
        .send()
        .await
        .unwrap();

    let metrics = app.get("/metrics").await.text().await.unwrap();

    for line in [
        "mailgrant_refreshes_total{outcome=\"ok\"} 1",
        "mailgrant_revocations_total 1",
        "mailgrant_gmail_calls_total{status=\"200\"} 1",
        "mailgrant_token_api_seconds_count 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "missing `{line}` in\n{metrics}"
        );
    }
}
