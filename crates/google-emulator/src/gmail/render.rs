//! A stored message as the Gmail `Message` resource, in each `format` of
//! `messages.get` (discovery document: Message, MessagePart,
//! MessagePartBody, MessagePartHeader).
//!
//! Encodings follow recorded responses: `raw` is padded base64url
//! (gh:openclaw/gogcli#922), part `data` is base64url without padding
//! (gh:googleapis/google-api-python-client#1945, gh:googleworkspace/cli#774).

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::mailbox::Message;
use crate::mime::{self, Layout, Part};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Minimal,
    Metadata,
    Full,
    Raw,
}

impl Format {
    /// Google's enum values are case-insensitive on the query string.
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value.to_ascii_lowercase().as_str() {
            "minimal" => Self::Minimal,
            "metadata" => Self::Metadata,
            "full" => Self::Full,
            "raw" => Self::Raw,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Minimal => "MINIMAL",
            Self::Metadata => "METADATA",
            Self::Full => "FULL",
            Self::Raw => "RAW",
        }
    }
}

/// What `messages.get` shows of a message: its labels, history id and
/// date as they are now, and its (immutable) layout with the ids. Taken
/// under the state lock, rendered after it is released.
pub struct Snapshot {
    /// `labelIds` as JSON: one string to copy instead of one per label.
    label_ids: Box<RawValue>,
    history_id: u64,
    internal_date_ms: i64,
    layout: Arc<Layout>,
}

impl Snapshot {
    pub fn of(message: &Message) -> Self {
        Self {
            label_ids: serde_json::value::to_raw_value(&message.label_ids)
                .expect("strings serialize"),
            history_id: message.history_id,
            internal_date_ms: message.internal_date_ms,
            layout: mime::layout(message),
        }
    }
}

/// The `Message` resource, in Google's field order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rendered<'a> {
    id: &'a str,
    thread_id: &'a str,
    label_ids: &'a RawValue,
    snippet: &'a RawValue,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<Payload<'a>>,
    size_estimate: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw: Option<String>,
    history_id: String,
    internal_date: String,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Payload<'a> {
    Metadata(MetadataPart<'a>),
    Full(PartView<'a>),
}

/// The top `MessagePart` of `format=metadata`: headers only.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MetadataPart<'a> {
    part_id: &'a str,
    mime_type: &'a str,
    filename: &'a str,
    headers: Vec<&'a RawValue>,
}

/// A `MessagePart`; containers have `parts` and an empty body.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PartView<'a> {
    part_id: &'a str,
    mime_type: &'a str,
    filename: &'a str,
    headers: Vec<HeaderView<'a>>,
    body: Value,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    parts: Vec<PartView<'a>>,
}

#[derive(Serialize)]
struct HeaderView<'a> {
    name: &'a str,
    value: &'a str,
}

/// The `Message` resource of `message` in `format`. `metadata_headers`
/// limits the headers of `format=metadata` (case-insensitive names); empty
/// means all.
pub fn message<'a>(
    message: &'a Snapshot,
    format: Format,
    metadata_headers: &[String],
) -> Rendered<'a> {
    let layout = &message.layout;
    let tree = &layout.tree;
    // "minimal" is documented as id and labels; live responses also carry
    // these fields (reference §5, messages.get `format`).
    let mut rendered = Rendered {
        id: &layout.id,
        thread_id: &layout.thread_id,
        label_ids: &message.label_ids,
        snippet: &layout.snippet_json,
        payload: None,
        size_estimate: layout.size,
        raw: None,
        history_id: message.history_id.to_string(),
        internal_date: message.internal_date_ms.to_string(),
    };
    match format {
        Format::Minimal => {}
        Format::Metadata => {
            let wanted = |name: &str| {
                metadata_headers.is_empty()
                    || metadata_headers
                        .iter()
                        .any(|h| h.eq_ignore_ascii_case(name))
            };
            let headers = tree
                .headers
                .iter()
                .zip(&layout.headers_json)
                .filter(|((name, _), _)| wanted(name))
                .map(|(_, json)| &**json)
                .collect();
            rendered.payload = Some(Payload::Metadata(MetadataPart {
                part_id: &tree.part_id,
                mime_type: &tree.mime_type,
                filename: &tree.filename,
                headers,
            }));
        }
        Format::Full => rendered.payload = Some(Payload::Full(part(tree))),
        Format::Raw => rendered.raw = Some(URL_SAFE.encode(layout.raw())),
    }
    rendered
}

fn part(part: &Part) -> PartView<'_> {
    PartView {
        part_id: &part.part_id,
        mime_type: &part.mime_type,
        filename: &part.filename,
        headers: part
            .headers
            .iter()
            .map(|(name, value)| HeaderView { name, value })
            .collect(),
        body: part_body(part),
        parts: part.parts.iter().map(self::part).collect(),
    }
}

/// A `MessagePartBody`: `size` is the decoded byte count; attachments are
/// fetched separately through their `attachmentId`.
pub fn part_body(part: &Part) -> Value {
    if !part.parts.is_empty() {
        return json!({ "size": 0 });
    }
    match &part.attachment_id {
        Some(id) => json!({ "attachmentId": id, "size": part.body.len() }),
        None => json!({ "size": part.body.len(), "data": URL_SAFE_NO_PAD.encode(&part.body) }),
    }
}

/// `messages.attachments.get`: the body with its data.
pub fn attachment_body(part: &Part) -> Value {
    json!({ "size": part.body.len(), "data": URL_SAFE_NO_PAD.encode(&part.body) })
}
