//! A stored message as the Gmail `Message` resource, in each `format` of
//! `messages.get` (discovery document: Message, MessagePart,
//! MessagePartBody, MessagePartHeader).
//!
//! Encodings follow recorded responses: `raw` is padded base64url
//! (gh:openclaw/gogcli#922), part `data` is base64url without padding
//! (gh:googleapis/google-api-python-client#1945, gh:googleworkspace/cli#774).

use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use crate::mailbox::Message;
use crate::mime::{self, Part};

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

/// The `Message` resource. `metadata_headers` limits the headers of
/// `format=metadata` (case-insensitive names); empty means all.
pub fn message(message: &Message, format: Format, metadata_headers: &[String]) -> Value {
    let raw = mime::raw(message);
    // "minimal" is documented as id and labels; live responses also carry
    // these fields (reference §5, messages.get `format`).
    let mut body = json!({
        "id": message.id,
        "threadId": message.thread_id,
        "labelIds": message.label_ids,
        "snippet": message.snippet(),
        "sizeEstimate": raw.len(),
        "historyId": message.history_id.to_string(),
        "internalDate": message.internal_date_ms.to_string(),
    });
    match format {
        Format::Minimal => {}
        Format::Metadata => {
            let tree = mime::tree(message);
            let headers: Vec<Value> = tree
                .headers
                .iter()
                .filter(|(name, _)| {
                    metadata_headers.is_empty()
                        || metadata_headers
                            .iter()
                            .any(|h| h.eq_ignore_ascii_case(name))
                })
                .map(|(name, value)| json!({ "name": name, "value": value }))
                .collect();
            body["payload"] = json!({
                "partId": tree.part_id,
                "mimeType": tree.mime_type,
                "filename": tree.filename,
                "headers": headers,
            });
        }
        Format::Full => body["payload"] = part(&mime::tree(message)),
        Format::Raw => body["raw"] = json!(URL_SAFE.encode(&raw)),
    }
    body
}

/// A `MessagePart`; containers have `parts` and an empty body.
fn part(part: &Part) -> Value {
    let headers: Vec<Value> = part
        .headers
        .iter()
        .map(|(name, value)| json!({ "name": name, "value": value }))
        .collect();
    let mut value = json!({
        "partId": part.part_id,
        "mimeType": part.mime_type,
        "filename": part.filename,
        "headers": headers,
        "body": part_body(part),
    });
    if !part.parts.is_empty() {
        value["parts"] = Value::Array(part.parts.iter().map(self::part).collect());
    }
    value
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
