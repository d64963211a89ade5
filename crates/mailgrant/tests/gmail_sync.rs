//! Mailbox sync (https://developers.google.com/gmail/api/guides/sync): a
//! full sync sends every message once; a partial sync from its history id
//! sends exactly what changed and fetches only those messages; an expired
//! history id turns into a full sync.

mod gmail_common;

use std::collections::HashSet;

use futures::TryStreamExt as _;
use gmail_common::*;
use mailgrant::gmail::{
    ListMessages, Mailbox, MessageFormat, SyncKind, SyncOptions, SyncProgress, SyncRecord,
    SyncReport, SyncSink,
};
use serde_json::{Value, json};

const EMAIL: &str = "sync@example.com";
/// Deleting a message for good needs this scope (discovery document,
/// `users.messages.delete`).
const MAIL_GOOGLE_COM: &str = "https://mail.google.com/";

/// Records and every progress report.
#[derive(Default)]
struct Collected {
    records: Vec<SyncRecord>,
    progress: Vec<SyncProgress>,
}

impl SyncSink for Collected {
    type Error = std::convert::Infallible;
    fn record(&mut self, record: SyncRecord) -> Result<(), Self::Error> {
        self.records.push(record);
        Ok(())
    }
    fn progress(&mut self, progress: SyncProgress) {
        self.progress.push(progress);
    }
}

impl Collected {
    fn message_ids(&self) -> Vec<String> {
        self.records
            .iter()
            .filter_map(|r| match r {
                SyncRecord::Message(m) => Some(m.id.clone()),
                _ => None,
            })
            .collect()
    }

    fn sorted(&self) -> Vec<Value> {
        let mut lines: Vec<Value> = self
            .records
            .iter()
            .map(|r| match r {
                SyncRecord::Message(m) => json!({"type": "message", "id": m.id}),
                other => serde_json::to_value(other).unwrap(),
            })
            .collect();
        lines.sort_by_key(ToString::to_string);
        lines
    }
}

fn metadata() -> SyncOptions {
    SyncOptions {
        format: MessageFormat::Metadata,
        metadata_headers: vec!["From".into(), "Subject".into()],
        ..SyncOptions::default()
    }
}

struct Synced {
    bench: Bench,
    user: String,
    mailbox: Mailbox,
    first: SyncReport,
}

/// A user with `messages` messages (and the scopes to change them), fully
/// synced once with `options`.
async fn synced(messages: usize, options: &SyncOptions) -> Synced {
    let bench = Bench::start(no_quota()).await;
    let user = bench
        .connect_with(EMAIL, messages, &[GMAIL_MODIFY, MAIL_GOOGLE_COM])
        .await;
    let mailbox = bench.gmail(unpaced()).user(&user);
    let first = mailbox.full_sync(options, &mut Vec::new()).await.unwrap();
    Synced {
        bench,
        user,
        mailbox,
        first,
    }
}

impl Synced {
    async fn gmail(&self, method: reqwest::Method, path: &str, body: Option<Value>) {
        let token = self.bench.access_token(&self.user).await;
        let url = format!("{}/gmail/v1/users/me/{path}", self.bench.base);
        let mut request = self.bench.http.request(method, url).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
    }

    async fn modify(&self, id: &str, body: Value) {
        let path = format!("messages/{id}/modify");
        self.gmail(reqwest::Method::POST, &path, Some(body)).await;
    }

    async fn delete(&self, id: &str) {
        let path = format!("messages/{id}");
        self.gmail(reqwest::Method::DELETE, &path, None).await;
    }

    async fn add_message(&self, subject: &str) -> String {
        let added = self
            .bench
            .control(
                &format!("/emulator/users/{EMAIL}/messages"),
                &json!({"subject": subject, "body": "Hello"}),
            )
            .await;
        added["id"].as_str().unwrap().to_owned()
    }

    async fn ids(&self, q: &str) -> Vec<String> {
        self.mailbox
            .message_refs(ListMessages {
                q: Some(q.to_owned()),
                ..ListMessages::default()
            })
            .map_ok(|m| m.id)
            .try_collect()
            .await
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_sync_sends_every_message_once_with_the_profiles_history_id() {
    let (bench, mailbox) = mailbox_of(EMAIL, 300).await;
    let history_id = mailbox.profile().await.unwrap().history_id;
    let listed: HashSet<String> = mailbox
        .message_refs(ListMessages::default())
        .map_ok(|m| m.id)
        .try_collect()
        .await
        .unwrap();
    let before = bench.counters().await;

    let mut out = Collected::default();
    let report = mailbox.full_sync(&metadata(), &mut out).await.unwrap();

    let ids = out.message_ids();
    assert_eq!(ids.len(), 300);
    assert_eq!(ids.iter().cloned().collect::<HashSet<_>>(), listed);
    let SyncRecord::Message(first) = &out.records[0] else {
        panic!("a message first")
    };
    let mut headers: Vec<&str> = first
        .payload
        .as_ref()
        .unwrap()
        .headers
        .iter()
        .map(|h| h.name.as_str())
        .collect();
    headers.sort_unstable();
    assert_eq!(headers, ["From", "Subject"]);
    assert_eq!(
        (report.kind, report.history_id, report.messages),
        (SyncKind::Full, history_id, 300)
    );
    assert_eq!(
        out.progress.last(),
        Some(&SyncProgress {
            done: 300,
            total: 300
        })
    );
    let after = bench.counters().await;
    let delta = |p: &str| count(&after, p) - count(&before, p);
    // getProfile, one page of 500 ids, 300 gets in batches of 50.
    assert_eq!(
        (
            delta("/gmail_calls"),
            delta("/batch_parts"),
            delta("/batch_requests")
        ),
        (302, 300, 6)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incremental_sync_sends_exactly_the_changes_and_fetches_only_those_messages() {
    let s = synced(300, &metadata()).await;
    let unstarred = s.ids("-is:starred").await;
    let (relabelled, deleted) = (unstarred[3].clone(), unstarred[7].clone());
    let added = [s.add_message("First").await, s.add_message("Second").await];
    s.modify(&relabelled, json!({"addLabelIds": ["STARRED"]}))
        .await;
    s.delete(&deleted).await;
    let before = s.bench.counters().await;

    let mut out = Collected::default();
    let report = s
        .mailbox
        .incremental_sync(&s.first.history_id, &metadata(), &mut out)
        .await
        .unwrap();

    let mut expected = vec![
        json!({"type": "message", "id": added[0]}),
        json!({"type": "message", "id": added[1]}),
        json!({"type": "message", "id": relabelled}),
        json!({"type": "deleted", "id": deleted}),
    ];
    expected.sort_by_key(ToString::to_string);
    assert_eq!(out.sorted(), expected);
    let starred = out.records.iter().find_map(|r| match r {
        SyncRecord::Message(m) if m.id == relabelled => Some(m),
        _ => None,
    });
    assert!(starred.unwrap().label_ids.contains(&"STARRED".to_owned()));
    assert_eq!(report.kind, SyncKind::Incremental);
    assert_eq!(
        (report.messages, report.deleted, report.history_records),
        (3, 1, 4)
    );
    let after = s.bench.counters().await;
    let delta = |p: &str| count(&after, p) - count(&before, p);
    // One history page and one batch of the three changed messages.
    assert_eq!(
        (
            delta("/gmail_calls"),
            delta("/batch_parts"),
            delta("/batch_requests")
        ),
        (4, 3, 1)
    );
    assert_eq!(
        report.history_id,
        s.mailbox.profile().await.unwrap().history_id
    );

    let mut again = Collected::default();
    let quiet = s
        .mailbox
        .incremental_sync(&report.history_id, &metadata(), &mut again)
        .await
        .unwrap();
    assert!(again.records.is_empty());
    assert_eq!(quiet.history_id, report.history_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_sync_with_a_query_sends_only_changes_gmail_says_match() {
    let options = SyncOptions {
        query: Some("is:starred".into()),
        ..metadata()
    };
    let s = synced(120, &options).await;
    let starred = s.ids("is:starred").await;
    let unstarred = s.ids("-is:starred").await;
    assert_eq!(s.first.messages, starred.len() as u64);
    s.modify(&unstarred[0], json!({"addLabelIds": ["STARRED"]}))
        .await;
    s.modify(&starred[0], json!({"removeLabelIds": ["STARRED"]}))
        .await;
    s.add_message("Not starred").await;

    let mut out = Collected::default();
    let report = s
        .mailbox
        .incremental_sync(&s.first.history_id, &options, &mut out)
        .await
        .unwrap();

    let mut expected = vec![
        json!({"type": "message", "id": unstarred[0]}),
        json!({"type": "unmatched", "id": starred[0]}),
    ];
    expected.sort_by_key(ToString::to_string);
    assert_eq!(out.sorted(), expected);
    assert_eq!((report.messages, report.unmatched), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_moved_to_trash_leaves_the_selection() {
    let s = synced(40, &metadata()).await;
    let inbox = s.ids("in:inbox").await;
    s.modify(&inbox[0], json!({"addLabelIds": ["TRASH"]})).await;

    let mut out = Collected::default();
    s.mailbox
        .incremental_sync(&s.first.history_id, &metadata(), &mut out)
        .await
        .unwrap();

    assert_eq!(
        out.records,
        [SyncRecord::Unmatched {
            id: inbox[0].clone()
        }]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_history_id_falls_back_to_a_full_sync() {
    let s = synced(60, &metadata()).await;
    s.add_message("After the first sync").await;
    s.bench
        .control(
            &format!("/emulator/users/{EMAIL}/history/expire"),
            &json!({}),
        )
        .await;

    let mut out = Collected::default();
    let report = s
        .mailbox
        .incremental_sync(&s.first.history_id, &metadata(), &mut out)
        .await
        .unwrap();

    assert_eq!(
        report.kind,
        SyncKind::FullAfterExpiry {
            expired_history_id: s.first.history_id.clone()
        }
    );
    assert_eq!((report.messages, out.message_ids().len()), (61, 61));
    assert_eq!(
        report.history_id,
        s.mailbox.profile().await.unwrap().history_id
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_are_json_lines_tagged_by_type() {
    let (_bench, mailbox) = mailbox_of(EMAIL, 1).await;
    let mut out = Vec::new();
    mailbox.full_sync(&metadata(), &mut out).await.unwrap();

    let line = serde_json::to_value(&out[0]).unwrap();
    assert_eq!(line["type"], "message");
    assert!(line["id"].is_string() && line["labelIds"].is_array());
    assert_eq!(
        serde_json::to_string(&SyncRecord::Deleted { id: "m1".into() }).unwrap(),
        r#"{"type":"deleted","id":"m1"}"#
    );
}
