//! The home page's live list over HTTP: `GET /api/events`, the signed-in
//! user's own change stream that `/static/live.js` polls, and the page
//! that carries the script.

mod common;
mod stream;

use std::time::Duration;

use common::TestApp;
use mailgrant::store::{NewEvent, SyncCommit};
use reqwest::StatusCode;
use serde_json::{Value, json};
use stream::{deliver_mail, eventually, pushing_app, wait_watched};

const ALICE: &str = "alice@example.com";
const BOB: &str = "bob@example.com";

/// Appends a `message.added` with `subject` to `user_id`'s outbox, as a
/// sync would (the user is tracked since they signed in).
async fn append(app: &TestApp, user_id: &str, subject: &str) {
    let store = mailgrant::store::open(&format!("sqlite://{}", app.db_path.display()))
        .await
        .unwrap();
    let events = store.events();
    let cursor = events.mailbox(user_id).await.unwrap().unwrap().cursor;
    let event = NewEvent {
        kind: "message.added".to_owned(),
        email: None,
        occurred_at: mailgrant::store::now_unix_ms(),
        data: json!({ "message_id": format!("m-{subject}"), "subject": subject }).to_string(),
    };
    let committed = events
        .commit_sync(SyncCommit {
            user_id,
            expected_cursor: cursor,
            new_cursor: cursor.unwrap_or(0) + 1,
            events: &[event],
            at: mailgrant::store::now_unix_ms(),
        })
        .await
        .unwrap();
    assert!(committed);
}

/// `GET /api/events?QUERY` with the app's session: status and JSON body.
async fn pull(app: &TestApp, query: &str) -> (StatusCode, Value) {
    let response = app.get(&format!("/api/events{query}")).await;
    (response.status(), response.json().await.unwrap())
}

fn subjects(page: &Value) -> Vec<&str> {
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["data"]["subject"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn the_events_route_needs_a_session() {
    let app = TestApp::spawn().await;

    let (status, body) = pull(&app, "").await;

    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "unauthenticated");
    assert_eq!(
        body["authorization_url"],
        format!("{}/oauth2/authorize", app.public_url)
    );
}

#[tokio::test]
async fn a_signed_in_user_pages_through_their_own_events_only() {
    // Arrange: Bob and Alice both connected, their events interleaved.
    let app = TestApp::spawn().await;
    let alice = app.google.add_user(ALICE, 2);
    let bob = app.google.add_user(BOB, 2);
    app.sign_in_ok(BOB).await;
    app.sign_in_ok(ALICE).await;
    for (user, subject) in [
        (&alice, "a1"),
        (&bob, "b1"),
        (&alice, "a2"),
        (&bob, "b2"),
        (&alice, "a3"),
    ] {
        append(&app, user, subject).await;
    }

    // Act
    let (status, all) = pull(&app, "").await;
    let (_, first) = pull(&app, "?limit=2").await;
    let next = first["next_after"].as_str().unwrap().to_owned();
    let (_, rest) = pull(&app, &format!("?after={next}")).await;
    let last = rest["next_after"].as_str().unwrap().to_owned();
    let (_, nothing_new) = pull(&app, &format!("?after={last}")).await;

    // Assert
    assert_eq!(status, StatusCode::OK);
    assert_eq!(subjects(&all), ["a1", "a2", "a3"]);
    assert!(
        all["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["user_id"] == alice.as_str() && e["type"] == "message.added"),
        "{all:#}"
    );
    assert_eq!(subjects(&first), ["a1", "a2"]);
    assert_eq!(next, first["events"][1]["id"].as_str().unwrap());
    assert_eq!(subjects(&rest), ["a3"]);
    assert_eq!(subjects(&nothing_new), Vec::<&str>::new());
    assert_eq!(nothing_new["next_after"], last.as_str(), "stays put");
}

#[tokio::test]
async fn a_bad_cursor_or_limit_is_a_json_400() {
    let app = TestApp::spawn().await;
    app.google.add_user(ALICE, 1);
    app.sign_in_ok(ALICE).await;

    for query in [
        "?after=abc",
        "?after=-1",
        "?after=1.5",
        "?limit=0",
        "?limit=501",
    ] {
        let (status, body) = pull(&app, query).await;

        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(body["error"], "bad_request", "{query}: {body}");
    }
}

#[tokio::test]
async fn the_first_page_of_all_mail_carries_the_script_and_where_its_events_start() {
    let app = TestApp::spawn().await;
    let alice = app.google.add_user(ALICE, 3);
    app.sign_in_ok(ALICE).await;
    append(&app, &alice, "before").await;
    let (_, before) = pull(&app, "").await;
    let newest = before["events"][0]["id"].as_str().unwrap().to_owned();

    let home = app.get("/").await.text().await.unwrap();
    let search = app.get("/?q=from:nobody").await.text().await.unwrap();
    let script = app.get("/static/live.js").await;

    assert!(
        home.contains(&format!("<div id=\"live\" data-after=\"{newest}\"")),
        "{home}"
    );
    assert!(home.contains("<script src=\"/static/live.js\"></script>"));
    assert!(
        !search.contains("live.js"),
        "new mail is not a search result"
    );
    assert_eq!(script.status(), StatusCode::OK);
    assert_eq!(
        script.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    let source = script.text().await.unwrap();
    assert!(source.contains("/api/events?after="));
    assert!(!source.contains("innerHTML"), "event data stays text");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_pushed_for_a_watched_user_is_in_their_events() {
    // Arrange: an app that watches with the emulator's Pub/Sub, as the
    // demo does; Alice signed in and watched.
    let (google, app) = pushing_app(ALICE).await;
    app.sign_in_ok(ALICE).await;
    wait_watched(&google.base, ALICE).await;

    // Act
    deliver_mail(&google, ALICE, "Pushed to the page").await;

    // Assert
    eventually(Duration::from_secs(10), "the event is pulled", async || {
        let (_, page) = pull(&app, "").await;
        page["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "message.added" && e["data"]["subject"] == "Pushed to the page")
    })
    .await;
}
