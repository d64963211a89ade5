//! Credential events POSTed to a URL as JSON, signed with HMAC-SHA256 so the
//! receiver knows they come from us: header `X-Mailgrant-Signature:
//! sha256=<hex of HMAC(secret, body)>`, as GitHub signs its webhooks.

use std::time::Duration;

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use url::Url;

use crate::broker::{CredentialEvent, EventSink, RetryPolicy};
use crate::http::describe;

pub const SIGNATURE_HEADER: &str = "X-Mailgrant-Signature";

/// Sends each event in the background, retrying failed deliveries a few times.
pub struct WebhookSink {
    http: reqwest::Client,
    url: Url,
    secret: SecretString,
    retry: RetryPolicy,
}

impl WebhookSink {
    pub fn new(http: reqwest::Client, url: Url, secret: SecretString) -> Self {
        Self {
            http,
            url,
            secret,
            retry: RetryPolicy {
                attempts: 4,
                base_delay: Duration::from_millis(500),
                max_delay: Duration::from_secs(10),
            },
        }
    }
}

/// `sha256=` and the hex HMAC-SHA256 of `body` under `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

impl EventSink for WebhookSink {
    fn emit(&self, event: CredentialEvent) {
        let sent_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let mut body = serde_json::to_value(&event).expect("events serialize");
        body["sent_at"] = sent_at.into();
        let body = body.to_string();
        let signature = signature(self.secret.expose_secret(), body.as_bytes());
        let (http, url, retry) = (self.http.clone(), self.url.clone(), self.retry);
        tokio::spawn(async move {
            for attempt in 1..=retry.attempts {
                let result = http
                    .post(url.clone())
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .header(SIGNATURE_HEADER, &signature)
                    .body(body.clone())
                    .send()
                    .await;
                match result {
                    Ok(response) if response.status().is_success() => return,
                    Ok(response) => tracing::warn!(
                        status = response.status().as_u16(),
                        attempt,
                        "webhook refused the event"
                    ),
                    Err(error) => {
                        tracing::warn!(error = %describe(error), attempt, "webhook unreachable")
                    }
                }
                tokio::time::sleep(retry.delay(attempt)).await;
            }
            tracing::error!("webhook event dropped after {} attempts", retry.attempts);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_a_known_hmac_sha256_vector() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
