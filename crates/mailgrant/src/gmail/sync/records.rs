//! What a sync takes and gives: its options, the records it sends to a
//! [`SyncSink`], its progress, its report and its errors.

use std::convert::Infallible;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::gmail::{ListMessages, Message, MessageFormat};

/// What to sync, and in which shape.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncOptions {
    /// Gmail search operators selecting the messages (all when `None`).
    pub query: Option<String>,
    pub format: MessageFormat,
    /// Headers of [`MessageFormat::Metadata`] (all when empty).
    pub metadata_headers: Vec<String>,
    /// Also messages in SPAM and TRASH (`messages.list`'s `includeSpamTrash`).
    pub include_spam_trash: bool,
}

/// One line of a sync's output; as JSON `{"type":"message",…the message…}`,
/// `{"type":"deleted","id":…}` or `{"type":"unmatched","id":…}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum SyncRecord {
    /// The message as it is now: new, or its labels changed.
    Message(Box<Message>),
    /// The message was deleted for good.
    Deleted { id: String },
    /// The message's labels changed and it no longer matches the selection.
    Unmatched { id: String },
}

/// How far a sync is: `done` of about `total` messages. `total` is an
/// estimate that may grow while a full sync is still listing ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncProgress {
    pub done: u64,
    pub total: u64,
}

/// Where a sync's records go, in the order they are ready.
pub trait SyncSink {
    type Error;
    /// Takes one record; an error ends the sync (and no history id is
    /// returned, so the next sync repeats this one).
    fn record(&mut self, record: SyncRecord) -> Result<(), Self::Error>;
    /// Called after each message; for progress bars.
    fn progress(&mut self, _progress: SyncProgress) {}
}

impl SyncSink for Vec<SyncRecord> {
    type Error = Infallible;
    fn record(&mut self, record: SyncRecord) -> Result<(), Infallible> {
        self.push(record);
        Ok(())
    }
}

/// Which kind of sync ran.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyncKind {
    Full,
    Incremental,
    /// Asked for a partial sync from `expired_history_id`, which Gmail no
    /// longer keeps: every selected message was sent again. Drop what you
    /// hold that this sync did not send.
    FullAfterExpiry {
        expired_history_id: String,
    },
}

/// What a sync did, and where the next one starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncReport {
    pub kind: SyncKind,
    /// Store it: the next [`Mailbox::incremental_sync`](crate::gmail::Mailbox::incremental_sync) starts here.
    pub history_id: String,
    /// `message` records sent.
    pub messages: u64,
    /// `deleted` records sent.
    pub deleted: u64,
    /// `unmatched` records sent.
    pub unmatched: u64,
    /// Listed by a full sync but deleted before it was fetched (its
    /// deletion is in the history from `history_id`).
    pub vanished: u64,
    /// History records read (partial sync).
    pub history_records: u64,
}

impl SyncReport {
    pub(super) fn new(kind: SyncKind, history_id: String) -> Self {
        Self {
            kind,
            history_id,
            messages: 0,
            deleted: 0,
            unmatched: 0,
            vanished: 0,
            history_records: 0,
        }
    }
}

/// Why a sync stopped. No history id came out of it: sync again from the
/// same one.
#[derive(Debug, thiserror::Error)]
pub enum SyncError<E> {
    /// Boxed: [`Error`] is large, and every result of a sync carries it.
    #[error(transparent)]
    Gmail(Box<Error>),
    // The cause is in the message, so not also a `source`.
    #[error("the sync's output failed: {0}")]
    Sink(E),
}

impl<E> From<Error> for SyncError<E> {
    fn from(error: Error) -> Self {
        Self::Gmail(Box::new(error))
    }
}

impl SyncOptions {
    pub(super) fn query(&self) -> Option<&str> {
        self.query
            .as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())
    }

    pub(super) fn headers(&self) -> Vec<&str> {
        self.metadata_headers.iter().map(String::as_str).collect()
    }

    pub(super) fn list_params(&self) -> ListMessages {
        ListMessages {
            q: self.query().map(str::to_owned),
            include_spam_trash: self.include_spam_trash,
            max_results: Some(500),
            ..ListMessages::default()
        }
    }

    /// Whether labels (when known) keep a message in the selection as far
    /// as labels tell: `messages.list` leaves SPAM and TRASH out by default.
    pub(super) fn admits(&self, label_ids: Option<&[String]>) -> bool {
        self.include_spam_trash
            || label_ids.is_none_or(|l| !l.iter().any(|l| l == "SPAM" || l == "TRASH"))
    }
}
