//! Reading a mailbox through the client against the emulator over HTTP:
//! paging to the last page, each message format, threads, labels.

mod gmail_common;

use std::collections::{BTreeMap, HashSet};

use futures::{StreamExt as _, TryStreamExt as _};
use gmail_common::*;
use mailgrant::gmail::{ListMessages, MessageFormat, MessageRef};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_follows_next_page_token_to_the_last_page_with_every_id_once() {
    let (_bench, mailbox) = mailbox_of("many@example.com", 1234).await;
    let everything = ListMessages {
        include_spam_trash: true,
        max_results: Some(100),
        ..ListMessages::default()
    };

    let pages: Vec<_> = mailbox
        .message_pages(everything.clone())
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<MessageRef> = mailbox
        .message_refs(everything)
        .try_collect()
        .await
        .unwrap();

    assert_eq!(pages.len(), 13);
    assert!(pages[..12].iter().all(|p| p.messages.len() == 100));
    assert_eq!(pages[12].messages.len(), 34);
    assert!(pages[12].next_page_token.is_none());
    assert_eq!(ids.len(), 1234);
    assert_eq!(
        ids.iter().map(|m| &m.id).collect::<HashSet<_>>().len(),
        1234
    );
    assert_eq!(mailbox.profile().await.unwrap().messages_total, 1234);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_format_of_messages_get_has_its_shape() {
    let (_bench, mailbox) = mailbox_of("formats@example.com", 30).await;
    let page = mailbox
        .list_messages(&ListMessages::default())
        .await
        .unwrap();
    let id = &page.messages[0].id;

    let minimal = mailbox
        .get_message(id, MessageFormat::Minimal, &[])
        .await
        .unwrap();
    let metadata = mailbox
        .get_message(id, MessageFormat::Metadata, &["From", "subject"])
        .await
        .unwrap();
    let full = mailbox
        .get_message(id, MessageFormat::Full, &[])
        .await
        .unwrap();
    let raw = mailbox
        .get_message(id, MessageFormat::Raw, &[])
        .await
        .unwrap();

    assert!(minimal.payload.is_none() && minimal.raw.is_none());
    assert!(!minimal.label_ids.is_empty());
    assert!(minimal.internal_date().is_some() && minimal.history_id.is_some());
    let headers = &metadata.payload.as_ref().unwrap().headers;
    let mut names: Vec<&str> = headers.iter().map(|h| h.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["From", "Subject"]);
    assert!(metadata.payload.as_ref().unwrap().parts.is_empty());
    let payload = full.payload.as_ref().unwrap();
    assert!(payload.header("Message-ID").is_some() && !payload.mime_type.is_empty());
    let text = payload.find_by_mime_type("text/plain").unwrap();
    let body = String::from_utf8(text.body.as_ref().unwrap().decoded().unwrap().unwrap()).unwrap();
    let snippet_start: String = full.snippet.chars().take(10).collect();
    assert!(
        body.contains(&snippet_start),
        "{body:?} / {snippet_start:?}"
    );
    assert!(full.raw.is_none());
    let bytes = String::from_utf8(raw.raw_bytes().unwrap().unwrap()).unwrap();
    assert!(bytes.contains(&format!("Subject: {}", full.header("Subject").unwrap())));
    assert_eq!(raw.size_estimate as usize, bytes.len());
    assert!(raw.payload.is_none());
    assert_eq!(
        (minimal.internal_date, raw.internal_date.clone()),
        (full.internal_date.clone(), full.internal_date)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_holds_the_messages_that_list_with_its_thread_id() {
    let (_bench, mailbox) = mailbox_of("threads@example.com", 120).await;
    let refs: Vec<MessageRef> = mailbox
        .message_refs(ListMessages::default())
        .try_collect()
        .await
        .unwrap();
    let mut by_thread: BTreeMap<&str, HashSet<&str>> = BTreeMap::new();
    for m in &refs {
        by_thread.entry(&m.thread_id).or_default().insert(&m.id);
    }
    let (thread_id, ids) = by_thread.iter().max_by_key(|(_, ids)| ids.len()).unwrap();

    let threads: Vec<_> = mailbox
        .threads(ListMessages::default())
        .try_collect()
        .await
        .unwrap();
    let thread = mailbox
        .get_thread(thread_id, MessageFormat::Metadata, &["Subject"])
        .await
        .unwrap();

    assert_eq!(threads.len(), by_thread.len());
    assert!(
        threads
            .iter()
            .all(|t| t.messages.is_empty() && t.history_id.is_some())
    );
    assert!(ids.len() > 1, "the generated mailbox has conversations");
    assert_eq!(&thread.id, thread_id);
    let in_thread: HashSet<&str> = thread.messages.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(&in_thread, ids);
    let dates: Vec<_> = thread
        .messages
        .iter()
        .map(|m| m.internal_date().unwrap())
        .collect();
    assert!(dates.windows(2).all(|w| w[0] <= w[1]), "oldest first");
    assert!(
        thread
            .messages
            .iter()
            .all(|m| m.header("Subject").is_some())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_are_listed_without_counts_and_got_with_them() {
    let (_bench, mailbox) = mailbox_of("labels@example.com", 80).await;

    let labels = mailbox.list_labels().await.unwrap();
    let inbox = mailbox.get_label("INBOX").await.unwrap();
    let in_inbox = mailbox
        .message_refs(ListMessages {
            label_ids: vec!["INBOX".to_owned()],
            ..ListMessages::default()
        })
        .count()
        .await;
    let user_labels: Vec<_> = labels.iter().filter(|l| !l.is_system()).collect();
    let mut coloured = 0;
    for label in &user_labels {
        let got = mailbox.get_label(&label.id).await.unwrap();
        assert_eq!(got.name, label.name);
        assert_eq!(got.label_type.as_deref(), Some("user"));
        coloured += usize::from(got.color.is_some());
    }

    assert!(labels.iter().any(|l| l.id == "INBOX" && l.is_system()));
    assert!(
        labels
            .iter()
            .all(|l| l.messages_total.is_none() && l.threads_total.is_none())
    );
    assert!(!user_labels.is_empty());
    assert!(coloured > 0, "some user labels have a colour");
    assert_eq!(inbox.messages_total, Some(in_inbox as u32));
    assert!(inbox.messages_unread.unwrap() <= inbox.messages_total.unwrap());
    assert!(inbox.threads_total.unwrap() <= inbox.messages_total.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetching_a_stream_of_ids_keeps_their_order_in_bounded_batches() {
    let bench = Bench::start(no_quota()).await;
    let user = bench.connect("fetch@example.com", 250).await;
    let mailbox = bench
        .gmail(mailgrant::gmail::GmailOptions {
            batch_size: 40,
            concurrency: 3,
            ..unpaced()
        })
        .user(&user);
    let ids = mailbox
        .message_refs(ListMessages {
            max_results: Some(60),
            ..ListMessages::default()
        })
        .map(|m| m.unwrap().id);

    let fetched: Vec<_> = mailbox
        .fetch_messages(ids, MessageFormat::Minimal, &[])
        .collect()
        .await;

    assert_eq!(fetched.len(), 250);
    for (id, message) in &fetched {
        assert_eq!(&message.as_ref().unwrap().id, id);
    }
    let listed: Vec<String> = mailbox
        .message_refs(ListMessages::default())
        .map_ok(|m| m.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        fetched.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>(),
        listed
    );
    let counters = bench.counters().await;
    assert_eq!(
        count(&counters, "/batch_requests"),
        7,
        "250 ids in batches of 40"
    );
    assert_eq!(count(&counters, "/batch_parts"), 250);
}
