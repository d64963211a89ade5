//! Several replicas sharing one PostgreSQL database: each has its own
//! connections, broker and in-process single-flight, and the database's
//! refresh lock makes one refresh per user across all of them.

mod gmail_common;
mod postgres_common;

use google_emulator::EmulatorConfig;
use serde_json::json;

use gmail_common::{Bench, concurrent_tokens, count};
use postgres_common::Schema;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_times_a_hundred_callers_make_one_refresh() {
    let schema = Schema::new().await;
    let bench = Bench::start_on(EmulatorConfig::default(), Some(schema.url()), |s| s).await;
    let user = bench.connect("replicas@example.com", 1).await;
    let replicas = [
        bench.broker.clone(),
        bench.replica().await,
        bench.replica().await,
    ];
    schema
        .execute("UPDATE credentials SET access_token_expires_at = 0")
        .await;
    // A slow token endpoint: without a lock the replicas share, each
    // replica's refresh would be in flight at once.
    bench
        .control(
            "/emulator/faults",
            &json!({"endpoint": "token", "count": 3, "delay_ms": 300}),
        )
        .await;

    let tokens = concurrent_tokens(&replicas, &user, 100).await;

    let grants = count(&bench.counters().await, "/token_grants/refresh_token");
    assert_eq!(grants, 1, "one refresh across the three replicas");
    assert_eq!(tokens.len(), 300);
    assert!(
        tokens.iter().all(|t| t == &tokens[0]),
        "every caller of every replica got the one new token"
    );
}
