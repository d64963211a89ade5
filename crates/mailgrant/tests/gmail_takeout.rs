//! A Google Takeout mbox imported into the emulator
//! (`google-emulator/tests/data/takeout.mbox`), read back through the
//! client: thread ids from `X-GM-THRID`, labels from `X-Gmail-Labels`, an
//! attachment through `messages.attachments.get`.

mod gmail_common;

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use futures::TryStreamExt as _;
use gmail_common::*;
use mailgrant::gmail::{ListMessages, Mailbox, MessageFormat, MessageRef};

const TAKEOUT: &str = include_str!("../../google-emulator/tests/data/takeout.mbox");
const DANA: &str = "dana@example.com";

async fn imported() -> (Bench, Mailbox) {
    let bench = Bench::start(no_quota()).await;
    let user = bench.connect(DANA, 0).await;
    assert_eq!(
        bench
            .emulator
            .import_mbox(DANA, TAKEOUT.as_bytes())
            .unwrap(),
        7
    );
    let mailbox = bench.gmail(unpaced()).user(&user);
    (bench, mailbox)
}

/// Per `X-GM-THRID` in the file (as the API's lowercase hex), the
/// `Message-ID`s of its messages in file order, and each message's
/// `X-Gmail-Labels` names.
fn threads_in_file() -> (BTreeMap<String, Vec<String>>, BTreeMap<String, Vec<String>>) {
    let (mut threads, mut labels) = (BTreeMap::<String, Vec<String>>::new(), BTreeMap::new());
    for message in TAKEOUT
        .split("\nFrom ")
        .map(|m| m.split("\n\n").next().unwrap())
    {
        let field = |name: &str| {
            message
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_owned())
                .unwrap()
        };
        let thread = format!("{:x}", field("X-GM-THRID:").parse::<u64>().unwrap());
        let id = field("Message-ID:");
        threads.entry(thread).or_default().push(id.clone());
        labels.insert(id, label_names(&field("X-Gmail-Labels:")));
    }
    (threads, labels)
}

/// `Inbox,"Family, misc"` → `Inbox`, `Family, misc`: commas inside
/// quotes belong to the name.
fn label_names(value: &str) -> Vec<String> {
    let (mut names, mut name, mut quoted) = (Vec::new(), String::new(), false);
    for c in value.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => names.push(std::mem::take(&mut name)),
            c => name.push(c),
        }
    }
    names.push(name);
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imported_messages_keep_their_takeout_thread_ids_in_order() {
    let (_bench, mailbox) = imported().await;
    let (threads, _) = threads_in_file();

    let refs: Vec<MessageRef> = mailbox
        .message_refs(ListMessages {
            include_spam_trash: true,
            ..ListMessages::default()
        })
        .try_collect()
        .await
        .unwrap();
    let without_spam_trash = mailbox
        .list_messages(&ListMessages::default())
        .await
        .unwrap();

    assert_eq!(refs.len(), 7);
    assert_eq!(without_spam_trash.messages.len(), 5);
    let listed: BTreeSet<&str> = refs.iter().map(|m| m.thread_id.as_str()).collect();
    assert_eq!(listed, threads.keys().map(String::as_str).collect());
    for (thread_id, message_ids) in &threads {
        let thread = mailbox
            .get_thread(thread_id, MessageFormat::Metadata, &["Message-ID"])
            .await
            .unwrap();
        let got: Vec<&str> = thread
            .messages
            .iter()
            .map(|m| m.header("Message-ID").unwrap())
            .collect();
        assert_eq!(&got, message_ids, "thread {thread_id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn takeout_labels_become_system_labels_and_named_user_labels() {
    let (_bench, mailbox) = imported().await;
    let (_, file_labels) = threads_in_file();
    let labels = mailbox.list_labels().await.unwrap();
    let id_of = |name: &str| {
        labels
            .iter()
            .find(|l| l.name == name)
            .map(|l| l.id.clone())
            .unwrap()
    };
    let refs: Vec<MessageRef> = mailbox
        .message_refs(ListMessages {
            include_spam_trash: true,
            ..ListMessages::default()
        })
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<&str> = refs.iter().map(|m| m.id.as_str()).collect();

    let messages = mailbox
        .get_messages(&ids, MessageFormat::Metadata, &["Message-ID"])
        .await;

    for name in ["Travel/2024", "Receipts", "Family, misc"] {
        assert!(
            !labels.iter().find(|l| l.name == name).unwrap().is_system(),
            "{name}"
        );
    }
    for message in messages {
        let message = message.unwrap();
        let takeout = &file_labels[message.header("Message-ID").unwrap()];
        let has = |label: &str| message.label_ids.iter().any(|l| l == label);
        for (takeout_name, label) in [
            ("Inbox", "INBOX".to_owned()),
            ("Sent", "SENT".to_owned()),
            ("Important", "IMPORTANT".to_owned()),
            ("Spam", "SPAM".to_owned()),
            ("Trash", "TRASH".to_owned()),
            ("Category Personal", "CATEGORY_PERSONAL".to_owned()),
            ("Travel/2024", id_of("Travel/2024")),
            ("Receipts", id_of("Receipts")),
            ("Family, misc", id_of("Family, misc")),
        ] {
            let listed = takeout.contains(&takeout_name.to_owned());
            assert_eq!(has(&label), listed, "{takeout:?}: {takeout_name}");
        }
        // "Opened" means read.
        assert_eq!(
            has("UNREAD"),
            !takeout.contains(&"Opened".to_owned()),
            "{takeout:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attachment_body_comes_from_attachments_get() {
    let (_bench, mailbox) = imported().await;
    let found = mailbox
        .list_messages(&ListMessages {
            q: Some("has:attachment".into()),
            ..ListMessages::default()
        })
        .await
        .unwrap();
    let id = &found.messages[0].id;
    let pdf_base64 = TAKEOUT.lines().find(|l| l.starts_with("JVBERi0")).unwrap();
    let pdf = base64::engine::general_purpose::STANDARD
        .decode(pdf_base64)
        .unwrap();

    let full = mailbox
        .get_message(id, MessageFormat::Full, &[])
        .await
        .unwrap();
    let part = full.attachments()[0].clone();
    let body = part.body.clone().unwrap();
    let fetched = mailbox
        .get_attachment(id, body.attachment_id.as_deref().unwrap())
        .await
        .unwrap();
    let raw = mailbox
        .get_message(id, MessageFormat::Raw, &[])
        .await
        .unwrap();

    assert_eq!(found.messages.len(), 1);
    assert_eq!(
        (part.filename.as_str(), part.mime_type.as_str()),
        ("invoice-0042.pdf", "application/pdf")
    );
    assert!(body.data.is_none(), "the data comes by attachmentId");
    assert_eq!(fetched.decoded().unwrap().unwrap(), pdf);
    assert_eq!(body.size as usize, pdf.len());
    let raw = String::from_utf8(raw.raw_bytes().unwrap().unwrap()).unwrap();
    assert!(raw.contains("Message-ID: <invoice-0042@paperclip.example>"));
    assert!(raw.contains(pdf_base64));
}
