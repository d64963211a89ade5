//! A deterministic generated mailbox for each user: messages spread over the
//! last three years, grouped into threads, with Gmail's system labels.
//!
//! The same (email, count, anchor) always gives the same mailbox; message
//! ids depend only on the user and the message's index, so they are also
//! stable when the anchor (the moment the user was created) moves.

mod corpus;
mod date;
mod generate;
mod rng;

use sha2::{Digest as _, Sha256};

use crate::ids;
use generate::{ThreadState, next_message};
use rng::SeededRng;

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
        format!("{} <{}>", self.name, self.email)
    }
}

/// A file attached to a message.
#[derive(Clone, Debug)]
pub struct Attachment {
    pub filename: String,
    pub mime_type: String,
    pub data: Vec<u8>,
}

/// One message as the mailbox stores it; `crate::mime` lays it out as MIME.
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
    pub subject: String,
    /// The `Date:` header, in the sender's zone.
    pub date_header: String,
    /// The `Message-ID:` header, angle brackets included.
    pub message_id_header: String,
    /// `Message-ID`s of earlier messages of the thread, oldest first.
    pub references: Vec<String>,
    pub text: String,
    pub html: Option<String>,
    pub attachment: Option<Attachment>,
}

impl Message {
    pub fn has_label(&self, label: &str) -> bool {
        self.label_ids.iter().any(|l| l == label)
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

/// A user's messages, newest first.
#[derive(Clone, Debug, Default)]
pub struct Mailbox {
    pub messages: Vec<Message>,
}

impl Mailbox {
    /// Generates `count` messages for `owner` ending shortly before
    /// `anchor_ms`.
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
        Self { messages }
    }

    pub fn find(&self, id: &str) -> Option<&Message> {
        self.messages.iter().find(|m| m.id == id)
    }

    /// The mailbox's current history id: past every message's.
    pub fn history_id(&self) -> u64 {
        self.messages
            .iter()
            .map(|m| m.history_id)
            .max()
            .unwrap_or(FIRST_HISTORY_ID)
            + 1
    }

    pub fn threads_total(&self) -> usize {
        let mut ids: Vec<&str> = self.messages.iter().map(|m| m.thread_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
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
