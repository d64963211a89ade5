//! Controls for push notifications: Pub/Sub topics and push subscriptions
//! and their counters, faults on the next pushes, key rotation, a user's
//! Gmail watch, and the emulator's clock.

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use super::{error, parse};
use crate::pubsub::{PushFault, PushSubscription};
use crate::reply::json;
use crate::state::{Shared, lock};

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/emulator/pubsub/topics", post(create_topic))
        .route("/emulator/pubsub/subscriptions", post(create_subscription))
        .route("/emulator/pubsub/subscriptions/{*name}", get(subscription))
        .route(
            "/emulator/pubsub/faults",
            post(add_fault).delete(clear_faults),
        )
        .route("/emulator/pubsub/rotate-key", post(rotate_key))
        .route("/emulator/users/{email}/watch", get(watch))
        .route("/emulator/clock", get(clock).post(set_clock))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewTopic {
    name: String,
    #[serde(default = "yes")]
    gmail_can_publish: bool,
}

fn yes() -> bool {
    true
}

/// 201 `{name, gmailCanPublish}`; 400 for a bad name, 409 if it exists.
async fn create_topic(State(shared): State<Shared>, body: Bytes) -> Response {
    let new: NewTopic = match parse(&body) {
        Ok(new) => new,
        Err(reason) => return error(StatusCode::BAD_REQUEST, &reason),
    };
    match lock(&shared)
        .pubsub
        .create_topic(&new.name, new.gmail_can_publish)
    {
        Ok(()) => json(
            StatusCode::CREATED,
            &json!({ "name": new.name, "gmailCanPublish": new.gmail_can_publish }),
        ),
        Err(e) => pubsub_error(&e),
    }
}

fn pubsub_error(e: &crate::PubSubError) -> Response {
    let status = match e {
        crate::PubSubError::AlreadyExists(_) => StatusCode::CONFLICT,
        _ => StatusCode::BAD_REQUEST,
    };
    error(status, &e.to_string())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewSubscription {
    name: String,
    topic: String,
    push_endpoint: String,
    audience: Option<String>,
    service_account_email: Option<String>,
    min_backoff_ms: Option<u64>,
    max_backoff_ms: Option<u64>,
}

/// 201 with the subscription as stored; 400 for a bad name, an unknown
/// topic, a non-HTTP endpoint or min > max backoff. Posting under an
/// existing name replaces that subscription's settings.
async fn create_subscription(State(shared): State<Shared>, body: Bytes) -> Response {
    let new: NewSubscription = match parse(&body) {
        Ok(new) => new,
        Err(reason) => return error(StatusCode::BAD_REQUEST, &reason),
    };
    let mut config = PushSubscription::new(new.name, new.topic, new.push_endpoint);
    config.audience = new.audience;
    config.service_account_email = new.service_account_email;
    if let Some(ms) = new.min_backoff_ms {
        config.min_backoff = Duration::from_millis(ms);
    }
    if let Some(ms) = new.max_backoff_ms {
        config.max_backoff = Duration::from_millis(ms);
    }
    let answer = json!({
        "name": config.name,
        "topic": config.topic,
        "pushEndpoint": config.push_endpoint,
        "audience": config.audience.as_deref().unwrap_or(&config.push_endpoint),
        "serviceAccountEmail": config.service_account_email,
        "minBackoffMs": config.min_backoff.as_millis() as u64,
        "maxBackoffMs": config.max_backoff.as_millis() as u64,
    });
    match lock(&shared).pubsub.create_subscription(config) {
        Ok(()) => json(StatusCode::CREATED, &answer),
        Err(e) => pubsub_error(&e),
    }
}

/// `{name, topic, pushEndpoint, delivered, failedAttempts, backlog,
/// dropped, expired}`, or 404.
async fn subscription(State(shared): State<Shared>, Path(name): Path<String>) -> Response {
    let state = lock(&shared);
    let Some(sub) = state.pubsub.subscriptions.get(&name) else {
        return error(StatusCode::NOT_FOUND, "no such subscription");
    };
    let c = sub.counters;
    json(
        StatusCode::OK,
        &json!({
            "name": sub.config.name,
            "topic": sub.config.topic,
            "pushEndpoint": sub.config.push_endpoint,
            "delivered": c.delivered,
            "failedAttempts": c.failed_attempts,
            "backlog": c.backlog,
            "dropped": c.dropped,
            "expired": c.expired,
        }),
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewFault {
    action: String,
    #[serde(default = "super::one")]
    count: u32,
    delay_ms: Option<u64>,
}

/// `{action: "drop" | "delay" | "duplicate", count (default 1), delayMs}`:
/// applies to the next `count` pushes (one per message and subscription).
async fn add_fault(State(shared): State<Shared>, body: Bytes) -> Response {
    let new: NewFault = match parse(&body) {
        Ok(new) => new,
        Err(reason) => return error(StatusCode::BAD_REQUEST, &reason),
    };
    let fault = match (new.action.as_str(), new.delay_ms) {
        ("drop", None) => PushFault::Drop,
        ("duplicate", None) => PushFault::Duplicate,
        ("delay", Some(ms)) => PushFault::Delay(Duration::from_millis(ms)),
        ("delay", None) => return error(StatusCode::BAD_REQUEST, "delay needs delayMs"),
        ("drop" | "duplicate", Some(_)) => {
            return error(StatusCode::BAD_REQUEST, "delayMs is only for delay");
        }
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "action must be drop, delay or duplicate",
            );
        }
    };
    if new.count == 0 {
        return error(StatusCode::BAD_REQUEST, "count must be at least 1");
    }
    lock(&shared).pubsub.faults.push_back((fault, new.count));
    json(
        StatusCode::CREATED,
        &json!({ "action": new.action, "count": new.count }),
    )
}

async fn clear_faults(State(shared): State<Shared>) -> Response {
    lock(&shared).pubsub.faults.clear();
    json(StatusCode::OK, &json!({}))
}

/// 200 `{"kid"}` of the new signing key; the previous one stays in the
/// JWKS until the next rotation.
async fn rotate_key(State(shared): State<Shared>) -> Response {
    let keys = lock(&shared).pubsub.keys.clone();
    match keys.rotate().await {
        Ok(kid) => json(StatusCode::OK, &json!({ "kid": kid })),
        Err(reason) => error(StatusCode::INTERNAL_SERVER_ERROR, &reason),
    }
}

/// The user's live watch, or 404 (no user, no watch, or expired).
async fn watch(State(shared): State<Shared>, Path(email): Path<String>) -> Response {
    let state = lock(&shared);
    let Some(user) = state.user_by_email(&email) else {
        return error(StatusCode::NOT_FOUND, "no such user");
    };
    let Some(watch) = state
        .watches
        .get(&user.id)
        .filter(|w| state.clock.epoch_ms() < w.expiration_ms)
    else {
        return error(StatusCode::NOT_FOUND, "no watch");
    };
    json(
        StatusCode::OK,
        &json!({
            "topicName": watch.topic,
            "expiration": watch.expiration_ms.to_string(),
            "historyId": watch.history_id.to_string(),
            "labelIds": watch.label_ids,
            "labelFilterBehavior": watch.behavior,
            "droppedNotifications": watch.dropped,
        }),
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClockOffset {
    offset_ms: i64,
}

fn clock_answer(shared: &Shared) -> Response {
    let state = lock(shared);
    json(
        StatusCode::OK,
        &json!({ "offsetMs": state.clock.offset_ms(), "nowMs": state.clock.epoch_ms() }),
    )
}

/// `{offsetMs, nowMs}`.
async fn clock(State(shared): State<Shared>) -> Response {
    clock_answer(&shared)
}

/// `{offsetMs}` sets the offset from the machine's clock (not adds to it).
async fn set_clock(State(shared): State<Shared>, body: Bytes) -> Response {
    let wanted: ClockOffset = match parse(&body) {
        Ok(wanted) => wanted,
        Err(reason) => return error(StatusCode::BAD_REQUEST, &reason),
    };
    lock(&shared).clock.set_offset_ms(wanted.offset_ms);
    clock_answer(&shared)
}
