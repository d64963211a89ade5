//! A stored message laid out as MIME: the part tree Gmail's `payload`
//! describes, and the RFC 2822 bytes of `format=raw`. Imported messages
//! keep the tree and bytes they arrived with (`mailbox::Source`).
//!
//! Part ids follow Gmail: the top part has id `""`, its children `0`, `1`,
//! theirs `0.0`, `0.1` (discovery document, `MessagePart.partId`).
//!
//! A message's content never changes once stored (only its labels and
//! history id do), so its layout is worked out once, on first use, and
//! shared: a `messages.get` does not lay the message out again.

use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;
use serde_json::value::RawValue;
use sha2::{Digest as _, Sha256};

use crate::mailbox::{Attachment, Message, Source};

/// What every format of `messages.get` reads from a message's content.
#[derive(Debug)]
pub struct Layout {
    /// The message's id and thread id, which never change either.
    pub id: String,
    pub thread_id: String,
    /// The part tree, envelope headers on the top part.
    pub tree: Arc<Part>,
    /// The top part's headers as `MessagePartHeader` JSON, in the same
    /// order: what `format=metadata` picks from.
    pub headers_json: Vec<Box<RawValue>>,
    /// The length of the RFC 2822 bytes (`sizeEstimate`, `larger:`).
    pub size: usize,
    /// The message's snippet (see [`Message::snippet`]).
    pub snippet: String,
    /// The same as a JSON string.
    pub snippet_json: Box<RawValue>,
    /// An imported message's bytes as they arrived.
    source: Option<Arc<Source>>,
}

impl Layout {
    /// RFC 2822 bytes of the message, CRLF line ends; an imported
    /// message's bytes as they arrived.
    pub fn raw(&self) -> Vec<u8> {
        match &self.source {
            Some(source) => source.raw.clone(),
            None => {
                let mut out = Vec::with_capacity(self.size);
                write_part(&self.tree, &mut out);
                out
            }
        }
    }
}

fn raw_json(value: &impl serde::Serialize) -> Box<RawValue> {
    serde_json::value::to_raw_value(value).expect("strings and maps serialize")
}

/// A message's [`Layout`], computed on first use. A clone starts empty:
/// a message made from another (`..message.clone()`) may have other
/// content, so it is laid out anew.
#[derive(Debug, Default)]
pub struct LayoutCell(OnceLock<Arc<Layout>>);

impl Clone for LayoutCell {
    fn clone(&self) -> Self {
        Self::default()
    }
}

/// The message's layout, worked out on first use.
pub fn layout(message: &Message) -> Arc<Layout> {
    message
        .layout
        .0
        .get_or_init(|| {
            let tree = tree(message);
            let size = match &message.source {
                Some(source) => source.raw.len(),
                None => {
                    let mut out = Vec::new();
                    write_part(&tree, &mut out);
                    out.len()
                }
            };
            let headers_json = tree
                .headers
                .iter()
                .map(|(name, value)| raw_json(&json!({ "name": name, "value": value })))
                .collect();
            let snippet = message.snippet();
            Arc::new(Layout {
                id: message.id.clone(),
                thread_id: message.thread_id.clone(),
                headers_json,
                snippet_json: raw_json(&snippet),
                tree,
                size,
                snippet,
                source: message.source.clone(),
            })
        })
        .clone()
}

/// One MIME part.
#[derive(Clone, Debug)]
pub struct Part {
    pub part_id: String,
    pub mime_type: String,
    pub filename: String,
    pub headers: Vec<(String, String)>,
    /// The decoded body of a leaf part; empty for containers.
    pub body: Vec<u8>,
    /// Set for attachments, whose bytes Gmail serves separately.
    pub attachment_id: Option<String>,
    pub parts: Vec<Part>,
}

fn header(name: &str, value: impl Into<String>) -> (String, String) {
    (name.to_owned(), value.into())
}

/// A boundary in the style Gmail writes (`000000000000` + hex).
fn boundary(message: &Message, salt: &str) -> String {
    let digest = Sha256::digest(format!("{}/{salt}", message.id).as_bytes());
    let hex: String = digest.iter().take(7).map(|b| format!("{b:02x}")).collect();
    format!("000000000000{hex}")
}

fn text_part(part_id: String, mime_type: &str, text: &str) -> Part {
    Part {
        part_id,
        mime_type: mime_type.to_owned(),
        filename: String::new(),
        headers: vec![header(
            "Content-Type",
            format!("{mime_type}; charset=\"UTF-8\""),
        )],
        body: text.as_bytes().to_vec(),
        attachment_id: None,
        parts: Vec::new(),
    }
}

/// The message body without the top-level envelope headers: text, or
/// text + HTML as multipart/alternative, wrapped in multipart/mixed with
/// the attachments when there are any.
fn body_tree(message: &Message, attachments: &[Attachment], part_id: &str) -> Part {
    let child = |n: usize| {
        if part_id.is_empty() {
            n.to_string()
        } else {
            format!("{part_id}.{n}")
        }
    };
    if !attachments.is_empty() {
        let inner = body_tree(message, &[], &child(0));
        let mut parts = vec![inner];
        for (n, attachment) in attachments.iter().enumerate() {
            parts.push(attachment_part(message, child(n + 1), attachment));
        }
        return multipart(message, part_id, "multipart/mixed", parts);
    }
    match &message.html {
        Some(html) => multipart(
            message,
            part_id,
            "multipart/alternative",
            vec![
                text_part(child(0), "text/plain", &message.text),
                text_part(child(1), "text/html", html),
            ],
        ),
        None => text_part(part_id.to_owned(), "text/plain", &message.text),
    }
}

/// Gmail's `attachmentId` for the part `part_id` of message `message_id`:
/// long, opaque, url-safe, stable.
pub fn attachment_id(message_id: &str, part_id: &str) -> String {
    let digest = Sha256::digest(format!("{message_id}/{part_id}"));
    format!("ANGjdJ{}", URL_SAFE_NO_PAD.encode(digest))
}

fn attachment_part(message: &Message, part_id: String, attachment: &Attachment) -> Part {
    let id_digest = Sha256::digest(format!("{}/{part_id}", message.id));
    let x_attachment_id = format!("f_{}", &URL_SAFE_NO_PAD.encode(&id_digest[..6]));
    let content_type = format!("{}; name=\"{}\"", attachment.mime_type, attachment.filename);
    Part {
        attachment_id: Some(attachment_id(&message.id, &part_id)),
        part_id,
        mime_type: attachment.mime_type.clone(),
        filename: attachment.filename.clone(),
        headers: vec![
            header("Content-Type", content_type),
            header(
                "Content-Disposition",
                format!("attachment; filename=\"{}\"", attachment.filename),
            ),
            header("Content-Transfer-Encoding", "base64"),
            header("Content-ID", format!("<{x_attachment_id}>")),
            header("X-Attachment-Id", x_attachment_id),
        ],
        body: attachment.data.clone(),
        parts: Vec::new(),
    }
}

fn multipart(message: &Message, part_id: &str, mime_type: &str, parts: Vec<Part>) -> Part {
    Part {
        part_id: part_id.to_owned(),
        mime_type: mime_type.to_owned(),
        filename: String::new(),
        headers: vec![header(
            "Content-Type",
            format!("{mime_type}; boundary=\"{}\"", boundary(message, part_id)),
        )],
        body: Vec::new(),
        attachment_id: None,
        parts,
    }
}

/// The whole message as a part tree, envelope headers on the top part;
/// an imported message's tree as parsed on import.
fn tree(message: &Message) -> Arc<Part> {
    if let Some(source) = &message.source {
        return source.tree.clone();
    }
    let mut top = body_tree(message, &message.attachments, "");
    let mut headers = vec![
        header("MIME-Version", "1.0"),
        header("Date", &message.date_header),
    ];
    if let Some(parent) = message.references.last() {
        headers.push(header("References", message.references.join(" ")));
        headers.push(header("In-Reply-To", parent));
    }
    headers.push(header("Message-ID", &message.message_id_header));
    headers.push(header("Subject", &message.subject));
    headers.push(header("From", message.from.header()));
    let to: Vec<String> = message.to.iter().map(|a| a.header()).collect();
    headers.push(header("To", to.join(", ")));
    if !message.cc.is_empty() {
        let cc: Vec<String> = message.cc.iter().map(|a| a.header()).collect();
        headers.push(header("Cc", cc.join(", ")));
    }
    headers.append(&mut top.headers);
    top.headers = headers;
    Arc::new(top)
}

/// Finds the part with `attachment_id` in `part`'s subtree.
pub fn find_attachment<'a>(part: &'a Part, attachment_id: &str) -> Option<&'a Part> {
    if part.attachment_id.as_deref() == Some(attachment_id) {
        return Some(part);
    }
    part.parts
        .iter()
        .find_map(|p| find_attachment(p, attachment_id))
}

fn write_part(part: &Part, out: &mut Vec<u8>) {
    for (name, value) in &part.headers {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    if part.parts.is_empty() {
        if part.attachment_id.is_some() {
            // Base64 in lines of 76 characters (RFC 2045 §6.8).
            let encoded = STANDARD.encode(&part.body);
            for line in encoded.as_bytes().chunks(76) {
                out.extend_from_slice(line);
                out.extend_from_slice(b"\r\n");
            }
        } else {
            out.extend_from_slice(&part.body);
        }
        return;
    }
    let boundary = part
        .headers
        .iter()
        .find_map(|(n, v)| (n == "Content-Type").then(|| v.split("boundary=\"").nth(1)))
        .flatten()
        .map(|b| b.trim_end_matches('"').to_owned())
        .unwrap_or_default();
    for child in &part.parts {
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        write_part(child, out);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
}
