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
    assert!(count(&|m| !m.attachments.is_empty()) > 0);
    assert!(count(&|m| m.attachments.len() > 1) > 0);
    assert!(count(&|m| !m.cc.is_empty()) > 0);
    assert!(count(&|m| m.in_spam_or_trash()) == 0);
    for label in ["Label_1", "Label_2", "Label_3", "Label_4"] {
        assert!(count(&|m| m.has_label(label)) > 0, "{label}");
    }
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

#[test]
fn threads_hold_one_to_six_messages_with_reply_headers() {
    let mailbox = Mailbox::generate(&alice(), "1", 500, ANCHOR);
    let mut sizes = std::collections::HashMap::new();
    for m in &mailbox.messages {
        *sizes.entry(m.thread_id.clone()).or_insert(0) += 1;
    }
    assert!(sizes.values().all(|&n| (1..=6).contains(&n)), "{sizes:?}");
    assert!(sizes.values().any(|&n| n >= 4));
    for thread in sizes.keys() {
        let messages = mailbox.thread(thread);
        for (n, m) in messages.iter().enumerate() {
            assert_eq!(m.references.len(), n, "{thread}");
        }
    }
}

#[test]
fn changes_are_logged_and_move_history_ids_forward() {
    let mut mailbox = Mailbox::generate(&alice(), "1", 20, ANCHOR);
    let start = mailbox.history_id();
    let id = mailbox.messages[0].id.clone();

    let added = mailbox
        .modify(
            &id,
            &["STARRED".into(), "Label_2".into()],
            &["INBOX".into()],
        )
        .map(|m| m.history_id)
        .unwrap();
    let bad = mailbox.modify(&id, &["SENT".into()], &[]).map(|_| ());
    let unknown = mailbox.modify(&id, &["Label_99".into()], &[]).map(|_| ());
    assert!(mailbox.delete(&id));

    assert!(added > start);
    assert_eq!(bad.unwrap_err(), ModifyError::InvalidLabel("SENT".into()));
    assert_eq!(
        unknown.unwrap_err(),
        ModifyError::InvalidLabel("Label_99".into())
    );
    let kinds: Vec<ChangeKind> = mailbox.history.after(start).map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [
            ChangeKind::LabelAdded,
            ChangeKind::LabelRemoved,
            ChangeKind::MessageDeleted
        ]
    );
    assert!(mailbox.history_id() > added);
    assert_eq!(mailbox.messages.len(), 19);
}
