//! messages.modify and messages.delete, the message control, and
//! history.list over HTTP.

mod common;

use common::*;
use serde_json::{Value, json};

const ALICE: &str = "alice@example.com";

async fn profile_history_id(emu: &TestEmulator, token: &str) -> u64 {
    let (_, profile) = emu.get_json(token, "/gmail/v1/users/me/profile").await;
    profile["historyId"].as_str().unwrap().parse().unwrap()
}

async fn newest_message_id(emu: &TestEmulator, token: &str) -> String {
    let (_, list) = emu
        .get_json(token, "/gmail/v1/users/me/messages?maxResults=1")
        .await;
    list["messages"][0]["id"].as_str().unwrap().to_owned()
}

async fn modify(emu: &TestEmulator, token: &str, id: &str, body: Value) -> (u16, Value) {
    emu.post_with(
        token,
        &format!("/gmail/v1/users/me/messages/{id}/modify"),
        &body,
    )
    .await
}

async fn history(emu: &TestEmulator, token: &str, query: &str) -> (u16, Value) {
    emu.get_json(token, &format!("/gmail/v1/users/me/history?{query}"))
        .await
}

fn records(body: &Value) -> Vec<Value> {
    body["history"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn modify_adds_and_removes_labels_and_answers_the_minimal_message() {
    let emu = spawn_auto().await;
    let token = emu.token_with(ALICE, GMAIL_MODIFY).await;
    let id = newest_message_id(&emu, &token).await;

    let (status, message) = modify(
        &emu,
        &token,
        &id,
        json!({"addLabelIds": ["STARRED", "Label_2"], "removeLabelIds": ["INBOX"]}),
    )
    .await;

    assert_eq!(status, 200, "{message}");
    assert_eq!(message["id"], id);
    assert!(message.get("payload").is_none());
    let labels = message["labelIds"].as_array().unwrap();
    assert!(labels.contains(&json!("STARRED")) && labels.contains(&json!("Label_2")));
    assert!(!labels.contains(&json!("INBOX")));
}

#[tokio::test]
async fn modify_needs_the_modify_scope() {
    let emu = spawn_auto().await;
    let token = emu.alice_token().await;
    let id = newest_message_id(&emu, &token).await;

    let (status, body) = modify(&emu, &token, &id, json!({"addLabelIds": ["STARRED"]})).await;

    assert_eq!(status, 403);
    assert_eq!(
        body["error"]["errors"][0]["reason"],
        "insufficientPermissions"
    );
}

#[tokio::test]
async fn modify_refuses_sent_draft_and_unknown_labels_and_unknown_messages() {
    let emu = spawn_auto().await;
    let token = emu.token_with(ALICE, GMAIL_MODIFY).await;
    let id = newest_message_id(&emu, &token).await;

    let (sent, body) = modify(&emu, &token, &id, json!({"addLabelIds": ["SENT"]})).await;
    let (draft, _) = modify(&emu, &token, &id, json!({"addLabelIds": ["DRAFT"]})).await;
    let (unknown, _) = modify(&emu, &token, &id, json!({"addLabelIds": ["Label_99"]})).await;
    let (missing, _) = modify(
        &emu,
        &token,
        "ffffffffffffffff",
        json!({"addLabelIds": ["STARRED"]}),
    )
    .await;

    assert_eq!((sent, draft, unknown, missing), (400, 400, 400, 404));
    assert_eq!(body["error"]["errors"][0]["reason"], "invalidArgument");
}

#[tokio::test]
async fn each_change_is_its_own_history_record_of_its_type() {
    let emu = spawn_auto().await;
    let token = emu.token_with(ALICE, MAIL_GOOGLE_COM).await;
    let start = profile_history_id(&emu, &token).await;
    let id = newest_message_id(&emu, &token).await;

    modify(
        &emu,
        &token,
        &id,
        json!({"addLabelIds": ["STARRED"], "removeLabelIds": ["INBOX"]}),
    )
    .await;
    let (_, added) = emu
        .post_json(
            "/emulator/users/alice@example.com/messages",
            &json!({"from": "Zed <zed@example.org>", "subject": "New", "body": "Hello"}),
        )
        .await;
    let deleted = emu
        .http
        .delete(emu.url(&format!("/gmail/v1/users/me/messages/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let (status, body) = history(&emu, &token, &format!("startHistoryId={start}")).await;

    assert_eq!(deleted.status(), 204);
    assert_eq!(status, 200);
    let records = records(&body);
    let types: Vec<&str> = records
        .iter()
        .map(|r| {
            [
                "labelsAdded",
                "labelsRemoved",
                "messagesAdded",
                "messagesDeleted",
            ]
            .into_iter()
            .find(|t| r.get(*t).is_some())
            .unwrap()
        })
        .collect();
    assert_eq!(
        types,
        [
            "labelsAdded",
            "labelsRemoved",
            "messagesAdded",
            "messagesDeleted"
        ]
    );
    let ids: Vec<u64> = records
        .iter()
        .map(|r| r["id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(ids[0] > start && ids.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(
        records[0]["messages"],
        json!([{"id": id, "threadId": records[0]["messages"][0]["threadId"]}])
    );
    assert_eq!(records[0]["labelsAdded"][0]["labelIds"], json!(["STARRED"]));
    assert_eq!(records[1]["labelsRemoved"][0]["labelIds"], json!(["INBOX"]));
    assert_eq!(records[2]["messagesAdded"][0]["message"]["id"], added["id"]);
    assert_eq!(records[2]["id"], added["historyId"]);
    assert_eq!(records[3]["messagesDeleted"][0]["message"]["id"], id);
    assert_eq!(
        body["historyId"],
        profile_history_id(&emu, &token).await.to_string()
    );
}

#[tokio::test]
async fn a_modified_message_and_its_thread_carry_the_new_history_id() {
    let emu = spawn_auto().await;
    let token = emu.token_with(ALICE, GMAIL_MODIFY).await;
    let id = newest_message_id(&emu, &token).await;

    let (_, message) = modify(&emu, &token, &id, json!({"addLabelIds": ["STARRED"]})).await;
    let (_, thread) = emu
        .get_json(
            &token,
            &format!(
                "/gmail/v1/users/me/threads/{}",
                message["threadId"].as_str().unwrap()
            ),
        )
        .await;

    let history_id: u64 = message["historyId"].as_str().unwrap().parse().unwrap();
    assert_eq!(history_id, profile_history_id(&emu, &token).await);
    assert_eq!(thread["historyId"], message["historyId"]);
}

#[tokio::test]
async fn history_types_and_label_id_select_records() {
    let emu = spawn_auto().await;
    let token = emu.token_with(ALICE, GMAIL_MODIFY).await;
    let start = profile_history_id(&emu, &token).await;
    let id = newest_message_id(&emu, &token).await;
    modify(&emu, &token, &id, json!({"addLabelIds": ["Label_3"]})).await;
    modify(&emu, &token, &id, json!({"removeLabelIds": ["Label_3"]})).await;
    modify(&emu, &token, &id, json!({"addLabelIds": ["STARRED"]})).await;

    let (_, removed) = history(
        &emu,
        &token,
        &format!("startHistoryId={start}&historyTypes=labelRemoved"),
    )
    .await;
    let (_, work) = history(
        &emu,
        &token,
        &format!("startHistoryId={start}&labelId=Label_3"),
    )
    .await;
    let (bad, _) = history(
        &emu,
        &token,
        &format!("startHistoryId={start}&historyTypes=nope"),
    )
    .await;

    assert_eq!(records(&removed).len(), 1);
    assert!(records(&removed)[0].get("labelsRemoved").is_some());
    assert_eq!(records(&work).len(), 2);
    assert_eq!(bad, 400);
}

#[tokio::test]
async fn history_pages_follow_next_page_token() {
    let emu = spawn_auto().await;
    let token = emu.token_with(ALICE, GMAIL_MODIFY).await;
    let start = profile_history_id(&emu, &token).await;
    let id = newest_message_id(&emu, &token).await;
    for _ in 0..4 {
        modify(&emu, &token, &id, json!({"addLabelIds": ["STARRED"]})).await;
        modify(&emu, &token, &id, json!({"removeLabelIds": ["STARRED"]})).await;
    }

    let mut ids: Vec<u64> = Vec::new();
    let mut sizes = Vec::new();
    let mut page = String::new();
    loop {
        let (status, body) = history(
            &emu,
            &token,
            &format!("startHistoryId={start}&maxResults=3{page}"),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        sizes.push(records(&body).len());
        ids.extend(
            records(&body)
                .iter()
                .map(|r| r["id"].as_str().unwrap().parse::<u64>().unwrap()),
        );
        match body["nextPageToken"].as_str() {
            Some(token) => page = format!("&pageToken={token}"),
            None => break,
        }
    }

    assert_eq!(sizes, [3, 3, 2]);
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
}

#[tokio::test]
async fn history_without_changes_is_only_the_history_id() {
    let emu = spawn_auto().await;
    let token = emu.alice_token().await;
    let current = profile_history_id(&emu, &token).await;

    let (status, body) = history(&emu, &token, &format!("startHistoryId={current}")).await;

    assert_eq!(status, 200);
    assert_eq!(body, json!({"historyId": current.to_string()}));
}

#[tokio::test]
async fn history_from_the_newest_messages_history_id_is_answered() {
    let emu = spawn_auto().await;
    let token = emu.alice_token().await;
    let id = newest_message_id(&emu, &token).await;
    let (_, message) = emu
        .get_json(
            &token,
            &format!("/gmail/v1/users/me/messages/{id}?format=minimal"),
        )
        .await;

    let (status, _) = history(
        &emu,
        &token,
        &format!("startHistoryId={}", message["historyId"].as_str().unwrap()),
    )
    .await;

    assert_eq!(status, 200);
}

#[tokio::test]
async fn history_without_start_history_id_is_invalid_argument() {
    let emu = spawn_auto().await;
    let token = emu.alice_token().await;

    let (status, body) = history(&emu, &token, "").await;

    assert_eq!(status, 400);
    assert_eq!(body["error"]["errors"][0]["reason"], "invalidArgument");
    assert_eq!(
        body["error"]["message"],
        "Missing/invalid parameter: startHistoryId"
    );
}

#[tokio::test]
async fn history_from_before_an_expiry_is_404_not_found() {
    let emu = spawn_auto().await;
    let token = emu.token_with(ALICE, GMAIL_MODIFY).await;
    let old = profile_history_id(&emu, &token).await;
    let id = newest_message_id(&emu, &token).await;
    modify(&emu, &token, &id, json!({"addLabelIds": ["STARRED"]})).await;

    let (expired, control) = emu
        .post_json(
            "/emulator/users/alice@example.com/history/expire",
            &json!({}),
        )
        .await;
    let (status, body) = history(&emu, &token, &format!("startHistoryId={old}")).await;
    let (current, _) = history(
        &emu,
        &token,
        &format!("startHistoryId={}", control["historyId"].as_str().unwrap()),
    )
    .await;

    assert_eq!(expired, 200);
    assert_eq!(status, 404);
    assert_eq!(body["error"]["errors"][0]["reason"], "notFound");
    assert_eq!(current, 200);
}

#[tokio::test]
async fn an_added_message_is_listed_first_with_the_returned_ids() {
    let emu = spawn_auto().await;
    let token = emu.alice_token().await;

    let (status, added) = emu
        .post_json(
            "/emulator/users/alice@example.com/messages",
            &json!({"from": "Zed <zed@example.org>", "to": "alice@example.com", "subject": "Fresh", "body": "Just arrived", "labelIds": ["INBOX", "UNREAD", "Label_1"]}),
        )
        .await;
    let (_, list) = emu
        .get_json(&token, "/gmail/v1/users/me/messages?maxResults=1")
        .await;
    let (_, message) = emu
        .get_json(
            &token,
            &format!(
                "/gmail/v1/users/me/messages/{}",
                added["id"].as_str().unwrap()
            ),
        )
        .await;
    let (bad_label, _) = emu
        .post_json(
            "/emulator/users/alice@example.com/messages",
            &json!({"labelIds": ["Label_99"]}),
        )
        .await;

    assert_eq!(status, 201, "{added}");
    assert_eq!(list["messages"][0]["id"], added["id"]);
    assert_eq!(list["messages"][0]["threadId"], added["threadId"]);
    assert_eq!(message["historyId"], added["historyId"]);
    assert_eq!(message["snippet"], "Just arrived");
    assert_eq!(
        added["historyId"].as_str().unwrap().parse::<u64>().unwrap(),
        profile_history_id(&emu, &token).await
    );
    assert_eq!(bad_label, 400);
}

/// The ids and estimate of `messages.list?labelIds=INBOX`, every page.
async fn inbox(emu: &TestEmulator, token: &str) -> (Vec<String>, u64) {
    let (mut ids, mut page) = (Vec::new(), String::new());
    loop {
        let (status, body) = emu
            .get_json(
                token,
                &format!("/gmail/v1/users/me/messages?labelIds=INBOX&maxResults=7{page}"),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let listed = body["messages"].as_array().cloned().unwrap_or_default();
        ids.extend(listed.iter().map(|m| m["id"].as_str().unwrap().to_owned()));
        match body["nextPageToken"].as_str() {
            Some(next) => page = format!("&pageToken={next}"),
            None => return (ids, body["resultSizeEstimate"].as_u64().unwrap()),
        }
    }
}

#[tokio::test]
async fn listings_show_archives_deletions_and_additions_made_between_them() {
    let emu = spawn_auto().await;
    let token = emu.token_with(ALICE, MAIL_GOOGLE_COM).await;
    let (before, estimate) = inbox(&emu, &token).await;
    let (archived, deleted) = (before[3].clone(), before[9].clone());

    modify(
        &emu,
        &token,
        &archived,
        json!({"removeLabelIds": ["INBOX"]}),
    )
    .await;
    let (after_archive, archive_estimate) = inbox(&emu, &token).await;
    let gone = emu
        .http
        .delete(emu.url(&format!("/gmail/v1/users/me/messages/{deleted}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let (after_delete, delete_estimate) = inbox(&emu, &token).await;
    let (_, added) = emu
        .post_json(
            "/emulator/users/alice@example.com/messages",
            &json!({"from": "Zed <zed@example.org>", "subject": "New", "body": "Hi", "labelIds": ["INBOX"]}),
        )
        .await;
    modify(&emu, &token, &archived, json!({"addLabelIds": ["INBOX"]})).await;
    let (after_add, add_estimate) = inbox(&emu, &token).await;

    assert_eq!(estimate as usize, before.len());
    assert!(before.len() > 10, "a few pages: {}", before.len());
    assert_eq!(archive_estimate, estimate - 1);
    assert!(!after_archive.contains(&archived));
    assert_eq!(gone.status(), 204);
    assert_eq!(delete_estimate, estimate - 2);
    assert!(!after_delete.contains(&deleted));
    assert_eq!(add_estimate, estimate);
    assert_eq!(after_add[0], added["id"].as_str().unwrap());
    assert!(after_add.contains(&archived));
    assert_eq!(after_add.len() as u64, add_estimate);
}
