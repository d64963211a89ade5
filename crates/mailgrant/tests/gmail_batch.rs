//! Batches (reference §6) against the emulator: each part's status on its
//! own, only failed parts sent again, a part-level 401 refreshed once.

mod gmail_common;

use futures::TryStreamExt as _;
use gmail_common::*;
use mailgrant::gmail::{GmailError, GmailOptions, ListMessages, Mailbox, MessageFormat};
use mailgrant::{Error, ReauthReason};

async fn ids(mailbox: &Mailbox, n: u32) -> Vec<String> {
    mailbox
        .message_refs(ListMessages {
            max_results: Some(n),
            ..ListMessages::default()
        })
        .map_ok(|m| m.id)
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .into_iter()
        .take(n as usize)
        .collect()
}

async fn batch_counters(bench: &Bench) -> (u64, u64) {
    let counters = bench.counters().await;
    (
        count(&counters, "/batch_requests"),
        count(&counters, "/batch_parts"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_message_fails_only_its_own_part_and_is_not_retried() {
    let (bench, mailbox) = mailbox_of("mixed@example.com", 10).await;
    let real = ids(&mailbox, 3).await;
    let asked = [
        &real[0],
        "0000000000000bad",
        &real[1],
        "0000000000000bee",
        &real[2],
    ];

    let results = mailbox
        .get_messages(&asked, MessageFormat::Minimal, &[])
        .await;

    assert_eq!(results.len(), 5);
    for (i, id) in [(0, &real[0]), (2, &real[1]), (4, &real[2])] {
        assert_eq!(&results[i].as_ref().unwrap().id, id);
    }
    for i in [1, 3] {
        assert!(
            matches!(
                &results[i],
                Err(Error::Gmail(GmailError::Api { status: 404, reason: Some(r), .. })) if r == "notFound"
            ),
            "{:?}",
            results[i]
        );
    }
    assert_eq!(batch_counters(&bench).await, (1, 5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parts_answered_with_a_retryable_status_are_sent_again_without_the_rest() {
    let (bench, mailbox) = mailbox_of("partial@example.com", 10).await;
    let asked = ids(&mailbox, 5).await;
    // The emulator runs parts in order through the Gmail routes: the first
    // two get a 503 and a 429.
    bench
        .fault(
            1,
            503,
            &Bench::google_error(503, "backendError", "Backend Error"),
        )
        .await;
    bench
        .fault(
            1,
            429,
            &Bench::google_error(
                429,
                "rateLimitExceeded",
                "Resource has been exhausted (e.g. check quota).",
            ),
        )
        .await;

    let results = mailbox
        .get_messages(&asked, MessageFormat::Metadata, &["Subject"])
        .await;

    for (result, id) in results.iter().zip(&asked) {
        assert_eq!(&result.as_ref().unwrap().id, id);
    }
    assert_eq!(batch_counters(&bench).await, (2, 5 + 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_level_401_gets_one_refresh_and_then_only_those_parts_again() {
    let (bench, mailbox) = mailbox_of("expired@example.com", 10).await;
    let asked = ids(&mailbox, 4).await;
    let before = count(&bench.counters().await, "/token_grants/refresh_token");
    bench
        .fault(
            2,
            401,
            &Bench::google_error(401, "authError", "Invalid Credentials"),
        )
        .await;

    let results = mailbox
        .get_messages(&asked, MessageFormat::Minimal, &[])
        .await;

    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let counters = bench.counters().await;
    assert_eq!(count(&counters, "/token_grants/refresh_token"), before + 1);
    assert_eq!(batch_counters(&bench).await, (2, 4 + 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parts_still_refused_after_the_refresh_ask_the_user_to_authorize_again() {
    let (bench, mailbox) = mailbox_of("refused@example.com", 10).await;
    let asked = ids(&mailbox, 2).await;
    // Both parts, then the first part of the second try.
    bench
        .fault(
            3,
            401,
            &Bench::google_error(401, "authError", "Invalid Credentials"),
        )
        .await;

    let results = mailbox
        .get_messages(&asked, MessageFormat::Minimal, &[])
        .await;

    assert!(
        matches!(
            &results[0],
            Err(Error::ReauthorizationRequired {
                reason: ReauthReason::Unauthorized,
                ..
            })
        ),
        "{:?}",
        results[0]
    );
    assert_eq!(&results[1].as_ref().unwrap().id, &asked[1]);
    assert_eq!(batch_counters(&bench).await, (2, 4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_ids_than_a_batch_holds_go_in_several_batches_and_come_back_in_order() {
    let bench = Bench::start(no_quota()).await;
    let user = bench.connect("many-batches@example.com", 130).await;
    let oversized = bench.gmail(GmailOptions {
        batch_size: 500,
        ..unpaced()
    });
    let mailbox = bench.gmail(unpaced()).user(&user);
    let mut asked = ids(&mailbox, 120).await;
    asked.reverse();

    let results = mailbox
        .get_messages(&asked, MessageFormat::Minimal, &[])
        .await;

    assert_eq!(
        oversized.options().batch_size,
        100,
        "Google takes at most 100 calls a batch"
    );
    let got: Vec<&str> = results
        .iter()
        .map(|r| r.as_ref().unwrap().id.as_str())
        .collect();
    assert_eq!(got, asked.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        batch_counters(&bench).await,
        (3, 120),
        "batches of 50 by default"
    );
}
