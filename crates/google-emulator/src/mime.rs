//! A stored message laid out as MIME: the part tree Gmail's `payload`
//! describes, and the RFC 2822 bytes of `format=raw`. Imported messages
//! keep the tree and bytes they arrived with (`mailbox::Source`).
//!
//! Part ids follow Gmail: the top part has id `""`, its children `0`, `1`,
//! theirs `0.0`, `0.1` (discovery document, `MessagePart.partId`).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::{Digest as _, Sha256};

use crate::mailbox::{Attachment, Message};

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
fn body_tree(message: &Message, part_id: &str) -> Part {
    let child = |n: usize| {
        if part_id.is_empty() {
            n.to_string()
        } else {
            format!("{part_id}.{n}")
        }
    };
    if !message.attachments.is_empty() {
        let inner = body_tree(
            &Message {
                attachments: Vec::new(),
                ..message.clone()
            },
            &child(0),
        );
        let mut parts = vec![inner];
        for (n, attachment) in message.attachments.iter().enumerate() {
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
pub fn tree(message: &Message) -> Part {
    if let Some(source) = &message.source {
        return source.tree.clone();
    }
    let mut top = body_tree(message, "");
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
    top
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

/// RFC 2822 bytes of the part tree, CRLF line ends; an imported
/// message's bytes as they arrived.
pub fn raw(message: &Message) -> Vec<u8> {
    if let Some(source) = &message.source {
        return source.raw.clone();
    }
    let mut out = Vec::new();
    write_part(&tree(message), &mut out);
    out
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
