//! What a sync learns as it goes: how far a full sync's listing is, and
//! what the history says about each message.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::error::Error;
use crate::gmail::{History, Message};

/// A full sync's listing, shared with its progress reports.
#[derive(Default)]
pub(super) struct Listing {
    listed: AtomicU64,
    estimate: AtomicU64,
    complete: AtomicBool,
    pub error: Mutex<Option<Error>>,
}

impl Listing {
    pub fn page(&self, fresh: usize, estimate: u32, last: bool) {
        self.listed.fetch_add(fresh as u64, Ordering::Relaxed);
        // Only the first page's estimate: later pages count what is left.
        let _ = self.estimate.compare_exchange(
            0,
            u64::from(estimate),
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        if last {
            self.complete.store(true, Ordering::Relaxed);
        }
    }

    pub fn total(&self) -> u64 {
        let listed = self.listed.load(Ordering::Relaxed);
        if self.complete.load(Ordering::Relaxed) {
            listed
        } else {
            listed.max(self.estimate.load(Ordering::Relaxed))
        }
    }
}

/// What the history says about each message, in order of first mention.
#[derive(Default)]
pub(super) struct Changes {
    pub history_id: String,
    pub records: u64,
    pub order: Vec<String>,
    pub by_id: HashMap<String, Change>,
}

#[derive(Default)]
pub(super) struct Change {
    pub relabelled: bool,
    pub deleted: bool,
    /// Its labels after the latest change, when the history says.
    pub label_ids: Option<Vec<String>>,
}

impl Changes {
    /// The typed lists only: Google recommends them over `messages`, which
    /// also holds changes of no interest here.
    pub fn apply(&mut self, record: &History) {
        self.records += 1;
        for added in &record.messages_added {
            self.change(&added.message).label_ids = Some(added.message.label_ids.clone());
        }
        for label in record.labels_added.iter().chain(&record.labels_removed) {
            let change = self.change(&label.message);
            change.relabelled = true;
            change.label_ids = Some(label.message.label_ids.clone());
        }
        for deleted in &record.messages_deleted {
            self.change(&deleted.message).deleted = true;
        }
    }

    fn change(&mut self, message: &Message) -> &mut Change {
        if !self.by_id.contains_key(&message.id) {
            self.order.push(message.id.clone());
        }
        self.by_id.entry(message.id.clone()).or_default()
    }
}
