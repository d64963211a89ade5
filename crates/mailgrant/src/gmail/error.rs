//! What can go wrong talking to Gmail, past the token: Google's error
//! envelope (https://developers.google.com/gmail/api/guides/handle-errors),
//! rate limits that outlasted the retries, an expired history id, and
//! answers that could not be read.

use std::time::Duration;

/// How much of an unreadable body an error keeps: enough to see what came
/// back, not a whole raw message.
const KEPT_BODY_BYTES: usize = 1024;

/// Gmail answered with an error other than 401 (which becomes
/// [`crate::Error::ReauthorizationRequired`]).
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GmailError {
    /// Google's error JSON: `{"error":{"code","message","errors":[{"reason"}],"status"}}`.
    #[error("Gmail answered HTTP {status}: {message}{}", reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default())]
    Api {
        status: u16,
        reason: Option<String>,
        message: String,
    },
    /// Google kept refusing for rate (429, or 403 `rateLimitExceeded` /
    /// `userRateLimitExceeded`) through every attempt, or asked for a longer
    /// wait than the retry policy allows. Try again after `retry_after`.
    #[error("Gmail rate-limited the user ({reason}) after {attempts} attempt(s){}", retry_after.map(|d| format!("; retry after {d:?}")).unwrap_or_default())]
    RateLimited {
        /// The wait Google asked for last (`Retry-After`, or the time in its
        /// "Retry after <ISO-8601>" message), if it gave one.
        retry_after: Option<Duration>,
        /// Google's reason, e.g. `userRateLimitExceeded` or `rateLimitExceeded`.
        reason: String,
        attempts: u32,
    },
    /// `history.list` answered 404: `start_history_id` is older than the
    /// history Google keeps (typically a week, sometimes hours) or invalid.
    /// "Your application should perform a full sync"
    /// (discovery document, `users.history.list` `startHistoryId`).
    #[error("history from {start_history_id} is no longer available; do a full sync")]
    HistoryExpired { start_history_id: String },
    /// A success answer that is not what the discovery document describes.
    #[error("Gmail's answer could not be read: {reason}")]
    Malformed {
        reason: String,
        /// The start of the body as received (lossy UTF-8).
        body: String,
    },
    /// Data in a message that should be base64url and is not.
    #[error("{what} is not valid base64url: {reason}")]
    Undecodable { what: &'static str, reason: String },
    /// No answer (connection refused, reset, timed out), after the retries.
    #[error("could not reach Gmail: {0}")]
    Transport(String),
}

impl GmailError {
    pub(crate) fn malformed(reason: impl Into<String>, body: &[u8]) -> Self {
        let kept = &body[..body.len().min(KEPT_BODY_BYTES)];
        Self::Malformed {
            reason: reason.into(),
            body: String::from_utf8_lossy(kept).into_owned(),
        }
    }
}

/// The parts of Google's error envelope a client acts on (reference §5,
/// "Error body shape").
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiErrorBody {
    pub status: u16,
    pub reason: Option<String>,
    pub message: String,
}

impl ApiErrorBody {
    /// Reads `body`; a body that is not the envelope still gives the status.
    pub fn parse(status: u16, body: &[u8]) -> Self {
        let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let error = &json["error"];
        let message = error["message"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| match std::str::from_utf8(body) {
                Ok(text) if !text.trim().is_empty() && text.len() <= 200 => text.trim().to_owned(),
                _ => "no error message".to_owned(),
            });
        Self {
            status,
            reason: error["errors"][0]["reason"].as_str().map(str::to_owned),
            message,
        }
    }

    pub fn into_error(self) -> GmailError {
        GmailError::Api {
            status: self.status,
            reason: self.reason,
            message: self.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn googles_envelope_gives_status_reason_and_message() {
        let body = br#"{"error":{"code":403,"message":"User-rate limit exceeded.","errors":[{"message":"User Rate Limit Exceeded","domain":"usageLimits","reason":"userRateLimitExceeded"}],"status":"PERMISSION_DENIED"}}"#;
        let parsed = ApiErrorBody::parse(403, body);
        assert_eq!(parsed.reason.as_deref(), Some("userRateLimitExceeded"));
        assert_eq!(parsed.message, "User-rate limit exceeded.");
        let plain = ApiErrorBody::parse(502, b"Bad Gateway");
        assert_eq!(
            (plain.reason, plain.message.as_str()),
            (None, "Bad Gateway")
        );
    }

    #[test]
    fn malformed_keeps_only_the_start_of_the_body() {
        let body = vec![b'x'; 5000];
        let GmailError::Malformed { body, .. } = GmailError::malformed("no JSON", &body) else {
            unreachable!()
        };
        assert_eq!(body.len(), KEPT_BODY_BYTES);
    }
}
