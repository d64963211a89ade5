//! The `Message` resource and its MIME tree (discovery document schemas
//! `Message`, `MessagePart`, `MessagePartBody`, `MessagePartHeader`), with
//! the helpers a reader needs: header lookup, base64url bodies, the
//! internal date as a time.

use base64::Engine as _;
use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::gmail::GmailError;

/// `users.messages.get`. Which fields are set depends on the `format`:
/// `minimal` has no `payload`; `metadata` a payload of headers only; `full`
/// the parsed MIME tree; `raw` the whole message in `raw` and no payload.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub id: String,
    #[serde(default)]
    pub thread_id: String,
    #[serde(default)]
    pub label_ids: Vec<String>,
    /// HTML-escaped as Gmail sends it (`I&#39;m`).
    #[serde(default)]
    pub snippet: String,
    /// A uint64 sent as a string; "the ID of the last history record that
    /// modified this message".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_id: Option<String>,
    /// Epoch milliseconds, sent as a string; see [`Message::internal_date`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal_date: Option<String>,
    /// An int32 (discovery document).
    #[serde(default)]
    pub size_estimate: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<MessagePart>,
    /// The whole RFC 2822 message, base64url (format `raw` only); see
    /// [`Message::raw_bytes`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
}

impl Message {
    /// The first header of that name (case-insensitive), from the top-level part.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.payload.as_ref()?.header(name)
    }

    /// "The internal message creation timestamp (epoch ms), which determines
    /// ordering in the inbox" (discovery document), as a time. `None` when
    /// absent or not a number.
    pub fn internal_date(&self) -> Option<OffsetDateTime> {
        let ms: i128 = self.internal_date.as_deref()?.parse().ok()?;
        OffsetDateTime::from_unix_timestamp_nanos(ms.checked_mul(1_000_000)?).ok()
    }

    /// The decoded RFC 2822 bytes of a `raw` message; `None` for other formats.
    pub fn raw_bytes(&self) -> Option<Result<Vec<u8>, GmailError>> {
        self.raw
            .as_deref()
            .map(|raw| decode_base64url(raw, "Message.raw"))
    }

    /// Every part of the payload, depth first, the top-level part included.
    pub fn parts(&self) -> Vec<&MessagePart> {
        let mut out = Vec::new();
        if let Some(payload) = &self.payload {
            payload.collect(&mut out);
        }
        out
    }

    /// Parts that carry a file name: attachments and inline files.
    pub fn attachments(&self) -> Vec<&MessagePart> {
        self.parts()
            .into_iter()
            .filter(|p| !p.filename.is_empty())
            .collect()
    }
}

/// One MIME part; containers (`multipart/*`) have `parts` and an empty body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessagePart {
    #[serde(default)]
    pub part_id: String,
    #[serde(default)]
    pub mime_type: String,
    #[serde(default)]
    pub filename: String,
    #[serde(default)]
    pub headers: Vec<Header>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<MessagePartBody>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<MessagePart>,
}

impl MessagePart {
    /// The first header of that name (case-insensitive; RFC 5322 §1.2.2).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// Every header of that name, in order (e.g. `Received`).
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// The first part, this one included, depth first, whose MIME type is
    /// `mime_type` (case-insensitive), e.g. `text/plain`.
    pub fn find_by_mime_type(&self, mime_type: &str) -> Option<&MessagePart> {
        if self.mime_type.eq_ignore_ascii_case(mime_type) {
            return Some(self);
        }
        self.parts
            .iter()
            .find_map(|p| p.find_by_mime_type(mime_type))
    }

    fn collect<'a>(&'a self, out: &mut Vec<&'a MessagePart>) {
        out.push(self);
        for part in &self.parts {
            part.collect(out);
        }
    }
}

/// `MessagePartHeader`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub name: String,
    pub value: String,
}

/// `MessagePartBody`; also what `messages.attachments.get` returns.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessagePartBody {
    /// Set when the data must be fetched with `messages.attachments.get`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment_id: Option<String>,
    /// Decoded byte count (an int32).
    #[serde(default)]
    pub size: u32,
    /// base64url; see [`MessagePartBody::decoded`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

impl MessagePartBody {
    /// The body's bytes; `None` when there is no inline data (a container,
    /// or an attachment to fetch by `attachment_id`).
    pub fn decoded(&self) -> Option<Result<Vec<u8>, GmailError>> {
        self.data
            .as_deref()
            .map(|data| decode_base64url(data, "MessagePartBody.data"))
    }
}

/// base64url with or without `=` padding: Gmail pads `raw` and not part
/// `data` (recorded in gh:openclaw/gogcli#922 and
/// gh:googleapis/google-api-python-client#1945), and clients should take
/// both. Line breaks and blanks are skipped.
pub fn decode_base64url(data: &str, what: &'static str) -> Result<Vec<u8>, GmailError> {
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &URL_SAFE,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let compact: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    ENGINE
        .decode(compact.as_bytes())
        .map_err(|e| GmailError::Undecodable {
            what,
            reason: e.to_string(),
        })
}
