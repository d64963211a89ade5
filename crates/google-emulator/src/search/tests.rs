use super::*;
use crate::date::parse_rfc2822;
use crate::mailbox::{Address, Attachment, Message, UserLabel};
use crate::mime::LayoutCell;

/// 2023-11-14T22:13:20Z.
const SENT_MS: i64 = 1_700_000_000_000;

fn message() -> Message {
    Message {
        id: "0000000000000001".to_owned(),
        thread_id: "0000000000000001".to_owned(),
        internal_date_ms: SENT_MS,
        history_id: 1,
        label_ids: vec![
            "INBOX".into(),
            "UNREAD".into(),
            "CATEGORY_UPDATES".into(),
            "Label_4".into(),
        ],
        from: Address {
            name: "Carol Martinez".into(),
            email: "carol.martinez@example.net".into(),
        },
        to: vec![Address {
            name: "Alice Example".into(),
            email: "alice@example.com".into(),
        }],
        cc: vec![Address {
            name: "Dave Okafor".into(),
            email: "dave@example.org".into(),
        }],
        subject: "Notes from the budget meeting".into(),
        date_header: String::new(),
        message_id_header: "<abc.1@mail.example.net>".into(),
        references: Vec::new(),
        text: "Hi Alice,\r\n\r\nThe meeting room is booked.\r\n".into(),
        html: None,
        attachments: vec![Attachment {
            filename: "report-1.csv".into(),
            mime_type: "text/csv".into(),
            data: vec![b'x'; 3000],
        }],
        source: None,
        layout: LayoutCell::default(),
    }
}

fn hit(q: &str) -> bool {
    let m = message();
    let labels = vec![UserLabel::new(4, "Work/Projects", None)];
    let now = parse_rfc2822("Fri, 1 Dec 2023 12:00:00 +0000").unwrap();
    Query::parse_at(q, now).matches(&Target {
        message: &m,
        owner_email: "alice@example.com",
        labels: &labels,
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
    assert!(hit("cc:dave"));
    assert!(!hit("cc:alice"));
    assert!(hit("subject:budget"));
    assert!(hit("subject:\"budget meeting\""));
    assert!(!hit("subject:room"));
    assert!(hit("rfc822msgid:<abc.1@mail.example.net>"));
}

#[test]
fn label_is_has_in_and_category_use_labels_and_attachments() {
    assert!(hit("label:inbox"));
    assert!(hit("label:UNREAD"));
    assert!(hit("label:category-updates"));
    assert!(hit("label:work-projects"));
    assert!(hit("label:Work/Projects"));
    assert!(!hit("label:work"));
    assert!(hit("has:userlabels") && !hit("has:nouserlabels"));
    assert!(hit("is:unread"));
    assert!(!hit("is:read"));
    assert!(!hit("is:starred"));
    assert!(hit("has:attachment"));
    assert!(hit("filename:csv") && hit("filename:report-1.csv") && !hit("filename:pdf"));
    assert!(hit("in:inbox") && hit("in:anywhere") && !hit("in:sent"));
    assert!(hit("category:updates"));
    assert!(!hit("category:primary"));
}

#[test]
fn dates_compare_with_midnight_pst_and_epoch_seconds() {
    assert!(hit("after:2023/11/14") && !hit("after:2023/11/15"));
    assert!(hit("before:11/15/2023") && !hit("before:2023/11/14"));
    assert!(hit("after:1699999999") && !hit("after:1700000001"));
    assert!(hit("older:2024/01/01") && hit("newer:2023/01/01"));
}

#[test]
fn relative_ages_count_back_from_now() {
    // Sent 16.6 days before "now".
    assert!(hit("newer_than:17d") && !hit("newer_than:16d"));
    assert!(hit("older_than:16d") && !hit("older_than:1m"));
    assert!(hit("newer_than:1y"));
}

#[test]
fn sizes_compare_the_raw_message() {
    assert!(hit("larger:3K") && !hit("larger:1M"));
    assert!(hit("smaller:1M") && !hit("smaller:2K"));
}

#[test]
fn or_and_braces_need_any_alternative() {
    assert!(hit("from:nobody OR from:carol"));
    assert!(!hit("from:nobody OR from:nobodyelse"));
    assert!(hit("{kitchen budget}"));
    assert!(!hit("{kitchen sink}"));
    // OR binds tighter than side by side: budget AND (kitchen OR room).
    assert!(hit("budget kitchen OR room"));
    assert!(!hit("kitchen budget OR room"));
    // Only upper-case OR is the operator.
    assert!(!hit("kitchen or budget"));
}

#[test]
fn groups_and_negations_thousands_deep_do_not_overflow_the_stack() {
    // Some thousands of `(` overflowed a 2 MiB stack, a test thread's and
    // a tokio worker's; past 64 levels they are dropped.
    assert!(hit(&format!("{}budget", "(".repeat(100_000))));
    assert!(!hit(&format!("{}kitchen", "{".repeat(100_000))));
    let _ = hit(&"-".repeat(100_000));
}

#[test]
fn a_quoted_or_is_a_phrase_not_the_operator() {
    // Found by tests/parser_properties.rs: `"OR"` was the operator, and
    // `"AND"` was dropped.
    assert!(!hit("kitchen \"OR\" budget"));
    assert!(!hit("\"AND\""));
}

#[test]
fn negation_excludes_terms_and_groups() {
    assert!(!hit("-budget"));
    assert!(hit("-is:starred"));
    assert!(hit("budget -(kitchen sink)"));
    assert!(!hit("-(budget room)"));
    assert!(!hit("-{kitchen budget}"));
    assert!(hit("-{kitchen sink}"));
    assert!(hit("(budget OR kitchen) -label:spam"));
}

#[test]
fn unknown_operators_and_bad_values_are_searched_as_text() {
    assert!(!hit("foo:bar"));
    assert!(!hit("after:someday"));
    assert_eq!(
        Query::parse_at("foo:bar", 0),
        Query {
            expr: Expr::And(vec![Expr::Term(Term::Text("foo:bar".into()))])
        }
    );
}

#[test]
fn spam_and_trash_are_named_by_in_and_label_when_not_negated() {
    assert!(Query::parse_at("in:trash", 0).names_spam_or_trash());
    assert!(Query::parse_at("label:spam x", 0).names_spam_or_trash());
    assert!(Query::parse_at("in:anywhere", 0).names_spam_or_trash());
    assert!(Query::parse_at("x OR in:spam", 0).names_spam_or_trash());
    assert!(!Query::parse_at("in:inbox", 0).names_spam_or_trash());
    assert!(!Query::parse_at("-in:trash", 0).names_spam_or_trash());
}
