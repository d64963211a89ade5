//! Token revocation, `POST /revoke` (reference §3).
//!
//! Google describes revocation as the user's access being removed ("If the
//! token is an access token and it has a corresponding refresh token, the
//! refresh token will also be revoked"); the emulator goes one step
//! further and ends the whole grant of that user to that client, so every
//! token of the pair stops working and the next authorization is a first
//! consent again.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;

use crate::reply::{oauth_error, oauth_json};
use crate::state::{Shared, lock};

/// `token` from the form body or, as google-auth-library-nodejs sends it,
/// from the query string.
pub async fn revoke(
    State(shared): State<Shared>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let find = |bytes: &[u8]| {
        url::form_urlencoded::parse(bytes)
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
    };
    let token = find(&body)
        .or_else(|| find(query.unwrap_or_default().as_bytes()))
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "Bad Request");
    };
    let mut state = lock(&shared);
    let pair = if let Some(r) = state.refresh_tokens.get(&token).filter(|r| !r.revoked) {
        Some((r.user_id.clone(), r.client_id.clone()))
    } else {
        state
            .access_tokens
            .get(&token)
            .filter(|a| a.is_live(state.clock.instant()))
            .map(|a| (a.user_id.clone(), a.client_id.clone()))
    };
    let Some((user_id, client_id)) = pair else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_token",
            "Token expired or revoked",
        );
    };
    state.revoke_grant(&user_id, &client_id);
    state.counters.revocations += 1;
    oauth_json(StatusCode::OK, &json!({}))
}

/// `GET /revoke` on oauth2.googleapis.com is a 404 HTML page (reference §3).
pub async fn get_not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(
            "<!DOCTYPE html>\n<html lang=en><title>Error 404 (Not Found)!!1</title>\
             <p><b>404.</b> <ins>That’s an error.</ins><p>The requested URL <code>/revoke</code> \
             was not found on this server. <ins>That’s all we know.</ins>\n",
        ),
    )
        .into_response()
}
