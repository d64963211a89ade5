//! One RFC 2822 message parsed into the part tree Gmail's `payload`
//! describes (part ids `""`, `0`, `0.1`, … as in `crate::mime`), with the
//! text, HTML and attachments found in it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::mailbox::Attachment;
use crate::mime::{self, Part};
use crate::{multipart, rfc2822};

/// What a message is made of.
pub struct Parsed {
    pub tree: Part,
    /// The first text/plain leaf that is not an attachment.
    pub text: Option<String>,
    /// The first text/html leaf that is not an attachment.
    pub html: Option<String>,
    pub attachments: Vec<Attachment>,
}

/// Parses `raw`, the message `message_id` (which names its attachments).
pub fn parse(message_id: &str, raw: &[u8]) -> Parsed {
    let mut parsed = Parsed {
        tree: empty_part(),
        text: None,
        html: None,
        attachments: Vec::new(),
    };
    parsed.tree = part(message_id, String::new(), raw, "text/plain", &mut parsed);
    parsed
}

fn empty_part() -> Part {
    Part {
        part_id: String::new(),
        mime_type: String::new(),
        filename: String::new(),
        headers: Vec::new(),
        body: Vec::new(),
        attachment_id: None,
        parts: Vec::new(),
    }
}

/// Multiparts nested deeper than this are kept as leaves: each level is a
/// recursion, and some hundreds of levels overflowed the stack.
const MAX_NESTING: usize = 64;

fn part(
    message_id: &str,
    part_id: String,
    bytes: &[u8],
    default_type: &str,
    found: &mut Parsed,
) -> Part {
    let (head, body) = rfc2822::split_head(bytes);
    // Header values come back decoded, as Gmail shows them.
    let headers: Vec<(String, String)> = rfc2822::headers(head)
        .into_iter()
        .map(|(name, value)| (name, rfc2822::decode_words(&value)))
        .collect();
    let content_type = rfc2822::field(&headers, "Content-Type")
        .unwrap_or(default_type)
        .to_owned();
    let mime_type = rfc2822::media_type(&content_type);
    let boundary = rfc2822::parameter(&content_type, "boundary");
    // A part id is the part's path, one number a level.
    if mime_type.starts_with("multipart/")
        && part_id.split('.').count() < MAX_NESTING
        && let Some(children) = boundary.and_then(|b| multipart::split(body, &b))
    {
        // RFC 2046 §5.1.5: parts of a multipart/digest default to messages.
        let child_default = if mime_type == "multipart/digest" {
            "message/rfc822"
        } else {
            "text/plain"
        };
        let parts = children
            .into_iter()
            .enumerate()
            .map(|(n, child)| {
                let id = if part_id.is_empty() {
                    n.to_string()
                } else {
                    format!("{part_id}.{n}")
                };
                part(message_id, id, child, child_default, found)
            })
            .collect();
        return Part {
            part_id,
            mime_type,
            headers,
            parts,
            ..empty_part()
        };
    }
    let encoding = rfc2822::field(&headers, "Content-Transfer-Encoding")
        .unwrap_or("7bit")
        .to_ascii_lowercase();
    let data = match encoding.as_str() {
        "base64" => {
            let compact: Vec<u8> = body
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            STANDARD.decode(&compact).unwrap_or_else(|_| body.to_vec())
        }
        "quoted-printable" => rfc2822::quoted_printable(body),
        _ => body.to_vec(),
    };
    let disposition = rfc2822::field(&headers, "Content-Disposition").unwrap_or_default();
    let filename = rfc2822::parameter(disposition, "filename")
        .or_else(|| rfc2822::parameter(&content_type, "name"))
        .map(|f| rfc2822::decode_words(&f))
        .unwrap_or_default();
    let is_attachment =
        !filename.is_empty() || disposition.to_ascii_lowercase().starts_with("attachment");
    let charset = rfc2822::parameter(&content_type, "charset").unwrap_or_default();
    let mut attachment_id = None;
    if is_attachment {
        attachment_id = Some(mime::attachment_id(message_id, &part_id));
        found.attachments.push(Attachment {
            filename: filename.clone(),
            mime_type: mime_type.clone(),
            data: data.clone(),
        });
    } else if mime_type == "text/plain" && found.text.is_none() {
        found.text = Some(rfc2822::charset_decode(&charset, &data));
    } else if mime_type == "text/html" && found.html.is_none() {
        found.html = Some(rfc2822::charset_decode(&charset, &data));
    }
    Part {
        part_id,
        mime_type,
        filename,
        headers,
        body: data,
        attachment_id,
        parts: Vec::new(),
    }
}

/// The visible text of an HTML body, for snippets and search when a
/// message has no text part: tags dropped, common entities decoded.
pub fn html_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_multiparts_get_gmail_part_ids_and_attachments_ids() {
        let raw = b"Subject: x\r\nContent-Type: multipart/mixed; boundary=\"o\"\r\n\r\n\
--o\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n\
--i\r\nContent-Type: text/plain\r\n\r\nhello\r\n--i\r\nContent-Type: text/html\r\n\r\n<b>hi</b>\r\n--i--\r\n\
--o\r\nContent-Type: text/csv; name=\"a.csv\"\r\nContent-Transfer-Encoding: base64\r\n\r\nYSxi\r\nCg==\r\n--o--\r\n";
        let parsed = parse("m1", raw);
        let tree = &parsed.tree;
        assert_eq!(tree.part_id, "");
        assert_eq!(tree.parts[0].parts[1].part_id, "0.1");
        assert_eq!(tree.parts[1].part_id, "1");
        assert_eq!(parsed.text.as_deref(), Some("hello"));
        assert_eq!(parsed.html.as_deref(), Some("<b>hi</b>"));
        assert_eq!(parsed.attachments[0].data, b"a,b\n");
        assert_eq!(
            tree.parts[1].attachment_id,
            Some(mime::attachment_id("m1", "1"))
        );
        assert_eq!(html_text("<p>a &amp; b</p>").trim(), "a & b");
    }

    #[test]
    fn multiparts_thousands_deep_do_not_overflow_the_stack() {
        // Some hundreds of levels overflowed a 2 MiB stack, a test
        // thread's and a tokio worker's.
        let mut raw = String::new();
        for level in 0..5_000 {
            raw.push_str(&format!(
                "Content-Type: multipart/mixed; boundary=b{level}\n\n--b{level}\n"
            ));
        }
        raw.push_str("\nthe text");
        let parsed = parse("m1", raw.as_bytes());
        let mut depth = 0;
        let mut part = &parsed.tree;
        while let Some(child) = part.parts.first() {
            (depth, part) = (depth + 1, child);
        }
        assert_eq!(depth, MAX_NESTING);
    }
}
