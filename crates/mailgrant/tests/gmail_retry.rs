//! Retries (https://developers.google.com/gmail/api/guides/handle-errors):
//! each retryable status is tried again, never sooner than Google's
//! `Retry-After`; a broken connection too; attempts are bounded and end in
//! a clear error; a 401 gets one refresh. Against the emulator's faults,
//! and, where an exact `Retry-After` header must be sent (the emulator's
//! faults set no headers), against a small scripted stand-in.

mod gmail_common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use gmail_common::*;
use mailgrant::gmail::{GmailError, GmailOptions, ListMessages, MessageFormat};
use mailgrant::metrics::StatusLabel;
use mailgrant::{Error, ReauthReason};
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;

async fn gmail_calls(bench: &Bench) -> u64 {
    count(&bench.counters().await, "/gmail_calls")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_retryable_status_is_tried_again_until_it_succeeds() {
    let (bench, mailbox) = mailbox_of("flaky@example.com", 3).await;
    let cases = [
        (429, "rateLimitExceeded"),
        (500, "backendError"),
        (502, "backendError"),
        (503, "backendError"),
        (504, "backendError"),
        (403, "rateLimitExceeded"),
        (403, "userRateLimitExceeded"),
    ];
    for (status, reason) in cases {
        let before = gmail_calls(&bench).await;
        bench
            .fault(1, status, &Bench::google_error(status, reason, "try later"))
            .await;

        let profile = mailbox.profile().await;

        assert!(profile.is_ok(), "{status} {reason}: {profile:?}");
        assert_eq!(gmail_calls(&bench).await, before + 2, "{status} {reason}");
    }
}

/// What the stand-in answers first for each message id, then 200.
fn first_answer(id: &str) -> (StatusCode, Option<String>, Value) {
    let later = |d: Duration| SystemTime::now() + d;
    let error = |status: u16, reason: &str, message: String| json!({"error": {"code": status, "message": message, "errors": [{"reason": reason}]}});
    match id {
        "secs-429" | "secs-500" | "secs-502" | "secs-503" | "secs-504" => {
            let status: u16 = id[5..].parse().unwrap();
            (
                StatusCode::from_u16(status).unwrap(),
                Some("1".to_owned()),
                error(status, "x", "later".into()),
            )
        }
        "secs-403" => (
            StatusCode::FORBIDDEN,
            Some("1".to_owned()),
            error(
                403,
                "userRateLimitExceeded",
                "User Rate Limit Exceeded".into(),
            ),
        ),
        // One second's resolution: at least a second from now.
        "date-503" => (
            StatusCode::SERVICE_UNAVAILABLE,
            Some(httpdate::fmt_http_date(later(Duration::from_secs(2)))),
            error(503, "backendError", "Backend Error".into()),
        ),
        "message-429" => {
            let at = time::OffsetDateTime::from(later(Duration::from_millis(1200)))
                .format(&Rfc3339)
                .unwrap();
            (
                StatusCode::TOO_MANY_REQUESTS,
                None,
                error(
                    429,
                    "rateLimitExceeded",
                    format!("User-rate limit exceeded.  Retry after {at} (Forwarding rules)"),
                ),
            )
        }
        _ => (
            StatusCode::NOT_FOUND,
            None,
            error(404, "notFound", "Requested entity was not found.".into()),
        ),
    }
}

type Arrivals = Arc<Mutex<HashMap<String, Vec<Instant>>>>;

async fn scripted(State(arrivals): State<Arrivals>, Path(id): Path<String>) -> impl IntoResponse {
    let seen = {
        let mut arrivals = arrivals.lock().unwrap();
        let times = arrivals.entry(id.clone()).or_default();
        times.push(Instant::now());
        times.len()
    };
    let mut headers = HeaderMap::new();
    if seen > 1 {
        return (
            StatusCode::OK,
            headers,
            json!({"id": id, "threadId": id}).to_string(),
        );
    }
    let (status, retry_after, body) = first_answer(&id);
    if let Some(value) = retry_after {
        headers.insert("retry-after", HeaderValue::from_str(&value).unwrap());
    }
    (status, headers, body.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retry_waits_at_least_the_retry_after_google_asked_for() {
    let bench = Bench::start(no_quota()).await;
    let user = bench.connect("patient@example.com", 1).await;
    let arrivals: Arrivals = Arc::default();
    let app = axum::Router::new()
        .route(
            "/gmail/v1/users/me/messages/{id}",
            axum::routing::get(scripted),
        )
        .with_state(arrivals.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stand_in = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mailbox = bench.gmail_at(&stand_in, unpaced()).user(&user);
    let waits = [
        ("secs-429", 1000),
        ("secs-500", 1000),
        ("secs-502", 1000),
        ("secs-503", 1000),
        ("secs-504", 1000),
        ("secs-403", 1000),
        ("date-503", 1000),
        ("message-429", 1150),
    ];

    let calls = waits.map(|(id, _)| {
        let mailbox = mailbox.clone();
        async move { mailbox.get_message(id, MessageFormat::Minimal, &[]).await }
    });
    let results = futures::future::join_all(calls).await;

    let arrivals = arrivals.lock().unwrap();
    for ((id, least_ms), result) in waits.iter().zip(results) {
        assert_eq!(result.unwrap().id, *id);
        let times = &arrivals[*id];
        assert_eq!(times.len(), 2, "{id}");
        let waited = times[1] - times[0];
        assert!(
            waited >= Duration::from_millis(*least_ms),
            "{id} retried after {waited:?}"
        );
        assert!(
            waited < Duration::from_millis(least_ms + 1500),
            "{id} waited {waited:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quota_refusal_is_retried_after_the_emulators_retry_after() {
    let bench = Bench::start(quota(5, Duration::from_secs(1))).await;
    let user = bench.connect("quota-wait@example.com", 3).await;
    let mailbox = bench.gmail(unpaced()).user(&user);
    // Connecting spent nothing; the list spends the whole second's quota.
    let page = mailbox
        .list_messages(&ListMessages::default())
        .await
        .unwrap();

    let started = Instant::now();
    let message = mailbox
        .get_message(&page.messages[0].id, MessageFormat::Minimal, &[])
        .await;

    assert!(message.is_ok(), "{message:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(count(&bench.counters().await, "/quota_refusals"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_breaks_off_is_tried_again() {
    let (bench, mailbox) = mailbox_of("dropped@example.com", 3).await;
    bench
        .control(
            "/emulator/faults",
            &json!({"endpoint": "gmail", "drop_connection": true}),
        )
        .await;
    let before = gmail_calls(&bench).await;

    let profile = mailbox.profile().await;

    assert_eq!(profile.unwrap().email_address, "dropped@example.com");
    assert_eq!(gmail_calls(&bench).await, before + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempts_are_bounded_and_end_in_googles_error() {
    let (bench, mailbox) = mailbox_of("down@example.com", 3).await;
    bench
        .fault(
            10,
            503,
            &Bench::google_error(503, "backendError", "Backend Error"),
        )
        .await;
    let before = gmail_calls(&bench).await;

    let profile = mailbox.profile().await;

    assert!(
        matches!(
            profile,
            Err(Error::Gmail(GmailError::Api { status: 503, ref message, .. })) if message == "Backend Error"
        ),
        "{profile:?}"
    );
    let attempts = u64::from(fast_retry().attempts);
    assert_eq!(gmail_calls(&bench).await, before + attempts);
    let answered_503 = bench
        .broker
        .metrics()
        .gmail_calls
        .get_or_create(&StatusLabel { status: 503 })
        .get();
    assert_eq!(answered_503, attempts);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_403_for_missing_scopes_asks_for_the_scope_incrementally() {
    let (bench, mailbox) = mailbox_of("unticked@example.com", 3).await;
    let body = Bench::google_error(
        403,
        "insufficientPermissions",
        "Request had insufficient authentication scopes.",
    );
    bench.fault(1, 403, &body).await;

    let profile = mailbox.profile().await;

    let Err(Error::ReauthorizationRequired {
        reason: ReauthReason::MissingScope { scope },
        authorization_url,
        ..
    }) = profile
    else {
        panic!("{profile:?}");
    };
    assert_eq!(scope, mailgrant::gmail::READ_SCOPES[0]);
    assert!(
        authorization_url
            .query_pairs()
            .any(|(k, v)| k == "scope" && v == scope)
    );
    assert_eq!(gmail_calls(&bench).await, 1, "not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_rate_limiting_ends_in_rate_limited() {
    let (bench, mailbox) = mailbox_of("throttled@example.com", 3).await;
    bench
        .fault(
            10,
            429,
            &Bench::google_error(
                429,
                "rateLimitExceeded",
                "Resource has been exhausted (e.g. check quota).",
            ),
        )
        .await;

    let profile = mailbox.profile().await;

    assert!(
        matches!(
            profile,
            Err(Error::Gmail(GmailError::RateLimited { ref reason, attempts: 4, retry_after: None })) if reason == "rateLimitExceeded"
        ),
        "{profile:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_longer_than_the_policy_allows_is_handed_to_the_caller_at_once() {
    let bench = Bench::start(quota(5, Duration::from_secs(60))).await;
    let user = bench.connect("daily@example.com", 3).await;
    let mailbox = bench.gmail(unpaced()).user(&user);
    mailbox
        .list_messages(&ListMessages::default())
        .await
        .unwrap();

    let started = Instant::now();
    let profile = mailbox.profile().await;

    let Err(Error::Gmail(GmailError::RateLimited {
        retry_after: Some(wait),
        reason,
        attempts: 1,
    })) = profile
    else {
        panic!("{profile:?}");
    };
    assert_eq!(reason, "userRateLimitExceeded");
    assert!(wait > Duration::from_secs(50), "{wait:?}");
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_is_refreshed_once_and_then_the_user_must_authorize_again() {
    let (bench, mailbox) = mailbox_of("refresh@example.com", 3).await;
    let unauthorized = Bench::google_error(401, "authError", "Invalid Credentials");
    bench.fault(1, 401, &unauthorized).await;

    let once = mailbox.profile().await;
    bench.fault(2, 401, &unauthorized).await;
    let twice = mailbox.profile().await;

    assert!(once.is_ok(), "{once:?}");
    assert!(
        matches!(
            twice,
            Err(Error::ReauthorizationRequired { reason: ReauthReason::Unauthorized, ref authorization_url, .. })
                if authorization_url.as_str().contains("login_hint=refresh%40example.com")
        ),
        "{twice:?}"
    );
    assert_eq!(
        count(&bench.counters().await, "/token_grants/refresh_token"),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_message_is_not_retried_and_no_error_shows_the_token() {
    let bench = Bench::start(quota(5, Duration::from_secs(60))).await;
    let user = bench.connect("secret@example.com", 3).await;
    let gmail = bench.gmail(GmailOptions {
        retry: fast_retry(),
        quota: None,
        ..GmailOptions::default()
    });
    let mailbox = gmail.user(&user);
    let token = bench.access_token(&user).await;

    let missing = mailbox
        .get_message("0000000000000bad", MessageFormat::Full, &[])
        .await;
    let calls = gmail_calls(&bench).await;
    let limited = mailbox.profile().await;

    assert!(matches!(
        missing,
        Err(Error::Gmail(GmailError::Api { status: 404, .. }))
    ));
    assert_eq!(calls, 1);
    for text in [
        format!("{missing:?} {limited:?} {gmail:?} {mailbox:?}"),
        format!("{} {}", missing.unwrap_err(), limited.unwrap_err()),
    ] {
        assert!(!text.contains(&token), "{text}");
        assert!(!text.contains("ya29."), "{text}");
    }
}
