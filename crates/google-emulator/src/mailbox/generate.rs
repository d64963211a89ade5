//! One generated message at a time: who writes, about what, in which
//! thread, to whom in copy, with which labels and attachments. Called
//! oldest first by `Mailbox::generate`.

use super::corpus::{self, CORRESPONDENTS, Content, Correspondent};
use super::rng::SeededRng;
use super::{Address, Attachment, FIRST_HISTORY_ID, Message};
use crate::date;
use crate::mime::LayoutCell;

/// How many recent conversations a new message may reply to.
const OPEN_THREADS: usize = 6;
/// Threads close after this many messages, so they hold 1 to 6.
const MAX_THREAD_LEN: usize = 6;

/// A conversation still open to replies.
pub struct ThreadState {
    id: String,
    subject: String,
    correspondent: usize,
    references: Vec<String>,
    len: usize,
}

pub fn next_message(
    rng: &mut SeededRng,
    owner: &Address,
    threads: &mut Vec<ThreadState>,
    id: String,
    index: usize,
    time: i64,
    recent: bool,
) -> Message {
    let owner_first = corpus::first_name(&owner.name).to_owned();
    // About a third of messages continue one of the open conversations.
    let reply_to = (!threads.is_empty() && rng.chance(0.35)).then(|| rng.below(threads.len()));
    let (correspondent_index, thread_id, subject, references) = match reply_to {
        Some(t) => {
            let thread = &threads[t];
            let subject = format!("Re: {}", thread.subject);
            (
                thread.correspondent,
                thread.id.clone(),
                subject,
                thread.references.clone(),
            )
        }
        None => {
            let people = CORRESPONDENTS.len();
            let c = if rng.chance(0.7) {
                rng.below(10.min(people))
            } else {
                rng.below(people)
            };
            (c, id.clone(), String::new(), Vec::new())
        }
    };
    let correspondent: &Correspondent = &CORRESPONDENTS[correspondent_index];
    let them = Address {
        name: correspondent.name.to_owned(),
        email: correspondent.email.to_owned(),
    };
    let sent = !correspondent.automated && rng.chance(0.2);
    let (from, to) = if sent {
        (owner.clone(), them.clone())
    } else {
        (them.clone(), owner.clone())
    };
    let content = if correspondent.automated {
        corpus::automated(rng, correspondent, &owner_first)
    } else {
        let body = corpus::person_body(
            rng,
            corpus::first_name(&from.name),
            corpus::first_name(&to.name),
        );
        let html = rng.chance(0.4).then(|| corpus::html_of(&body));
        let subject = if subject.is_empty() {
            corpus::person_subject(rng)
        } else {
            subject.clone()
        };
        Content {
            subject,
            text: body,
            html,
        }
    };
    let subject = if subject.is_empty() {
        content.subject.clone()
    } else {
        subject
    };

    let mut label_ids = Vec::new();
    if sent {
        label_ids.push("SENT".to_owned());
    } else {
        label_ids.push("INBOX".to_owned());
        label_ids.push(correspondent.category.to_owned());
        if rng.chance(if recent { 0.5 } else { 0.05 }) {
            label_ids.push("UNREAD".to_owned());
        }
        if !correspondent.automated && rng.chance(0.3) {
            label_ids.push("IMPORTANT".to_owned());
        }
    }
    if rng.chance(0.07) {
        label_ids.push("STARRED".to_owned());
    }
    let mut attachments = Vec::new();
    if rng.chance(0.06) {
        attachments.push(attachment(rng, index));
        if rng.chance(0.3) {
            attachments.push(photo(index));
        }
    }
    let cc = if !correspondent.automated && rng.chance(0.2) {
        let other = &CORRESPONDENTS[(correspondent_index + 1 + rng.below(8)) % 10];
        vec![Address {
            name: other.name.to_owned(),
            email: other.email.to_owned(),
        }]
    } else {
        Vec::new()
    };
    label_ids.extend(user_labels(correspondent, &subject).map(str::to_owned));
    let offset = if sent {
        0
    } else {
        correspondent.offset_minutes
    };
    let message_id_header = format!(
        "<emu.{id}@mail.{}>",
        from.email.split('@').nth(1).unwrap_or("example.com")
    );

    // Keep the thread open for replies; only the last few stay open.
    let mut thread_refs = references.clone();
    thread_refs.push(message_id_header.clone());
    match reply_to {
        Some(t) => {
            threads[t].references = thread_refs;
            threads[t].len += 1;
            if threads[t].len >= MAX_THREAD_LEN {
                threads.remove(t);
            }
        }
        None if !correspondent.automated => threads.push(ThreadState {
            id: thread_id.clone(),
            subject: subject.clone(),
            correspondent: correspondent_index,
            references: thread_refs,
            len: 1,
        }),
        None => {}
    }
    if threads.len() > OPEN_THREADS {
        threads.remove(0);
    }

    Message {
        id,
        thread_id,
        internal_date_ms: time,
        history_id: FIRST_HISTORY_ID + 3 * index as u64,
        label_ids,
        from,
        to: vec![to],
        cc,
        subject,
        date_header: date::rfc2822(time, offset),
        message_id_header,
        references,
        text: content.text,
        html: content.html,
        attachments,
        source: None,
        layout: LayoutCell::default(),
    }
}

/// The generated mailbox's user labels (`labels::generated_labels`) that
/// fit a message: Receipts for invoices, Travel for trips, Work and
/// Work/Projects for work topics.
fn user_labels(sender: &Correspondent, subject: &str) -> impl Iterator<Item = &'static str> {
    let subject = subject.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| subject.contains(w));
    [
        (sender.email.starts_with("billing"), "Label_1"),
        (has(&["photos from", "holiday", "conference"]), "Label_2"),
        (has(&["hiring", "offsite"]), "Label_3"),
        (
            has(&["roadmap", "launch", "migration", "design review", "budget"]),
            "Label_4",
        ),
    ]
    .into_iter()
    .filter_map(|(fits, id)| fits.then_some(id))
}

fn photo(index: usize) -> Attachment {
    Attachment {
        filename: format!("IMG_{:04}.jpg", 1000 + index % 9000),
        mime_type: "image/jpeg".to_owned(),
        // A JPEG start-of-image marker and padding: enough for a client
        // to see binary data.
        data: [0xFF, 0xD8, 0xFF, 0xE0]
            .into_iter()
            .chain((0..600u32).map(|i| (i * 7 % 251) as u8))
            .collect(),
    }
}

fn attachment(rng: &mut SeededRng, index: usize) -> Attachment {
    if rng.chance(0.5) {
        Attachment {
            filename: format!("report-{index}.csv"),
            mime_type: "text/csv".to_owned(),
            data: format!(
                "month,amount\r\njan,{}\r\nfeb,{}\r\n",
                rng.below(900),
                rng.below(900)
            )
            .into_bytes(),
        }
    } else {
        Attachment {
            filename: format!("scan-{index}.pdf"),
            mime_type: "application/pdf".to_owned(),
            data: format!("%PDF-1.4\n% emulator placeholder {index}\n%%EOF\n").into_bytes(),
        }
    }
}
