//! Importing the Takeout-style `tests/data/takeout.mbox` over HTTP and
//! through `Emulator::import_mbox`, then reading it back through Gmail.

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use common::*;
use google_emulator::ImportError;
use serde_json::{Value, json};

const TAKEOUT: &str = include_str!("data/takeout.mbox");
const DANA: &str = "dana@example.com";
/// X-GM-THRID 1771234567890123456 in hex.
const LISBON_THREAD: &str = "1894b07480fbbac0";

/// An emulator where Dana (no generated mail) has imported the file; with
/// a token of hers.
async fn imported() -> (TestEmulator, String) {
    let emu = spawn_auto().await;
    emu.add_user(DANA, 0).await;
    let response = emu
        .http
        .post(emu.url("/emulator/users/dana@example.com/mbox"))
        .body(TAKEOUT)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"imported": 7}));
    let token = emu.token_with(DANA, GMAIL_READONLY).await;
    (emu, token)
}

async fn list(emu: &TestEmulator, token: &str, query: &str) -> Vec<String> {
    let (status, body) = emu
        .get_json(token, &format!("/gmail/v1/users/me/messages?{query}"))
        .await;
    assert_eq!(status, 200, "{body}");
    body["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn message(emu: &TestEmulator, token: &str, id: &str, format: &str) -> Value {
    let (status, body) = emu
        .get_json(
            token,
            &format!("/gmail/v1/users/me/messages/{id}?format={format}"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
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

fn labels(message: &Value) -> Vec<&str> {
    message["labelIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn spam_and_trash_imports_are_listed_only_on_request() {
    let (emu, token) = imported().await;

    let default = list(&emu, &token, "").await;
    let everything = list(&emu, &token, "includeSpamTrash=true").await;

    assert_eq!(default.len(), 5);
    assert_eq!(everything.len(), 7);
}

#[tokio::test]
async fn takeout_thread_ids_become_lowercase_hex_thread_ids() {
    let (emu, token) = imported().await;

    let (status, thread) = emu
        .get_json(
            &token,
            &format!("/gmail/v1/users/me/threads/{LISBON_THREAD}"),
        )
        .await;

    assert_eq!(status, 200);
    let messages = thread["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 3);
    assert_eq!(messages[0]["internalDate"], "1709720100000");
    assert_eq!(messages[1]["internalDate"], "1709722890000");
    assert_eq!(
        header(&messages[2], "In-Reply-To"),
        "<lisbon-2@mail.example.com>"
    );
}

#[tokio::test]
async fn takeout_labels_become_system_and_user_labels() {
    let (emu, token) = imported().await;
    let (_, thread) = emu
        .get_json(
            &token,
            &format!("/gmail/v1/users/me/threads/{LISBON_THREAD}"),
        )
        .await;
    let (_, all_labels) = emu.get_json(&token, "/gmail/v1/users/me/labels").await;
    let user_label = |name: &str| {
        all_labels["labels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["name"] == name)
            .map(|l| l["id"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("no label {name}"))
    };
    let travel = user_label("Travel/2024");
    user_label("Family, misc");

    let first = labels(&thread["messages"][0]);
    let reply = labels(&thread["messages"][1]);
    let last = labels(&thread["messages"][2]);
    assert!(
        ["INBOX", "IMPORTANT", "CATEGORY_PERSONAL"]
            .iter()
            .all(|l| first.contains(l))
    );
    assert!(first.contains(&travel.as_str()) && !first.contains(&"UNREAD"));
    assert!(reply.contains(&"SENT") && !reply.contains(&"INBOX"));
    assert!(last.contains(&"UNREAD"));
    let receipts = list(
        &emu,
        &token,
        &format!("labelIds={}", user_label("Receipts")),
    )
    .await;
    let archived = list(&emu, &token, "q=category:promotions -in:inbox").await;
    assert_eq!((receipts.len(), archived.len()), (1, 1));
    assert_eq!(list(&emu, &token, "q=label:travel-2024").await.len(), 3);
}

#[tokio::test]
async fn an_imported_attachment_is_served_by_its_attachment_id() {
    let (emu, token) = imported().await;
    let id = list(&emu, &token, "q=filename:pdf").await.remove(0);
    let full = message(&emu, &token, &id, "full").await;
    let part = &full["payload"]["parts"][1];

    let (status, body) = emu
        .get_json(
            &token,
            &format!(
                "/gmail/v1/users/me/messages/{id}/attachments/{}",
                part["body"]["attachmentId"].as_str().unwrap()
            ),
        )
        .await;

    assert_eq!(full["payload"]["mimeType"], "multipart/mixed");
    assert_eq!(part["filename"], "invoice-0042.pdf");
    assert_eq!(part["mimeType"], "application/pdf");
    assert!(part["body"].get("data").is_none());
    assert_eq!(status, 200);
    let data = URL_SAFE_NO_PAD
        .decode(body["data"].as_str().unwrap())
        .unwrap();
    assert_eq!(data, b"%PDF-1.4\n% Invoice 0042 for Dana Example\n%%EOF\n");
    assert_eq!(part["body"]["size"], data.len());
}

/// The second message of the file as stored: between its `From ` line
/// and the empty line before the next, one `>` taken off quoted lines.
fn second_message_of_the_file() -> String {
    let starts: Vec<usize> = TAKEOUT
        .match_indices("\nFrom 17")
        .map(|(i, _)| i + 1)
        .collect();
    let body_start = starts[0] + TAKEOUT[starts[0]..].find('\n').unwrap() + 1;
    let text = &TAKEOUT[body_start..starts[1] - 1];
    text.replace("\n>From ", "\nFrom ")
        .replace("\n>>From ", "\n>From ")
}

#[tokio::test]
async fn raw_gives_back_the_imported_bytes_with_from_lines_unquoted() {
    let (emu, token) = imported().await;
    let id = list(&emu, &token, "q=in:sent").await.remove(0);

    let raw = message(&emu, &token, &id, "raw").await;

    let bytes = URL_SAFE.decode(raw["raw"].as_str().unwrap()).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert_eq!(text, second_message_of_the_file());
    assert!(text.contains("\nFrom the airport we can take the metro.\n>From my notes"));
    assert_eq!(raw["sizeEstimate"], text.len());
}

#[tokio::test]
async fn folded_encoded_headers_and_html_parts_are_parsed() {
    let (emu, token) = imported().await;
    let (_, thread) = emu
        .get_json(
            &token,
            &format!("/gmail/v1/users/me/threads/{LISBON_THREAD}"),
        )
        .await;
    let newsletter_id = list(&emu, &token, "q=category:promotions").await.remove(0);
    let newsletter = message(&emu, &token, &newsletter_id, "full").await;

    assert_eq!(
        header(&thread["messages"][0], "Subject"),
        "Trip to Lisbon: flights, hotel and the long list of things we still need to book"
    );
    let alternative = &thread["messages"][2]["payload"];
    assert_eq!(alternative["mimeType"], "multipart/alternative");
    assert_eq!(alternative["parts"][1]["mimeType"], "text/html");
    assert_eq!(alternative["parts"][1]["partId"], "1");
    assert_eq!(
        header(&newsletter, "Subject"),
        "Holiday reading \u{2013} ten percent off"
    );
    assert_eq!(newsletter["payload"]["mimeType"], "text/html");
    let snippet = newsletter["snippet"].as_str().unwrap();
    assert!(
        snippet.starts_with("Twelve new titles for the holidays"),
        "{snippet}"
    );
}

#[tokio::test]
async fn each_imported_message_is_a_message_added_history_record() {
    let emu = spawn_auto().await;
    emu.add_user(DANA, 0).await;
    let token = emu.token_with(DANA, GMAIL_READONLY).await;
    let (_, profile) = emu.get_json(&token, "/gmail/v1/users/me/profile").await;

    let imported = emu.emulator.import_mbox(DANA, TAKEOUT.as_bytes()).unwrap();
    let (_, history) = emu
        .get_json(
            &token,
            &format!(
                "/gmail/v1/users/me/history?startHistoryId={}",
                profile["historyId"].as_str().unwrap()
            ),
        )
        .await;

    assert_eq!(imported, 7);
    let records = history["history"].as_array().unwrap();
    assert_eq!(records.len(), 7);
    assert!(records.iter().all(|r| r.get("messagesAdded").is_some()));
}

#[tokio::test]
async fn import_needs_an_existing_user_and_an_mbox() {
    let emu = spawn_auto().await;

    let unknown = emu
        .emulator
        .import_mbox("nobody@example.com", TAKEOUT.as_bytes());
    let not_mbox = emu
        .emulator
        .import_mbox("alice@example.com", b"Subject: hi\n\nno From line\n");
    let over_http = emu
        .http
        .post(emu.url("/emulator/users/nobody@example.com/mbox"))
        .body(TAKEOUT)
        .send()
        .await
        .unwrap()
        .status();

    assert!(matches!(unknown, Err(ImportError::UnknownUser(_))));
    assert!(matches!(not_mbox, Err(ImportError::NotMbox)));
    assert_eq!(over_http, 404);
}
