//! Importing an mbox file, such as Google Takeout's Gmail export, into a
//! mailbox: one message per `From ` line, its raw bytes kept for
//! `format=raw`, its MIME structure parsed for `payload`, its Takeout
//! headers turned into thread ids and labels. Each message is logged as
//! `messageAdded` in the mailbox's history.

mod parse;
mod takeout;

use std::sync::Arc;

use crate::mailbox::{Address, Mailbox, Message, Source};
use crate::mime::LayoutCell;
use crate::{date, rfc2822};
use takeout::LabelEntry;

/// Why an mbox could not be imported.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// Import only adds to an existing user's mailbox: create the user
    /// first (`Emulator::add_user` or `POST /emulator/users`).
    #[error("no user with the email address {0}")]
    UnknownUser(String),
    #[error("not an mbox file: it must start with a \"From \" line")]
    NotMbox,
}

/// The messages of an mbox, as their RFC 2822 bytes.
///
/// Every line starting with `From ` starts a message (mboxrd and mboxo
/// quote such lines inside messages as `>From `); one `>` is taken off
/// quoted lines (`>From `, `>>From `, …). The empty line that separates a
/// message from the next `From ` line is not part of the message.
pub fn split(mbox: &[u8]) -> Result<Vec<Vec<u8>>, ImportError> {
    if !mbox.starts_with(b"From ") {
        return Err(ImportError::NotMbox);
    }
    let mut messages: Vec<Vec<u8>> = Vec::new();
    let mut at = 0;
    while at < mbox.len() {
        let end = mbox[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(mbox.len(), |p| at + p + 1);
        let line = &mbox[at..end];
        at = end;
        if line.starts_with(b"From ") {
            messages.push(Vec::new());
            continue;
        }
        let Some(current) = messages.last_mut() else {
            continue;
        };
        let quotes = line.iter().take_while(|&&b| b == b'>').count();
        if quotes > 0 && line[quotes..].starts_with(b"From ") {
            current.extend_from_slice(&line[1..]);
        } else {
            current.extend_from_slice(line);
        }
    }
    for message in &mut messages {
        if message.ends_with(b"\r\n\r\n") {
            message.truncate(message.len() - 2);
        } else if message.ends_with(b"\n\n") {
            message.truncate(message.len() - 1);
        }
    }
    messages.retain(|m| !m.iter().all(u8::is_ascii_whitespace));
    Ok(messages)
}

/// Adds every message of `mbox` to `mailbox`; returns how many.
pub fn import(
    mailbox: &mut Mailbox,
    user_id: &str,
    mbox: &[u8],
    now_ms: i64,
) -> Result<usize, ImportError> {
    let raws = split(mbox)?;
    let count = raws.len();
    for raw in raws {
        let message = build(mailbox, user_id, raw, now_ms);
        mailbox.add(message);
    }
    Ok(count)
}

fn build(mailbox: &mut Mailbox, user_id: &str, raw: Vec<u8>, now_ms: i64) -> Message {
    let (head, _) = rfc2822::split_head(&raw);
    let fields = rfc2822::headers(head);
    let get = |name: &str| rfc2822::field(&fields, name).unwrap_or_default();
    let id = takeout::hex_id(get("X-GM-MSGID"))
        .filter(|id| mailbox.find(id).is_none())
        .unwrap_or_else(|| mailbox.next_message_id(user_id));
    let parsed = parse::parse(&id, &raw);

    let mut references: Vec<String> = get("References")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if references.is_empty() && !get("In-Reply-To").is_empty() {
        references.push(get("In-Reply-To").trim().to_owned());
    }
    // Without X-GM-THRID, join the thread of a message it refers to.
    let thread_id = takeout::hex_id(get("X-GM-THRID"))
        .or_else(|| {
            mailbox
                .messages
                .iter()
                .find(|m| references.contains(&m.message_id_header))
                .map(|m| m.thread_id.clone())
        })
        .unwrap_or_else(|| id.clone());

    let mut label_ids: Vec<String> = Vec::new();
    let mut read = false;
    for entry in takeout::labels(get("X-Gmail-Labels")) {
        let label = match entry {
            LabelEntry::System(id) => id.to_owned(),
            LabelEntry::User(name) => mailbox.label_named(&name),
            LabelEntry::Read => {
                read = true;
                continue;
            }
            LabelEntry::Ignored => continue,
        };
        if !label_ids.contains(&label) {
            label_ids.push(label);
        }
    }
    if read {
        label_ids.retain(|l| l != "UNREAD");
    }

    let text = parsed
        .text
        .clone()
        .or_else(|| parsed.html.as_deref().map(parse::html_text))
        .unwrap_or_default();
    let from = rfc2822::addresses(get("From"))
        .into_iter()
        .next()
        .unwrap_or(Address {
            name: String::new(),
            email: String::new(),
        });
    Message {
        id,
        thread_id,
        internal_date_ms: date::parse_rfc2822(get("Date")).unwrap_or(now_ms),
        history_id: 0,
        label_ids,
        from,
        to: rfc2822::addresses(get("To")),
        cc: rfc2822::addresses(get("Cc")),
        subject: rfc2822::decode_words(get("Subject")),
        date_header: get("Date").to_owned(),
        message_id_header: get("Message-ID").to_owned(),
        references,
        text,
        html: parsed.html,
        attachments: parsed.attachments,
        source: Some(Arc::new(Source {
            raw,
            tree: Arc::new(parsed.tree),
        })),
        layout: LayoutCell::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_unquotes_from_lines_and_drops_separators() {
        let mbox = b"From a@b Mon Jan 1 00:00:00 2024\nSubject: 1\n\n>From here\n>>From there\n\nFrom c@d Tue Jan 2 00:00:00 2024\r\nSubject: 2\r\n\r\nbody\r\n";
        let messages = split(mbox).unwrap();
        assert_eq!(messages.len(), 2);
        assert_eq!(
            messages[0],
            b"Subject: 1\n\nFrom here\n>From there\n".to_vec()
        );
        assert_eq!(messages[1], b"Subject: 2\r\n\r\nbody\r\n".to_vec());
        assert!(matches!(split(b"Subject: x\n"), Err(ImportError::NotMbox)));
    }
}
