//! The read methods of `users.*`, one call each (discovery document
//! `resources.users`; reference §5).

use super::exec::{Call, Route};
use super::params::format_query;
use super::quota::Method;
use super::{
    GmailError, HistoryList, Label, LabelList, ListHistory, ListMessages, Mailbox, Message,
    MessageFormat, MessageList, MessagePartBody, Profile, Thread, ThreadList,
};
use serde::Deserialize as _;

use crate::error::Error;

impl Mailbox {
    /// `users.getProfile` (1 unit).
    pub async fn profile(&self) -> Result<Profile, Error> {
        self.call(Call {
            method: Method::GetProfile,
            path: "profile".to_owned(),
            query: String::new(),
            body: None,
        })
        .await
    }

    /// `users.messages.list`: one page (5 units). See
    /// [`Mailbox::message_refs`] for every page.
    pub async fn list_messages(&self, params: &ListMessages) -> Result<MessageList, Error> {
        self.call(Call {
            method: Method::MessagesList,
            path: "messages".to_owned(),
            query: params.query(),
            body: None,
        })
        .await
    }

    /// `users.messages.get` (5 units); `metadata_headers` limits the
    /// headers of [`MessageFormat::Metadata`] (all when empty).
    pub async fn get_message(
        &self,
        id: &str,
        format: MessageFormat,
        metadata_headers: &[&str],
    ) -> Result<Message, Error> {
        let query = format_query(format, metadata_headers);
        self.call(message_call(id, &query)).await
    }

    /// `users.messages.attachments.get` (5 units): the body of a part that
    /// has an `attachmentId`; decode it with [`MessagePartBody::decoded`].
    pub async fn get_attachment(
        &self,
        message_id: &str,
        attachment_id: &str,
    ) -> Result<MessagePartBody, Error> {
        self.call(Call {
            method: Method::AttachmentsGet,
            path: format!(
                "messages/{}/attachments/{}",
                segment(message_id),
                segment(attachment_id)
            ),
            query: String::new(),
            body: None,
        })
        .await
    }

    /// `users.threads.list`: one page (10 units, unconfirmed), same
    /// parameters as `messages.list`.
    pub async fn list_threads(&self, params: &ListMessages) -> Result<ThreadList, Error> {
        self.call(Call {
            method: Method::ThreadsList,
            path: "threads".to_owned(),
            query: params.query(),
            body: None,
        })
        .await
    }

    /// `users.threads.get` (10 units, unconfirmed): every message of the
    /// thread in `format`. Google refuses [`MessageFormat::Raw`] here.
    pub async fn get_thread(
        &self,
        id: &str,
        format: MessageFormat,
        metadata_headers: &[&str],
    ) -> Result<Thread, Error> {
        self.call(Call {
            method: Method::ThreadsGet,
            path: format!("threads/{}", segment(id)),
            query: format_query(format, metadata_headers),
            body: None,
        })
        .await
    }

    /// `users.labels.list` (1 unit): system and user labels, without counts.
    pub async fn list_labels(&self) -> Result<Vec<Label>, Error> {
        let list: LabelList = self
            .call(Call {
                method: Method::LabelsList,
                path: "labels".to_owned(),
                query: String::new(),
                body: None,
            })
            .await?;
        Ok(list.labels)
    }

    /// `users.labels.get` (1 unit): one label with its counts.
    pub async fn get_label(&self, id: &str) -> Result<Label, Error> {
        self.call(Call {
            method: Method::LabelsGet,
            path: format!("labels/{}", segment(id)),
            query: String::new(),
            body: None,
        })
        .await
    }

    /// `users.history.list`: one page (2 units). A start id Google no
    /// longer keeps is [`GmailError::HistoryExpired`]: do a full sync.
    pub async fn list_history(&self, params: &ListHistory) -> Result<HistoryList, Error> {
        let call = Call {
            method: Method::HistoryList,
            path: "history".to_owned(),
            query: params.query(),
            body: None,
        };
        match self.call(call).await {
            // "Supplying an invalid or out of date startHistoryId typically
            // returns an HTTP 404" (discovery document).
            Err(Error::Gmail(GmailError::Api { status: 404, .. })) => {
                Err(GmailError::HistoryExpired {
                    start_history_id: params.start_history_id.clone(),
                }
                .into())
            }
            other => other,
        }
    }
}

/// `messages.get` of `id`; `query` is the encoded [`format_query`].
pub(super) fn message_call(id: &str, query: &str) -> Call {
    Call {
        method: Method::MessagesGet,
        path: format!("messages/{}", segment(id)),
        query: query.to_owned(),
        body: None,
    }
}

/// A path segment, percent-encoded (ids are URL-safe at Google, but a
/// caller's string must not change the path).
fn segment(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes()).collect()
}

/// `users.watch`'s request: where Gmail publishes the mailbox's changes.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WatchRequest {
    /// `projects/P/topics/T`; Gmail's push account must be allowed to publish.
    pub topic_name: String,
    /// Only changes to messages with (or without) these labels; all when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub label_ids: Vec<String>,
    /// `include` or `exclude` (Google's default: include).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_filter_behavior: Option<String>,
}

/// `users.watch`'s answer: the mailbox's history id now, and when the
/// watch lapses unless renewed (Unix milliseconds).
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WatchResponse {
    /// A uint64 sent as a string.
    pub history_id: String,
    /// An int64 sent as a string (discovery document: `format: int64`).
    #[serde(deserialize_with = "int64")]
    pub expiration: i64,
}

impl Mailbox {
    /// `users.watch` (100 units): Gmail publishes each change of the
    /// mailbox to `request.topic_name` until the answer's `expiration`
    /// (7 days); calling it again replaces the watch (reference §11).
    pub async fn watch(&self, request: &WatchRequest) -> Result<WatchResponse, Error> {
        let body = serde_json::to_string(request).expect("a WatchRequest serializes");
        self.call(Call {
            method: Method::Watch,
            path: "watch".to_owned(),
            query: String::new(),
            body: Some(body),
        })
        .await
    }

    /// `users.stop` (50 units): no more pushes for this mailbox. Google
    /// answers 204 with no body.
    pub async fn stop_watch(&self) -> Result<(), Error> {
        let call = Call {
            method: Method::Stop,
            path: "stop".to_owned(),
            query: String::new(),
            body: Some(String::new()),
        };
        match self
            .run(std::slice::from_ref(&call), Route::Direct)
            .await
            .pop()
        {
            Some(Ok(_)) => Ok(()),
            Some(Err(error)) => Err(error),
            None => Err(GmailError::malformed("no answer to users.stop", b"").into()),
        }
    }
}

/// An int64 as Google sends it: a string (or, leniently, a number).
fn int64<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Int64 {
        Text(String),
        Number(i64),
    }
    match Int64::deserialize(deserializer)? {
        Int64::Number(n) => Ok(n),
        Int64::Text(text) => text.parse().map_err(serde::de::Error::custom),
    }
}
