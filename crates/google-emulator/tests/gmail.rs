//! Gmail v1 over HTTP: listing and paging, search, formats, scopes.

mod common;

use std::collections::HashSet;

use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use common::*;
use serde_json::{Value, json};

/// Every page of `query` (which must end with `?…` or be empty of `?`).
async fn all_pages(emu: &TestEmulator, token: &str, query: &str) -> (Vec<String>, Vec<usize>) {
    let mut ids = Vec::new();
    let mut sizes = Vec::new();
    let mut page_token: Option<String> = None;
    loop {
        let mut path = format!("/gmail/v1/users/me/messages?{query}");
        if let Some(t) = &page_token {
            path.push_str(&format!("&pageToken={t}"));
        }
        let (status, body) = emu.get_json(token, &path).await;
        assert_eq!(status, 200, "{body}");
        let page = body["messages"].as_array().cloned().unwrap_or_default();
        sizes.push(page.len());
        ids.extend(page.iter().map(|m| m["id"].as_str().unwrap().to_owned()));
        match body["nextPageToken"].as_str() {
            Some(t) => page_token = Some(t.to_owned()),
            None => return (ids, sizes),
        }
    }
}

async fn many_messages_token(emu: &TestEmulator) -> String {
    let (status, _) = emu
        .post_json(
            "/emulator/users",
            &json!({"email": "many@example.com", "messages": 1234}),
        )
        .await;
    assert_eq!(status, 201);
    emu.tokens_for("many@example.com", GMAIL_READONLY).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn paging_with_the_default_page_size_returns_every_id_exactly_once() {
    let emu = spawn_auto().await;
    let token = many_messages_token(&emu).await;

    let (ids, sizes) = all_pages(&emu, &token, "").await;

    assert_eq!(ids.len(), 1234);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 1234);
    assert_eq!(sizes.len(), 13);
    assert!(sizes[..12].iter().all(|&s| s == 100));
    assert_eq!(sizes[12], 34);
}

#[tokio::test]
async fn max_results_above_500_is_served_as_500() {
    let emu = spawn_auto().await;
    let token = many_messages_token(&emu).await;

    let (ids, sizes) = all_pages(&emu, &token, "maxResults=1000").await;

    assert_eq!(sizes, vec![500, 500, 234]);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 1234);
}

#[tokio::test]
async fn messages_are_listed_newest_first() {
    let emu = spawn_auto().await;
    let token = emu.alice_token().await;
    let (_, list) = emu
        .get_json(&token, "/gmail/v1/users/me/messages?maxResults=20")
        .await;

    let mut dates = Vec::new();
    for m in list["messages"].as_array().unwrap() {
        let path = format!(
            "/gmail/v1/users/me/messages/{}?format=minimal",
            m["id"].as_str().unwrap()
        );
        let (_, msg) = emu.get_json(&token, &path).await;
        dates.push(
            msg["internalDate"]
                .as_str()
                .unwrap()
                .parse::<i64>()
                .unwrap(),
        );
    }

    assert!(dates.windows(2).all(|w| w[0] >= w[1]), "{dates:?}");
}

#[tokio::test]
async fn empty_result_has_no_messages_field() {
    let emu = spawn_auto().await;
    let token = emu.alice_token().await;

    let (status, body) = emu
        .get_json(&token, "/gmail/v1/users/me/messages?q=subject:zebracorn")
        .await;

    assert_eq!(status, 200);
    assert_eq!(body, json!({"resultSizeEstimate": 0}));
}

#[tokio::test]
async fn bad_list_parameters_are_invalid_argument() {
    let emu = spawn_auto().await;
    let token = emu.alice_token().await;

    for query in ["maxResults=0", "maxResults=ten", "pageToken=not-a-token"] {
        let (status, body) = emu
            .get_json(&token, &format!("/gmail/v1/users/me/messages?{query}"))
            .await;
        assert_eq!(status, 400, "{query}");
        assert_eq!(
            body["error"]["errors"][0]["reason"], "invalidArgument",
            "{query}"
        );
    }
}

async fn get_message(emu: &TestEmulator, token: &str, id: &str, query: &str) -> Value {
    let (status, body) = emu
        .get_json(token, &format!("/gmail/v1/users/me/messages/{id}?{query}"))
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The first listed message whose full payload is multipart/alternative.
async fn multipart_message(emu: &TestEmulator, token: &str) -> Value {
    let (_, list) = emu
        .get_json(token, "/gmail/v1/users/me/messages?maxResults=200")
        .await;
    for m in list["messages"].as_array().unwrap() {
        let full = get_message(emu, token, m["id"].as_str().unwrap(), "format=full").await;
        if full["payload"]["mimeType"] == "multipart/alternative" {
            return full;
        }
    }
    panic!("no multipart/alternative message among the first 200");
}

#[tokio::test]
async fn full_format_has_a_parsed_payload_with_base64url_parts() {
    let emu = spawn_auto().await;
    let token = emu.alice_token().await;

    let full = multipart_message(&emu, &token).await;

    assert_eq!(full["id"].as_str().unwrap().len(), 16);
    assert!(full["historyId"].is_string() && full["internalDate"].is_string());
    assert!(full["sizeEstimate"].as_u64().unwrap() > 0);
    assert!(full.get("raw").is_none());
    let payload = &full["payload"];
    assert_eq!(payload["partId"], "");
    assert_eq!(payload["body"]["size"], 0);
    let names: Vec<&str> = payload["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    for expected in ["From", "To", "Subject", "Date", "Message-ID"] {
        assert!(names.contains(&expected), "{names:?}");
    }
    let text = &payload["parts"][0];
    assert_eq!(text["partId"], "0");
    assert_eq!(text["mimeType"], "text/plain");
    assert_eq!(payload["parts"][1]["mimeType"], "text/html");
    let data = URL_SAFE_NO_PAD
        .decode(text["body"]["data"].as_str().unwrap())
        .unwrap();
    assert_eq!(data.len() as u64, text["body"]["size"].as_u64().unwrap());
}

#[tokio::test]
async fn raw_format_is_the_base64url_rfc2822_message() {
    let emu = spawn_auto().await;
    let token = emu.alice_token().await;
    let full = multipart_message(&emu, &token).await;
    let id = full["id"].as_str().unwrap();

    let raw = get_message(&emu, &token, id, "format=raw").await;

    assert!(raw.get("payload").is_none());
    let bytes = URL_SAFE.decode(raw["raw"].as_str().unwrap()).unwrap();
    assert_eq!(bytes.len() as u64, raw["sizeEstimate"].as_u64().unwrap());
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains("\r\nContent-Type: multipart/alternative; boundary="));
    let subject = full["payload"]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "Subject")
        .unwrap()["value"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(text.contains(&format!("Subject: {subject}\r\n")));
}

#[tokio::test]
async fn metadata_format_has_only_the_asked_headers_and_minimal_has_no_payload() {
    let emu = spawn_auto().await;
    let token = emu.alice_token().await;
    let (_, list) = emu.get_json(&token, "/gmail/v1/users/me/messages").await;
    let id = list["messages"][0]["id"].as_str().unwrap();

    let metadata = get_message(
        &emu,
        &token,
        id,
        "format=metadata&metadataHeaders=subject&metadataHeaders=From",
    )
    .await;
    let minimal = get_message(&emu, &token, id, "format=minimal").await;

    let names: Vec<&str> = metadata["payload"]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Subject", "From"]);
    assert!(metadata["payload"].get("parts").is_none());
    assert!(minimal.get("payload").is_none());
    assert_eq!(minimal["id"], id);
    assert!(minimal["labelIds"].is_array() && minimal["snippet"].is_string());
}

#[tokio::test]
async fn unknown_message_id_is_404_not_found() {
    let emu = spawn_auto().await;
    let token = emu.alice_token().await;

    let (status, body) = emu
        .get_json(&token, "/gmail/v1/users/me/messages/ffffffffffffffff")
        .await;

    assert_eq!(status, 404);
    assert_eq!(body["error"]["errors"][0]["reason"], "notFound");
    assert_eq!(body["error"]["message"], "Requested entity was not found.");
}

async fn search(emu: &TestEmulator, token: &str, q: &str) -> Vec<Value> {
    let response = emu
        .http
        .get(emu.url("/gmail/v1/users/me/messages"))
        .bearer_auth(token)
        .query(&[("q", q), ("maxResults", "500")])
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    let mut messages = Vec::new();
    for m in body["messages"].as_array().cloned().unwrap_or_default() {
        messages.push(get_message(emu, token, m["id"].as_str().unwrap(), "format=full").await);
    }
    messages
}

fn header<'a>(message: &'a Value, name: &str) -> &'a str {
    message["payload"]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == name)
        .and_then(|h| h["value"].as_str())
        .unwrap_or_default()
}

fn has_label(message: &Value, label: &str) -> bool {
    message["labelIds"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l == label)
}

#[tokio::test]
async fn search_operators_select_matching_messages() {
    let emu = spawn_auto().await;
    let token = emu.alice_token().await;

    let from = search(&emu, &token, "from:carol").await;
    let unread = search(&emu, &token, "is:unread").await;
    let starred = search(&emu, &token, "is:starred").await;
    let not_starred = search(&emu, &token, "-is:starred").await;
    let attachments = search(&emu, &token, "has:attachment").await;
    let subject = search(&emu, &token, "subject:invoice").await;
    let label = search(&emu, &token, "label:sent").await;

    assert!(!from.is_empty() && from.iter().all(|m| header(m, "From").contains("carol")));
    assert!(!unread.is_empty() && unread.iter().all(|m| has_label(m, "UNREAD")));
    assert!(!starred.is_empty() && starred.iter().all(|m| has_label(m, "STARRED")));
    assert_eq!(starred.len() + not_starred.len(), 250);
    assert!(!attachments.is_empty());
    assert!(
        attachments
            .iter()
            .all(|m| m["payload"]["mimeType"] == "multipart/mixed")
    );
    assert!(
        subject
            .iter()
            .all(|m| header(m, "Subject").to_lowercase().contains("invoice"))
    );
    assert!(!label.is_empty() && label.iter().all(|m| has_label(m, "SENT")));
}

#[tokio::test]
async fn plain_words_and_phrases_search_the_text() {
    let emu = spawn_auto().await;
    let token = emu.alice_token().await;

    let phrase = search(&emu, &token, "\"booked, we're on the third floor\"").await;
    let words = search(&emu, &token, "third FLOOR").await;
    let both = search(&emu, &token, "third floor -from:carol").await;

    assert!(!phrase.is_empty());
    assert!(words.len() >= phrase.len());
    assert!(both.iter().all(|m| !header(m, "From").contains("carol")));
    assert!(both.len() <= words.len());
}

#[tokio::test]
async fn label_ids_filter_requires_every_label() {
    let emu = spawn_auto().await;
    let token = emu.alice_token().await;

    let (_, inbox) = emu
        .get_json(
            &token,
            "/gmail/v1/users/me/messages?labelIds=INBOX&maxResults=500",
        )
        .await;
    let (_, unread_inbox) = emu
        .get_json(
            &token,
            "/gmail/v1/users/me/messages?labelIds=INBOX&labelIds=UNREAD&maxResults=500",
        )
        .await;

    let inbox = inbox["resultSizeEstimate"].as_u64().unwrap();
    let unread_inbox = unread_inbox["resultSizeEstimate"].as_u64().unwrap();
    assert!(0 < unread_inbox && unread_inbox < inbox && inbox < 250);
}

#[tokio::test]
async fn metadata_scope_cannot_search_or_read_bodies() {
    let emu = spawn_auto().await;
    let token = emu.tokens_for("alice@example.com", GMAIL_METADATA).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, list) = emu.get_json(&token, "/gmail/v1/users/me/messages").await;
    let id = list["messages"][0]["id"].as_str().unwrap();

    let (q_status, q_body) = emu
        .get_json(&token, "/gmail/v1/users/me/messages?q=is:unread")
        .await;
    let (raw_status, _) = emu
        .get_json(
            &token,
            &format!("/gmail/v1/users/me/messages/{id}?format=raw"),
        )
        .await;
    let (full_status, _) = emu
        .get_json(&token, &format!("/gmail/v1/users/me/messages/{id}"))
        .await;
    let (metadata_status, _) = emu
        .get_json(
            &token,
            &format!("/gmail/v1/users/me/messages/{id}?format=metadata"),
        )
        .await;

    assert_eq!(q_status, 403);
    assert_eq!(
        q_body["error"]["message"],
        "Metadata scope does not support 'q' parameter"
    );
    assert_eq!((raw_status, full_status, metadata_status), (403, 403, 200));
}

#[tokio::test]
async fn token_without_a_gmail_scope_gets_insufficient_permissions() {
    let emu = spawn_auto().await;
    let token = emu.tokens_for("alice@example.com", "openid email").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let response = emu.get_with(&token, "/gmail/v1/users/me/messages").await;

    assert_eq!(response.status(), 403);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"insufficient_scope\"")
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["error"]["errors"][0]["reason"],
        "insufficientPermissions"
    );
    assert_eq!(body["error"]["status"], "PERMISSION_DENIED");
    assert_eq!(
        body["error"]["message"],
        "Request had insufficient authentication scopes."
    );
}

#[tokio::test]
async fn another_users_mailbox_is_delegation_denied_but_ones_own_address_works() {
    let emu = spawn_auto().await;
    let token = emu.alice_token().await;

    let (other, body) = emu
        .get_json(&token, "/gmail/v1/users/bob@example.com/messages")
        .await;
    let (own, profile) = emu
        .get_json(&token, "/gmail/v1/users/alice@example.com/profile")
        .await;

    assert_eq!(other, 403);
    assert_eq!(body["error"]["errors"][0]["reason"], "forbidden");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Delegation denied for")
    );
    assert_eq!(own, 200);
    assert_eq!(profile["emailAddress"], "alice@example.com");
    assert_eq!(profile["messagesTotal"], 250);
    assert!(profile["threadsTotal"].as_u64().unwrap() < 250);
    assert!(profile["historyId"].is_string());
}

#[tokio::test]
async fn attachments_can_be_fetched_by_their_id() {
    let emu = spawn_auto().await;
    let token = emu.alice_token().await;
    let message = search(&emu, &token, "has:attachment").await.remove(0);
    let part = &message["payload"]["parts"][1];
    let attachment_id = part["body"]["attachmentId"].as_str().unwrap();

    let (status, body) = emu
        .get_json(
            &token,
            &format!(
                "/gmail/v1/users/me/messages/{}/attachments/{attachment_id}",
                message["id"].as_str().unwrap()
            ),
        )
        .await;

    assert_eq!(status, 200);
    assert!(!part["filename"].as_str().unwrap().is_empty());
    let data = URL_SAFE_NO_PAD
        .decode(body["data"].as_str().unwrap())
        .unwrap();
    assert_eq!(data.len() as u64, part["body"]["size"].as_u64().unwrap());
}
