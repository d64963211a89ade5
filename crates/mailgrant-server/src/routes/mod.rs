//! The HTTP surface: pages, OAuth routes, the JSON API and health.

pub mod api;
pub mod auth;
pub mod health;
pub mod pages;
pub mod v1;

use std::time::Instant;

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};

use crate::state::{AUTHORIZE_PATH, AppState, CALLBACK_PATH};

/// All routes with their state.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route(AUTHORIZE_PATH, get(auth::authorize))
        .route(CALLBACK_PATH, get(auth::callback))
        .route("/oauth2/code", post(auth::one_time_code))
        .route("/logout", post(auth::logout))
        .route("/disconnect", post(auth::disconnect))
        .route("/api/messages", get(api::messages))
        .route("/api/messages/{id}", get(api::message))
        .route("/api/threads", get(api::threads))
        .route("/api/threads/{id}", get(api::thread))
        .route("/api/labels", get(api::labels))
        .route("/api/profile", get(api::profile))
        .route("/messages/{id}", get(pages::message))
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(health::metrics))
        .route("/v1/openapi.json", get(v1::openapi))
        .merge(token_api(state.clone()))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

fn token_api(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/v1/users", get(v1::list_users))
        .route("/v1/users/{id}", get(v1::get_user).delete(v1::delete_user))
        .route("/v1/users/{id}/token", get(v1::token))
        .route_layer(middleware::from_fn_with_state(state, v1::authenticate))
}

/// Logs method, path and status. Never the query string: the callback's carries
/// the one-time code.
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    tracing::info!(
        %method,
        %path,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}
