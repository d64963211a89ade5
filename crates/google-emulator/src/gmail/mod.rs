//! Gmail API v1 under `/gmail/v1/users/{userId}/…` (reference §5; field
//! names from the discovery document `gmail.v1.json`), and its batch
//! endpoint (reference §6).
//!
//! Every call is checked in Google's order: the token (401), its scopes
//! (403 `insufficientPermissions`), the `userId` (403 "Delegation
//! denied"), then the user's quota (403 `userRateLimitExceeded`).

pub mod batch;
mod history;
mod labels;
mod listing;
mod messages;
mod method;
mod modify;
mod page_token;
mod render;
mod threads;
pub mod watch;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::json;

use crate::bearer::{self, Caller};
use crate::date;
use crate::reply::{self, ApiError};
use crate::scopes::{self, GmailAccess};
use crate::state::{EmulatorState, Shared, User, lock};
use method::Method;

/// Where every Gmail route starts; the batch's `messages.get` shortcut
/// (`batch::message_get`) matches `{USERS}{userId}/messages/{id}` by hand,
/// so a new route under `messages/` must be added there as an exception.
const USERS: &str = "/gmail/v1/users/";

/// The Gmail routes, before the fault layer and state are added.
pub fn routes() -> Router<Shared> {
    let user = format!("{USERS}{{user_id}}");
    let user = user.as_str();
    Router::new()
        .route(&format!("{user}/profile"), get(profile))
        .route(&format!("{user}/messages"), get(messages::list))
        .route(
            &format!("{user}/messages/{{id}}"),
            get(messages::get).delete(modify::delete),
        )
        .route(
            &format!("{user}/messages/{{id}}/modify"),
            post(modify::modify),
        )
        .route(
            &format!("{user}/messages/{{message_id}}/attachments/{{id}}"),
            get(messages::attachment),
        )
        .route(&format!("{user}/threads"), get(threads::list))
        .route(&format!("{user}/threads/{{id}}"), get(threads::get))
        .route(&format!("{user}/labels"), get(labels::list))
        .route(&format!("{user}/labels/{{id}}"), get(labels::get))
        .route(&format!("{user}/history"), get(history::list))
        .route(&format!("{user}/watch"), post(watch::watch))
        .route(&format!("{user}/stop"), post(watch::stop))
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

/// Checks token, scopes, `userId` (`me` or the caller's own address) and
/// quota, and charges the call's units.
fn authorize(
    state: &mut EmulatorState,
    headers: &HeaderMap,
    query: &[(String, String)],
    user_id: &str,
    method: Method,
) -> Result<Access, ApiError> {
    let caller = bearer::authenticate(state, headers, query, "gmail.googleapis.com")?;
    let accepted = method.scopes();
    if !caller.scopes.iter().any(|s| accepted.contains(&s.as_str())) {
        return Err(ApiError::insufficient_scopes(accepted));
    }
    if user_id != "me" && !user_id.eq_ignore_ascii_case(&caller.email) {
        return Err(ApiError::forbidden(format!(
            "Delegation denied for {}",
            caller.email
        )));
    }
    let now = state.clock.instant();
    if let Err(wait) = state.quota.charge(&caller.user_id, method.units(), now) {
        let wait_ms = i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2);
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        return Err(ApiError::user_rate_limit_exceeded(
            seconds.max(1),
            &date::iso8601(state.clock.epoch_ms() + wait_ms),
        ));
    }
    let access = scopes::gmail_access(&caller.scopes);
    Ok(Access { caller, access })
}

/// Runs one Gmail call: parses the query, authorizes `method`, then
/// `handle`s it with the state locked; errors become Google's envelope.
fn serve(
    shared: &Shared,
    headers: &HeaderMap,
    raw_query: Option<String>,
    user_id: &str,
    method: Method,
    handle: impl FnOnce(&mut EmulatorState, &Access, &[(String, String)]) -> Result<Response, ApiError>,
) -> Response {
    serve_then(shared, headers, raw_query, user_id, method, handle, |r| r)
}

/// As [`serve`], but `handle` only takes what it needs from the state and
/// `answer` builds the response after the lock is released, so that
/// rendering one caller's answer does not hold up every other call.
fn serve_then<T>(
    shared: &Shared,
    headers: &HeaderMap,
    raw_query: Option<String>,
    user_id: &str,
    method: Method,
    handle: impl FnOnce(&mut EmulatorState, &Access, &[(String, String)]) -> Result<T, ApiError>,
    answer: impl FnOnce(T) -> Response,
) -> Response {
    let query = pairs(raw_query.as_deref());
    let taken = {
        let mut state = lock(shared);
        authorize(&mut state, headers, &query, user_id, method)
            .and_then(|access| handle(&mut state, &access, &query))
    };
    taken.map_or_else(IntoResponse::into_response, answer)
}

/// A request body as Google reads it: none (or blanks) is the empty
/// request, anything else must be the JSON of `T`.
fn json_body<T: Default + serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid_argument(format!("Invalid JSON payload received. {e}")))
}

fn ok(body: &impl Serialize) -> Result<Response, ApiError> {
    Ok(reply::json(StatusCode::OK, body))
}

/// The caller's own account.
fn user<'a>(state: &'a EmulatorState, access: &Access) -> Result<&'a User, ApiError> {
    state
        .user_by_id(&access.caller.user_id)
        .ok_or_else(ApiError::not_found)
}

fn user_mut<'a>(state: &'a mut EmulatorState, access: &Access) -> Result<&'a mut User, ApiError> {
    state
        .user_by_id_mut(&access.caller.user_id)
        .ok_or_else(ApiError::not_found)
}

/// `users.getProfile`.
async fn profile(
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
        Method::GetProfile,
        |state, access, _| {
            let user = user(state, access)?;
            ok(&json!({
                "emailAddress": user.email,
                "messagesTotal": user.mailbox.messages.len(),
                "threadsTotal": user.mailbox.threads_total(),
                "historyId": user.mailbox.history_id().to_string(),
            }))
        },
    )
}
