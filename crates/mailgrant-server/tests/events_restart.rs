//! The outbox survives the process: `serve` killed with SIGKILL after it
//! acknowledged a push and committed its events, before the webhook took
//! them, delivers them (same ids) once it runs again.

mod common;
#[allow(dead_code, reason = "the fault tests use the rest")]
mod serve_process;
mod stream;

use std::time::Duration;

use common::{API_KEY, TestApp, TestEmulator};
use serde_json::{Value, json};
use serve_process::Server;
use stream::{CLIENT, Receiver, SERVICE_ACCOUNT, TOPIC, deliver_mail, eventually};

const AUDIENCE: &str = "https://mailgrant.test/pubsub/push";

fn serve(app: &TestApp, google: &TestEmulator, receiver: &Receiver) -> std::process::Command {
    let mut command = app.mailgrant(&["serve"]);
    command
        .env("MAILGRANT_PUBSUB_TOPIC", TOPIC)
        .env("MAILGRANT_PUBSUB_SERVICE_ACCOUNT", SERVICE_ACCOUNT)
        .env("MAILGRANT_PUBSUB_AUDIENCE", AUDIENCE)
        .env(
            "MAILGRANT_GOOGLE_CERTS_URL",
            format!("{}/oauth2/v3/certs", google.base),
        )
        .env("MAILGRANT_POLL_INTERVAL", "1s")
        .env("MAILGRANT_WEBHOOK_URL", receiver.url.as_str())
        .env("MAILGRANT_WEBHOOK_SECRET", "webhook-test-secret");
    command
}

async fn subscribe_process(google: &TestEmulator, server: &Server) {
    google
        .control(
            "pubsub/subscriptions",
            json!({
                "name": "projects/mailgrant-emulator/subscriptions/process",
                "topic": TOPIC,
                "pushEndpoint": format!("{}/pubsub/push", server.address()),
                "audience": AUDIENCE,
                "serviceAccountEmail": SERVICE_ACCOUNT,
                "minBackoffMs": 100,
                "maxBackoffMs": 2000,
            }),
        )
        .await;
}

async fn pulled(server: &Server, user_id: &str) -> Vec<Value> {
    let body: Value = reqwest::Client::new()
        .get(format!("{}/v1/users/{user_id}/events", server.address()))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["events"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_killed_after_acknowledging_a_push_delivers_its_events_after_restart() {
    let google = TestEmulator::start().await;
    let user_id = google.add_user("durable@example.com", 2);
    google
        .control("pubsub/topics", json!({ "name": TOPIC }))
        .await;
    // This app only signs the user in; the processes do the watching.
    let app = TestApp::spawn_with(&google, CLIENT, |_| {}).await;
    app.sign_in_ok("durable@example.com").await;
    let receiver = Receiver::start().await;
    receiver.refuse(true);

    let mut server = Server::start(serve(&app, &google, &receiver)).await;
    subscribe_process(&google, &server).await;
    let shown =
        || String::from_utf8_lossy(&app.command(&["users", "show", &user_id]).stdout).to_string();
    eventually(
        Duration::from_secs(15),
        "the process watches the user",
        async || {
            shown().contains("watching until") && shown().contains("cursor:        history id")
        },
    )
    .await;
    // Gmail's notification of the new watch takes this second's one push.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    deliver_mail(&google, "durable@example.com", "survives a kill").await;
    // Acknowledged and committed, but the webhook refuses it.
    let mut committed = Vec::new();
    eventually(
        Duration::from_secs(10),
        "the event is in the outbox",
        async || {
            committed = pulled(&server, &user_id).await;
            committed.iter().any(|e| e["type"] == "message.added")
        },
    )
    .await;
    server.kill();
    assert!(receiver.deliveries().is_empty());

    receiver.refuse(false);
    let server = Server::start(serve(&app, &google, &receiver)).await;
    // The killed process's delivery lease lapses first (15 s).
    let delivered = receiver
        .wait_for("message.added", 1, Duration::from_secs(30))
        .await;
    let before = committed
        .iter()
        .find(|e| e["type"] == "message.added")
        .unwrap();
    assert_eq!(
        delivered[0]["id"], before["id"],
        "the same event, by its id"
    );
    assert_eq!(delivered[0]["data"]["subject"], "survives a kill");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.of("message.added").len(), 1, "delivered once");
    drop(server);
}
