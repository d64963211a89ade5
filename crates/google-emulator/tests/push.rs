//! Gmail push notifications over real HTTP: users.watch and users.stop,
//! the emulated Pub/Sub pushing to a small receiver, its push tokens and
//! JWKS, retries, faults, the rate limit and the clock.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::*;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

const ALICE: &str = "alice@example.com";
const TOPIC: &str = "projects/mailgrant-emulator/topics/gmail";
const SUBSCRIPTION: &str = "projects/mailgrant-emulator/subscriptions/gmail-push";
const PUSHER: &str = "gmail-push@mailgrant-emulator.iam.gserviceaccount.com";

/// One push as the receiver saw it.
#[derive(Clone, Debug)]
struct Push {
    authorization: Option<String>,
    body: Value,
}

impl Push {
    /// The Gmail notification in `message.data`.
    fn notification(&self) -> Value {
        let data = self.body["message"]["data"].as_str().expect("data");
        serde_json::from_slice(&STANDARD.decode(data).expect("base64")).expect("JSON")
    }

    fn bearer(&self) -> &str {
        self.authorization
            .as_deref()
            .and_then(|a| a.strip_prefix("Bearer "))
            .expect("a bearer token")
    }
}

#[derive(Default)]
struct Inbox {
    pushes: Mutex<Vec<Push>>,
    /// Answer 503 to this many pushes first.
    refuse: AtomicU32,
}

/// A push endpoint on 127.0.0.1:0.
struct Receiver {
    url: String,
    inbox: Arc<Inbox>,
}

async fn receive(State(inbox): State<Arc<Inbox>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let authorization = headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    inbox.pushes.lock().unwrap().push(Push {
        authorization,
        body,
    });
    let refused = inbox
        .refuse
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if refused {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::NO_CONTENT
    }
}

impl Receiver {
    async fn spawn() -> Self {
        let inbox = Arc::new(Inbox::default());
        let app = axum::Router::new()
            .route("/push", axum::routing::post(receive))
            .with_state(inbox.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            url: format!("http://{address}/push"),
            inbox,
        }
    }

    fn pushes(&self) -> Vec<Push> {
        self.inbox.pushes.lock().unwrap().clone()
    }

    /// Waits up to 3 s for `n` pushes in all.
    async fn wait_for(&self, n: usize) -> Vec<Push> {
        for _ in 0..300 {
            if self.pushes().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let pushes = self.pushes();
        assert!(pushes.len() >= n, "{} pushes, wanted {n}", pushes.len());
        pushes
    }

    /// Waits a moment and returns every push so far: for asserting that
    /// nothing more came.
    async fn settled(&self) -> Vec<Push> {
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.pushes()
    }
}

/// An emulator with a topic Gmail may publish to, a push subscription to
/// the receiver (with `extra` fields), and Alice's gmail.modify token.
struct Setup {
    emu: TestEmulator,
    receiver: Receiver,
    token: String,
    /// The clock offset so far, moved by [`Setup::next_second`].
    offset_ms: i64,
}

async fn setup(extra: Value) -> Setup {
    let emu = spawn_auto().await;
    let receiver = Receiver::spawn().await;
    let (status, body) = emu
        .post_json("/emulator/pubsub/topics", &json!({ "name": TOPIC }))
        .await;
    assert_eq!(status, 201, "{body}");
    let mut subscription = json!({
        "name": SUBSCRIPTION,
        "topic": TOPIC,
        "pushEndpoint": receiver.url,
    });
    for (key, value) in extra.as_object().unwrap() {
        subscription[key] = value.clone();
    }
    let (status, body) = emu
        .post_json("/emulator/pubsub/subscriptions", &subscription)
        .await;
    assert_eq!(status, 201, "{body}");
    let token = emu.token_with(ALICE, GMAIL_MODIFY).await;
    Setup {
        emu,
        receiver,
        token,
        offset_ms: 0,
    }
}

impl Setup {
    async fn watch(&self, body: Value) -> (u16, Value) {
        self.emu
            .post_with(&self.token, "/gmail/v1/users/me/watch", &body)
            .await
    }

    /// Watches TOPIC and takes the notification a watch sends at once.
    async fn watching(&mut self, body: Value) {
        let before = self.receiver.pushes().len();
        let (status, answer) = self.watch(body).await;
        assert_eq!(status, 200, "{answer}");
        self.receiver.wait_for(before + 1).await;
        self.next_second();
    }

    /// Moves the emulator's clock past the one-notification-a-second rate.
    fn next_second(&mut self) {
        self.offset_ms += 1100;
        self.emu.emulator.set_clock_offset_ms(self.offset_ms);
    }

    /// Adds a message through the control; returns its history id.
    async fn new_message(&self, labels: &[&str]) -> u64 {
        let (status, body) = self
            .emu
            .post_json(
                &format!("/emulator/users/{ALICE}/messages"),
                &json!({ "subject": "Hello", "labelIds": labels }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["historyId"].as_str().unwrap().parse().unwrap()
    }

    async fn counters(&self) -> Value {
        let response = self
            .emu
            .http
            .get(
                self.emu
                    .url(&format!("/emulator/pubsub/subscriptions/{SUBSCRIPTION}")),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    async fn jwks(&self) -> JwkSet {
        let response = self
            .emu
            .http
            .get(google_emulator::Emulator::jwks_url(&self.emu.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let cache = response.headers()["cache-control"].to_str().unwrap();
        assert!(cache.starts_with("public, max-age="), "{cache}");
        response.json().await.unwrap()
    }
}

fn kid(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

#[tokio::test]
async fn a_new_message_pushes_its_history_id_with_a_verifiable_token() {
    let mut s = setup(json!({ "serviceAccountEmail": PUSHER })).await;
    s.watching(json!({ "topicName": TOPIC })).await;

    let history_id = s.new_message(&["INBOX", "UNREAD"]).await;

    let pushes = s.receiver.wait_for(2).await;
    let push = &pushes[1];
    assert_eq!(
        push.notification(),
        json!({ "emailAddress": ALICE, "historyId": history_id })
    );
    let message = &push.body["message"];
    assert_eq!(message["messageId"], message["message_id"]);
    assert_eq!(message["publishTime"], message["publish_time"]);
    assert_eq!(push.body["subscription"], SUBSCRIPTION);
    let token = push.bearer();
    let jwks = s.jwks().await;
    let jwk = jwks.find(&kid(token)).expect("the token's key in the JWKS");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[&s.receiver.url]);
    validation.set_issuer(&["https://accounts.google.com"]);
    let claims =
        jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
            .expect("a valid token")
            .claims;
    assert_eq!(claims["email"], PUSHER);
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["sub"], claims["azp"]);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
}

#[tokio::test]
async fn without_a_service_account_pushes_carry_no_authorization() {
    let mut s = setup(json!({})).await;
    s.watching(json!({ "topicName": TOPIC })).await;

    s.new_message(&["INBOX"]).await;

    let pushes = s.receiver.wait_for(2).await;
    assert!(pushes.iter().all(|p| p.authorization.is_none()));
}

#[tokio::test]
async fn watch_answers_the_current_history_id_and_an_expiry_seven_days_ahead() {
    let s = setup(json!({})).await;
    let (_, profile) = s.emu.get_json(&s.token, "/gmail/v1/users/me/profile").await;

    let (status, body) = s
        .watch(json!({ "topicName": TOPIC, "labelIds": ["INBOX"] }))
        .await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["historyId"], profile["historyId"]);
    let expiration: i64 = body["expiration"].as_str().unwrap().parse().unwrap();
    let (_, clock) = s.emu.get_json(&s.token, "/emulator/clock").await;
    let week = 7 * 24 * 3600 * 1000;
    assert!((expiration - clock["nowMs"].as_i64().unwrap() - week).abs() < 5_000);
    let (status, watch) = s
        .emu
        .get_json(&s.token, &format!("/emulator/users/{ALICE}/watch"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(watch["topicName"], TOPIC);
    assert_eq!(watch["labelIds"], json!(["INBOX"]));
    assert_eq!(watch["labelFilterBehavior"], "include");
}

#[tokio::test]
async fn watch_refuses_missing_malformed_foreign_unknown_and_unpublishable_topics() {
    let s = setup(json!({})).await;
    let closed = "projects/mailgrant-emulator/topics/closed";
    s.emu.emulator.create_topic(closed, false).unwrap();
    let cases = [
        (json!({}), 400, "topicName required"),
        (json!({ "topicName": "gmail" }), 400, "Invalid topicName"),
        (
            json!({ "topicName": "projects/other-project/topics/gmail" }),
            400,
            "Invalid topicName does not match projects/mailgrant-emulator/topics/*",
        ),
        (
            json!({ "topicName": "projects/mailgrant-emulator/topics/missing" }),
            404,
            "Resource not found (resource=missing)",
        ),
        (
            json!({ "topicName": closed }),
            403,
            "User not authorized to perform this action.",
        ),
    ];
    for (body, status, message) in cases {
        let (got, answer) = s.watch(body.clone()).await;
        assert_eq!(got, status, "{body} → {answer}");
        let text = answer["error"]["message"].as_str().unwrap();
        assert!(text.contains(message), "{body} → {text}");
    }
    assert!(s.receiver.settled().await.is_empty());
}

#[tokio::test]
async fn after_stop_changes_push_nothing() {
    let mut s = setup(json!({})).await;
    s.watching(json!({ "topicName": TOPIC })).await;

    let response = s
        .emu
        .http
        .post(s.emu.url("/gmail/v1/users/me/stop"))
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap();
    s.new_message(&["INBOX"]).await;

    assert_eq!(response.status(), 204);
    assert_eq!(response.bytes().await.unwrap().len(), 0);
    assert_eq!(s.receiver.settled().await.len(), 1);
    let (status, _) = s
        .emu
        .get_json(&s.token, &format!("/emulator/users/{ALICE}/watch"))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn an_include_filter_pushes_only_changes_to_its_labels() {
    let mut s = setup(json!({})).await;
    s.watching(
        json!({ "topicName": TOPIC, "labelIds": ["INBOX"], "labelFilterBehavior": "include" }),
    )
    .await;

    s.new_message(&["CATEGORY_PROMOTIONS"]).await;
    assert_eq!(s.receiver.settled().await.len(), 1);
    let history_id = s.new_message(&["INBOX"]).await;

    let pushes = s.receiver.wait_for(2).await;
    assert_eq!(pushes[1].notification()["historyId"], history_id);
}

#[tokio::test]
async fn a_second_change_within_the_second_is_dropped_but_stays_in_history() {
    let mut s = setup(json!({})).await;
    s.watching(json!({ "topicName": TOPIC })).await;

    let first = s.new_message(&["INBOX"]).await;
    let second = s.new_message(&["INBOX"]).await;

    let pushes = s.receiver.settled().await;
    assert_eq!(pushes.len(), 2);
    assert_eq!(pushes[1].notification()["historyId"], first);
    let (_, history) = s
        .emu
        .get_json(
            &s.token,
            &format!("/gmail/v1/users/me/history?startHistoryId={first}"),
        )
        .await;
    assert_eq!(history["history"][0]["id"], second.to_string());
    let (_, watch) = s
        .emu
        .get_json(&s.token, &format!("/emulator/users/{ALICE}/watch"))
        .await;
    assert_eq!(watch["droppedNotifications"], 1);
}

#[tokio::test]
async fn a_refused_push_is_redelivered_with_backoff_and_counted() {
    let mut s = setup(json!({ "minBackoffMs": 50, "maxBackoffMs": 200 })).await;
    s.watching(json!({ "topicName": TOPIC })).await;
    s.receiver.inbox.refuse.store(2, Ordering::SeqCst);

    let history_id = s.new_message(&["INBOX"]).await;

    let pushes = s.receiver.wait_for(4).await;
    let retried: Vec<_> = pushes[1..]
        .iter()
        .map(|p| p.body["message"]["messageId"].clone())
        .collect();
    assert!(retried.iter().all(|id| *id == retried[0]));
    assert_eq!(pushes[3].notification()["historyId"], history_id);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let counters = s.counters().await;
    assert_eq!(counters["delivered"], 2);
    assert_eq!(counters["failedAttempts"], 2);
    assert_eq!(counters["backlog"], 0);
    assert_eq!(counters["topic"], TOPIC);
}

async fn fault(s: &Setup, body: Value) {
    let (status, answer) = s.emu.post_json("/emulator/pubsub/faults", &body).await;
    assert_eq!(status, 201, "{answer}");
}

#[tokio::test]
async fn a_drop_fault_loses_the_next_push() {
    let mut s = setup(json!({})).await;
    s.watching(json!({ "topicName": TOPIC })).await;
    fault(&s, json!({ "action": "drop", "count": 1 })).await;

    s.new_message(&["INBOX"]).await;

    assert_eq!(s.receiver.settled().await.len(), 1);
    assert_eq!(s.counters().await["dropped"], 1);
}

#[tokio::test]
async fn a_duplicate_fault_delivers_the_same_message_twice() {
    let mut s = setup(json!({})).await;
    s.watching(json!({ "topicName": TOPIC })).await;
    fault(&s, json!({ "action": "duplicate", "count": 1 })).await;

    s.new_message(&["INBOX"]).await;

    let pushes = s.receiver.wait_for(3).await;
    assert_eq!(
        pushes[1].body["message"]["messageId"],
        pushes[2].body["message"]["messageId"]
    );
    assert_eq!(s.receiver.settled().await.len(), 3);
}

#[tokio::test]
async fn a_delay_fault_delivers_late() {
    let mut s = setup(json!({})).await;
    s.watching(json!({ "topicName": TOPIC })).await;
    fault(&s, json!({ "action": "delay", "count": 1, "delayMs": 600 })).await;

    s.new_message(&["INBOX"]).await;

    assert_eq!(s.receiver.settled().await.len(), 1);
    s.receiver.wait_for(2).await;
}

#[tokio::test]
async fn cleared_faults_no_longer_apply() {
    let mut s = setup(json!({})).await;
    s.watching(json!({ "topicName": TOPIC })).await;
    fault(&s, json!({ "action": "drop", "count": 5 })).await;

    let response = s
        .emu
        .http
        .delete(s.emu.url("/emulator/pubsub/faults"))
        .send()
        .await
        .unwrap();
    s.new_message(&["INBOX"]).await;

    assert_eq!(response.status(), 200);
    s.receiver.wait_for(2).await;
    assert_eq!(s.counters().await["dropped"], 0);
}

#[tokio::test]
async fn a_rotated_key_signs_new_pushes_and_both_keys_stay_published() {
    let mut s = setup(json!({ "serviceAccountEmail": PUSHER })).await;
    s.watching(json!({ "topicName": TOPIC })).await;
    let old_kid = kid(s.receiver.pushes()[0].bearer());

    let (status, rotated) = s
        .emu
        .post_json("/emulator/pubsub/rotate-key", &json!({}))
        .await;
    s.new_message(&["INBOX"]).await;

    assert_eq!(status, 200, "{rotated}");
    let pushes = s.receiver.wait_for(2).await;
    let new_kid = kid(pushes[1].bearer());
    assert_eq!(rotated["kid"], new_kid);
    assert_ne!(new_kid, old_kid);
    let jwks = s.jwks().await;
    assert!(jwks.find(&old_kid).is_some() && jwks.find(&new_kid).is_some());
}

#[tokio::test]
async fn an_expired_watch_pushes_nothing() {
    let mut s = setup(json!({})).await;
    s.watching(json!({ "topicName": TOPIC })).await;

    let (status, _) = s
        .emu
        .post_json(
            "/emulator/clock",
            &json!({ "offsetMs": 7 * 24 * 3600 * 1000 + 60_000 }),
        )
        .await;
    s.new_message(&["INBOX"]).await;

    assert_eq!(status, 200);
    assert_eq!(s.receiver.settled().await.len(), 1);
    let (status, _) = s
        .emu
        .get_json(&s.token, &format!("/emulator/users/{ALICE}/watch"))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn pubsub_controls_refuse_bad_names_and_unknown_topics() {
    let s = setup(json!({})).await;
    let cases = [
        (
            "/emulator/pubsub/topics",
            json!({ "name": "projects/other/topics/x1" }),
        ),
        (
            "/emulator/pubsub/subscriptions",
            json!({ "name": "projects/mailgrant-emulator/subscriptions/s1",
                    "topic": "projects/mailgrant-emulator/topics/nope",
                    "pushEndpoint": s.receiver.url }),
        ),
        (
            "/emulator/pubsub/subscriptions",
            json!({ "name": "subs", "topic": TOPIC, "pushEndpoint": s.receiver.url }),
        ),
        ("/emulator/pubsub/faults", json!({ "action": "explode" })),
        ("/emulator/clock", json!({ "offsetMs": "soon" })),
    ];
    for (path, body) in cases {
        let (status, answer) = s.emu.post_json(path, &body).await;
        assert_eq!(status, 400, "{path} {body} → {answer}");
    }
    let response =
        s.emu
            .http
            .get(s.emu.url(
                "/emulator/pubsub/subscriptions/projects/mailgrant-emulator/subscriptions/none",
            ))
            .send()
            .await
            .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn access_tokens_expire_on_the_emulators_clock() {
    let s = setup(json!({})).await;

    s.emu.emulator.set_clock_offset_ms(3600 * 1000 + 1000);

    let (status, _) = s.emu.get_json(&s.token, "/gmail/v1/users/me/profile").await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_subscription_posted_again_under_its_name_pushes_to_its_new_endpoint() {
    let mut s = setup(json!({})).await;
    s.watching(json!({ "topicName": TOPIC })).await;
    let moved = Receiver::spawn().await;

    let (status, body) = s
        .emu
        .post_json(
            "/emulator/pubsub/subscriptions",
            &json!({ "name": SUBSCRIPTION, "topic": TOPIC, "pushEndpoint": moved.url }),
        )
        .await;
    s.new_message(&["INBOX"]).await;

    assert_eq!(status, 201, "{body}");
    assert_eq!(moved.wait_for(1).await.len(), 1);
    assert_eq!(
        s.receiver.settled().await.len(),
        1,
        "only the watch's notification"
    );
    assert_eq!(s.counters().await["pushEndpoint"], moved.url.as_str());
}
