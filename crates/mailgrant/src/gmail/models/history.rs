//! `History` records and `ListHistoryResponse` of `users.history.list`
//! (discovery document; https://developers.google.com/gmail/api/guides/sync).

use serde::{Deserialize, Serialize};

use super::Message;

/// One history record: the changes with this id. Messages in it carry
/// "typically only" `id` and `threadId` (discovery document), plus labels
/// in the typed lists.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct History {
    /// A uint64 sent as a string; records come in increasing order.
    pub id: String,
    /// Every message this record concerns, whatever the change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<Message>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages_added: Vec<HistoryMessageChange>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages_deleted: Vec<HistoryMessageChange>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels_added: Vec<HistoryLabelChange>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels_removed: Vec<HistoryLabelChange>,
}

/// `HistoryMessageAdded` / `HistoryMessageDeleted`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryMessageChange {
    pub message: Message,
}

/// `HistoryLabelAdded` / `HistoryLabelRemoved`: the labels that changed
/// and the message (with its labels after the change).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryLabelChange {
    pub message: Message,
    #[serde(default)]
    pub label_ids: Vec<String>,
}

/// `ListHistoryResponse`: one page. With no changes only `historyId` is
/// sent (reference §5 history.list). After the last page, store
/// `history_id` for the next sync.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryList {
    #[serde(default)]
    pub history: Vec<History>,
    #[serde(default)]
    pub history_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}
