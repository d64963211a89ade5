//! What an answer from Gmail means for the caller: done, refresh the token,
//! ask for a scope, try again later (and how much later), or fail. Follows
//! https://developers.google.com/gmail/api/guides/handle-errors: retry 429,
//! 500, 502, 503, 504 and 403 `rateLimitExceeded`/`userRateLimitExceeded`
//! with exponential backoff; 401 means refresh the token.

use std::time::{Duration, SystemTime};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::error::{ApiErrorBody, GmailError};

/// One HTTP answer: of a lone request, or of one part of a batch.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    /// The `Retry-After` header as sent.
    pub retry_after: Option<String>,
    pub body: Vec<u8>,
}

/// A failure worth another try.
#[derive(Clone, Debug)]
pub(crate) struct Retryable {
    pub error: GmailError,
    /// The least wait Google asked for, if it said.
    pub wait: Option<Duration>,
    /// Google's rate-limit reason, when the refusal was for rate.
    pub rate_limit: Option<String>,
}

impl Retryable {
    pub fn transport(error: GmailError) -> Self {
        Self {
            error,
            wait: None,
            rate_limit: None,
        }
    }

    /// The error to hand back once the attempts are spent.
    pub fn give_up(self, attempts: u32) -> GmailError {
        match self.rate_limit {
            Some(reason) => GmailError::RateLimited {
                retry_after: self.wait,
                reason,
                attempts,
            },
            None => self.error,
        }
    }
}

/// The meaning of an [`Answer`].
#[derive(Debug)]
pub(crate) enum Verdict {
    Success,
    /// 401: refresh the token once and try again.
    Unauthorized,
    /// 403 `insufficientPermissions`: the user must grant a scope.
    MissingScope,
    Retry(Retryable),
    Fail(GmailError),
}

/// The 403 reasons that mean "slow down" rather than "forbidden".
const RATE_LIMIT_REASONS: [&str; 2] = ["rateLimitExceeded", "userRateLimitExceeded"];

pub(crate) fn judge(answer: &Answer, now: SystemTime) -> Verdict {
    let status = answer.status;
    if (200..300).contains(&status) {
        return Verdict::Success;
    }
    if status == 401 {
        return Verdict::Unauthorized;
    }
    let api = ApiErrorBody::parse(status, &answer.body);
    let reason = api.reason.as_deref();
    if status == 403 && reason == Some("insufficientPermissions") {
        return Verdict::MissingScope;
    }
    let rate_limited =
        status == 429 || (status == 403 && reason.is_some_and(|r| RATE_LIMIT_REASONS.contains(&r)));
    if !rate_limited && !matches!(status, 500 | 502 | 503 | 504) {
        return Verdict::Fail(api.into_error());
    }
    let wait = retry_after(answer.retry_after.as_deref(), &api.message, now);
    let rate_limit = rate_limited.then(|| {
        api.reason
            .clone()
            .unwrap_or_else(|| "rateLimitExceeded".to_owned())
    });
    Verdict::Retry(Retryable {
        error: api.into_error(),
        wait,
        rate_limit,
    })
}

/// The wait Google asks for: the `Retry-After` header, in seconds or as an
/// HTTP date (RFC 9110 §10.2.3), or else the time in Google's message
/// "… Retry after 2024-11-12T11:16:42.247Z" (reference §5, 429 row; §7).
pub(crate) fn retry_after(
    header: Option<&str>,
    message: &str,
    now: SystemTime,
) -> Option<Duration> {
    if let Some(value) = header.map(str::trim).filter(|v| !v.is_empty()) {
        if let Ok(seconds) = value.parse::<u64>() {
            return Some(Duration::from_secs(seconds));
        }
        if let Ok(at) = httpdate::parse_http_date(value) {
            return Some(at.duration_since(now).unwrap_or_default());
        }
    }
    let (_, rest) = message.split_once("Retry after ")?;
    let stamp = rest
        .split_whitespace()
        .next()?
        .trim_end_matches(['.', ',', ')']);
    let at = OffsetDateTime::parse(stamp, &Rfc3339).ok()?;
    Some(SystemTime::from(at).duration_since(now).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, retry_after: Option<&str>, body: &str) -> Answer {
        Answer {
            status,
            retry_after: retry_after.map(str::to_owned),
            body: body.as_bytes().to_vec(),
        }
    }

    fn envelope(status: u16, reason: &str, message: &str) -> String {
        serde_json::json!({"error": {"code": status, "message": message,
            "errors": [{"reason": reason, "domain": "usageLimits", "message": message}]}})
        .to_string()
    }

    #[test]
    fn retry_after_takes_seconds_an_http_date_or_googles_message() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            retry_after(Some("3"), "", now),
            Some(Duration::from_secs(3))
        );
        let date = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(
            retry_after(Some(&date), "", now),
            Some(Duration::from_secs(7))
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(7));
        assert_eq!(retry_after(Some(&past), "", now), Some(Duration::ZERO));
        // 2023-11-14T22:13:20Z is `now`.
        let message =
            "User-rate limit exceeded.  Retry after 2023-11-14T22:13:22.500Z (Forwarding rules)";
        assert_eq!(
            retry_after(None, message, now),
            Some(Duration::from_millis(2500))
        );
        assert_eq!(retry_after(Some("soon"), "Backend Error", now), None);
    }

    #[test]
    fn rate_limits_and_server_errors_are_retried_and_the_rest_is_not() {
        let now = SystemTime::now();
        for status in [429, 500, 502, 503, 504] {
            assert!(
                matches!(judge(&answer(status, None, ""), now), Verdict::Retry(_)),
                "{status}"
            );
        }
        for reason in RATE_LIMIT_REASONS {
            let body = envelope(403, reason, "Rate Limit Exceeded");
            let Verdict::Retry(r) = judge(&answer(403, Some("2"), &body), now) else {
                panic!("{reason} is retried");
            };
            assert_eq!(
                (r.wait, r.rate_limit.as_deref()),
                (Some(Duration::from_secs(2)), Some(reason))
            );
        }
        let daily = envelope(403, "dailyLimitExceeded", "Daily Limit Exceeded");
        assert!(matches!(
            judge(&answer(403, None, &daily), now),
            Verdict::Fail(_)
        ));
        let scope = envelope(403, "insufficientPermissions", "Insufficient Permission");
        assert!(matches!(
            judge(&answer(403, None, &scope), now),
            Verdict::MissingScope
        ));
        assert!(matches!(
            judge(&answer(401, None, ""), now),
            Verdict::Unauthorized
        ));
        assert!(matches!(
            judge(&answer(404, None, ""), now),
            Verdict::Fail(_)
        ));
        assert!(matches!(
            judge(&answer(200, None, "{}"), now),
            Verdict::Success
        ));
    }
}
