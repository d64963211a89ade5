use super::*;
use crate::mailbox::{Address, Attachment, Message};

fn message() -> Message {
    Message {
        id: "0000000000000001".to_owned(),
        thread_id: "0000000000000001".to_owned(),
        internal_date_ms: 1_700_000_000_000,
        history_id: 1,
        label_ids: vec!["INBOX".into(), "UNREAD".into(), "CATEGORY_UPDATES".into()],
        from: Address {
            name: "Carol Martinez".into(),
            email: "carol.martinez@example.net".into(),
        },
        to: vec![Address {
            name: "Alice Example".into(),
            email: "alice@example.com".into(),
        }],
        subject: "Notes from the budget meeting".into(),
        date_header: String::new(),
        message_id_header: String::new(),
        references: Vec::new(),
        text: "Hi Alice,\r\n\r\nThe meeting room is booked.\r\n".into(),
        html: None,
        attachment: Some(Attachment {
            filename: "report-1.csv".into(),
            mime_type: "text/csv".into(),
            data: Vec::new(),
        }),
    }
}

fn hit(q: &str) -> bool {
    let m = message();
    Query::parse(q).matches(&Target {
        message: &m,
        owner_email: "alice@example.com",
    })
}

#[test]
fn plain_words_are_case_insensitive_whole_words_and_all_required() {
    assert!(hit("BUDGET"));
    assert!(hit("budget room"));
    assert!(!hit("budget kitchen"));
    assert!(!hit("budg"));
    assert!(hit(""));
}

#[test]
fn phrases_match_consecutive_words() {
    assert!(hit("\"meeting room\""));
    assert!(!hit("\"room meeting\""));
}

#[test]
fn field_operators_look_only_at_their_field() {
    assert!(hit("from:carol"));
    assert!(hit("from:carol.martinez@example.net"));
    assert!(!hit("from:alice"));
    assert!(hit("to:me"));
    assert!(hit("to:alice@example.com"));
    assert!(hit("subject:budget"));
    assert!(hit("subject:\"budget meeting\""));
    assert!(!hit("subject:room"));
}

#[test]
fn label_is_has_in_and_category_use_labels_and_attachments() {
    assert!(hit("label:inbox"));
    assert!(hit("label:UNREAD"));
    assert!(hit("is:unread"));
    assert!(!hit("is:read"));
    assert!(!hit("is:starred"));
    assert!(hit("has:attachment"));
    assert!(hit("filename:csv"));
    assert!(hit("in:inbox"));
    assert!(hit("category:updates"));
    assert!(!hit("category:primary"));
}

#[test]
fn negation_excludes_and_groups_nest() {
    assert!(!hit("-budget"));
    assert!(hit("-is:starred"));
    assert!(hit("budget -(kitchen sink)"));
    assert!(!hit("-(budget room)"));
}

#[test]
fn unknown_operators_are_searched_as_text() {
    assert!(!hit("foo:bar"));
    assert_eq!(
        Query::parse("foo:bar"),
        Query {
            expr: Expr::And(vec![Expr::Term(Term::Text("foo:bar".into()))])
        }
    );
}

#[test]
fn spam_and_trash_are_named_by_in_and_label() {
    assert!(Query::parse("in:trash").names_spam_or_trash());
    assert!(Query::parse("label:spam x").names_spam_or_trash());
    assert!(Query::parse("in:anywhere").names_spam_or_trash());
    assert!(!Query::parse("in:inbox").names_spam_or_trash());
}
