//! Gmail API v1 under `/gmail/v1/users/{userId}/…` (reference §5; field
//! names from the discovery document `gmail.v1.json`).
//!
//! Every call is checked in Google's order: the token (401), its scopes
//! (403 `insufficientPermissions`), then the `userId` (403 "Delegation
//! denied").

mod messages;
mod page_token;
mod render;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::bearer::{self, Caller};
use crate::reply::{ApiError, json};
use crate::scopes::{self, GmailAccess};
use crate::state::{EmulatorState, Shared, lock};

/// The Gmail routes, before the fault layer and state are added.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/gmail/v1/users/{user_id}/profile", get(profile))
        .route("/gmail/v1/users/{user_id}/messages", get(messages::list))
        .route(
            "/gmail/v1/users/{user_id}/messages/{id}",
            get(messages::get),
        )
        .route(
            "/gmail/v1/users/{user_id}/messages/{message_id}/attachments/{id}",
            get(messages::attachment),
        )
}

/// The query string as pairs, repeated names kept.
fn pairs(query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// An authorized Gmail call: who, with what access.
struct Access {
    caller: Caller,
    access: GmailAccess,
}

/// Checks token, scopes and `userId` (`me` or the caller's own address).
fn authorize(
    state: &EmulatorState,
    headers: &HeaderMap,
    query: &[(String, String)],
    user_id: &str,
) -> Result<Access, ApiError> {
    let caller = bearer::authenticate(state, headers, query, "gmail.googleapis.com")?;
    let access = scopes::gmail_access(&caller.scopes);
    if access == GmailAccess::None {
        return Err(ApiError::insufficient_scopes(scopes::GMAIL_READ));
    }
    if user_id != "me" && !user_id.eq_ignore_ascii_case(&caller.email) {
        return Err(ApiError::forbidden(format!(
            "Delegation denied for {}",
            caller.email
        )));
    }
    Ok(Access { caller, access })
}

/// `users.getProfile`.
async fn profile(
    State(shared): State<Shared>,
    Path(user_id): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = pairs(query.as_deref());
    let state = lock(&shared);
    let access = match authorize(&state, &headers, &query, &user_id) {
        Ok(access) => access,
        Err(error) => return error.into_response(),
    };
    let Some(user) = state.user_by_id(&access.caller.user_id) else {
        return ApiError::not_found().into_response();
    };
    json(
        StatusCode::OK,
        &json!({
            "emailAddress": user.email,
            "messagesTotal": user.mailbox.messages.len(),
            "threadsTotal": user.mailbox.threads_total(),
            "historyId": user.mailbox.history_id().to_string(),
        }),
    )
}
