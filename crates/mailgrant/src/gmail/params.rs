//! Parameters of the read methods, as the discovery document names them,
//! and the query strings they become.

use serde::{Deserialize, Serialize};

/// `format` of `users.messages.get` and `users.threads.get` (threads take
/// no `raw`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageFormat {
    /// "Returns only email message ID and labels" (live answers also carry
    /// threadId, snippet, historyId, internalDate, sizeEstimate).
    Minimal,
    /// IDs, labels and headers; `metadataHeaders` limits the headers.
    Metadata,
    /// The parsed `payload` (Google's default).
    #[default]
    Full,
    /// The whole message, base64url, in `raw`.
    Raw,
}

impl MessageFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Minimal => "minimal",
            Self::Metadata => "metadata",
            Self::Full => "full",
            Self::Raw => "raw",
        }
    }
}

/// Parameters of `users.messages.list` and `users.threads.list`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListMessages {
    /// Gmail search operators (not allowed with the `gmail.metadata` scope).
    pub q: Option<String>,
    /// Only messages with all of these label ids.
    pub label_ids: Vec<String>,
    /// Include SPAM and TRASH (Google's default: false).
    pub include_spam_trash: bool,
    /// 1 to 500; Google's default is 100.
    pub max_results: Option<u32>,
    pub page_token: Option<String>,
}

impl ListMessages {
    /// The query string, form-encoded, without the `?`.
    pub(crate) fn query(&self) -> String {
        encode(&self.pairs())
    }

    fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut query = Vec::new();
        if let Some(q) = self.q.as_deref().filter(|q| !q.is_empty()) {
            query.push(("q", q.to_owned()));
        }
        query.extend(self.label_ids.iter().map(|l| ("labelIds", l.clone())));
        if self.include_spam_trash {
            query.push(("includeSpamTrash", "true".to_owned()));
        }
        push_page(&mut query, self.max_results, self.page_token.as_deref());
        query
    }
}

/// A `historyTypes` value of `users.history.list`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum HistoryType {
    MessageAdded,
    MessageDeleted,
    LabelAdded,
    LabelRemoved,
}

impl HistoryType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MessageAdded => "messageAdded",
            Self::MessageDeleted => "messageDeleted",
            Self::LabelAdded => "labelAdded",
            Self::LabelRemoved => "labelRemoved",
        }
    }
}

/// Parameters of `users.history.list`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListHistory {
    /// Required: a `historyId` from a message, thread, profile or an
    /// earlier `history.list`.
    pub start_history_id: String,
    /// Only these kinds of change; empty means all.
    pub history_types: Vec<HistoryType>,
    /// Only changes to messages with this label.
    pub label_id: Option<String>,
    /// 1 to 500; Google's default is 100.
    pub max_results: Option<u32>,
    pub page_token: Option<String>,
}

impl ListHistory {
    /// From `start_history_id`, everything.
    pub fn since(start_history_id: impl Into<String>) -> Self {
        Self {
            start_history_id: start_history_id.into(),
            ..Self::default()
        }
    }

    /// The query string, form-encoded, without the `?`.
    pub(crate) fn query(&self) -> String {
        encode(&self.pairs())
    }

    fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut query = vec![("startHistoryId", self.start_history_id.clone())];
        query.extend(
            self.history_types
                .iter()
                .map(|t| ("historyTypes", t.as_str().to_owned())),
        );
        if let Some(label) = self.label_id.as_deref().filter(|l| !l.is_empty()) {
            query.push(("labelId", label.to_owned()));
        }
        push_page(&mut query, self.max_results, self.page_token.as_deref());
        query
    }
}

fn push_page(query: &mut Vec<(&'static str, String)>, max: Option<u32>, token: Option<&str>) {
    if let Some(max) = max {
        query.push(("maxResults", max.to_string()));
    }
    if let Some(token) = token.filter(|t| !t.is_empty()) {
        query.push(("pageToken", token.to_owned()));
    }
}

/// A query string (no `?`) of `pairs`, form-encoded as `Url::query_pairs_mut`
/// writes it.
fn encode(pairs: &[(&str, String)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// `format` and `metadataHeaders` of a get, as a query string.
pub(crate) fn format_query(format: MessageFormat, metadata_headers: &[&str]) -> String {
    let mut query = vec![("format", format.as_str().to_owned())];
    if format == MessageFormat::Metadata {
        query.extend(
            metadata_headers
                .iter()
                .map(|h| ("metadataHeaders", (*h).to_owned())),
        );
    }
    encode(&query)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_parameters_repeat_label_ids_and_skip_empty_values() {
        let params = ListMessages {
            q: Some(String::new()),
            label_ids: vec!["INBOX".into(), "UNREAD".into()],
            include_spam_trash: true,
            max_results: Some(500),
            page_token: Some(String::new()),
        };
        assert_eq!(
            params.query(),
            "labelIds=INBOX&labelIds=UNREAD&includeSpamTrash=true&maxResults=500"
        );
        let search = ListMessages {
            q: Some("from:a@b.c is:unread".into()),
            ..ListMessages::default()
        };
        assert_eq!(search.query(), "q=from%3Aa%40b.c+is%3Aunread");
    }
}
