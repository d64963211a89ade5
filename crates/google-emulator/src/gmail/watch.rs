//! `users.watch` and `users.stop`, and the notifications a watch sends: a
//! message `{"emailAddress", "historyId"}` published to the watch's Pub/Sub
//! topic when the mailbox's history moves
//! (https://developers.google.com/workspace/gmail/api/guides/push;
//! discovery document `WatchRequest`, `WatchResponse`; reference §11).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::method::Method;
use super::{json_body, ok, serve, user};
use crate::PROJECT_ID;
use crate::mailbox::HistoryRecord;
use crate::pubsub::resource_id;
use crate::reply::ApiError;
use crate::state::{EmulatorState, Shared};

/// "You must re-call watch at least every 7 days or else you will stop
/// receiving updates for the user" (push guide, "Renewing mailbox watch").
pub const WATCH_LIFETIME_MS: i64 = 7 * 24 * 3600 * 1000;

/// "Each Gmail user being watched has a maximum notification rate of 1
/// event/sec. Any user notifications above that rate will be dropped."
/// (push guide, "Notification rate limits").
const MIN_INTERVAL_MS: i64 = 1000;

/// A user's watch. Kept across token changes and revocations, as Gmail
/// keeps it until it expires or `stop` is called.
#[derive(Clone, Debug)]
pub struct Watch {
    pub topic: String,
    pub label_ids: Vec<String>,
    /// `include` or `exclude`.
    pub behavior: &'static str,
    pub expiration_ms: i64,
    /// The history id `watch` answered.
    pub history_id: u64,
    /// Changes up to here have been considered for a notification.
    seen_through: u64,
    last_notification_ms: Option<i64>,
    /// Notifications dropped by the rate limit.
    pub dropped: u64,
}

impl Watch {
    /// `include`: only changes to messages with one of the labels (or
    /// adding or removing one); `exclude`: all others. Without labels,
    /// every change ("By default, if unspecified, all changes are pushed
    /// out", `WatchRequest.labelIds`).
    fn wants(&self, record: &HistoryRecord) -> bool {
        if self.label_ids.is_empty() {
            return true;
        }
        let concerned = self.label_ids.iter().any(|l| record.concerns_label(l));
        concerned == (self.behavior == "include")
    }
}

/// `WatchRequest`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WatchRequest {
    topic_name: Option<String>,
    #[serde(default)]
    label_ids: Vec<String>,
    label_filter_action: Option<String>,
    label_filter_behavior: Option<String>,
}

/// `include` or `exclude`, as Google reads enums (any case).
fn behavior(raw: &str, field: &str) -> Result<&'static str, ApiError> {
    match raw.to_ascii_lowercase().as_str() {
        "include" => Ok("include"),
        "exclude" => Ok("exclude"),
        _ => Err(ApiError::invalid_argument(format!(
            "Invalid value at '{field}', \"{raw}\""
        ))),
    }
}

/// Checks the topic as Gmail does before accepting a watch.
fn check_topic(state: &EmulatorState, topic: Option<&str>) -> Result<String, ApiError> {
    // An absent topic: 400 "topicName required" (gh:googleapis/elixir-google-api#6629,
    // gh:googleapis/google-api-nodejs-client#976).
    let topic = topic
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::invalid_argument("topicName required"))?;
    // Not `projects/<the caller's project>/topics/*`: "Invalid topicName
    // does not match projects/<project>/topics/*"
    // (gh:googleapis/google-api-nodejs-client#1301; the discovery document:
    // the project "must exactly match your Google developer project id").
    if resource_id(topic, "topics").is_none() {
        return Err(ApiError::invalid_argument(format!(
            "Invalid topicName does not match projects/{PROJECT_ID}/topics/*"
        )));
    }
    // A topic that does not exist: Pub/Sub's NOT_FOUND wording
    // "Resource not found (resource=<id>)." (gh:googleapis/nodejs-pubsub#1269);
    // that Gmail passes it on as a 404 is unconfirmed.
    let Some(&gmail_can_publish) = state.pubsub.topics.get(topic) else {
        let id = topic.rsplit('/').next().unwrap_or(topic);
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "notFound",
            format!("Resource not found (resource={id})."),
        ));
    };
    // gmail-api-push@system.gserviceaccount.com without publish rights:
    // 403 "Error sending test message to Cloud PubSub <topic> : User not
    // authorized to perform this action." (gh:googleapis/google-api-nodejs-client#2843).
    if !gmail_can_publish {
        return Err(ApiError::forbidden(format!(
            "Error sending test message to Cloud PubSub {topic} : User not authorized to perform this action."
        )));
    }
    Ok(topic.to_owned())
}

/// Starts or replaces the caller's watch. Answers `{historyId, expiration}`,
/// both int64s and so JSON strings. A successful watch publishes one
/// notification at once (reference §11: Gmail sends a test message to the
/// topic on `watch`, as its 403 above shows); it counts against the rate.
pub async fn watch(
    State(shared): State<Shared>,
    Path(user_id): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    serve(
        &shared,
        &headers,
        query,
        &user_id,
        Method::Watch,
        |state, access, _| {
            let request: WatchRequest = json_body(&body)?;
            // `labelFilterBehavior` "replaces label_filter_action; if set,
            // label_filter_action is ignored" (discovery document).
            let behavior = match (&request.label_filter_behavior, &request.label_filter_action) {
                (Some(raw), _) => behavior(raw, "label_filter_behavior")?,
                (None, Some(raw)) => behavior(raw, "label_filter_action")?,
                (None, None) => "include",
            };
            let topic = check_topic(state, request.topic_name.as_deref())?;
            let now = state.clock.epoch_ms();
            let user = user(state, access)?;
            let (user_id, history_id) = (user.id.clone(), user.mailbox.history_id());
            let expiration_ms = now + WATCH_LIFETIME_MS;
            state.watches.insert(
                user_id.clone(),
                Watch {
                    topic,
                    label_ids: request.label_ids,
                    behavior,
                    expiration_ms,
                    history_id,
                    seen_through: history_id,
                    last_notification_ms: None,
                    dropped: 0,
                },
            );
            notify(state, &user_id, now);
            ok(&json!({
                "historyId": history_id.to_string(),
                "expiration": expiration_ms.to_string(),
            }))
        },
    )
}

/// Ends the caller's watch: 204 and no body, as Google answers
/// (gh:byeokim/gmailpush#6: "I tried stop too 204 status code").
pub async fn stop(
    State(shared): State<Shared>,
    Path(user_id): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    serve(
        &shared,
        &headers,
        query,
        &user_id,
        Method::Stop,
        |state, access, _| {
            state.watches.remove(&access.caller.user_id);
            Ok(StatusCode::NO_CONTENT.into_response())
        },
    )
}

/// Called after every change to `user_id`'s mailbox: when the user has a
/// live watch and a new history record passes its label filter, publishes
/// a notification (unless the rate limit drops it). An expired watch is
/// forgotten.
pub fn mailbox_changed(state: &mut EmulatorState, user_id: &str) {
    let now = state.clock.epoch_ms();
    let Some(watch) = state.watches.get_mut(user_id) else {
        return;
    };
    if now >= watch.expiration_ms {
        state.watches.remove(user_id);
        return;
    }
    let Some(user) = state.users.iter().find(|u| u.id == user_id) else {
        return;
    };
    let wanted = user
        .mailbox
        .history
        .after(watch.seen_through)
        .any(|r| watch.wants(r));
    watch.seen_through = user.mailbox.history_id();
    if wanted {
        notify(state, user_id, now);
    }
}

/// Publishes `{"emailAddress", "historyId"}` (the current id, a JSON
/// number) to the watch's topic, at most once a second per user.
fn notify(state: &mut EmulatorState, user_id: &str, now: i64) {
    let Some(watch) = state.watches.get_mut(user_id) else {
        return;
    };
    if watch
        .last_notification_ms
        .is_some_and(|last| now - last < MIN_INTERVAL_MS)
    {
        watch.dropped += 1;
        return;
    }
    watch.last_notification_ms = Some(now);
    let topic = watch.topic.clone();
    let Some(user) = state.users.iter().find(|u| u.id == user_id) else {
        return;
    };
    let data = json!({
        "emailAddress": user.email,
        "historyId": user.mailbox.history_id(),
    });
    state
        .pubsub
        .publish(&topic, data.to_string().as_bytes(), now);
}
