//! A user's mailbox: messages (generated deterministically, imported from
//! an mbox, or added by a control), user labels and the history log.
//!
//! The same (email, count, anchor) always gives the same generated mailbox;
//! message ids depend only on the user and the message's index, so they are
//! also stable when the anchor (the moment the user was created) moves.

mod changes;
mod corpus;
mod generate;
mod history;
mod labels;
mod rng;

use std::sync::{Arc, Mutex};

use std::collections::HashMap;
use std::sync::OnceLock;

use sha2::{Digest as _, Sha256};

pub use changes::ModifyError;
use generate::{ThreadState, next_message};
pub use history::{ChangeKind, History, HistoryRecord};
pub use labels::{SYSTEM_LABELS, UserLabel, search_name, system_label};
use rng::SeededRng;

use crate::ids;
use crate::mime::{LayoutCell, Part};

/// How far back the oldest message goes.
const SPAN_MS: i64 = 3 * 365 * 24 * 3600 * 1000;
/// History ids of a fresh mailbox start here; Gmail's are opaque uint64s.
const FIRST_HISTORY_ID: u64 = 1000;

/// A name and address, written `Name <address>` in headers.
#[derive(Clone, Debug)]
pub struct Address {
    pub name: String,
    pub email: String,
}

impl Address {
    pub fn header(&self) -> String {
        if self.name.is_empty() {
            self.email.clone()
        } else {
            format!("{} <{}>", self.name, self.email)
        }
    }
}

/// A file attached to a message.
#[derive(Clone, Debug)]
pub struct Attachment {
    pub filename: String,
    pub mime_type: String,
    pub data: Vec<u8>,
}

/// An imported message as it arrived: its bytes (served as `format=raw`)
/// and its parsed part tree (served as `payload`).
#[derive(Debug)]
pub struct Source {
    pub raw: Vec<u8>,
    /// Shared with the message's layout, not copied into it.
    pub tree: Arc<Part>,
}

/// One message as the mailbox stores it. Generated and added messages are
/// laid out as MIME by `crate::mime`; imported ones keep their [`Source`].
/// The fields below are what search and snippets read in either case.
#[derive(Clone, Debug)]
pub struct Message {
    pub id: String,
    pub thread_id: String,
    /// Epoch milliseconds; Gmail orders lists by it, newest first.
    pub internal_date_ms: i64,
    pub history_id: u64,
    pub label_ids: Vec<String>,
    pub from: Address,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    pub subject: String,
    /// The `Date:` header, in the sender's zone.
    pub date_header: String,
    /// The `Message-ID:` header, angle brackets included.
    pub message_id_header: String,
    /// `Message-ID`s of earlier messages of the thread, oldest first.
    pub references: Vec<String>,
    pub text: String,
    pub html: Option<String>,
    pub attachments: Vec<Attachment>,
    pub source: Option<Arc<Source>>,
    /// The MIME layout, worked out on first use ([`crate::mime::layout`]).
    pub layout: LayoutCell,
}

impl Message {
    pub fn has_label(&self, label: &str) -> bool {
        self.label_ids.iter().any(|l| l == label)
    }

    pub fn in_spam_or_trash(&self) -> bool {
        self.has_label("SPAM") || self.has_label("TRASH")
    }

    /// "A short part of the message text" (discovery document): the first
    /// ~100 characters of the text, HTML-escaped as Gmail escapes snippets
    /// (an apostrophe comes back as `&#39;`).
    pub fn snippet(&self) -> String {
        let flat = self.text.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut cut: String = flat.chars().take(100).collect();
        if cut.len() < flat.len()
            && let Some(space) = cut.rfind(' ')
        {
            cut.truncate(space);
        }
        cut.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;")
    }
}

/// The last selection of a listing, by key, history id and message count.
/// A sync lists 10,000 messages in 20 pages; scanning the whole mailbox for
/// each page was most of what a page cost. The changes in `changes.rs`
/// drop it ([`Mailbox::moved`], [`Mailbox::relabelled`]); as every one of
/// them also logs history, the history id in the key is a second guard.
#[derive(Debug, Default)]
struct Selections(Mutex<Option<SelectionEntry>>);

type SelectionEntry = ((String, u64, usize), Arc<[usize]>);

impl Clone for Selections {
    fn clone(&self) -> Self {
        Self::default()
    }
}

/// A user's messages (newest first), labels and history.
#[derive(Clone, Debug)]
pub struct Mailbox {
    /// Newest first. Change it only through this module and `changes`, which
    /// reset `positions`.
    pub messages: Vec<Message>,
    /// Where each id sits in `messages`; built on first use after a change,
    /// so a get is not a scan of the mailbox (and an import of many messages
    /// is not a rebuild per message).
    positions: OnceLock<HashMap<String, usize>>,
    /// The last selection a listing without `q` made (see [`Selections`]).
    selections: Selections,
    /// User labels in creation order; system labels are fixed.
    pub labels: Vec<UserLabel>,
    pub history: History,
    /// Index of the next message id (see [`ids::message_id`]).
    next_index: usize,
}

impl Mailbox {
    /// Generates `count` messages for `owner` ending shortly before
    /// `anchor_ms`. The retained history starts at the newest message's
    /// `historyId`, so the sync guide's "historyId of the most recent
    /// message" is a valid `startHistoryId`; older ones are treated as past
    /// Gmail's retention (a week or so, reference §5 history.list).
    pub fn generate(owner: &Address, user_id: &str, count: usize, anchor_ms: i64) -> Self {
        let digest = Sha256::digest(owner.email.to_ascii_lowercase().as_bytes());
        let mut seed = [0u8; 8];
        seed.copy_from_slice(&digest[..8]);
        let mut rng = SeededRng::new(u64::from_be_bytes(seed));
        let times = timeline(&mut rng, count, anchor_ms);
        let mut threads: Vec<ThreadState> = Vec::new();
        let mut messages = Vec::with_capacity(count);
        for (index, &time) in times.iter().enumerate() {
            let id = ids::message_id(user_id, index);
            let recent = index * 10 >= count * 9;
            let message = next_message(&mut rng, owner, &mut threads, id, index, time, recent);
            messages.push(message);
        }
        messages.sort_by(|a, b| {
            b.internal_date_ms
                .cmp(&a.internal_date_ms)
                .then_with(|| b.id.cmp(&a.id))
        });
        // Laid out now, so that the first read of each message costs what
        // every later one does (a first sync is not slower than the next).
        for message in &messages {
            crate::mime::layout(message);
        }
        let newest = messages.iter().map(|m| m.history_id).max();
        let current = newest.unwrap_or(FIRST_HISTORY_ID) + 1;
        Self {
            messages,
            positions: OnceLock::new(),
            selections: Selections::default(),
            labels: labels::generated_labels(),
            history: History::new(current, newest.unwrap_or(current)),
            next_index: count,
        }
    }

    pub fn find(&self, id: &str) -> Option<&Message> {
        self.position(id).map(|index| &self.messages[index])
    }

    /// The index of message `id` in `messages`.
    pub fn position(&self, id: &str) -> Option<usize> {
        self.positions
            .get_or_init(|| {
                self.messages
                    .iter()
                    .enumerate()
                    .map(|(index, m)| (m.id.clone(), index))
                    .collect()
            })
            .get(id)
            .copied()
    }

    /// The positions in `messages` of those `select` keeps, computed once
    /// per `key` and state of the mailbox: the pages of one listing share
    /// them. `select` must depend only on the messages (no clock).
    pub fn selection(&self, key: String, select: impl Fn(&Message) -> bool) -> Arc<[usize]> {
        let key = (key, self.history.current(), self.messages.len());
        let mut last = self.selections.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((cached, positions)) = last.as_ref()
            && *cached == key
        {
            return positions.clone();
        }
        let positions: Arc<[usize]> = self
            .messages
            .iter()
            .enumerate()
            .filter(|(_, m)| select(m))
            .map(|(index, _)| index)
            .collect();
        *last = Some((key, positions.clone()));
        positions
    }

    /// `messages` changed order or length: positions are rebuilt on next use.
    fn moved(&mut self) {
        self.positions = OnceLock::new();
        self.relabelled();
    }

    /// A message's labels changed: selections are made again on next use.
    fn relabelled(&mut self) {
        self.selections = Selections::default();
    }

    /// The mailbox's current history id: at or past every message's.
    pub fn history_id(&self) -> u64 {
        self.history.current()
    }

    pub fn threads_total(&self) -> usize {
        let mut ids: Vec<&str> = self.messages.iter().map(|m| m.thread_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    }

    /// The messages of a thread, oldest first, as `threads.get` lists them.
    pub fn thread(&self, thread_id: &str) -> Vec<&Message> {
        let mut messages: Vec<&Message> = self
            .messages
            .iter()
            .filter(|m| m.thread_id == thread_id)
            .collect();
        messages.reverse();
        messages
    }

    pub fn user_label(&self, id: &str) -> Option<&UserLabel> {
        self.labels.iter().find(|l| l.id == id)
    }

    /// Whether `id` names a label of this mailbox, system or user.
    pub fn label_exists(&self, id: &str) -> bool {
        system_label(id).is_some() || self.user_label(id).is_some()
    }
}

/// Strictly increasing whole-second instants over the last [`SPAN_MS`],
/// with irregular gaps, the last a little before `anchor_ms`.
fn timeline(rng: &mut SeededRng, count: usize, anchor_ms: i64) -> Vec<i64> {
    let gaps: Vec<f64> = (0..=count).map(|_| 0.3 + 1.4 * rng.unit()).collect();
    let total: f64 = gaps.iter().sum();
    let start = anchor_ms - SPAN_MS;
    let mut elapsed = 0.0;
    gaps[..count]
        .iter()
        .map(|gap| {
            elapsed += gap;
            let ms = start + (SPAN_MS as f64 * elapsed / total) as i64;
            ms - ms.rem_euclid(1000)
        })
        .collect()
}

#[cfg(test)]
mod tests;
