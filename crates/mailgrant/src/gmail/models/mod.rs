//! Gmail v1 resources, field by field as in Google's discovery document
//! (`tests/data/gmail.v1.json`, revision 20261005; checked by
//! `tests/gmail_models.rs`). Fields Google may leave out are `Option`s or
//! default to empty, since Gmail omits empty lists (reference §5:
//! `messages` is absent on an empty `messages.list`).

mod history;
mod label;
mod message;

use serde::{Deserialize, Serialize};

pub use history::{History, HistoryLabelChange, HistoryList, HistoryMessageChange};
pub use label::{Label, LabelColor, LabelList};
pub use message::{Header, Message, MessagePart, MessagePartBody, decode_base64url};

/// `ListMessagesResponse`: one page of `users.messages.list`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageList {
    /// Absent (here: empty) when nothing matches.
    #[serde(default)]
    pub messages: Vec<MessageRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
    #[serde(default)]
    pub result_size_estimate: u32,
}

/// A `messages.list` item: "each message resource contains only an `id`
/// and a `threadId`" (discovery document).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageRef {
    pub id: String,
    pub thread_id: String,
}

/// `Thread`: from `threads.list` without `messages`; from `threads.get`
/// with them, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Thread {
    pub id: String,
    #[serde(default)]
    pub snippet: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<Message>,
}

/// `ListThreadsResponse`: one page of `users.threads.list`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadList {
    #[serde(default)]
    pub threads: Vec<Thread>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
    #[serde(default)]
    pub result_size_estimate: u32,
}

/// `Profile` of `users.getProfile`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub email_address: String,
    #[serde(default)]
    pub messages_total: u32,
    #[serde(default)]
    pub threads_total: u32,
    /// Where an incremental sync starts (`history.list` `startHistoryId`).
    #[serde(default)]
    pub history_id: String,
}

/// A page of a list method, for the streams that follow `nextPageToken`.
pub(crate) trait Page {
    fn next_page_token(&self) -> Option<&str>;
}

impl Page for MessageList {
    fn next_page_token(&self) -> Option<&str> {
        self.next_page_token.as_deref()
    }
}

impl Page for ThreadList {
    fn next_page_token(&self) -> Option<&str> {
        self.next_page_token.as_deref()
    }
}

impl Page for HistoryList {
    fn next_page_token(&self) -> Option<&str> {
        self.next_page_token.as_deref()
    }
}
