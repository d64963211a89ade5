//! One error type for every handler: 4xx carry a short message for the client,
//! 5xx are opaque to the client and logged once with their cause chain.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use mailgrant::gmail::GmailError;
use mailgrant::oauth::OAuthError;
use serde_json::json;
use url::Url;

use crate::routes::pages::{escape, layout};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// Google asks to slow down; `retry_after` seconds when it said.
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after: Option<u64>,
    },
    /// Nobody is signed in.
    #[error("sign in first")]
    Unauthenticated { authorization_url: Url },
    /// The user's grant is gone or incomplete: consent again.
    #[error("authorization required: {reason}")]
    Reauthorize {
        authorization_url: Url,
        reason: String,
    },
    /// Google refuses the OAuth client: the operator must fix the secret.
    #[error("{0}")]
    ClientMisconfigured(String),
    /// Google could not be reached or answered nonsense; safe to show.
    #[error("{0}")]
    Upstream(String),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl AppError {
    fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unauthenticated { .. } | Self::Reauthorize { .. } => StatusCode::UNAUTHORIZED,
            Self::Upstream(_) => StatusCode::BAD_GATEWAY,
            Self::ClientMisconfigured(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn log(&self) {
        if let Self::Internal(source) = self {
            let mut chain = source.to_string();
            let mut cause = source.source();
            while let Some(c) = cause {
                chain.push_str(": ");
                chain.push_str(&c.to_string());
                cause = c.source();
            }
            tracing::error!(error = %chain, "request failed");
        } else if let Self::Upstream(message) = self {
            tracing::warn!(error = %message, "Google request failed");
        }
    }

    /// The same error as an HTML page, for routes a browser navigates to.
    pub fn into_page(self) -> Response {
        self.log();
        let status = self.status();
        let (message, link) = match &self {
            Self::Unauthenticated { authorization_url }
            | Self::Reauthorize {
                authorization_url, ..
            } => (self.to_string(), authorization_url.as_str().to_owned()),
            _ => (self.to_string(), "/".to_owned()),
        };
        let body = format!(
            "<h1>{}</h1><p class=\"error\">{}</p><p><a class=\"button\" href=\"{}\">Start again</a></p>",
            status.canonical_reason().unwrap_or("Error"),
            escape(&message),
            escape(&link),
        );
        (status, Html(layout("mailgrant", &body))).into_response()
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        let status = self.status();
        let body = match &self {
            Self::Unauthenticated { authorization_url } => json!({
                "error": "unauthenticated",
                "message": self.to_string(),
                "authorization_url": authorization_url,
            }),
            Self::Reauthorize {
                authorization_url,
                reason,
            } => json!({
                "error": "authorization_required",
                "message": reason,
                "authorization_url": authorization_url,
            }),
            Self::BadRequest(_) => json!({"error": "bad_request", "message": self.to_string()}),
            Self::Forbidden(_) => json!({"error": "forbidden", "message": self.to_string()}),
            Self::NotFound(_) => json!({"error": "not_found", "message": self.to_string()}),
            Self::RateLimited { .. } => {
                json!({"error": "rate_limited", "message": self.to_string()})
            }
            Self::Upstream(_) => json!({"error": "upstream", "message": self.to_string()}),
            Self::ClientMisconfigured(_) => {
                json!({"error": "client_misconfigured", "message": self.to_string()})
            }
            Self::Internal(_) => json!({"error": "internal", "message": "internal error"}),
        };
        let mut response = (status, Json(body)).into_response();
        if let Self::RateLimited {
            retry_after: Some(seconds),
            ..
        } = self
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

impl From<mailgrant::Error> for AppError {
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
            e @ E::ClientMisconfigured { .. } => {
                tracing::error!(error = %e, "Google rejects the OAuth client");
                Self::ClientMisconfigured(e.to_string())
            }
            E::OAuth(OAuthError::Rejected { code, .. }) if code == "invalid_grant" => Self::BadRequest(
                "Google rejected the authorization code (invalid_grant): it was used, expired, or not issued to this sign-in"
                    .to_owned(),
            ),
            E::OAuth(e @ OAuthError::Rejected { .. }) => Self::BadRequest(e.to_string()),
            E::OAuth(e) => Self::Upstream(e.to_string()),
            E::UserInfo(e) => Self::Upstream(e.to_string()),
            E::Gmail(GmailError::Api { status: 404, message, .. }) => {
                Self::NotFound(format!("Gmail has no such item: {message}"))
            }
            E::Gmail(e @ GmailError::RateLimited { retry_after, .. }) => Self::RateLimited {
                message: e.to_string(),
                retry_after: retry_after.map(|d| d.as_secs().max(1)),
            },
            E::Gmail(GmailError::Api { status, message, reason }) if (400..500).contains(&status) => {
                Self::BadRequest(format!(
                    "Gmail refused the request: {message}{}",
                    reason.map(|r| format!(" ({r})")).unwrap_or_default()
                ))
            }
            E::Gmail(e) => Self::Upstream(e.to_string()),
            other => Self::Internal(Box::new(other)),
        }
    }
}
