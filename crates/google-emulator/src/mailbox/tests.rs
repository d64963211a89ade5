use super::*;

fn alice() -> Address {
    Address {
        name: "Alice Example".to_owned(),
        email: "alice@example.com".to_owned(),
    }
}

const ANCHOR: i64 = 1_760_000_000_000;

#[test]
fn same_seed_gives_same_mailbox() {
    let a = Mailbox::generate(&alice(), "1", 120, ANCHOR);
    let b = Mailbox::generate(&alice(), "1", 120, ANCHOR);
    let summary = |m: &Mailbox| {
        m.messages
            .iter()
            .map(|x| {
                (
                    x.id.clone(),
                    x.subject.clone(),
                    x.label_ids.clone(),
                    x.text.clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(summary(&a), summary(&b));
}

#[test]
fn messages_are_newest_first_with_unique_ids_in_the_past() {
    let mailbox = Mailbox::generate(&alice(), "1", 500, ANCHOR);
    assert_eq!(mailbox.messages.len(), 500);
    assert!(
        mailbox
            .messages
            .windows(2)
            .all(|w| w[0].internal_date_ms >= w[1].internal_date_ms)
    );
    let mut ids: Vec<_> = mailbox.messages.iter().map(|m| &m.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 500);
    assert!(mailbox.messages.iter().all(|m| m.internal_date_ms < ANCHOR));
    assert!(
        mailbox
            .messages
            .iter()
            .all(|m| m.internal_date_ms > ANCHOR - SPAN_MS)
    );
}

#[test]
fn every_message_is_in_inbox_or_sent_and_the_mix_is_realistic() {
    let mailbox = Mailbox::generate(&alice(), "1", 500, ANCHOR);
    let count = |f: &dyn Fn(&Message) -> bool| mailbox.messages.iter().filter(|m| f(m)).count();
    assert_eq!(count(&|m| m.has_label("INBOX") || m.has_label("SENT")), 500);
    assert!(count(&|m| m.has_label("UNREAD")) > 0);
    assert!(count(&|m| m.has_label("STARRED")) > 0);
    assert!(count(&|m| m.has_label("SENT")) > 0);
    assert!(count(&|m| m.has_label("CATEGORY_UPDATES")) > 0);
    assert!(count(&|m| m.html.is_some()) > 0);
    assert!(count(&|m| m.html.is_none()) > 0);
    assert!(count(&|m| m.attachment.is_some()) > 0);
    assert!(count(&|m| m.subject.starts_with("Re: ")) > 0);
    assert!(mailbox.threads_total() < 500);
}

#[test]
fn replies_share_the_thread_of_their_first_message() {
    let mailbox = Mailbox::generate(&alice(), "1", 300, ANCHOR);
    for reply in mailbox.messages.iter().filter(|m| !m.references.is_empty()) {
        let root = mailbox.find(&reply.thread_id).expect("thread root exists");
        assert_eq!(reply.references[0], root.message_id_header);
        assert!(root.internal_date_ms <= reply.internal_date_ms);
    }
}

#[test]
fn snippets_are_short_and_escaped() {
    let mailbox = Mailbox::generate(&alice(), "1", 200, ANCHOR);
    for m in &mailbox.messages {
        let snippet = m.snippet();
        assert!(snippet.chars().count() <= 130, "{snippet}");
        assert!(!snippet.contains('\''));
    }
}
