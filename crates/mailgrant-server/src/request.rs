//! Every request's id and log line. The id is generated here (a client's own
//! `X-Request-Id` is not trusted), answered in `X-Request-Id`, carried by
//! every log line of the request (a span) and by the bodies of server
//! errors, so that what a user reports leads to the log that explains it.

use std::time::Instant;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The response header that names the request.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

tokio::task_local! {
    /// The id of the request this task serves.
    static CURRENT: String;
}

/// The id of the request being served, when called while serving one.
pub fn current_id() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

/// 16 random hex digits.
fn generate() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// Names the request, logs method, path, status and time, answers the id.
/// Never the query string: the callback's carries the one-time code.
pub async fn identify_and_log(request: Request, next: Next) -> Response {
    let id = generate();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let span = tracing::info_span!("request", id = %id);
    let started = Instant::now();
    let mut response = CURRENT
        .scope(id.clone(), next.run(request))
        .instrument(span.clone())
        .await;
    span.in_scope(|| {
        tracing::info!(
            %method,
            %path,
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "request"
        );
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}
