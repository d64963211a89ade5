//! What went wrong, as every audience tells it: one classification of
//! [`mailgrant::Error`] (and of the server's own refusals) that the browser's
//! pages, the user API and the token API each render in their own way.
//!
//! A failure carries only text that is safe to show: Google's own words
//! (`invalid_grant`, a Gmail error message), or a sentence of ours. Database,
//! crypto and transport errors are logged here, once, with their cause chain
//! (the request's span adds its id), and the client gets the request id
//! instead.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mailgrant::gmail::GmailError;
use mailgrant::oauth::OAuthError;
use mailgrant::userinfo::UserInfoError;
use serde_json::json;
use url::Url;

use crate::request;

/// Seconds a client should wait after a database or token endpoint failure.
const RETRY_UNAVAILABLE_SECS: u64 = 5;
/// Seconds a client should wait while Google refuses the OAuth client: an
/// operator has to fix the secret first.
const RETRY_CLIENT_SECS: u64 = 60;

#[derive(Debug)]
pub enum Failure {
    BadRequest(String),
    /// The caller's credentials (an API key) are missing or wrong.
    Unauthorized(String),
    /// Nobody is signed in.
    SignInRequired {
        authorization_url: Url,
    },
    Forbidden(String),
    NotFound(String),
    /// Google asks to slow down; `retry_after` seconds when it said.
    RateLimited {
        message: String,
        retry_after: Option<u64>,
    },
    /// The user's grant is gone or incomplete: consent again.
    Reauthorize {
        authorization_url: Url,
        reason: String,
    },
    /// Google refuses the OAuth client: the operator must fix the secret.
    ClientMisconfigured(String),
    /// Google could not be reached or answered nonsense.
    Upstream(String),
    /// The database or Google's token endpoint does not answer: try later.
    Unavailable {
        message: String,
        retry_after: u64,
    },
    /// A fault of ours; the log has it.
    Internal,
}

impl Failure {
    /// The status every audience uses unless it says otherwise.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) | Self::SignInRequired { .. } | Self::Reauthorize { .. } => {
                StatusCode::UNAUTHORIZED
            }
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Upstream(_) => StatusCode::BAD_GATEWAY,
            Self::ClientMisconfigured(_) | Self::Unavailable { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `error` field of a JSON answer.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized(_) => "unauthorized",
            Self::SignInRequired { .. } => "unauthenticated",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::RateLimited { .. } => "rate_limited",
            Self::Reauthorize { .. } => "authorization_required",
            Self::ClientMisconfigured(_) => "client_misconfigured",
            Self::Upstream(_) => "upstream",
            Self::Unavailable { .. } => "unavailable",
            Self::Internal => "internal",
        }
    }

    /// What the client is told.
    pub fn message(&self) -> &str {
        match self {
            Self::BadRequest(m)
            | Self::Unauthorized(m)
            | Self::Forbidden(m)
            | Self::NotFound(m)
            | Self::ClientMisconfigured(m)
            | Self::Upstream(m)
            | Self::RateLimited { message: m, .. }
            | Self::Unavailable { message: m, .. }
            | Self::Reauthorize { reason: m, .. } => m,
            Self::SignInRequired { .. } => "sign in first",
            Self::Internal => "internal error",
        }
    }

    /// Where the user (re)connects, when that is the way out.
    pub fn authorization_url(&self) -> Option<&Url> {
        match self {
            Self::SignInRequired { authorization_url }
            | Self::Reauthorize {
                authorization_url, ..
            } => Some(authorization_url),
            _ => None,
        }
    }

    /// Seconds for `Retry-After`.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::RateLimited { retry_after, .. } => *retry_after,
            Self::Unavailable { retry_after, .. } => Some(*retry_after),
            Self::ClientMisconfigured(_) => Some(RETRY_CLIENT_SECS),
            _ => None,
        }
    }

    /// `{"error", "message"[, "authorization_url"][, "request_id"]}` with
    /// `status`; the request id on server errors, where only the log says more.
    pub fn into_json(self, status: StatusCode) -> Response {
        let mut body = json!({"error": self.code(), "message": self.message()});
        if let Some(url) = self.authorization_url() {
            body["authorization_url"] = json!(url);
        }
        if status.is_server_error()
            && let Some(id) = request::current_id()
        {
            body["request_id"] = json!(id);
        }
        let mut response = (status, Json(body)).into_response();
        self.add_retry_after(&mut response);
        response
    }

    /// Adds `Retry-After` when the failure has one.
    pub fn add_retry_after(&self, response: &mut Response) {
        if let Some(seconds) = self.retry_after() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
    }

    fn unavailable(message: &str) -> Self {
        Self::Unavailable {
            message: message.to_owned(),
            retry_after: RETRY_UNAVAILABLE_SECS,
        }
    }
}

/// `error` and its sources, for the log.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

impl From<mailgrant::Error> for Failure {
    fn from(error: mailgrant::Error) -> Self {
        use mailgrant::Error as E;
        match error {
            E::ReauthorizationRequired {
                authorization_url,
                reason,
                ..
            } => Self::Reauthorize {
                authorization_url,
                reason: reason.to_string(),
            },
            E::UnknownUser(id) => Self::NotFound(format!("no stored user {id}")),
            // The broker logged it, once a minute: not again per request.
            e @ E::ClientMisconfigured { .. } => Self::ClientMisconfigured(e.to_string()),
            E::OAuth(OAuthError::Rejected { code, .. }) if code == "invalid_grant" => Self::BadRequest(
                "Google rejected the authorization code (invalid_grant): it was used, expired, or not issued to this sign-in"
                    .to_owned(),
            ),
            E::OAuth(e @ OAuthError::Rejected { .. }) => Self::BadRequest(e.to_string()),
            E::OAuth(e @ OAuthError::Transport(_)) => upstream(&e, "could not reach Google"),
            E::OAuth(e) => upstream(&e, &e.to_string()),
            E::UserInfo(e @ UserInfoError::Transport(_)) => {
                upstream(&e, "could not reach Google's userinfo endpoint")
            }
            E::UserInfo(e) => upstream(&e, &e.to_string()),
            E::Gmail(GmailError::Api {
                status: 404,
                message,
                ..
            }) => Self::NotFound(format!("Gmail has no such item: {message}")),
            E::Gmail(e @ GmailError::RateLimited { retry_after, .. }) => Self::RateLimited {
                message: e.to_string(),
                retry_after: retry_after.map(|d| d.as_secs().max(1)),
            },
            E::Gmail(GmailError::Api {
                status,
                message,
                reason,
            }) if (400..500).contains(&status) => Self::BadRequest(format!(
                "Gmail refused the request: {message}{}",
                reason.map(|r| format!(" ({r})")).unwrap_or_default()
            )),
            E::Gmail(e @ GmailError::Transport(_)) => upstream(&e, "could not reach Gmail"),
            E::Gmail(e) => upstream(&e, &e.to_string()),
            e @ E::RefreshFailed { .. } => {
                tracing::warn!(error = %chain(&e), "token refresh failed");
                Self::unavailable("Google's token endpoint keeps failing; try again later")
            }
            // Another request's refresh failed, for a reason only its log tells.
            e @ E::Shared(_) => {
                tracing::warn!(error = %chain(&e), "a shared token refresh failed");
                Self::unavailable("refreshing the access token failed; try again later")
            }
            e @ E::Store(_) => {
                tracing::error!(error = %chain(&e), "the credential store failed");
                Self::unavailable("the credential store does not answer; try again later")
            }
            other => {
                tracing::error!(error = %chain(&other), "request failed");
                Self::Internal
            }
        }
    }
}

/// A failure at Google, logged whole; `shown` is what the client learns.
fn upstream(error: &dyn std::error::Error, shown: &str) -> Failure {
    tracing::warn!(error = %chain(error), "Google request failed");
    Failure::Upstream(shown.to_owned())
}
