//! Batch requests: `POST /batch/gmail/v1` (the guide's
//! `/batch/api_name/api_version`) and `POST /batch` (the discovery
//! document's `batchPath`), reference §6.
//!
//! Each part is run through the emulator's own Gmail routes as a tower
//! service, so authentication, scopes, faults and quota apply to each part
//! as to a lone request. Parts run one after the other, answers in
//! request order. `messages.get`, nearly every part of a sync, skips only
//! the router: it gets the same fault check and the same handler.

pub(crate) mod wire;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

use super::messages;
use crate::faults;
use crate::ids;
use crate::reply::ApiError;
use crate::state::{Shared, lock};

/// "You're limited to 100 calls in a single batch request" (reference §6).
const MAX_PARTS: usize = 100;
/// A bound on the whole batch body; far above 100 Gmail requests.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// The batch routes; `gmail` is the Gmail router, faults layer and state
/// included, that parts are sent to.
pub fn routes(shared: Shared, gmail: Router) -> Router<Shared> {
    let handler = move |request: Request| {
        let (shared, gmail) = (shared.clone(), gmail.clone());
        async move { handle(&shared, gmail, request).await }
    };
    Router::new()
        .route("/batch/gmail/v1", post(handler.clone()))
        .route("/batch", post(handler))
}

/// Outer headers every part inherits: all but `Content-*` (reference §6)
/// and those that describe the outer message itself.
fn inherited(headers: &HeaderMap) -> HeaderMap {
    let mut kept = headers.clone();
    let own = |name: &HeaderName| {
        let name = name.as_str();
        name.starts_with("content-")
            || matches!(
                name,
                "host" | "connection" | "transfer-encoding" | "expect" | "te" | "keep-alive"
            )
    };
    let names: Vec<HeaderName> = kept.keys().filter(|n| own(n)).cloned().collect();
    for name in names {
        kept.remove(name);
    }
    kept
}

async fn handle(shared: &Shared, gmail: Router, request: Request) -> Response {
    let (head, body) = request.into_parts();
    let Ok(body) = to_bytes(body, MAX_BODY_BYTES).await else {
        return ApiError::bad_request("The batch request body could not be read.").into_response();
    };
    let content_type = head
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    // Google's wording for these three refusals is unconfirmed.
    let Some(boundary) = wire::boundary(content_type) else {
        return ApiError::bad_request("Batch requests must be multipart/mixed with a boundary.")
            .into_response();
    };
    let parts = crate::multipart::split(&body, &boundary).unwrap_or_default();
    if parts.is_empty() {
        return ApiError::bad_request("The batch request has no parts.").into_response();
    }
    if parts.len() > MAX_PARTS {
        return ApiError::bad_request(format!(
            "A batch request may contain at most {MAX_PARTS} calls; this one has {}.",
            parts.len()
        ))
        .into_response();
    }
    {
        let mut state = lock(shared);
        state.counters.batch_requests += 1;
        state.counters.batch_parts += parts.len() as u64;
    }
    let outer = inherited(&head.headers);
    let response_boundary = format!("batch_{}", ids::random_urlsafe(15).replace('-', "_"));
    // About what a metadata answer takes, so the buffer rarely grows.
    let mut out = Vec::with_capacity(parts.len() * 1024);
    for part in parts {
        let content_id = wire::content_id(part);
        let response = match wire::parse_part(part).and_then(|p| build(&outer, p)) {
            Ok(request) => answer(shared, &gmail, request).await,
            Err(reason) => ApiError::bad_request(reason).into_response(),
        };
        let (answer, body) = response.into_parts();
        // A part whose answer breaks off (the drop_connection fault)
        // breaks the whole batch connection.
        let Ok(body) = body.collect().await.map(|c| c.to_bytes()) else {
            return faults::dropped_connection();
        };
        wire::write_part(
            &mut out,
            &response_boundary,
            content_id.as_deref(),
            answer.status,
            &answer.headers,
            &body,
        );
    }
    out.extend_from_slice(format!("--{response_boundary}--\r\n").as_bytes());
    let mut response = (StatusCode::OK, Body::from(out)).into_response();
    if let Ok(value) =
        HeaderValue::from_str(&format!("multipart/mixed; boundary={response_boundary}"))
    {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

/// One part's answer. Routing and extracting a part through axum was about
/// 15 % of what a batch of `messages.get` cost (BENCHMARKS.md, section 3), so
/// those go straight to the handler, after the fault check the Gmail
/// routes' layer makes.
async fn answer(shared: &Shared, gmail: &Router, request: Request) -> Response {
    let Some((user_id, id)) = message_get(&request) else {
        return gmail.clone().oneshot(request).await.into_response();
    };
    if let Some(fault) = faults::intercept(shared, faults::Endpoint::Gmail).await {
        return fault;
    }
    let (head, _) = request.into_parts();
    let query = head.uri.query().map(str::to_owned);
    messages::get(
        State(shared.clone()),
        Path((user_id, id)),
        head.headers,
        RawQuery(query),
    )
    .await
}

/// `userId` and `id` of `GET /gmail/v1/users/{userId}/messages/{id}`,
/// percent-decoded as the router's `Path` decodes them; `None` for any
/// other request, or one the router should refuse.
fn message_get(request: &Request) -> Option<(String, String)> {
    if request.method() != Method::GET {
        return None;
    }
    let rest = request.uri().path().strip_prefix(super::USERS)?;
    let (user_id, rest) = rest.split_once('/')?;
    let id = rest.strip_prefix("messages/")?;
    if user_id.is_empty() || id.is_empty() || id.contains('/') {
        return None;
    }
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .ok()
            .map(|s| s.into_owned())
    };
    Some((decode(user_id)?, decode(id)?))
}

/// The HTTP request of one part, outer headers under its own.
fn build(outer: &HeaderMap, part: wire::PartRequest) -> Result<Request, String> {
    let mut request = Request::builder()
        .method(part.method.as_str())
        .uri(&part.target)
        .body(Body::from(part.body))
        .map_err(|e| format!("bad request in batch part: {e}"))?;
    let headers = request.headers_mut();
    headers.extend(outer.clone());
    let mut overridden: Vec<HeaderName> = Vec::new();
    for (name, value) in &part.headers {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) else {
            continue;
        };
        if !overridden.contains(&name) {
            headers.remove(&name);
            overridden.push(name.clone());
        }
        headers.append(name, value);
    }
    Ok(request)
}
