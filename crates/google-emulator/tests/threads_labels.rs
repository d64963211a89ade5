//! Gmail threads and labels over HTTP: list and get shapes.

mod common;

use std::collections::{BTreeSet, HashMap};

use common::*;
use serde_json::Value;

fn keys(value: &Value) -> BTreeSet<&str> {
    value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

fn header<'a>(message: &'a Value, name: &str) -> Option<&'a str> {
    message["payload"]["headers"]
        .as_array()?
        .iter()
        .find(|h| h["name"] == name)?["value"]
        .as_str()
}

/// The id of a thread of Alice's with at least three messages.
async fn long_thread(emu: &TestEmulator, token: &str) -> String {
    let (_, list) = emu
        .get_json(token, "/gmail/v1/users/me/messages?maxResults=500")
        .await;
    let mut sizes: HashMap<String, usize> = HashMap::new();
    for m in list["messages"].as_array().unwrap() {
        *sizes
            .entry(m["threadId"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    sizes
        .into_iter()
        .find(|(_, n)| *n >= 3)
        .map(|(id, _)| id)
        .expect("a thread of three")
}

#[tokio::test]
async fn threads_list_items_have_only_id_snippet_and_history_id() {
    let emu = spawn_auto().await;
    let token = emu.alice_token().await;

    let (status, body) = emu
        .get_json(&token, "/gmail/v1/users/me/threads?maxResults=500")
        .await;
    let (_, profile) = emu.get_json(&token, "/gmail/v1/users/me/profile").await;

    assert_eq!(status, 200);
    let threads = body["threads"].as_array().unwrap();
    assert_eq!(
        threads.len() as u64,
        profile["threadsTotal"].as_u64().unwrap()
    );
    assert_eq!(body["resultSizeEstimate"], threads.len());
    for thread in threads {
        assert_eq!(keys(thread), BTreeSet::from(["historyId", "id", "snippet"]));
        assert!(thread["historyId"].is_string());
    }
}

#[tokio::test]
async fn threads_list_pages_without_overlap_and_takes_q() {
    let emu = spawn_auto().await;
    let token = emu.alice_token().await;

    let (_, first) = emu
        .get_json(&token, "/gmail/v1/users/me/threads?maxResults=10")
        .await;
    let next = first["nextPageToken"].as_str().unwrap();
    let (_, second) = emu
        .get_json(
            &token,
            &format!("/gmail/v1/users/me/threads?maxResults=10&pageToken={next}"),
        )
        .await;
    let (_, none) = emu
        .get_json(&token, "/gmail/v1/users/me/threads?q=subject:zebracorn")
        .await;

    let ids = |b: &Value| -> BTreeSet<String> {
        b["threads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&first).len(), 10);
    assert!(ids(&first).is_disjoint(&ids(&second)));
    assert_eq!(none, serde_json::json!({"resultSizeEstimate": 0}));
}

#[tokio::test]
async fn thread_get_returns_its_messages_oldest_first_linked_by_reply_headers() {
    let emu = spawn_auto().await;
    let token = emu.alice_token().await;
    let id = long_thread(&emu, &token).await;

    let (status, thread) = emu
        .get_json(&token, &format!("/gmail/v1/users/me/threads/{id}"))
        .await;

    assert_eq!(status, 200);
    assert_eq!(thread["id"], id);
    assert!(thread["snippet"].is_string());
    let messages = thread["messages"].as_array().unwrap();
    assert!((3..=6).contains(&messages.len()));
    let dates: Vec<i64> = messages
        .iter()
        .map(|m| m["internalDate"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(dates.windows(2).all(|w| w[0] <= w[1]), "{dates:?}");
    for pair in messages.windows(2) {
        assert_eq!(pair[1]["threadId"], id);
        assert_eq!(
            header(&pair[1], "In-Reply-To"),
            header(&pair[0], "Message-ID")
        );
    }
    let newest = messages
        .iter()
        .map(|m| m["historyId"].as_str().unwrap().parse::<u64>().unwrap())
        .max()
        .unwrap();
    assert_eq!(thread["historyId"], newest.to_string());
}

#[tokio::test]
async fn thread_get_takes_minimal_and_metadata_but_not_raw() {
    let emu = spawn_auto().await;
    let token = emu.alice_token().await;
    let id = long_thread(&emu, &token).await;
    let path = format!("/gmail/v1/users/me/threads/{id}");

    let (_, minimal) = emu
        .get_json(&token, &format!("{path}?format=minimal"))
        .await;
    let (_, metadata) = emu
        .get_json(
            &token,
            &format!("{path}?format=metadata&metadataHeaders=Subject"),
        )
        .await;
    let (raw, error) = emu.get_json(&token, &format!("{path}?format=raw")).await;
    let (missing, _) = emu
        .get_json(&token, "/gmail/v1/users/me/threads/ffffffffffffffff")
        .await;

    assert!(minimal["messages"][0].get("payload").is_none());
    let headers = metadata["messages"][0]["payload"]["headers"]
        .as_array()
        .unwrap();
    assert_eq!(headers.len(), 1);
    assert_eq!(headers[0]["name"], "Subject");
    assert_eq!(raw, 400);
    assert_eq!(error["error"]["errors"][0]["reason"], "invalidArgument");
    assert_eq!(missing, 404);
}

#[tokio::test]
async fn labels_list_items_carry_only_the_summary_fields() {
    let emu = spawn_auto().await;
    let token = emu.alice_token().await;

    let (status, body) = emu.get_json(&token, "/gmail/v1/users/me/labels").await;

    assert_eq!(status, 200);
    let labels = body["labels"].as_array().unwrap();
    let allowed = BTreeSet::from([
        "id",
        "labelListVisibility",
        "messageListVisibility",
        "name",
        "type",
    ]);
    assert!(labels.iter().all(|l| keys(l).is_subset(&allowed)));
    let by_id = |id: &str| labels.iter().find(|l| l["id"] == id).unwrap().clone();
    assert_eq!(by_id("INBOX")["type"], "system");
    assert_eq!(by_id("INBOX")["name"], "INBOX");
    for id in [
        "SENT",
        "UNREAD",
        "STARRED",
        "IMPORTANT",
        "SPAM",
        "TRASH",
        "CATEGORY_FORUMS",
    ] {
        assert_eq!(by_id(id)["type"], "system");
    }
    let projects = by_id("Label_4");
    assert_eq!(projects["name"], "Work/Projects");
    assert_eq!(projects["type"], "user");
    assert_eq!(projects["messageListVisibility"], "show");
    assert_eq!(projects["labelListVisibility"], "labelShow");
}

#[tokio::test]
async fn labels_get_counts_messages_and_threads() {
    let emu = spawn_auto().await;
    let token = emu.alice_token().await;

    let (status, inbox) = emu
        .get_json(&token, "/gmail/v1/users/me/labels/INBOX")
        .await;
    let (_, listed) = emu
        .get_json(&token, "/gmail/v1/users/me/messages?labelIds=INBOX")
        .await;
    let (_, unread) = emu
        .get_json(
            &token,
            "/gmail/v1/users/me/messages?labelIds=INBOX&labelIds=UNREAD",
        )
        .await;

    assert_eq!(status, 200);
    assert_eq!(inbox["messagesTotal"], listed["resultSizeEstimate"]);
    assert_eq!(inbox["messagesUnread"], unread["resultSizeEstimate"]);
    let threads = inbox["threadsTotal"].as_u64().unwrap();
    assert!(0 < threads && threads <= inbox["messagesTotal"].as_u64().unwrap());
    assert!(inbox["threadsUnread"].as_u64().unwrap() <= threads);
    assert!(inbox.get("color").is_none());
}

#[tokio::test]
async fn labels_get_gives_user_labels_their_colour() {
    let emu = spawn_auto().await;
    let token = emu.alice_token().await;

    let (_, receipts) = emu
        .get_json(&token, "/gmail/v1/users/me/labels/Label_1")
        .await;
    let (missing, body) = emu
        .get_json(&token, "/gmail/v1/users/me/labels/Label_999")
        .await;

    assert_eq!(receipts["name"], "Receipts");
    assert_eq!(receipts["type"], "user");
    assert!(receipts["messagesTotal"].as_u64().unwrap() > 0);
    assert!(
        receipts["color"]["textColor"]
            .as_str()
            .unwrap()
            .starts_with('#')
    );
    assert!(
        receipts["color"]["backgroundColor"]
            .as_str()
            .unwrap()
            .starts_with('#')
    );
    assert_eq!(missing, 404);
    assert_eq!(body["error"]["errors"][0]["reason"], "notFound");
}

#[tokio::test]
async fn the_gmail_labels_scope_reads_labels_but_not_messages() {
    let emu = spawn_auto().await;
    let token = emu
        .token_with(
            "alice@example.com",
            "https://www.googleapis.com/auth/gmail.labels",
        )
        .await;

    let (labels, _) = emu.get_json(&token, "/gmail/v1/users/me/labels").await;
    let (messages, _) = emu.get_json(&token, "/gmail/v1/users/me/messages").await;

    assert_eq!((labels, messages), (200, 403));
}
