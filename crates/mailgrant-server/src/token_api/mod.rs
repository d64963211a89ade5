//! The token API for backends: users, a fresh access token, delete. Every route
//! but the OpenAPI document needs `Authorization: Bearer <API key>`. Errors
//! are JSON; a user who must consent again is a 409 (the caller is a backend,
//! not the user) with the URL to send the user to.

use std::time::Instant;

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use mailgrant::store::StoredCredential;
use mailgrant::{ExposeSecret, ReauthReason};
use serde::Deserialize;
use serde_json::{Value, json};

mod events;

use crate::failure::Failure;
use crate::state::AppState;

/// The OpenAPI 3.1 description of these routes.
pub const OPENAPI: &str = include_str!("openapi.json");

const MAX_PAGE: u32 = 500;

/// The token API's error: JSON `{"error", "message", ...}`.
#[derive(Debug)]
pub struct TokenApiError(pub Failure);

impl IntoResponse for TokenApiError {
    fn into_response(self) -> Response {
        let status = match &self.0 {
            Failure::Reauthorize { .. } => StatusCode::CONFLICT,
            failure => failure.status(),
        };
        let challenge = matches!(self.0, Failure::Unauthorized(_));
        let mut response = self.0.into_json(status);
        if challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"mailgrant\""),
            );
        }
        response
    }
}

impl From<Failure> for TokenApiError {
    fn from(failure: Failure) -> Self {
        Self(failure)
    }
}

impl From<mailgrant::Error> for TokenApiError {
    fn from(error: mailgrant::Error) -> Self {
        Self(error.into())
    }
}

/// The routes of the token API, behind the API key check.
pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/v1/users", get(list_users))
        .route("/v1/users/{id}", get(get_user).delete(delete_user))
        .route("/v1/users/{id}/token", get(token))
        .route("/v1/users/{id}/events", get(events::user_events))
        .route("/v1/events", get(events::all_events))
        .route_layer(middleware::from_fn_with_state(state, authenticate))
        .route("/v1/openapi.json", get(openapi))
}

/// Checks the API key and records the latency of every token API call.
async fn authenticate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let refused = |message: &str| TokenApiError(Failure::Unauthorized(message.to_owned()));
    let response = match presented {
        _ if state.0.api_keys.is_empty() => {
            refused("the token API is disabled: no API keys are configured (--api-key)")
                .into_response()
        }
        None => refused("an API key is required: Authorization: Bearer <key>").into_response(),
        Some(key) if !state.0.api_keys.accepts(key) => {
            refused("the API key is not valid").into_response()
        }
        Some(_) => next.run(request).await,
    };
    state
        .0
        .token_api_latency
        .observe(started.elapsed().as_secs_f64());
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

fn not_found(id: &str) -> TokenApiError {
    TokenApiError(Failure::NotFound(format!("no stored user {id}")))
}

#[derive(Deserialize)]
struct ListQuery {
    limit: Option<u32>,
    after: Option<String>,
}

/// `GET /v1/users?limit=&after=`: users ordered by id.
async fn list_users(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, TokenApiError> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(TokenApiError(Failure::BadRequest(format!(
            "limit must be between 1 and {MAX_PAGE}"
        ))));
    }
    let users = state
        .0
        .broker
        .store()
        .list(query.after.as_deref(), limit)
        .await
        .map_err(mailgrant::Error::from)?;
    let next = (users.len() == limit as usize)
        .then(|| users.last().map(|u| u.user_id.clone()))
        .flatten();
    Ok(Json(json!({
        "users": users.iter().map(user_json).collect::<Vec<_>>(),
        "next_after": next,
    })))
}

/// `GET /v1/users/{id}`.
async fn get_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, TokenApiError> {
    match state
        .0
        .broker
        .store()
        .get(&id)
        .await
        .map_err(mailgrant::Error::from)?
    {
        Some(user) => Ok(Json(user_json(&user))),
        None => Err(not_found(&id)),
    }
}

#[derive(Deserialize)]
struct TokenQuery {
    /// A scope the caller needs (space separated: any one of them).
    scope: Option<String>,
}

/// `GET /v1/users/{id}/token`: a fresh access token, its expiry and scopes.
async fn token(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<TokenQuery>,
) -> Result<Json<Value>, TokenApiError> {
    let scopes: Vec<&str> = query
        .scope
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let token = match state.0.broker.access_token_with_scope(&id, &scopes).await {
        Ok(token) => token,
        // The consent URL would ask for a scope `/oauth2/authorize` refuses.
        Err(mailgrant::Error::ReauthorizationRequired {
            reason: ReauthReason::MissingScope { scope },
            ..
        }) if !state.0.may_request(&scope) => {
            return Err(TokenApiError(Failure::BadRequest(format!(
                "the user has not granted {scope}, and this server may not ask for it (add it to --optional-scopes)"
            ))));
        }
        Err(error) => return Err(error.into()),
    };
    let now = mailgrant::store::now_unix();
    Ok(Json(json!({
        "access_token": token.access_token.expose_secret(),
        "token_type": "Bearer",
        "expires_at": token.expires_at,
        "expires_in": token.expires_at - now,
        "scopes": token.scopes,
    })))
}

/// `DELETE /v1/users/{id}`: revokes at Google and deletes the stored row.
async fn delete_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, TokenApiError> {
    match state.0.disconnect(&id).await {
        Ok(true) => Ok(StatusCode::NO_CONTENT),
        Ok(false) => Err(not_found(&id)),
        Err(error @ mailgrant::Error::OAuth(_)) => match Failure::from(error) {
            Failure::Upstream(message) | Failure::BadRequest(message) => Err(TokenApiError(
                Failure::Upstream(format!("revocation at Google failed: {message}")),
            )),
            other => Err(TokenApiError(other)),
        },
        Err(error) => Err(error.into()),
    }
}

/// `GET /v1/openapi.json`.
async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}
