//! Search operators passed through `q` (reference §8;
//! https://support.google.com/mail/answer/7190), one per test, each
//! checked against what the mailbox's own messages say it should find:
//! every message is fetched in full and the expectation computed from its
//! headers, labels, parts and date.

mod gmail_common;

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::TryStreamExt as _;
use gmail_common::*;
use mailgrant::gmail::{Label, ListMessages, Mailbox, Message, MessageFormat};

struct Corpus {
    _bench: Bench,
    mailbox: Mailbox,
    messages: Vec<Message>,
    labels: Vec<Label>,
}

impl Corpus {
    async fn load() -> Self {
        let (bench, mailbox) = mailbox_of("alice@example.com", 250).await;
        let ids: Vec<String> = mailbox
            .message_refs(ListMessages {
                max_results: Some(500),
                ..ListMessages::default()
            })
            .map_ok(|m| m.id)
            .try_collect()
            .await
            .unwrap();
        let messages = mailbox
            .get_messages(&ids, MessageFormat::Full, &[])
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let labels = mailbox.list_labels().await.unwrap();
        Self {
            _bench: bench,
            mailbox,
            messages,
            labels,
        }
    }

    async fn search(&self, q: &str) -> BTreeSet<String> {
        self.mailbox
            .message_refs(ListMessages {
                q: Some(q.to_owned()),
                max_results: Some(500),
                ..ListMessages::default()
            })
            .map_ok(|m| m.id)
            .try_collect()
            .await
            .unwrap()
    }

    fn select(&self, wanted: impl Fn(&Message) -> bool) -> BTreeSet<String> {
        self.messages
            .iter()
            .filter(|m| wanted(m))
            .map(|m| m.id.clone())
            .collect()
    }

    /// `q` finds exactly `expected`, which is neither nothing nor everything.
    async fn assert_finds(&self, q: &str, expected: BTreeSet<String>) {
        assert!(
            !expected.is_empty() && expected.len() < self.messages.len(),
            "{q}: {} expected",
            expected.len()
        );
        assert_eq!(self.search(q).await, expected, "{q}");
    }

    /// The most common value of `f` among the messages that have one.
    fn most_common(&self, f: impl Fn(&Message) -> Vec<String>) -> String {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for value in self.messages.iter().flat_map(f) {
            *counts.entry(value).or_default() += 1;
        }
        counts
            .into_iter()
            .max_by_key(|(v, n)| (*n, v.clone()))
            .unwrap()
            .0
    }
}

/// `Name <a@b>` or `a@b` → `a@b`, lower-cased.
fn addresses(header: Option<&str>) -> Vec<String> {
    header
        .unwrap_or_default()
        .split(',')
        .map(|a| {
            let a = a.trim();
            let inner = a
                .rsplit_once('<')
                .map_or(a, |(_, rest)| rest.trim_end_matches('>'));
            inner.trim().to_lowercase()
        })
        .filter(|a| !a.is_empty())
        .collect()
}

fn has(message: &Message, label: &str) -> bool {
    message.label_ids.iter().any(|l| l == label)
}

fn millis(message: &Message) -> i64 {
    message.internal_date.as_deref().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_finds_the_messages_sent_by_that_address() {
    let c = Corpus::load().await;
    let sender = c.most_common(|m| addresses(m.header("From")));

    let expected = c.select(|m| addresses(m.header("From")).contains(&sender));

    c.assert_finds(&format!("from:{sender}"), expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn to_finds_the_messages_addressed_to_that_address() {
    let c = Corpus::load().await;
    let sent: Vec<&Message> = c.messages.iter().filter(|m| has(m, "SENT")).collect();
    let recipient = addresses(sent[0].header("To"))[0].clone();

    let expected = c.select(|m| addresses(m.header("To")).contains(&recipient));

    c.assert_finds(&format!("to:{recipient}"), expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subject_finds_the_messages_with_that_word_in_the_subject() {
    let c = Corpus::load().await;
    let words = |m: &Message| -> Vec<String> {
        let subject = m.header("Subject").unwrap_or_default().to_lowercase();
        let mut words: Vec<String> = subject
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.len() >= 5)
            .map(str::to_owned)
            .collect();
        words.sort();
        words.dedup();
        words
    };
    let word = c.most_common(words);

    let expected = c.select(|m| words(m).contains(&word));

    c.assert_finds(&format!("subject:{word}"), expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn label_finds_the_messages_with_that_user_label_by_its_name() {
    let c = Corpus::load().await;
    let label = c
        .labels
        .iter()
        .filter(|l| !l.is_system() && !l.name.contains('/'))
        .max_by_key(|l| c.select(|m| has(m, &l.id)).len())
        .unwrap();

    let expected = c.select(|m| has(m, &label.id));

    c.assert_finds(&format!("label:{}", label.name.to_lowercase()), expected)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn is_unread_and_is_starred_find_the_unread_and_starred_messages() {
    let c = Corpus::load().await;

    c.assert_finds("is:unread", c.select(|m| has(m, "UNREAD")))
        .await;
    c.assert_finds("is:starred", c.select(|m| has(m, "STARRED")))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn has_attachment_finds_the_messages_with_a_named_part() {
    let c = Corpus::load().await;

    let expected = c.select(|m| !m.attachments().is_empty());

    c.assert_finds("has:attachment", expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_and_before_split_the_mailbox_at_an_epoch_second() {
    let c = Corpus::load().await;
    let mut dates: Vec<i64> = c.messages.iter().map(millis).collect();
    dates.sort_unstable_by(|a, b| b.cmp(a));
    let second = dates[49] / 1000;

    let after = c.select(|m| millis(m) >= second * 1000);
    let before = c.select(|m| millis(m) < second * 1000);

    assert_eq!(after.len(), 50);
    c.assert_finds(&format!("after:{second}"), after).await;
    c.assert_finds(&format!("before:{second}"), before).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newer_than_finds_the_messages_of_the_last_days() {
    let c = Corpus::load().await;
    let since = SystemTime::now() - Duration::from_secs(120 * 86_400);
    let since_ms = since.duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;

    let expected = c.select(|m| millis(m) >= since_ms);

    c.assert_finds("newer_than:120d", expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minus_excludes_what_the_term_finds() {
    let c = Corpus::load().await;

    c.assert_finds("-is:unread", c.select(|m| !has(m, "UNREAD")))
        .await;
    c.assert_finds("-has:attachment", c.select(|m| m.attachments().is_empty()))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn or_finds_what_either_term_finds() {
    let c = Corpus::load().await;

    let expected = c.select(|m| has(m, "STARRED") || !m.attachments().is_empty());

    c.assert_finds("is:starred OR has:attachment", expected)
        .await;
}
