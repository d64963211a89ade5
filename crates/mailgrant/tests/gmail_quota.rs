//! Quota pacing (reference §7) against an emulator whose per-user quota is
//! 500 units in any 2 s: paced to that budget a workload gets no refusal;
//! unpaced, the same workload runs into the quota (and still finishes by
//! waiting out the refusals).

mod gmail_common;

use std::time::{Duration, Instant};

use futures::TryStreamExt as _;
use gmail_common::*;
use mailgrant::gmail::{GmailOptions, ListMessages, MessageFormat, QuotaBudget};

const UNITS: u32 = 500;
const WINDOW: Duration = Duration::from_secs(2);

/// 2 pages of `messages.list` (10 units), 100 `messages.get` in batches
/// (500), the profile and the labels (2): 512 units, more than one window
/// allows.
async fn workload(options: GmailOptions) -> (Bench, Duration) {
    let bench = Bench::start(quota(UNITS, WINDOW)).await;
    let user = bench.connect("busy@example.com", 100).await;
    let mailbox = bench.gmail(options).user(&user);
    let started = Instant::now();
    let ids: Vec<String> = mailbox
        .message_refs(ListMessages {
            max_results: Some(50),
            ..ListMessages::default()
        })
        .map_ok(|m| m.id)
        .try_collect()
        .await
        .unwrap();
    let messages = mailbox
        .get_messages(&ids, MessageFormat::Metadata, &["From"])
        .await;
    mailbox.profile().await.unwrap();
    mailbox.list_labels().await.unwrap();
    assert_eq!(ids.len(), 100);
    assert!(messages.iter().all(Result::is_ok), "{messages:?}");
    (bench, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paced_to_the_quota_a_workload_is_never_refused() {
    let budget = QuotaBudget::within(UNITS, WINDOW);
    assert!(budget.max_in(WINDOW) < f64::from(UNITS));

    let (bench, took) = workload(GmailOptions {
        quota: Some(budget),
        ..unpaced()
    })
    .await;

    let counters = bench.counters().await;
    assert_eq!(count(&counters, "/quota_refusals"), 0, "{counters}");
    assert_eq!(count(&counters, "/quota_units_used/busy@example.com"), 512);
    // 512 units at this pace need more than the burst allows at once.
    assert!(took > Duration::from_secs(1), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpaced_the_same_workload_runs_into_the_quota() {
    let (bench, _) = workload(unpaced()).await;

    let counters = bench.counters().await;
    assert!(count(&counters, "/quota_refusals") > 0, "{counters}");
    assert_eq!(count(&counters, "/quota_units_used/busy@example.com"), 512);
}
