//! Syncing the metadata (`format=metadata`, headers From/To/Subject/Date)
//! of 10,000 messages of one user from the in-process emulator, on this
//! machine.
//!
//! Quota off, medians of 5 rounds (the strategies alternate in each round):
//! - (a) Google's sample loop: list pages, then one `messages.get` at a
//!   time over one connection, as the Python quickstart does ("for each id,
//!   get"): reqwest, the access token, JSON parsed into a value;
//! - (b) `Mailbox::full_sync` with several batch sizes and concurrencies;
//! - (c) the emulator's ceiling for the same 10,000 gets: a load generator
//!   that does nothing but send them and read the answers, (c1) as
//!   concurrent batch requests of 100 parts (the fewest HTTP requests the
//!   work can take), at several concurrencies, and (c2) `wrk` against
//!   single `messages.get` at 16 connections (when installed). The best of
//!   them is the ceiling.
//!
//! Quota on (the emulator at Google's 15,000 units per 60 s per user,
//! mailgrant at its default budget): one run, which takes about 200 s:
//! sustained units/s against 250, failed calls, calls refused for quota.
//!
//! ```text
//! cargo bench -p mailgrant-server --bench gmail_sync
//! ```
//! `MAILGRANT_BENCH_SYNC_MESSAGES` changes the mailbox size and
//! `MAILGRANT_BENCH_SYNC_QUOTA=0` skips the quota run (for trying things).

mod support;
mod sync_support;

use std::process::{Command, ExitCode};
use std::time::Instant;

use futures::{StreamExt as _, TryStreamExt as _};
use google_emulator::QuotaConfig;
use mailgrant::gmail::{
    GmailOptions, ListMessages, MessageFormat, SyncOptions, SyncProgress, SyncRecord, SyncSink,
};
use serde_json::{Value, json};

use sync_support::Mailboxes;

const EMAIL: &str = "bench@example.com";
const ROUNDS: usize = 5;
const HEADERS: [&str; 4] = ["From", "To", "Subject", "Date"];
/// (batch_size, concurrency) of mailgrant's runs; the first is the default.
const SETTINGS: [(usize, usize); 6] = [(50, 4), (100, 4), (50, 8), (100, 8), (100, 16), (25, 8)];
/// Batches of 100 in flight in the ceiling's load generator.
const CEILING_CONCURRENCY: [usize; 3] = [2, 8, 32];
const WRK_CONNECTIONS: u32 = 16;

fn main() -> ExitCode {
    if !support::invoked_by_cargo_bench("gmail_sync") {
        return ExitCode::SUCCESS;
    }
    let messages: usize = std::env::var("MAILGRANT_BENCH_SYNC_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let quota_run = std::env::var("MAILGRANT_BENCH_SYNC_QUOTA").map_or(true, |v| v != "0");
    support::server_runtime().block_on(run(messages, quota_run));
    ExitCode::SUCCESS
}

async fn run(messages: usize, quota_run: bool) {
    let load_at_start = support::load_average();
    let started = Instant::now();
    eprintln!("gmail_sync: generating a mailbox of {messages} messages (quota off)");
    let mailboxes = Mailboxes::start(None, EMAIL, messages).await;
    let ids = list_ids(&mailboxes).await;
    assert_eq!(ids.len(), messages, "every message is listed");
    let wrk = Command::new("wrk").arg("--version").output().is_ok();

    let mut sample = Vec::new();
    let mut synced = vec![Vec::new(); SETTINGS.len()];
    let mut batched = vec![Vec::new(); CEILING_CONCURRENCY.len()];
    let mut wrk_rates = Vec::new();
    let mut listing = Vec::new();
    for round in 1..=ROUNDS {
        eprintln!("gmail_sync: round {round} of {ROUNDS}");
        let started = Instant::now();
        list_ids(&mailboxes).await;
        listing.push(started.elapsed().as_secs_f64());
        sample.push(sample_loop(&mailboxes, messages).await);
        for (n, (batch_size, concurrency)) in SETTINGS.into_iter().enumerate() {
            let options = GmailOptions {
                batch_size,
                concurrency,
                quota: None,
                ..GmailOptions::default()
            };
            synced[n].push(mailgrant_sync(&mailboxes, options, messages).await.0);
        }
        for (n, concurrency) in CEILING_CONCURRENCY.into_iter().enumerate() {
            batched[n].push(batch_ceiling(&mailboxes, &ids, concurrency).await);
        }
        if wrk {
            wrk_rates.push(wrk_ceiling(&mailboxes, &ids).await);
        }
    }

    let rate = |seconds: f64| messages as f64 / seconds;
    let a = support::median(&sample);
    let b: Vec<f64> = synced.iter().map(|runs| support::median(runs)).collect();
    let c: Vec<f64> = batched.iter().map(|runs| support::median(runs)).collect();
    let wrk_rate = (!wrk_rates.is_empty()).then(|| support::median(&wrk_rates));
    let list = support::median(&listing);
    let best_b = b.iter().copied().fold(f64::INFINITY, f64::min);
    let best_b_setting = SETTINGS[b.iter().position(|t| *t == best_b).unwrap_or(0)];
    let best_batched = c.iter().copied().fold(f64::INFINITY, f64::min);
    let ceiling_rate = rate(best_batched).max(wrk_rate.unwrap_or(0.0));

    println!(
        "gmail_sync: {messages} messages, format=metadata {HEADERS:?}, quota off, medians of {ROUNDS}"
    );
    println!(
        "(a) sample loop (list, then get one by one): {a:.2} s, {:.0} msg/s",
        rate(a)
    );
    for ((batch_size, concurrency), t) in SETTINGS.iter().zip(&b) {
        println!(
            "(b) mailgrant full_sync batch_size={batch_size:>3} concurrency={concurrency:>2}: {t:.3} s, {:.0} msg/s, {:.1}x (a)",
            rate(*t),
            a / t
        );
    }
    for (concurrency, t) in CEILING_CONCURRENCY.iter().zip(&c) {
        println!(
            "(c1) batches of 100, {concurrency:>2} in flight: {t:.3} s, {:.0} msg/s",
            rate(*t)
        );
    }
    println!("listing alone (part of (a) and (b), not of (c)): {list:.3} s");
    match wrk_rate {
        Some(r) => println!("(c2) wrk -c{WRK_CONNECTIONS} on messages.get: {r:.0} msg/s"),
        None => println!("(c2) wrk is not installed; skipped"),
    }
    let b_over_a = a / best_b;
    let b_over_c = rate(best_b) / ceiling_rate;
    println!(
        "best (b) {best_b_setting:?}: b/a = {b_over_a:.1}x (target >= 20x: {}), b/c = {b_over_c:.2}",
        if b_over_a >= 20.0 { "met" } else { "NOT MET" }
    );

    let quota = if quota_run {
        Some(quota_on(messages).await)
    } else {
        None
    };
    println!(
        "{}",
        json!({
            "bench": "gmail_sync",
            "machine": support::machine(),
            "loadavg_1m": { "start": load_at_start, "end": support::load_average() },
            "messages": messages,
            "format": "metadata",
            "rounds": ROUNDS,
            "quota_off": {
                "sample_loop_s": { "median": a, "runs": sample },
                "mailgrant": SETTINGS.iter().zip(&b).zip(&synced).map(|(((bs, cc), t), runs)| json!({
                    "batch_size": bs, "concurrency": cc, "median_s": t, "msg_per_s": rate(*t), "runs": runs,
                })).collect::<Vec<_>>(),
                "ceiling_batches": CEILING_CONCURRENCY.iter().zip(&c).zip(&batched).map(|((cc, t), runs)| json!({
                    "concurrency": cc, "median_s": t, "msg_per_s": rate(*t), "runs": runs,
                })).collect::<Vec<_>>(),
                "ceiling_wrk_msg_per_s": wrk_rate,
                "listing_s": { "median": list, "runs": listing },
                "ceiling_msg_per_s": ceiling_rate,
                "b_over_a": b_over_a,
                "b_over_c": b_over_c,
                "target_b_over_a": 20.0,
            },
            "quota_on": quota,
            "elapsed_s": started.elapsed().as_secs_f64(),
        })
    );
}

fn sync_options() -> SyncOptions {
    SyncOptions {
        format: MessageFormat::Metadata,
        metadata_headers: HEADERS.iter().map(|h| (*h).to_owned()).collect(),
        ..SyncOptions::default()
    }
}

async fn list_ids(mailboxes: &Mailboxes) -> Vec<String> {
    let gmail = mailboxes.gmail(GmailOptions {
        quota: None,
        ..GmailOptions::default()
    });
    let params = ListMessages {
        max_results: Some(500),
        ..ListMessages::default()
    };
    gmail
        .user(&mailboxes.user_id)
        .message_refs(params)
        .map_ok(|m| m.id)
        .try_collect()
        .await
        .expect("the ids")
}

/// Counts the records (what a consumer does with them is not the sync's
/// cost); prints progress when asked to.
struct Count {
    messages: u64,
    every: Option<(u64, Instant)>,
}

impl SyncSink for Count {
    type Error = std::convert::Infallible;
    fn record(&mut self, record: SyncRecord) -> Result<(), Self::Error> {
        if matches!(record, SyncRecord::Message(_)) {
            self.messages += 1;
        }
        Ok(())
    }
    fn progress(&mut self, p: SyncProgress) {
        if let Some((every, started)) = self.every
            && p.done.is_multiple_of(every)
        {
            eprintln!(
                "  {}/{} messages after {:.0} s",
                p.done,
                p.total,
                started.elapsed().as_secs_f64()
            );
        }
    }
}

/// (b): seconds for a whole `full_sync`, and the report.
async fn mailgrant_sync(
    mailboxes: &Mailboxes,
    options: GmailOptions,
    messages: usize,
) -> (f64, mailgrant::gmail::SyncReport) {
    let gmail = mailboxes.gmail(options);
    let mailbox = gmail.user(&mailboxes.user_id);
    let mut sink = Count {
        messages: 0,
        every: None,
    };
    let started = Instant::now();
    let report = mailbox
        .full_sync(&sync_options(), &mut sink)
        .await
        .expect("the sync succeeds");
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(sink.messages as usize, messages, "every message synced");
    (seconds, report)
}

/// (a): Google's sample: list every page, then get each message in turn.
async fn sample_loop(mailboxes: &Mailboxes, messages: usize) -> f64 {
    let token = mailboxes.access_token().await;
    // One connection, used for one request at a time.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .expect("a client");
    let api = format!("{}/gmail/v1/users/me/messages", mailboxes.base);
    let started = Instant::now();
    let mut ids: Vec<String> = Vec::new();
    let mut page_token: Option<String> = None;
    loop {
        let mut request = http.get(&api).bearer_auth(&token);
        if let Some(page_token) = &page_token {
            request = request.query(&[("pageToken", page_token)]);
        }
        let page: Value = request
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("JSON");
        let listed = page["messages"].as_array().into_iter().flatten();
        ids.extend(listed.filter_map(|m| m["id"].as_str().map(str::to_owned)));
        match page["nextPageToken"].as_str() {
            Some(next) => page_token = Some(next.to_owned()),
            None => break,
        }
    }
    let mut query = vec![("format", "metadata")];
    query.extend(HEADERS.iter().map(|h| ("metadataHeaders", *h)));
    for id in &ids {
        let response = http
            .get(format!("{api}/{id}"))
            .query(&query)
            .bearer_auth(&token)
            .send()
            .await
            .expect("get");
        assert!(response.status().is_success(), "get: {}", response.status());
        let message: Value = response.json().await.expect("JSON");
        assert_eq!(message["id"].as_str(), Some(id.as_str()));
    }
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(ids.len(), messages);
    seconds
}

/// (c1): seconds for the same 10,000 gets as batch requests of 100, with
/// `concurrency` in flight, the answers read whole and their statuses checked.
async fn batch_ceiling(mailboxes: &Mailboxes, ids: &[String], concurrency: usize) -> f64 {
    let token = mailboxes.access_token().await;
    let http = reqwest::Client::new();
    let url = format!("{}/batch/gmail/v1", mailboxes.base);
    let headers: String = HEADERS
        .iter()
        .map(|h| format!("&metadataHeaders={h}"))
        .collect();
    let bodies: Vec<String> = ids
        .chunks(100)
        .map(|chunk| {
            let mut body = String::new();
            for (n, id) in chunk.iter().enumerate() {
                body.push_str(&format!(
                    "--b\r\nContent-Type: application/http\r\nContent-ID: <c+{n}>\r\n\r\nGET /gmail/v1/users/me/messages/{id}?format=metadata{headers} HTTP/1.1\r\n\r\n"
                ));
            }
            body + "--b--\r\n"
        })
        .collect();
    let started = Instant::now();
    let answered: Vec<usize> = futures::stream::iter(bodies.into_iter().map(|body| {
        let request = http
            .post(&url)
            .bearer_auth(&token)
            .header("content-type", "multipart/mixed; boundary=b")
            .body(body);
        async move {
            let text = request
                .send()
                .await
                .expect("batch")
                .text()
                .await
                .expect("body");
            text.matches("HTTP/1.1 200").count()
        }
    }))
    .buffer_unordered(concurrency)
    .collect()
    .await;
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(
        answered.iter().sum::<usize>(),
        ids.len(),
        "every part answered 200"
    );
    seconds
}

/// (c2): messages.get per second under `wrk`, cycling over the ids.
async fn wrk_ceiling(mailboxes: &Mailboxes, ids: &[String]) -> f64 {
    let token = mailboxes.access_token().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let script = dir.path().join("gets.lua");
    let query: String = HEADERS
        .iter()
        .map(|h| format!("&metadataHeaders={h}"))
        .collect();
    let paths: Vec<String> = ids
        .iter()
        .map(|id| format!("  \"/gmail/v1/users/me/messages/{id}?format=metadata{query}\","))
        .collect();
    let lua = format!(
        "local paths = {{\n{}\n}}\nlocal i = 0\nrequest = function()\n  i = i % #paths + 1\n  return wrk.format(\"GET\", paths[i], {{ [\"Authorization\"] = \"Bearer {token}\" }})\nend\n",
        paths.join("\n")
    );
    std::fs::write(&script, lua).expect("write the script");
    let base = mailboxes.base.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("wrk")
            .args(["-t1", &format!("-c{WRK_CONNECTIONS}"), "-d5s", "-s"])
            .arg(&script)
            .arg(&base)
            .output()
            .expect("run wrk")
    })
    .await
    .expect("wrk ran");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        !text.contains("Non-2xx") && !text.contains("Socket errors"),
        "wrk saw failures:\n{text}"
    );
    text.lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec in wrk's output:\n{text}"))
}

/// Quota on: one sync at the default budget against Google's per-user quota.
async fn quota_on(messages: usize) -> Value {
    eprintln!("gmail_sync: quota on (15,000 units / 60 s); one run of about 200 s");
    let mailboxes = Mailboxes::start(Some(QuotaConfig::default()), EMAIL, messages).await;
    let gmail = mailboxes.gmail(GmailOptions::default());
    let options = gmail.options().clone();
    let mailbox = gmail.user(&mailboxes.user_id);
    let (before, ok_before) = (mailboxes.counters().await, mailboxes.ok_answers());
    let mut sink = Count {
        messages: 0,
        every: Some((1000, Instant::now())),
    };
    let started = Instant::now();
    let result = mailbox.full_sync(&sync_options(), &mut sink).await;
    let seconds = started.elapsed().as_secs_f64();
    let spent = mailboxes.counters().await - before;
    let ok = mailboxes.ok_answers() - ok_before;
    let not_ok = spent.gmail_calls.saturating_sub(ok);
    let failed = match &result {
        Ok(_) => messages as u64 - sink.messages,
        Err(e) => {
            eprintln!("gmail_sync: the paced sync failed: {e}");
            messages as u64 - sink.messages
        }
    };
    let units_per_s = spent.units as f64 / seconds;
    let refused = spent.quota_refusals as f64 / spent.gmail_calls.max(1) as f64;
    println!(
        "quota on: {} messages in {seconds:.1} s; {} units, {units_per_s:.1} units/s = {:.1}% of 250 (target >= 95%)",
        sink.messages,
        spent.units,
        units_per_s / 2.5
    );
    println!(
        "quota on: {} calls ({} batch requests), {} refused for quota = {:.3}% (target < 1%), {not_ok} answers not 200, {failed} messages not synced (target 0)",
        spent.gmail_calls,
        spent.batch_requests,
        spent.quota_refusals,
        100.0 * refused
    );
    json!({
        "budget": { "units_per_second": options.quota.map(|q| q.units_per_second), "burst": options.quota.map(|q| q.burst) },
        "batch_size": options.batch_size,
        "concurrency": options.concurrency,
        "seconds": seconds,
        "messages": sink.messages,
        "units": spent.units,
        "units_per_s": units_per_s,
        "fraction_of_250": units_per_s / 250.0,
        "calls": spent.gmail_calls,
        "batch_requests": spent.batch_requests,
        "quota_refusals": spent.quota_refusals,
        "refused_fraction": refused,
        "answers_not_200": not_ok,
        "messages_not_synced": failed,
        "runs": 1,
    })
}
