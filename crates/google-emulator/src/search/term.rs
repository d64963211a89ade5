//! One search condition and how a message meets it (reference §8).

use super::Target;
use super::dates;
use crate::mailbox::{Address, Message, search_name, system_label};
use crate::mime;

/// One search condition. Text values are lower-cased.
#[derive(Clone, Debug, PartialEq)]
pub enum Term {
    /// A word or a quoted phrase, matched as a run of whole words.
    Text(String),
    From(String),
    To(String),
    Cc(String),
    Subject(String),
    Label(String),
    Is(String),
    Has(String),
    In(String),
    Category(String),
    Filename(String),
    MessageId(String),
    /// Received at or after this instant (epoch ms).
    After(i64),
    /// Received before this instant (epoch ms).
    Before(i64),
    /// Bigger than this many bytes.
    Larger(u64),
    Smaller(u64),
}

impl Term {
    /// The term for `op:value`; `None` for an operator not understood or a
    /// value that does not fit it (then searched as text).
    pub fn from_operator(op: &str, value: &str, now_ms: i64) -> Option<Term> {
        let text = value.to_owned();
        Some(match op {
            "from" => Term::From(text),
            "to" => Term::To(text),
            "cc" => Term::Cc(text),
            "subject" => Term::Subject(text),
            "label" => Term::Label(text),
            "is" => Term::Is(text),
            "has" => Term::Has(text),
            "in" => Term::In(text),
            "category" => Term::Category(text),
            "filename" => Term::Filename(text),
            "rfc822msgid" => Term::MessageId(text.trim_matches(['<', '>']).to_owned()),
            "after" | "newer" => Term::After(dates::absolute(value)?),
            "before" | "older" => Term::Before(dates::absolute(value)?),
            "newer_than" => Term::After(dates::relative(value, now_ms)?),
            "older_than" => Term::Before(dates::relative(value, now_ms)?),
            "larger" | "size" => Term::Larger(dates::size(value)?),
            "smaller" => Term::Smaller(dates::size(value)?),
            _ => return None,
        })
    }

    pub fn matches(&self, target: &Target<'_>) -> bool {
        let m = target.message;
        let me = |v: &str| {
            if v == "me" {
                target.owner_email.to_owned()
            } else {
                v.to_owned()
            }
        };
        let any_address =
            |list: &[Address], v: &str| list.iter().any(|a| contains_words(&a.header(), &me(v)));
        match self {
            Term::Text(v) => {
                contains_words(&m.subject, v)
                    || contains_words(&m.from.header(), v)
                    || any_address(&m.to, v)
                    || any_address(&m.cc, v)
                    || contains_words(&m.text, v)
                    || m.attachments.iter().any(|a| contains_words(&a.filename, v))
            }
            Term::From(v) => contains_words(&m.from.header(), &me(v)),
            Term::To(v) => any_address(&m.to, v),
            Term::Cc(v) => any_address(&m.cc, v),
            Term::Subject(v) => contains_words(&m.subject, v),
            Term::Label(v) => has_label_named(target, v),
            Term::Is(v) => match v.as_str() {
                "unread" => m.has_label("UNREAD"),
                "read" => !m.has_label("UNREAD"),
                "starred" => m.has_label("STARRED"),
                "important" => m.has_label("IMPORTANT"),
                _ => false,
            },
            Term::Has(v) => match v.as_str() {
                "attachment" => !m.attachments.is_empty(),
                "userlabels" => m.label_ids.iter().any(|l| system_label(l).is_none()),
                "nouserlabels" => m.label_ids.iter().all(|l| system_label(l).is_some()),
                _ => false,
            },
            Term::In(v) => match v.as_str() {
                "anywhere" => true,
                "drafts" => m.has_label("DRAFT"),
                _ => has_label_id(m, v),
            },
            Term::Category(v) if v == "primary" => m.has_label("CATEGORY_PERSONAL"),
            Term::Category(v) => has_label_id(m, &format!("category_{v}")),
            Term::Filename(v) => m.attachments.iter().any(|a| {
                let name = a.filename.to_lowercase();
                name == *v || name.ends_with(&format!(".{v}")) || contains_words(&name, v)
            }),
            Term::MessageId(v) => m
                .message_id_header
                .trim_matches(['<', '>'])
                .eq_ignore_ascii_case(v),
            Term::After(t) => m.internal_date_ms >= *t,
            Term::Before(t) => m.internal_date_ms < *t,
            Term::Larger(n) => mime::layout(m).size as u64 > *n,
            Term::Smaller(n) => (mime::layout(m).size as u64) < *n,
        }
    }
}

fn has_label_id(message: &Message, lowercase_id: &str) -> bool {
    message
        .label_ids
        .iter()
        .any(|l| l.to_lowercase() == lowercase_id)
}

/// `label:` takes a system label id (`label:unread`) or a user label's name
/// written as Gmail writes it in the search box (`label:work-projects` for
/// "Work/Projects", see `mailbox::search_name`).
fn has_label_named(target: &Target<'_>, value: &str) -> bool {
    let wanted = search_name(value);
    target.message.label_ids.iter().any(|id| {
        search_name(id) == wanted
            || target
                .labels
                .iter()
                .any(|l| l.id == *id && search_name(&l.name) == wanted)
    })
}

/// Lower-cased alphanumeric words of `text`.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// True when the words of `needle` appear consecutively among the words of
/// `haystack`. Gmail matches whole words, not substrings ("meet" does not
/// find "meeting"), and an address like `bob@example.com` as its parts.
fn contains_words(haystack: &str, needle: &str) -> bool {
    let needle = words(needle);
    if needle.is_empty() {
        return true;
    }
    let hay = words(haystack);
    hay.windows(needle.len()).any(|w| w == needle.as_slice())
}
