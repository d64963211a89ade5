//! The signed-in user's Gmail through the server: messages in every format,
//! threads, labels, profile, and the message page.

mod common;

use common::TestApp;
use reqwest::StatusCode;
use serde_json::Value;

const ALICE: &str = "alice@example.com";

async fn signed_in(messages: usize) -> TestApp {
    let app = TestApp::spawn().await;
    app.google.add_user(ALICE, messages);
    app.sign_in_ok(ALICE).await;
    app
}

async fn json(app: &TestApp, path: &str) -> Value {
    let response = app.get(path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.unwrap()
}

async fn first_id(app: &TestApp) -> String {
    json(app, "/api/messages?maxResults=1").await["messages"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_message_comes_in_each_format_gmail_offers() {
    let app = signed_in(5).await;
    let id = first_id(&app).await;

    let full = json(&app, &format!("/api/messages/{id}")).await;
    let metadata = json(
        &app,
        &format!("/api/messages/{id}?format=metadata&metadataHeaders=Subject&metadataHeaders=From"),
    )
    .await;
    let minimal = json(&app, &format!("/api/messages/{id}?format=minimal")).await;
    let raw = json(&app, &format!("/api/messages/{id}?format=raw")).await;

    assert_eq!(full["id"], id.as_str());
    assert!(full["payload"]["mimeType"].is_string());
    let names: Vec<&str> = metadata["payload"]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert!(
        !names.is_empty() && names.iter().all(|n| *n == "Subject" || *n == "From"),
        "{names:?}"
    );
    assert!(minimal.get("payload").is_none());
    assert!(raw["raw"].as_str().unwrap().len() > 100);
    assert!(raw.get("payload").is_none());
}

#[tokio::test]
async fn an_unknown_message_is_404_and_an_unknown_format_is_400() {
    let app = signed_in(2).await;
    let id = first_id(&app).await;
    assert_eq!(
        app.get("/api/messages/0000000000000000").await.status(),
        StatusCode::NOT_FOUND
    );
    let bad = app.get(&format!("/api/messages/{id}?format=pdf")).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(bad.text().await.unwrap().contains("format must be"));
}

#[tokio::test]
async fn threads_list_and_a_thread_holds_its_messages() {
    let app = signed_in(40).await;

    let page = json(&app, "/api/threads?maxResults=5").await;
    let threads = page["threads"].as_array().unwrap();
    let thread_id = threads[0]["id"].as_str().unwrap();
    let thread = json(&app, &format!("/api/threads/{thread_id}?format=metadata")).await;

    assert_eq!(threads.len(), 5);
    assert!(page["nextPageToken"].is_string());
    assert_eq!(thread["id"], thread_id);
    let messages = thread["messages"].as_array().unwrap();
    assert!(!messages.is_empty());
    assert!(messages.iter().all(|m| m["threadId"] == thread_id));
    assert_eq!(
        app.get(&format!("/api/threads/{thread_id}?format=raw"))
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn labels_and_profile_describe_the_mailbox() {
    let app = signed_in(12).await;

    let labels = json(&app, "/api/labels").await;
    let profile = json(&app, "/api/profile").await;

    let names: Vec<&str> = labels["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"INBOX") && names.contains(&"SENT"),
        "{names:?}"
    );
    assert_eq!(profile["emailAddress"], ALICE);
    assert_eq!(profile["messagesTotal"], 12);
    assert!(
        profile["historyId"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .is_ok()
    );
}

#[tokio::test]
async fn the_gmail_routes_need_a_signed_in_user() {
    let app = TestApp::spawn().await;
    for path in [
        "/api/messages/x",
        "/api/threads",
        "/api/threads/x",
        "/api/labels",
        "/api/profile",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    let page = app.get("/messages/x").await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_message_page_shows_headers_and_the_text_body() {
    let app = signed_in(5).await;
    let id = first_id(&app).await;
    let message = json(&app, &format!("/api/messages/{id}")).await;
    let subject = message["payload"]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "Subject")
        .unwrap()["value"]
        .as_str()
        .unwrap()
        .to_owned();

    let home = app.get("/").await.text().await.unwrap();
    let page = app
        .get(&format!("/messages/{id}"))
        .await
        .text()
        .await
        .unwrap();

    assert!(home.contains(&format!("href=\"/messages/{id}\"")));
    let escaped = subject
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;");
    assert!(
        page.contains(&format!("<h2 id=\"subject\">{escaped}</h2>")),
        "{page}"
    );
    assert!(page.contains("id=\"body\""));
}
