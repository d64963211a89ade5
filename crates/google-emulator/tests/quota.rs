//! The per-user Gmail quota over HTTP (reference §7).

mod common;

use std::time::Duration;

use common::*;
use google_emulator::{EmulatorConfig, QuotaConfig};

async fn spawn_with_quota(units: u32, window: Duration) -> TestEmulator {
    spawn(EmulatorConfig {
        auto_approve: true,
        quota: Some(QuotaConfig { units, window }),
        ..EmulatorConfig::default()
    })
    .await
}

const LIST: &str = "/gmail/v1/users/me/messages?maxResults=1";

#[tokio::test]
async fn a_burst_over_the_quota_is_refused_with_user_rate_limit_exceeded() {
    let emu = spawn_with_quota(12, Duration::from_secs(60)).await;
    let token = emu.alice_token().await;

    // messages.list costs 5 units: two fit in 12, the third does not.
    let first = emu.get_with(&token, LIST).await.status().as_u16();
    let second = emu.get_with(&token, LIST).await.status().as_u16();
    let refused = emu.get_with(&token, LIST).await;

    assert_eq!((first, second), (200, 200));
    assert_eq!(refused.status(), 403);
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body: serde_json::Value = refused.json().await.unwrap();
    let error = &body["error"];
    assert_eq!(error["code"], 403);
    assert_eq!(error["errors"][0]["reason"], "userRateLimitExceeded");
    assert_eq!(error["errors"][0]["domain"], "usageLimits");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("Retry after 20"), "{message}");
    assert!(message.ends_with('Z'), "{message}");
}

#[tokio::test]
async fn a_refused_call_spends_no_units_and_is_counted() {
    let emu = spawn_with_quota(12, Duration::from_secs(60)).await;
    let token = emu.alice_token().await;
    emu.get_with(&token, LIST).await;
    emu.get_with(&token, LIST).await;
    let refused = emu.get_with(&token, LIST).await.status().as_u16();

    // getProfile costs 1 unit, which still fits: 10 + 1 <= 12.
    let profile = emu
        .get_with(&token, "/gmail/v1/users/me/profile")
        .await
        .status()
        .as_u16();
    let (_, counters) = emu.get_json("", "/emulator/counters").await;

    assert_eq!((refused, profile), (403, 200));
    assert_eq!(counters["quota_refusals"], 1);
    assert_eq!(counters["quota_units_used"]["alice@example.com"], 11);
}

#[tokio::test]
async fn units_free_up_once_the_window_has_passed() {
    let emu = spawn_with_quota(10, Duration::from_millis(1200)).await;
    let token = emu.alice_token().await;
    emu.get_with(&token, LIST).await;
    emu.get_with(&token, LIST).await;

    let refused = emu.get_with(&token, LIST).await;
    let retry_after = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .to_owned();
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let later = emu.get_with(&token, LIST).await.status().as_u16();

    assert_eq!(refused.status(), 403);
    assert!(retry_after == "1" || retry_after == "2", "{retry_after}");
    assert_eq!(later, 200);
}

#[tokio::test]
async fn quota_is_per_user() {
    let emu = spawn_with_quota(5, Duration::from_secs(60)).await;
    let alice = emu.alice_token().await;
    let bob = emu.token_with("bob@example.com", GMAIL_READONLY).await;

    let alice_first = emu.get_with(&alice, LIST).await.status().as_u16();
    let alice_second = emu.get_with(&alice, LIST).await.status().as_u16();
    let bob_first = emu.get_with(&bob, LIST).await.status().as_u16();

    assert_eq!((alice_first, alice_second, bob_first), (200, 403, 200));
}

#[tokio::test]
async fn batch_parts_are_charged_one_by_one() {
    let emu = spawn_with_quota(12, Duration::from_secs(60)).await;
    let token = emu.alice_token().await;
    let part = "--p\r\nContent-Type: application/http\r\n\r\nGET /gmail/v1/users/me/messages?maxResults=1 HTTP/1.1\r\n\r\n";
    let body = format!("{part}{part}{part}--p--\r\n");

    let response = emu
        .http
        .post(emu.url("/batch/gmail/v1"))
        .bearer_auth(&token)
        .header("content-type", "multipart/mixed; boundary=p")
        .body(body)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let statuses: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("HTTP/1.1 "))
        .collect();
    assert_eq!(
        statuses,
        [
            "HTTP/1.1 200 OK",
            "HTTP/1.1 200 OK",
            "HTTP/1.1 403 Forbidden"
        ]
    );
    assert!(text.contains("userRateLimitExceeded"));
}

#[tokio::test]
async fn without_a_quota_nothing_is_refused() {
    let emu = spawn(EmulatorConfig {
        auto_approve: true,
        quota: None,
        ..EmulatorConfig::default()
    })
    .await;
    let token = emu.alice_token().await;

    let mut statuses = Vec::new();
    for _ in 0..20 {
        statuses.push(emu.get_with(&token, LIST).await.status().as_u16());
    }

    assert!(statuses.iter().all(|&s| s == 200));
}
