//! For operators and their monitors: `GET /healthz`, the process answers and
//! the store is reachable; `GET /metrics`, Prometheus text format.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::request;
use crate::state::AppState;

/// The routes for operators.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
}

/// `GET /healthz`: 200, or 503 while the store does not answer.
async fn healthz(State(state): State<AppState>) -> Response {
    match state.0.broker.store().ping().await {
        Ok(()) => Json(json!({"status": "ok", "store": "ok"})).into_response(),
        Err(error) => {
            tracing::error!(%error, "store unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "5")],
                Json(json!({
                    "status": "unavailable",
                    "store": "unreachable",
                    "request_id": request::current_id(),
                })),
            )
                .into_response()
        }
    }
}

/// `GET /metrics`.
async fn metrics(State(state): State<AppState>) -> Response {
    let mut text = String::new();
    match prometheus_client::encoding::text::encode(&mut text, &state.0.registry) {
        Ok(()) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "metrics could not be encoded");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
