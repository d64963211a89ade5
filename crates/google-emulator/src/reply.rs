//! JSON answers in the forms Google uses: OAuth errors (RFC 6749 §5.2) from
//! the token and revoke endpoints, and the API error envelope of Gmail and
//! userinfo (reference §5, "Error body shape").

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

/// A JSON response with Google's content type.
pub fn json(status: StatusCode, body: &impl Serialize) -> Response {
    // Most answers fit; growing the buffer step by step was a visible
    // share of a batch's cost.
    let mut buffer = Vec::with_capacity(2048);
    serde_json::to_writer(&mut buffer, body).expect("answers are strings, numbers and maps");
    let mut response = (status, buffer).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// A JSON answer of the OAuth endpoints, which must not be cached
/// (RFC 6749 §5.1).
pub fn oauth_json(status: StatusCode, body: &Value) -> Response {
    let mut response = json(status, body);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `{"error": …, "error_description": …}` (RFC 6749 §5.2).
pub fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    oauth_json(
        status,
        &json!({ "error": error, "error_description": description }),
    )
}

/// An API error in Google's envelope: `code`, `message`, `errors[]` with
/// `reason`, and the canonical `status` string. Boxed: it travels in
/// `Result`s on every request path.
#[derive(Debug, thiserror::Error)]
#[error("{} {}", .0.status, .0.message)]
pub struct ApiError(Box<ApiErrorBody>);

#[derive(Debug)]
struct ApiErrorBody {
    status: StatusCode,
    message: String,
    reason: &'static str,
    /// `errors[].domain`: `global`, or `usageLimits` for quota errors.
    domain: &'static str,
    /// Seconds for a `Retry-After` header.
    retry_after: Option<u64>,
    /// `errors[].message`; Google often words it apart from `message`.
    item_message: String,
    /// `location` of the item (`locationType` header), for credential errors.
    location: Option<&'static str>,
    www_authenticate: Option<String>,
    /// `details[]` entries (google.rpc types).
    details: Vec<Value>,
}

pub const REALM: &str = "Bearer realm=\"https://accounts.google.com/\"";

impl ApiError {
    pub fn new(status: StatusCode, reason: &'static str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self(Box::new(ApiErrorBody {
            status,
            item_message: message.clone(),
            message,
            reason,
            domain: "global",
            retry_after: None,
            location: None,
            www_authenticate: None,
            details: Vec::new(),
        }))
    }

    fn item(mut self, message: &str, location: Option<&'static str>) -> Self {
        self.0.item_message = message.to_owned();
        self.0.location = location;
        self
    }

    fn www_authenticate(mut self, value: String) -> Self {
        self.0.www_authenticate = Some(value);
        self
    }

    /// 401 for an expired, revoked or unknown token (reference §5; header
    /// per RFC 6750 §3.1).
    pub fn invalid_credentials() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "authError",
            "Request had invalid authentication credentials. Expected OAuth 2 access \
             token, login cookie or other valid authentication credential. See \
             https://developers.google.com/identity/sign-in/web/devconsole-project.",
        )
        .item("Invalid Credentials", Some("Authorization"))
        .www_authenticate(format!("{REALM}, error=\"invalid_token\""))
    }

    /// 401 for a request without any token: reason `required`, "Login
    /// Required." and an ErrorInfo detail (reference §5). RFC 6750 §3.1:
    /// no `error` attribute when no credentials were sent.
    pub fn login_required(service: &str) -> Self {
        let mut error = Self::new(
            StatusCode::UNAUTHORIZED,
            "required",
            "Request is missing required authentication credential. Expected OAuth 2 \
             access token, login cookie or other valid authentication credential. See \
             https://developers.google.com/identity/sign-in/web/devconsole-project.",
        )
        .item("Login Required.", Some("Authorization"))
        .www_authenticate(REALM.to_owned());
        error.0.details.push(json!({
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "CREDENTIALS_MISSING",
            "domain": "googleapis.com",
            "metadata": { "service": service },
        }));
        error
    }

    /// 403 for a token whose scopes do not cover the call (reference §5).
    pub fn insufficient_scopes(accepted: &[&str]) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "insufficientPermissions",
            "Request had insufficient authentication scopes.",
        )
        .item("Insufficient Permission", None)
        .www_authenticate(format!(
            "{REALM}, error=\"insufficient_scope\", scope=\"{}\"",
            accepted.join(" ")
        ))
    }

    /// 403 `userRateLimitExceeded` (domain `usageLimits`) when a user's
    /// per-minute quota is spent: the status and reason the error guide
    /// documents for it and the quota page names for the per-user limit
    /// (reference §5 reasons table, 403 row; §7 "Per user"). The observed
    /// 429 `RESOURCE_EXHAUSTED` answers (reference §5, 429 row) are for
    /// other limits (sending, forwarding rules, concurrency).
    ///
    /// Google gives the time to retry in the message ("Retry after
    /// <ISO-8601>", reference §7); its `Retry-After` header is unconfirmed,
    /// and the emulator sends one with the same time in whole seconds.
    pub fn user_rate_limit_exceeded(retry_after_secs: u64, retry_at: &str) -> Self {
        let mut error = Self::new(
            StatusCode::FORBIDDEN,
            "userRateLimitExceeded",
            format!("User-rate limit exceeded.  Retry after {retry_at}"),
        )
        .item("User Rate Limit Exceeded", None);
        error.0.domain = "usageLimits";
        error.0.retry_after = Some(retry_after_secs);
        error
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "badRequest", message)
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalidArgument", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "notFound",
            "Requested entity was not found.",
        )
    }
}

/// The google.rpc.Code name Google puts in `error.status`.
fn status_name(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        _ => "INTERNAL",
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = *self.0;
        let mut item = json!({
            "message": body.item_message,
            "domain": body.domain,
            "reason": body.reason,
        });
        if let Some(location) = body.location {
            item["location"] = json!(location);
            item["locationType"] = json!("header");
        }
        let mut error = json!({
            "code": body.status.as_u16(),
            "message": body.message,
            "errors": [item],
            "status": status_name(body.status),
        });
        if !body.details.is_empty() {
            error["details"] = Value::Array(body.details);
        }
        let mut response = json(body.status, &json!({ "error": error }));
        if let Some(seconds) = body.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(value) = body
            .www_authenticate
            .and_then(|v| HeaderValue::from_str(&v).ok())
        {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// An OAuth error of the token endpoint (RFC 6749 §5.2).
#[derive(Debug, thiserror::Error)]
#[error("{error}: {description}")]
pub struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
}

impl OAuthError {
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        oauth_error(self.status, self.error, &self.description)
    }
}
