//! Knowing when mail arrives, over real HTTP: the emulator's Gmail watch
//! and Pub/Sub push to the server's `/pubsub/push`, the sync into the
//! outbox, the webhook and the pull API.

mod common;
#[path = "../../mailgrant/tests/postgres_common/mod.rs"]
mod postgres_common;
mod stream;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use common::{API_KEY, TestApp, TestEmulator};
use mailgrant::crypto::Keyring;
use serde_json::{Value, json};
use stream::{
    CLIENT, Receiver, TOPIC, TestClock, deliver_mail, eventually, pulled, subscribe, watching,
};
use tokio::net::TcpListener;

const WAIT: Duration = Duration::from_secs(10);

/// An emulator with `email`'s mailbox, a webhook receiver, the topic
/// (Gmail may publish to it or not), and an app watching with it, its
/// settings then changed by `customize`, subscribed to the topic.
async fn watching_app(
    email: &str,
    gmail_can_publish: bool,
    customize: impl FnOnce(&mut mailgrant_server::Settings),
) -> (TestEmulator, Receiver, TestApp, String) {
    let google = TestEmulator::start().await;
    let user_id = google.add_user(email, 3);
    let receiver = Receiver::start().await;
    google
        .control(
            "pubsub/topics",
            json!({ "name": TOPIC, "gmailCanPublish": gmail_can_publish }),
        )
        .await;
    let app = TestApp::spawn_with(&google, CLIENT, |s| {
        watching(s, &google, &receiver);
        customize(s);
    })
    .await;
    subscribe(&google, &app, "app").await;
    (google, receiver, app, user_id)
}

/// [`watching_app`], with `email` signed in and watched.
async fn watched(email: &str) -> (TestEmulator, Receiver, TestApp, String) {
    let (google, receiver, app, user_id) = watching_app(email, true, |_| {}).await;
    app.sign_in_ok(email).await;
    wait_watching(&app, &user_id).await;
    quiet_second().await;
    (google, receiver, app, user_id)
}

/// Gmail notifies once when a watch starts and then at most once a second
/// per user, dropping the rest (Google's push guide): a change in that
/// second would be pushed to no one. Waits it out.
async fn quiet_second() {
    tokio::time::sleep(Duration::from_millis(1100)).await;
}

/// Until the user's watch is in place and their cursor started.
async fn wait_watching(app: &TestApp, user_id: &str) {
    let out = || app.command(&["users", "show", user_id]);
    eventually(WAIT, "the user is watched", async || {
        let text = String::from_utf8_lossy(&out().stdout).to_string();
        text.contains("watch:         watching until") && text.contains("cursor:        history id")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_message_reaches_the_webhook_and_the_pull_api_once() {
    let (google, receiver, app, user_id) = watched("watched@example.com").await;
    deliver_mail(&google, "watched@example.com", "Quarterly report").await;
    let added = receiver.wait_for("message.added", 1, WAIT).await;
    let event = &added[0];
    assert_eq!(event["user_id"], user_id);
    assert_eq!(event["email"], "watched@example.com");
    assert_eq!(event["data"]["subject"], "Quarterly report");
    assert_eq!(event["data"]["from"], "Ada <ada@example.org>");
    assert!(
        event["data"]["label_ids"]
            .as_array()
            .unwrap()
            .contains(&json!("INBOX"))
    );
    for field in ["message_id", "thread_id", "to", "date", "snippet"] {
        assert!(event["data"][field].is_string(), "{field} in {event}");
    }
    // The envelope is the one the OpenAPI document describes.
    let doc: Value = app.get("/v1/openapi.json").await.json().await.unwrap();
    let schema = &doc["components"]["schemas"]["Event"];
    for field in schema["required"].as_array().unwrap() {
        assert!(
            event.get(field.as_str().unwrap()).is_some(),
            "{field} in {event}"
        );
    }
    assert!(
        schema["properties"]["type"]["enum"]
            .as_array()
            .unwrap()
            .contains(&event["type"])
    );
    // The pull API has the same event, under the same id.
    let pulled = pulled(&app, &user_id).await;
    let same: Vec<&Value> = pulled.iter().filter(|e| e["id"] == event["id"]).collect();
    assert_eq!(same.len(), 1, "{pulled:#?}");
    assert_eq!(same[0]["data"], event["data"]);
    // So does `mailgrant events tail`, as JSON lines.
    let tail = app.command(&["events", "tail", "--once", "--user", "watched@example.com"]);
    assert!(
        tail.status.success(),
        "{}",
        String::from_utf8_lossy(&tail.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(tail.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines, pulled);
    // Nothing else comes for that one change.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.of("message.added").len(), 1);
    let shown =
        String::from_utf8_lossy(&app.command(&["users", "show", &user_id]).stdout).to_string();
    assert!(shown.contains("0 waiting for the webhook"), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulling_pages_with_after_and_refuses_a_bad_cursor() {
    let (google, receiver, app, user_id) = watched("puller@example.com").await;
    for n in 0..3 {
        deliver_mail(&google, "puller@example.com", &format!("note {n}")).await;
        receiver.wait_for("message.added", n + 1, WAIT).await;
        quiet_second().await;
    }
    let get = |query: String| {
        let app = &app;
        async move {
            app.client
                .get(format!("{}{query}", app.address))
                .bearer_auth(API_KEY)
                .send()
                .await
                .unwrap()
        }
    };
    let first: Value = get(format!("/v1/users/{user_id}/events?limit=2"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["events"].as_array().unwrap().len(), 2);
    let after = first["next_after"].as_str().unwrap();
    let rest: Value = get(format!("/v1/events?after={after}"))
        .await
        .json()
        .await
        .unwrap();
    let subjects: Vec<&str> = first["events"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest["events"].as_array().unwrap())
        .filter(|e| e["type"] == "message.added")
        .map(|e| e["data"]["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["note 0", "note 1", "note 2"]);
    let bad = get(format!("/v1/users/{user_id}/events?after=abc")).await;
    assert_eq!(bad.status(), 400);
    let unknown = get("/v1/users/nobody/events".to_owned()).await;
    assert_eq!(unknown.status(), 404);
    let no_key = app
        .client
        .get(format!("{}/v1/events", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(no_key.status(), 401);
}

/// A push endpoint that keeps what Google sent, for replaying it.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<(String, Bytes)>>>);

async fn capture(
    State(captured): State<Captured>,
    headers: HeaderMap,
    body: Bytes,
) -> &'static str {
    let authorization = headers["authorization"].to_str().unwrap().to_owned();
    captured.0.lock().unwrap().push((authorization, body));
    "ok"
}

/// Points a second subscription at a capturing endpoint and returns one
/// push Google (the emulator) sent there for a new message.
async fn captured_push(
    google: &TestEmulator,
    app: &TestApp,
    email: &str,
    audience: &str,
    account: &str,
) -> (String, Bytes) {
    let captured = Captured::default();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}/push", listener.local_addr().unwrap());
    let router = axum::Router::new()
        .route("/push", post(capture))
        .with_state(captured.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let name = format!(
        "projects/mailgrant-emulator/subscriptions/capture-{}",
        rand::random::<u32>()
    );
    google
        .control(
            "pubsub/subscriptions",
            json!({ "name": name, "topic": TOPIC, "pushEndpoint": endpoint,
                    "audience": audience, "serviceAccountEmail": account }),
        )
        .await;
    let _ = app;
    // One push a second per user: wait out the last one's second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    deliver_mail(google, email, "captured").await;
    eventually(WAIT, "a push reached the capturing endpoint", async || {
        !captured.0.lock().unwrap().is_empty()
    })
    .await;
    captured.0.lock().unwrap()[0].clone()
}

async fn replay(app: &TestApp, authorization: Option<&str>, body: &Bytes) -> u16 {
    let mut request = app
        .client
        .post(format!("{}/pubsub/push", app.address))
        .header("content-type", "application/json")
        .body(body.clone());
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    request.send().await.unwrap().status().as_u16()
}

/// The JWT with its claims changed and Google's signature kept.
fn tampered(authorization: &str, change: impl FnOnce(&mut Value)) -> String {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let token = authorization.strip_prefix("Bearer ").unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    change(&mut claims);
    let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("Bearer {}.{claims}.{}", parts[0], parts[2])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_without_google_s_valid_jwt_are_refused_and_change_nothing() {
    let (google, receiver, app, user_id) = watched("guarded@example.com").await;
    let audience = stream::push_audience(&url::Url::parse(&app.public_url).unwrap());
    let (good, body) = captured_push(
        &google,
        &app,
        "guarded@example.com",
        &audience,
        stream::SERVICE_ACCOUNT,
    )
    .await;
    receiver.wait_for("message.added", 1, WAIT).await;
    let before = pulled(&app, &user_id).await;

    assert_eq!(replay(&app, None, &body).await, 401, "no token");
    assert_eq!(
        replay(&app, Some("Bearer not-a-jwt"), &body).await,
        401,
        "garbage"
    );
    assert_eq!(
        replay(&app, Some("Basic dXNlcjpwYXNz"), &body).await,
        401,
        "not Bearer"
    );
    let forged = tampered(&good, |c| c["email"] = json!("attacker@example.com"));
    assert_eq!(
        replay(&app, Some(&forged), &body).await,
        401,
        "forged: claims changed under Google's signature"
    );
    let expired = tampered(&good, |c| c["exp"] = json!(1_000_000_000));
    assert_eq!(
        replay(&app, Some(&expired), &body).await,
        401,
        "expired (and so forged)"
    );

    // Genuinely signed by Google, but for someone else.
    let (wrong_audience, _) = captured_push(
        &google,
        &app,
        "guarded@example.com",
        "https://elsewhere.example/push",
        stream::SERVICE_ACCOUNT,
    )
    .await;
    assert_eq!(
        replay(&app, Some(&wrong_audience), &body).await,
        403,
        "wrong audience"
    );
    let (wrong_account, _) = captured_push(
        &google,
        &app,
        "guarded@example.com",
        &audience,
        "other@evil-project.iam.gserviceaccount.com",
    )
    .await;
    assert_eq!(
        replay(&app, Some(&wrong_account), &body).await,
        403,
        "wrong service account"
    );

    // None of these recorded anything: no push time, no sync, no event
    // (the captured pushes' own messages come through the real subscription).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after = pulled(&app, &user_id).await;
    let not_captured = |events: &[Value]| {
        events
            .iter()
            .filter(|e| e["data"]["subject"] != "captured")
            .count()
    };
    assert_eq!(not_captured(&after), not_captured(&before));
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("mailgrant_pushes_total{outcome=\"verified\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("outcome=\"wrong_audience\""), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_or_replayed_push_gives_one_event() {
    let (google, receiver, app, user_id) = watched("twice@example.com").await;
    google
        .control(
            "pubsub/faults",
            json!({ "action": "duplicate", "count": 1 }),
        )
        .await;
    deliver_mail(&google, "twice@example.com", "only once").await;
    receiver.wait_for("message.added", 1, WAIT).await;
    // Replaying a genuine push again and again changes nothing either.
    let audience = stream::push_audience(&url::Url::parse(&app.public_url).unwrap());
    let (authorization, body) = captured_push(
        &google,
        &app,
        "twice@example.com",
        &audience,
        stream::SERVICE_ACCOUNT,
    )
    .await;
    receiver.wait_for("message.added", 2, WAIT).await;
    for _ in 0..3 {
        assert_eq!(replay(&app, Some(&authorization), &body).await, 204);
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let added: Vec<Value> = pulled(&app, &user_id)
        .await
        .into_iter()
        .filter(|e| e["type"] == "message.added")
        .collect();
    let subjects: Vec<&str> = added
        .iter()
        .map(|e| e["data"]["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["only once", "captured"]);
    assert_eq!(receiver.of("message.added").len(), 2);
}

/// A genuine push's envelope, its notification replaced by `notification`.
fn renotified(body: &Bytes, notification: Value) -> Bytes {
    use base64::Engine as _;
    let mut push: Value = serde_json::from_slice(body).unwrap();
    let data = base64::engine::general_purpose::STANDARD.encode(notification.to_string());
    push["message"]["data"] = json!(data);
    Bytes::from(push.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_naming_strangers_or_absurd_history_ids_are_acknowledged_and_harmless() {
    let (google, receiver, app, _user_id) = watched("known@example.com").await;
    let audience = stream::push_audience(&url::Url::parse(&app.public_url).unwrap());
    let (authorization, body) = captured_push(
        &google,
        &app,
        "known@example.com",
        &audience,
        stream::SERVICE_ACCOUNT,
    )
    .await;
    receiver.wait_for("message.added", 1, WAIT).await;
    // Google's token is not bound to the body: a replayed one can carry
    // any notification. Each is acknowledged (or Pub/Sub would retry it
    // for days) and none stops the stream.
    for notification in [
        json!({ "emailAddress": "stranger@example.com", "historyId": 99 }),
        json!({ "emailAddress": "known@example.com", "historyId": 4_611_686_018_427_387_904_u64 }),
        json!({ "emailAddress": "known@example.com", "historyId": u64::MAX }),
    ] {
        let push = renotified(&body, notification.clone());
        assert_eq!(
            replay(&app, Some(&authorization), &push).await,
            204,
            "{notification}"
        );
    }
    quiet_second().await;
    deliver_mail(&google, "known@example.com", "still flowing").await;
    let added = receiver.wait_for("message.added", 2, WAIT).await;
    assert_eq!(added[1]["data"]["subject"], "still flowing");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("mailgrant_pushes_total{outcome=\"unknown_address\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("mailgrant_pushes_total{outcome=\"malformed\"} 1"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_inside_gmails_one_second_gap_are_not_missed() {
    let (google, receiver, _app, _user_id) = watched("busy@example.com").await;
    // Gmail notifies the first and drops the others' notifications.
    for subject in ["first", "second", "third"] {
        deliver_mail(&google, "busy@example.com", subject).await;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let added = receiver.wait_for("message.added", 3, WAIT).await;
    let subjects: Vec<&str> = added
        .iter()
        .map(|e| e["data"]["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["first", "second", "third"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_history_gives_one_mailbox_resynced_not_a_flood() {
    let (google, receiver, _app, user_id) = watched("expired@example.com").await;
    // A change whose push is lost leaves the cursor behind; then Gmail
    // forgets the history the cursor points into.
    google
        .control("pubsub/faults", json!({ "action": "drop", "count": 1 }))
        .await;
    deliver_mail(&google, "expired@example.com", "lost in the gap").await;
    google
        .control("users/expired@example.com/history/expire", json!({}))
        .await;
    quiet_second().await;
    deliver_mail(&google, "expired@example.com", "after the gap").await;
    let resynced = receiver.wait_for("mailbox.resynced", 1, WAIT).await;
    assert_eq!(resynced[0]["user_id"], user_id);
    assert!(resynced[0]["data"]["history_id"].is_string());
    // The stream goes on from the new cursor.
    quiet_second().await;
    deliver_mail(&google, "expired@example.com", "next one").await;
    eventually(WAIT, "the next message is an event", async || {
        receiver
            .of("message.added")
            .iter()
            .any(|e| e["data"]["subject"] == "next one")
    })
    .await;
    // Once, and nothing from the forgotten history: the backend re-reads
    // the mailbox instead. ("after the gap" is an event or part of the
    // resync, depending on which sync met the 404 first.)
    assert_eq!(receiver.of("mailbox.resynced").len(), 1);
    let subjects: Vec<Value> = receiver
        .of("message.added")
        .iter()
        .map(|e| e["data"]["subject"].clone())
        .collect();
    assert!(
        !subjects.contains(&json!("lost in the gap")),
        "{subjects:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_watch_falls_back_to_polling() {
    // Gmail's push account may not publish to this topic.
    let (google, receiver, app, user_id) = watching_app("refused@example.com", false, |s| {
        s.stream.poll_interval = Duration::from_millis(300);
    })
    .await;
    app.sign_in_ok("refused@example.com").await;
    let failed = receiver.wait_for("watch.failed", 1, WAIT).await;
    assert!(
        failed[0]["data"]["error"]
            .as_str()
            .unwrap()
            .contains("gmail-api-push@system.gserviceaccount.com")
    );
    let shown =
        String::from_utf8_lossy(&app.command(&["users", "show", &user_id]).stdout).to_string();
    assert!(shown.contains("polling: the watch failed"), "{shown}");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("mailgrant_watch_renewals_total{outcome=\"refused\"} 1"),
        "{metrics}"
    );
    deliver_mail(&google, "refused@example.com", "found by polling").await;
    let added = receiver.wait_for("message.added", 1, WAIT).await;
    assert_eq!(added[0]["data"]["subject"], "found by polling");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_picks_up_changes_whose_pushes_were_lost() {
    let (google, receiver, app, user_id) = watching_app("lossy@example.com", true, |s| {
        s.stream.poll_interval = Duration::from_millis(200);
    })
    .await;
    app.sign_in_ok("lossy@example.com").await;
    // Changes count from the stream's start (the first sync's history id).
    wait_watching(&app, &user_id).await;
    google
        .control("pubsub/faults", json!({ "action": "drop", "count": 10 }))
        .await;
    deliver_mail(&google, "lossy@example.com", "push lost").await;
    // No push comes; the safety-net poll (10 intervals without one) finds it.
    let added = receiver.wait_for("message.added", 1, WAIT).await;
    assert_eq!(added[0]["data"]["subject"], "push lost");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_is_renewed_daily_across_seven_days_and_stopped_on_disconnect() {
    let clock = TestClock::default();
    let (google, _receiver, app, user_id) = watching_app("weekly@example.com", true, |s| {
        s.stream.clock = Some(clock.clock());
    })
    .await;
    app.sign_in_ok("weekly@example.com").await;
    wait_watching(&app, &user_id).await;
    let renewals = async || {
        let metrics = app.get("/metrics").await.text().await.unwrap();
        metrics
            .lines()
            .find(|l| l.starts_with("mailgrant_watch_renewals_total{outcome=\"ok\"}"))
            .and_then(|l| l.rsplit(' ').next()?.parse::<u32>().ok())
            .unwrap_or(0)
    };
    assert_eq!(renewals().await, 1);
    for day in 1..=8u32 {
        // Both clocks move a day (and a minute, so that checks are due),
        // Google's first.
        let step = Duration::from_secs(24 * 3600 + 60);
        google
            .control(
                "clock",
                json!({ "offsetMs": (step.as_millis() as u64) * u64::from(day) }),
            )
            .await;
        clock.advance(step);
        eventually(WAIT, &format!("renewed on day {day}"), async || {
            // Time goes on meanwhile, half a minute a look, so that a check
            // that failed (a slow machine) comes round again, as it would.
            clock.advance(Duration::from_secs(30));
            renewals().await > day
        })
        .await;
        assert_eq!(renewals().await, day + 1, "one renewal a day, not more");
    }
    // Eight days on, the watch Google holds is a fresh one: it never came
    // near its expiration. (Google's clock is the emulator's, eight days
    // ahead of this machine's, so pushes themselves are left to the other
    // tests: their tokens would be issued in our future.)
    let watch = async || -> reqwest::Response {
        google
            .http
            .get(format!(
                "{}/emulator/users/weekly@example.com/watch",
                google.base
            ))
            .send()
            .await
            .unwrap()
    };
    let held: Value = watch().await.json().await.unwrap();
    let emulator_now = google.look("clock").await;
    let expires: i64 = held["expiration"].as_str().unwrap().parse().unwrap();
    let left = expires - emulator_now["nowMs"].as_i64().unwrap();
    assert!(left > 6 * 24 * 3600 * 1000, "{held} at {emulator_now}");
    // Disconnecting stops the watch.
    let response = app
        .client
        .delete(format!("{}/v1/users/{user_id}", app.address))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(watch().await.status(), 404, "the watch is stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disconnect_that_google_fails_leaves_the_mailbox_watched() {
    let (google, receiver, app, user_id) = watched("stays@example.com").await;
    google
        .control(
            "faults",
            json!({ "endpoint": "revoke", "count": 5, "status": 503, "body": "{}" }),
        )
        .await;
    let response = app
        .client
        .delete(format!("{}/v1/users/{user_id}", app.address))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502, "nothing was deleted");
    // Mail that came while the watch was stopped is not missed, even when
    // no push comes for it (Gmail notifying a new watch is not documented).
    google
        .control("pubsub/faults", json!({ "action": "drop", "count": 5 }))
        .await;
    deliver_mail(&google, "stays@example.com", "while unwatched").await;
    // Still connected: tracked, and watched again.
    wait_watching(&app, &user_id).await;
    let watch = google.http.get(format!(
        "{}/emulator/users/stays@example.com/watch",
        google.base
    ));
    assert_eq!(watch.send().await.unwrap().status(), 200);
    let added = receiver.wait_for("message.added", 1, WAIT).await;
    assert_eq!(added[0]["data"]["subject"], "while unwatched");
}

/// Two replicas on one PostgreSQL schema of their own, both watching, both
/// subscribed: Pub/Sub pushes every change to each of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_postgres_receiving_the_same_pushes_emit_each_event_once() {
    let schema = postgres_common::Schema::new().await;
    let google = TestEmulator::start().await;
    let user_id = google.add_user("shared@example.com", 3);
    let receiver = Receiver::start().await;
    google
        .control("pubsub/topics", json!({ "name": TOPIC }))
        .await;
    let keys = Arc::new(Keyring::from_config(&Keyring::generate_config_value()).unwrap());
    let mut replicas = Vec::new();
    for name in ["first", "second"] {
        let store = mailgrant::store::open(&schema.url()).await.unwrap();
        let keys = keys.clone();
        let app = TestApp::spawn_with(&google, CLIENT, |s| {
            watching(s, &google, &receiver);
            s.store = store;
            s.keys = keys;
        })
        .await;
        subscribe(&google, &app, name).await;
        replicas.push(app);
    }
    let (first, second) = (&replicas[0], &replicas[1]);
    first.sign_in_ok("shared@example.com").await;
    // The cursor is taken before the watch: a watch means both are in place.
    eventually(WAIT, "Gmail holds the watch", async || {
        let url = format!("{}/emulator/users/shared@example.com/watch", google.base);
        google.http.get(url).send().await.unwrap().status() == 200
    })
    .await;
    quiet_second().await;
    for n in 0..4 {
        deliver_mail(&google, "shared@example.com", &format!("shared {n}")).await;
        quiet_second().await;
    }
    receiver.wait_for("message.added", 4, WAIT).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let added = receiver.of("message.added");
    let subjects: Vec<&str> = added
        .iter()
        .map(|e| e["data"]["subject"].as_str().unwrap())
        .collect();
    assert_eq!(
        subjects,
        ["shared 0", "shared 1", "shared 2", "shared 3"],
        "in order, each once: {added:#?}"
    );
    let mut ids: Vec<&str> = added.iter().map(|e| e["id"].as_str().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4);
    // Both replicas were pushed every change and both recorded it.
    for name in ["first", "second"] {
        let subscription = google
            .look(&format!(
                "pubsub/subscriptions/projects/mailgrant-emulator/subscriptions/{name}"
            ))
            .await;
        assert!(
            subscription["delivered"].as_u64().unwrap() >= 5,
            "{subscription}"
        );
    }
    assert_eq!(
        pulled(first, &user_id).await,
        pulled(second, &user_id).await
    );
}
