//! `POST /pubsub/push`: Gmail's change notifications, as a Cloud Pub/Sub
//! authenticated push subscription delivers them
//! (https://developers.google.com/workspace/gmail/api/guides/push,
//! https://cloud.google.com/pubsub/docs/authenticate-push-subscriptions).
//!
//! Nothing is processed before Google's JWT verifies (401/403 otherwise).
//! A verified push is recorded durably ("user U has changes up to history
//! id H"), then acknowledged with 204; the sync runs after. Any answer but
//! 2xx makes Pub/Sub deliver the push again, so a push for an address we
//! do not know is acknowledged too (and logged), and a push we could not
//! record is answered 503 so that it comes back.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use mailgrant::events::PushOutcome;
use mailgrant::pubsub::{PushParseError, parse_push};
use serde_json::json;

use crate::state::AppState;

/// Gmail's notifications are a few hundred bytes; Pub/Sub's messages are
/// at most 10 MB, but nothing that large is ours.
const MAX_BODY: usize = 64 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/pubsub/push",
        post(push).layer(DefaultBodyLimit::max(MAX_BODY)),
    )
}

async fn push(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let app = &state.0;
    let metrics = app.broker.metrics();
    let Some(verifier) = &app.push else {
        return refusal(
            StatusCode::NOT_FOUND,
            "push is not configured (--pubsub-service-account)",
        );
    };
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if let Err(rejected) = verifier.verify(authorization).await {
        metrics.push(rejected.reason());
        tracing::warn!(
            reason = rejected.reason(),
            "Pub/Sub push refused: {rejected}"
        );
        return refusal(rejected.status(), &rejected.to_string());
    }
    // Gmail's history ids are uint64s; none reaches i64::MAX, which is as
    // far as the store keeps them.
    let parsed = parse_push(&body).and_then(|message| match message.history_id {
        id if i64::try_from(id).is_ok() => Ok(message),
        id => Err(PushParseError::BadHistoryId(id.to_string())),
    });
    let message = match parsed {
        Ok(message) => message,
        Err(error) => {
            // Verified, so from our subscription, but not Gmail's shape:
            // retrying cannot fix it.
            metrics.push("malformed");
            tracing::error!(%error, "a verified Pub/Sub push is not a Gmail notification; acknowledged and dropped");
            return StatusCode::NO_CONTENT.into_response();
        }
    };
    match app
        .events
        .push(&message.email_address, message.history_id)
        .await
    {
        Ok(PushOutcome::Recorded { user_id }) => {
            metrics.push("verified");
            tracing::debug!(user = %user_id, history_id = message.history_id, message_id = %message.message_id, "push recorded");
            StatusCode::NO_CONTENT.into_response()
        }
        Ok(PushOutcome::UnknownAddress) => {
            metrics.push("unknown_address");
            tracing::warn!(message_id = %message.message_id, "a push for an address with no stored user; acknowledged (a watch of a disconnected user lapses within 7 days)");
            StatusCode::NO_CONTENT.into_response()
        }
        Err(error) => {
            metrics.push("not_recorded");
            tracing::error!(%error, "could not record a push; Pub/Sub will deliver it again");
            refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "the push could not be recorded; retry",
            )
        }
    }
}

fn refusal(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "error": status.canonical_reason(), "message": message })),
    )
        .into_response()
}
