//! What the change-stream tests share: a webhook receiver that checks
//! signatures, a push endpoint that keeps Google's pushes for replay, the
//! emulator's Pub/Sub wiring, and an app configured to watch.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the shared helpers"
)]
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use mailgrant::events::{Clock, WebhookTarget};
use mailgrant::pubsub::PushSettings;
use mailgrant::{ExposeSecret, SecretString};
use mailgrant_server::Settings;
use mailgrant_server::api_keys::ApiKeys;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use url::Url;

use crate::common::{API_KEY, TestApp, TestEmulator, no_redirects};

pub const TOPIC: &str = "projects/mailgrant-emulator/topics/gmail";
pub const SERVICE_ACCOUNT: &str = "push@mailgrant-test.iam.gserviceaccount.com";
pub const CLIENT: &str = "stream-client.apps.googleusercontent.com";
const SECRET: &str = "webhook-test-secret";

/// A webhook endpoint: keeps every delivery whose signature verifies
/// (a bad signature fails the test), answers 500 while `refusing`.
#[derive(Clone)]
pub struct Receiver {
    pub url: Url,
    deliveries: Arc<Mutex<Vec<Value>>>,
    refusing: Arc<AtomicBool>,
}

impl Receiver {
    pub async fn start() -> Self {
        Self::start_on(TcpListener::bind("127.0.0.1:0").await.unwrap()).await
    }

    pub async fn start_on(listener: TcpListener) -> Self {
        let receiver = Self {
            url: Url::parse(&format!("http://{}/hook", listener.local_addr().unwrap())).unwrap(),
            deliveries: Arc::default(),
            refusing: Arc::default(),
        };
        let router = axum::Router::new()
            .route("/hook", post(deliver))
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        receiver
    }

    pub fn target(&self) -> WebhookTarget {
        WebhookTarget {
            url: self.url.clone(),
            secret: SecretString::from(SECRET),
        }
    }

    pub fn refuse(&self, refusing: bool) {
        self.refusing.store(refusing, Ordering::SeqCst);
    }

    pub fn deliveries(&self) -> Vec<Value> {
        self.deliveries.lock().unwrap().clone()
    }

    /// Deliveries of `kind`.
    pub fn of(&self, kind: &str) -> Vec<Value> {
        self.deliveries()
            .into_iter()
            .filter(|d| d["type"] == kind)
            .collect()
    }

    /// Waits (at most `within`) until `count` deliveries of `kind` came.
    pub async fn wait_for(&self, kind: &str, count: usize, within: Duration) -> Vec<Value> {
        let started = Instant::now();
        loop {
            let got = self.of(kind);
            if got.len() >= count {
                return got;
            }
            assert!(
                started.elapsed() < within,
                "{count} `{kind}` not delivered within {within:?}; got {:#?}",
                self.deliveries()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn deliver(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| headers.get(name).unwrap().to_str().unwrap().to_owned();
    let (id, timestamp) = (
        header("x-mailgrant-event-id"),
        header("x-mailgrant-timestamp"),
    );
    let expected = mailgrant::webhook::signature(
        SecretString::from(SECRET).expose_secret(),
        &id,
        timestamp.parse().unwrap(),
        &body,
    );
    assert_eq!(
        header("x-mailgrant-signature"),
        expected,
        "the signature verifies"
    );
    if receiver.refusing.load(Ordering::SeqCst) {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    let event: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        event["id"].as_str().unwrap(),
        id,
        "the header names the event"
    );
    receiver.deliveries.lock().unwrap().push(event);
    StatusCode::NO_CONTENT
}

/// A clock the test moves.
#[derive(Clone, Default)]
pub struct TestClock(Arc<AtomicI64>);

impl TestClock {
    pub fn clock(&self) -> Clock {
        let offset = self.0.clone();
        Arc::new(move || mailgrant::store::now_unix_ms() + offset.load(Ordering::SeqCst))
    }

    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_millis() as i64, Ordering::SeqCst);
    }
}

/// Settings for an app that watches with [`TOPIC`] and accepts the
/// emulator's pushes, delivering to `receiver`.
pub fn watching(settings: &mut Settings, google: &TestEmulator, receiver: &Receiver) {
    pushed_to(settings, google);
    settings.stream.webhook = Some(receiver.target());
    settings.stream.poll_interval = Duration::from_secs(60);
    settings.api_keys = ApiKeys::parse(&[API_KEY.to_owned()]).unwrap();
}

/// Settings for an app that watches with [`TOPIC`] and accepts the
/// emulator's pushes; without a webhook, its events are pulled.
pub fn pushed_to(settings: &mut Settings, google: &TestEmulator) {
    settings.stream.run = true;
    settings.stream.topic = Some(TOPIC.to_owned());
    settings.stream.push = Some(push_settings(settings, google));
}

/// An emulator with `email`'s mailbox and [`TOPIC`], and an app that
/// watches with it ([`pushed_to`]), subscribed.
pub async fn pushing_app(email: &str) -> (TestEmulator, TestApp) {
    let google = TestEmulator::start().await;
    google.add_user(email, 5);
    google
        .control(
            "pubsub/topics",
            json!({ "name": TOPIC, "gmailCanPublish": true }),
        )
        .await;
    let app = TestApp::spawn_with(&google, CLIENT, |s| pushed_to(s, &google)).await;
    subscribe(&google, &app, "app").await;
    (google, app)
}

/// Until Gmail (the emulator at `base`) watches `email`'s mailbox, and a
/// second more: Gmail notifies right after a watch, then at most once a
/// second per user, dropping the rest (Google's push guide), so a change
/// in that second would be pushed to no one.
pub async fn wait_watched(base: &str, email: &str) {
    let http = no_redirects(false);
    let watch = format!("{base}/emulator/users/{email}/watch");
    eventually(
        Duration::from_secs(10),
        "the mailbox is watched",
        async || http.get(&watch).send().await.unwrap().status() == StatusCode::OK,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
}

pub fn push_settings(settings: &Settings, google: &TestEmulator) -> PushSettings {
    PushSettings {
        certs_url: Url::parse(&format!("{}/oauth2/v3/certs", google.base)).unwrap(),
        audience: push_audience(&settings.public_url),
        service_account: SERVICE_ACCOUNT.to_owned(),
        leeway: Duration::from_secs(60),
    }
}

pub fn push_audience(public_url: &Url) -> String {
    public_url.join("pubsub/push").unwrap().to_string()
}

/// A push subscription of [`TOPIC`] (created already) to `app`, retrying
/// a refused push after 100 ms (Pub/Sub's default is 10 s).
pub async fn subscribe(google: &TestEmulator, app: &TestApp, name: &str) {
    let audience = push_audience(&Url::parse(&app.public_url).unwrap());
    google
        .control(
            "pubsub/subscriptions",
            json!({
                "name": format!("projects/mailgrant-emulator/subscriptions/{name}"),
                "topic": TOPIC,
                "pushEndpoint": format!("{}/pubsub/push", app.address),
                "audience": audience,
                "serviceAccountEmail": SERVICE_ACCOUNT,
                "minBackoffMs": 100,
                "maxBackoffMs": 2000,
            }),
        )
        .await;
}

/// A new message in `email`'s inbox, through the emulator's control API.
pub async fn deliver_mail(google: &TestEmulator, email: &str, subject: &str) -> Value {
    google
        .control(
            &format!("users/{email}/messages"),
            json!({ "from": "Ada <ada@example.org>", "subject": subject, "body": "hello" }),
        )
        .await
}

/// The app's events of `user_id` through the pull API.
pub async fn pulled(app: &TestApp, user_id: &str) -> Vec<Value> {
    let response = app
        .client
        .get(format!(
            "{}/v1/users/{user_id}/events?limit=500",
            app.address
        ))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["events"].as_array().unwrap().clone()
}

/// Waits until `check` holds, at most `within`.
pub async fn eventually(within: Duration, what: &str, mut check: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < within, "not within {within:?}: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
