//! The token API for backends: users, a fresh access token, delete. Every route
//! but the OpenAPI document needs `Authorization: Bearer <API key>`.

use std::time::Instant;

use axum::Json;
use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use mailgrant::ExposeSecret;
use mailgrant::store::StoredCredential;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::state::AppState;

/// The OpenAPI 3.1 description of these routes.
pub const OPENAPI: &str = include_str!("openapi.json");

const MAX_PAGE: u32 = 500;

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({"error": code, "message": message.into()})),
    )
        .into_response()
}

/// Checks the API key and records the latency of every token API call.
pub async fn authenticate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let response = match presented {
        _ if state.0.api_keys.is_empty() => error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "the token API is disabled: no API keys are configured (--api-key)",
        ),
        None => unauthorized("an API key is required: Authorization: Bearer <key>"),
        Some(key) if !state.0.api_keys.accepts(key) => unauthorized("the API key is not valid"),
        Some(_) => next.run(request).await,
    };
    state
        .0
        .token_api_latency
        .observe(started.elapsed().as_secs_f64());
    response
}

fn unauthorized(message: &str) -> Response {
    let mut response = error(StatusCode::UNAUTHORIZED, "unauthorized", message);
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        "Bearer realm=\"mailgrant\"".parse().expect("static header"),
    );
    response
}

fn user_json(user: &StoredCredential) -> Value {
    json!({
        "id": user.user_id,
        "email": user.email,
        "name": user.name,
        "status": if user.revoked.is_some() { "revoked" } else { "active" },
        "revoked_at": user.revoked.as_ref().map(|r| r.at),
        "revoked_reason": user.revoked.as_ref().map(|r| &r.reason),
        "scopes": user.scopes,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
    })
}

fn internal(error_value: impl std::fmt::Display) -> Response {
    tracing::error!(error = %error_value, "token API failed");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "internal error",
    )
}

#[derive(Deserialize)]
pub struct ListQuery {
    limit: Option<u32>,
    after: Option<String>,
}

/// `GET /v1/users?limit=&after=`: users ordered by id.
pub async fn list_users(State(state): State<AppState>, Query(query): Query<ListQuery>) -> Response {
    let limit = query.limit.unwrap_or(100);
    if !(1..=MAX_PAGE).contains(&limit) {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("limit must be between 1 and {MAX_PAGE}"),
        );
    }
    match state
        .0
        .broker
        .store()
        .list(query.after.as_deref(), limit)
        .await
    {
        Ok(users) => {
            let next = (users.len() == limit as usize)
                .then(|| users.last().map(|u| u.user_id.clone()))
                .flatten();
            Json(json!({
                "users": users.iter().map(user_json).collect::<Vec<_>>(),
                "next_after": next,
            }))
            .into_response()
        }
        Err(e) => internal(e),
    }
}

/// `GET /v1/users/{id}`.
pub async fn get_user(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    match state.0.broker.store().get(&id).await {
        Ok(Some(user)) => Json(user_json(&user)).into_response(),
        Ok(None) => not_found(&id),
        Err(e) => internal(e),
    }
}

fn not_found(id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no stored user {id}"),
    )
}

#[derive(Deserialize)]
pub struct TokenQuery {
    /// A scope the caller needs (space separated: any one of them).
    scope: Option<String>,
}

/// `GET /v1/users/{id}/token`: a fresh access token, its expiry and scopes.
pub async fn token(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<TokenQuery>,
) -> Response {
    let scopes: Vec<&str> = query
        .scope
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    match state.0.broker.access_token_with_scope(&id, &scopes).await {
        Ok(token) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or_default();
            let mut response = Json(json!({
                "access_token": token.access_token.expose_secret(),
                "token_type": "Bearer",
                "expires_at": token.expires_at,
                "expires_in": token.expires_at - now,
                "scopes": token.scopes,
            }))
            .into_response();
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                "no-store".parse().expect("static header"),
            );
            response
        }
        Err(mailgrant::Error::UnknownUser(_)) => not_found(&id),
        Err(mailgrant::Error::ReauthorizationRequired {
            authorization_url,
            reason,
            ..
        }) => (
            StatusCode::CONFLICT,
            Json(json!({
                "error": "authorization_required",
                "message": reason.to_string(),
                "authorization_url": authorization_url,
            })),
        )
            .into_response(),
        Err(e @ mailgrant::Error::ClientMisconfigured { .. }) => {
            let mut response = error(
                StatusCode::SERVICE_UNAVAILABLE,
                "client_misconfigured",
                e.to_string(),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, "60".parse().expect("static header"));
            response
        }
        Err(e @ (mailgrant::Error::RefreshFailed { .. } | mailgrant::Error::Shared(_))) => {
            tracing::warn!(user = %id, error = %e, "token refresh failed");
            let mut response = error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                e.to_string(),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, "5".parse().expect("static header"));
            response
        }
        Err(e) => internal(e),
    }
}

/// `DELETE /v1/users/{id}`: revokes at Google and deletes the stored row.
pub async fn delete_user(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    match state.0.broker.disconnect(&id).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => not_found(&id),
        Err(e @ mailgrant::Error::OAuth(_)) => error(
            StatusCode::BAD_GATEWAY,
            "upstream",
            format!("revocation at Google failed: {e}"),
        ),
        Err(e) => internal(e),
    }
}

/// `GET /v1/openapi.json`.
pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}
