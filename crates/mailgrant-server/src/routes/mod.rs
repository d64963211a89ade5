//! The HTTP surface: pages, OAuth routes, the JSON API and health.

pub mod api;
pub mod auth;
pub mod health;
pub mod pages;

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
        .route("/healthz", get(health::healthz))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
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
