//! Credential events POSTed to a URL as JSON, signed with HMAC-SHA256 so the
//! receiver knows they come from us, and when. As the Standard Webhooks
//! specification (https://www.standardwebhooks.com/) does it, each delivery
//! carries the event's id (`X-Mailgrant-Event-Id`, the same on every retry)
//! and the time it was sent (`X-Mailgrant-Timestamp`, Unix seconds), and the
//! signature covers both: `X-Mailgrant-Signature: sha256=<hex of
//! HMAC(secret, "{id}.{timestamp}.{body}")>`. A receiver rejects a
//! timestamp more than a few minutes old and an id it has seen, so a
//! captured delivery cannot be replayed.

use std::time::Duration;

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use url::Url;

use crate::broker::{CredentialEvent, EventSink, RetryPolicy};
use crate::http::describe;
use crate::store::now_unix;

pub const SIGNATURE_HEADER: &str = "X-Mailgrant-Signature";
pub const EVENT_ID_HEADER: &str = "X-Mailgrant-Event-Id";
pub const TIMESTAMP_HEADER: &str = "X-Mailgrant-Timestamp";

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

/// `sha256=` and the hex HMAC-SHA256 of `message` under `secret`.
pub fn hmac_sha256_hex(secret: &str, message: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(message);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// The `X-Mailgrant-Signature` of a delivery: covers its event id, its
/// timestamp and its body.
pub fn signature(secret: &str, event_id: &str, timestamp: u64, body: &[u8]) -> String {
    let mut message = format!("{event_id}.{timestamp}.").into_bytes();
    message.extend_from_slice(body);
    hmac_sha256_hex(secret, &message)
}

impl EventSink for WebhookSink {
    fn emit(&self, event: CredentialEvent) {
        let event_id = format!("evt_{:032x}", rand::random::<u128>());
        let mut body = serde_json::to_value(&event).expect("events serialize");
        body["id"] = event_id.clone().into();
        body["sent_at"] = now_unix().into();
        let body = body.to_string();
        let (http, url, retry) = (self.http.clone(), self.url.clone(), self.retry);
        let secret = self.secret.clone();
        tokio::spawn(async move {
            for attempt in 1..=retry.attempts {
                // A new timestamp (and so signature) each attempt, the same id.
                let timestamp = now_unix().max(0) as u64;
                let signature = signature(
                    secret.expose_secret(),
                    &event_id,
                    timestamp,
                    body.as_bytes(),
                );
                let result = http
                    .post(url.clone())
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .header(EVENT_ID_HEADER, &event_id)
                    .header(TIMESTAMP_HEADER, timestamp.to_string())
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
            tracing::error!(%event_id, "webhook event dropped after {} attempts", retry.attempts);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_a_known_hmac_sha256_vector() {
        // RFC 4231 test case 2.
        assert_eq!(
            hmac_sha256_hex("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn the_signature_covers_the_event_id_and_the_timestamp() {
        let signed = signature("secret", "evt_1", 1_700_000_000, b"{}");
        assert_eq!(signed, hmac_sha256_hex("secret", b"evt_1.1700000000.{}"));
        assert_ne!(signed, signature("secret", "evt_2", 1_700_000_000, b"{}"));
        assert_ne!(signed, signature("secret", "evt_1", 1_700_000_001, b"{}"));
    }
}
