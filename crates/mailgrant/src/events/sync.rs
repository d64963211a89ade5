//! One user's sync: the history since the cursor, turned into events and
//! committed with the new cursor in one transaction (Google's sync guide,
//! https://developers.google.com/gmail/api/guides/sync; reference §11
//! "History gaps").

use std::collections::HashMap;
use std::time::Duration;

use futures::TryStreamExt as _;
use serde_json::{Value, json};

use super::Events;
use crate::error::Error;
use crate::gmail::{GmailError, History, ListHistory, Message, MessageFormat};
use crate::store::{NewEvent, SyncCommit};

/// How long a sync may hold the user's lease before another replica may
/// take it (a sync that died).
const SYNC_LEASE: Duration = Duration::from_secs(60);

/// Passes one sync makes at most while pushes announce more.
const MAX_PASSES: usize = 5;

/// The headers `message.added` carries.
const HEADERS: [&str; 4] = ["From", "To", "Subject", "Date"];

impl Events {
    /// Syncs the user if no one else is syncing them, and again while a
    /// push announced more than the sync saw.
    pub(super) async fn sync_user(&self, user_id: &str) -> Result<(), Error> {
        let lease = format!("sync:{user_id}");
        let holder = &self.inner.config.holder;
        let mut before = None;
        for _ in 0..MAX_PASSES {
            let acquired = self
                .inner
                .leases
                .try_acquire(&lease, holder, self.now(), SYNC_LEASE.as_millis() as i64)
                .await?;
            if !acquired {
                // Another replica syncs them; it reads the pushed id after
                // releasing, so nothing recorded before now is missed.
                return Ok(());
            }
            let synced = self.sync_once(user_id).await;
            self.inner.leases.release(&lease, holder).await?;
            synced?;
            // A push recorded while we held the lease was not synced by the
            // replica that received it (it could not take the lease). Only
            // while the passes get somewhere: a pushed id Gmail never
            // reaches (a forged or replayed push) is left to the schedule.
            let Some(state) = self.inner.events.mailbox(user_id).await? else {
                return Ok(());
            };
            match (state.pushed_history_id, state.cursor) {
                (Some(pushed), Some(cursor)) if pushed > cursor && before != Some(cursor) => {
                    before = Some(cursor);
                }
                _ => return Ok(()),
            }
        }
        Ok(())
    }

    /// Reads the history from the cursor and commits what it found.
    async fn sync_once(&self, user_id: &str) -> Result<(), Error> {
        let Some(state) = self.inner.events.mailbox(user_id).await? else {
            // Disconnected meanwhile.
            return Ok(());
        };
        let mailbox = self.inner.config.gmail.user(user_id);
        let credential = self.inner.config.store.get(user_id).await?;
        let email = credential.and_then(|c| c.email);
        let (new_cursor, events) = match state.cursor {
            // The first sync starts the stream from now: no events for the
            // mail already there.
            None => (current_history_id(&mailbox).await?, Vec::new()),
            Some(cursor) => match self.changes_since(&mailbox, cursor, email.as_deref()).await {
                Err(Error::Gmail(GmailError::HistoryExpired { .. })) => {
                    // Gmail no longer keeps that history: start again from
                    // now and tell the backend to re-read, rather than
                    // sending thousands of `message.added`.
                    let now_id = current_history_id(&mailbox).await?;
                    tracing::info!(user = %user_id, expired = cursor, "history expired; mailbox resynced");
                    let data = json!({
                        "history_id": now_id.to_string(),
                        "expired_history_id": cursor.to_string(),
                    });
                    (now_id, vec![self.event("mailbox.resynced", &email, data)])
                }
                other => other?,
            },
        };
        let commit = SyncCommit {
            user_id,
            expected_cursor: state.cursor,
            new_cursor: new_cursor.max(state.cursor.unwrap_or(0)),
            events: &events,
            at: self.now(),
        };
        if self.inner.events.commit_sync(commit).await? && !events.is_empty() {
            for event in &events {
                self.inner.config.metrics.event_emitted(&event.kind);
            }
            self.inner.committed.notify_one();
        }
        Ok(())
    }

    /// The events of every history record after `cursor`, in order, and
    /// the history id they reach. Nothing is committed before all of the
    /// history is read, so an expired id still becomes a clean resync.
    async fn changes_since(
        &self,
        mailbox: &crate::gmail::Mailbox,
        cursor: u64,
        email: Option<&str>,
    ) -> Result<(u64, Vec<NewEvent>), Error> {
        let params = ListHistory {
            max_results: Some(500),
            ..ListHistory::since(cursor.to_string())
        };
        let mut pages = std::pin::pin!(mailbox.history_pages(params));
        let (mut reached, mut records) = (cursor, Vec::<History>::new());
        while let Some(page) = pages.try_next().await? {
            if let Some(id) = history_id(&page.history_id) {
                reached = reached.max(id);
            }
            records.extend(page.history);
        }
        let added: Vec<String> = records
            .iter()
            .flat_map(|r| &r.messages_added)
            .map(|a| a.message.id.clone())
            .collect();
        let mut fetched: HashMap<String, Message> = HashMap::new();
        if !added.is_empty() {
            let results = mailbox
                .get_messages(&added, MessageFormat::Metadata, &HEADERS)
                .await;
            for (id, result) in added.iter().zip(results) {
                match result {
                    Ok(message) => {
                        fetched.insert(id.clone(), message);
                    }
                    // Deleted since: its `message.deleted` is in the
                    // history, now or at the next sync.
                    Err(Error::Gmail(GmailError::Api { status: 404, .. })) => {}
                    Err(error) => return Err(error),
                }
            }
        }
        let email = email.map(str::to_owned);
        let mut events = Vec::new();
        for record in &records {
            for added in &record.messages_added {
                if let Some(message) = fetched.get(&added.message.id) {
                    events.push(self.event("message.added", &email, added_data(message)));
                }
            }
            let relabels = (record.labels_added.iter().map(|c| (c, true)))
                .chain(record.labels_removed.iter().map(|c| (c, false)));
            for (change, added) in relabels {
                let (added, removed) = if added {
                    (change.label_ids.clone(), Vec::new())
                } else {
                    (Vec::new(), change.label_ids.clone())
                };
                let data = json!({
                    "message_id": change.message.id,
                    "thread_id": change.message.thread_id,
                    "label_ids": change.message.label_ids,
                    "added": added,
                    "removed": removed,
                });
                events.push(self.event("labels.changed", &email, data));
            }
            for deleted in &record.messages_deleted {
                let data = json!({
                    "message_id": deleted.message.id,
                    "thread_id": deleted.message.thread_id,
                });
                events.push(self.event("message.deleted", &email, data));
            }
        }
        Ok((reached, events))
    }

    fn event(&self, kind: &str, email: &Option<String>, data: Value) -> NewEvent {
        NewEvent {
            kind: kind.to_owned(),
            email: email.clone(),
            occurred_at: self.now(),
            data: data.to_string(),
        }
    }
}

/// `message.added`'s data: ids, labels and the headers a backend shows.
fn added_data(message: &Message) -> Value {
    json!({
        "message_id": message.id,
        "thread_id": message.thread_id,
        "label_ids": message.label_ids,
        "from": message.header("From"),
        "to": message.header("To"),
        "subject": message.header("Subject"),
        "date": message.header("Date"),
        "snippet": message.snippet,
    })
}

/// A history id as Gmail sends it (a uint64 in a string).
pub(super) fn history_id(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// The profile's history id, where the stream starts (again).
async fn current_history_id(mailbox: &crate::gmail::Mailbox) -> Result<u64, Error> {
    let text = mailbox.profile().await?.history_id;
    history_id(&text).ok_or_else(|| {
        GmailError::malformed(format!("history id `{text}` is not a number"), b"").into()
    })
}
