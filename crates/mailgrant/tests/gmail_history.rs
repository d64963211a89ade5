//! Incremental sync with `history.list`
//! (https://developers.google.com/gmail/api/guides/sync): from the
//! profile's `historyId`, exactly the changes made since; from an id Gmail
//! no longer keeps, `HistoryExpired`.

mod gmail_common;

use futures::TryStreamExt as _;
use gmail_common::*;
use mailgrant::Error;
use mailgrant::gmail::{
    GmailError, HistoryType, ListHistory, ListMessages, Mailbox, MessageFormat,
};
use serde_json::{Value, json};

struct Synced {
    bench: Bench,
    mailbox: Mailbox,
    start: String,
    starred: String,
    archived: String,
    added: String,
}

/// A user (with gmail.modify) whose mailbox changes three times after
/// `start`: a star added, INBOX removed, a new message.
async fn three_changes() -> Synced {
    let bench = Bench::start(no_quota()).await;
    let user = bench
        .connect_with("sync@example.com", 40, &[GMAIL_MODIFY])
        .await;
    let mailbox = bench.gmail(unpaced()).user(&user);
    let start = mailbox.profile().await.unwrap().history_id;
    let inbox: Vec<String> = mailbox
        .message_refs(ListMessages {
            label_ids: vec!["INBOX".into()],
            ..ListMessages::default()
        })
        .map_ok(|m| m.id)
        .try_collect()
        .await
        .unwrap();
    let messages = mailbox
        .get_messages(&inbox, MessageFormat::Minimal, &[])
        .await;
    let unstarred = messages
        .iter()
        .map(|m| m.as_ref().unwrap())
        .find(|m| !m.label_ids.iter().any(|l| l == "STARRED"))
        .unwrap()
        .id
        .clone();
    let archived = inbox.iter().find(|id| **id != unstarred).unwrap().clone();
    modify(
        &bench,
        &user,
        &unstarred,
        json!({"addLabelIds": ["STARRED"]}),
    )
    .await;
    modify(
        &bench,
        &user,
        &archived,
        json!({"removeLabelIds": ["INBOX"]}),
    )
    .await;
    let new = bench
        .control(
            "/emulator/users/sync@example.com/messages",
            &json!({"subject": "Fresh news", "body": "Hello"}),
        )
        .await;
    Synced {
        bench,
        mailbox,
        start,
        starred: unstarred,
        archived,
        added: new["id"].as_str().unwrap().to_owned(),
    }
}

/// `users.messages.modify` as the user, with their token.
async fn modify(bench: &Bench, user: &str, id: &str, body: Value) {
    let token = bench.access_token(user).await;
    let response = bench
        .http
        .post(format!(
            "{}/gmail/v1/users/me/messages/{id}/modify",
            bench.base
        ))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_from_the_profiles_id_lists_exactly_the_changes_since() {
    let s = three_changes().await;

    let pages: Vec<_> = s
        .mailbox
        .history_pages(ListHistory::since(&s.start))
        .try_collect()
        .await
        .unwrap();
    let records: Vec<_> = pages.iter().flat_map(|p| p.history.clone()).collect();

    assert_eq!(records.len(), 3, "{records:#?}");
    let ids: Vec<u64> = records.iter().map(|r| r.id.parse().unwrap()).collect();
    assert!(s.start.parse::<u64>().unwrap() < ids[0] && ids[0] < ids[1] && ids[1] < ids[2]);
    let starred = &records[0].labels_added[0];
    assert_eq!(
        (starred.message.id.as_str(), starred.label_ids.as_slice()),
        (s.starred.as_str(), &["STARRED".to_owned()][..])
    );
    assert!(starred.message.label_ids.contains(&"STARRED".to_owned()));
    let archived = &records[1].labels_removed[0];
    assert_eq!(
        (archived.message.id.as_str(), archived.label_ids.as_slice()),
        (s.archived.as_str(), &["INBOX".to_owned()][..])
    );
    assert_eq!(records[2].messages_added[0].message.id, s.added);
    assert!(records.iter().all(|r| r.messages.len() == 1));
    let latest = s.mailbox.profile().await.unwrap().history_id;
    assert_eq!(pages.last().unwrap().history_id, latest);
    let after = s
        .mailbox
        .list_history(&ListHistory::since(&latest))
        .await
        .unwrap();
    assert!(after.history.is_empty() && after.next_page_token.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_pages_and_filters_select_the_same_records() {
    let s = three_changes().await;

    let one_by_one: Vec<_> = s
        .mailbox
        .history_pages(ListHistory {
            max_results: Some(1),
            ..ListHistory::since(&s.start)
        })
        .try_collect()
        .await
        .unwrap();
    let labels_only: Vec<_> = s
        .mailbox
        .history(ListHistory {
            history_types: vec![HistoryType::LabelAdded, HistoryType::LabelRemoved],
            ..ListHistory::since(&s.start)
        })
        .try_collect()
        .await
        .unwrap();
    let starred_only: Vec<_> = s
        .mailbox
        .history(ListHistory {
            label_id: Some("STARRED".into()),
            ..ListHistory::since(&s.start)
        })
        .try_collect()
        .await
        .unwrap();

    assert_eq!(one_by_one.len(), 3);
    assert!(one_by_one.iter().all(|p| p.history.len() == 1));
    assert_eq!(labels_only.len(), 2);
    assert!(labels_only.iter().all(|r| r.messages_added.is_empty()));
    assert_eq!(starred_only.len(), 1);
    assert_eq!(starred_only[0].labels_added[0].message.id, s.starred);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_id_gmail_no_longer_keeps_is_history_expired() {
    let s = three_changes().await;
    s.bench
        .control(
            "/emulator/users/sync@example.com/history/expire",
            &json!({}),
        )
        .await;

    let page = s.mailbox.list_history(&ListHistory::since(&s.start)).await;
    let streamed: Result<Vec<_>, _> = s
        .mailbox
        .history(ListHistory::since(&s.start))
        .try_collect()
        .await;

    assert!(
        matches!(
            page,
            Err(Error::Gmail(GmailError::HistoryExpired { ref start_history_id })) if *start_history_id == s.start
        ),
        "{page:?}"
    );
    assert!(matches!(
        streamed,
        Err(Error::Gmail(GmailError::HistoryExpired { .. }))
    ));
    let fresh = s.mailbox.profile().await.unwrap().history_id;
    assert!(
        s.mailbox
            .list_history(&ListHistory::since(fresh))
            .await
            .is_ok()
    );
}
