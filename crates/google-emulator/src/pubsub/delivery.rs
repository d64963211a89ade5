//! One message's push to one subscription, on its own tokio task: POST the
//! push body, and on anything but an acknowledgement wait and try again,
//! with exponential backoff, until the retention runs out.
//!
//! "Pub/Sub considers the following HTTP status codes as an
//! acknowledgement: 102, 200, 201, 202, 204"; other answers and failed
//! connections are retried with the subscription's backoff
//! (https://cloud.google.com/pubsub/docs/push, "Receive messages";
//! https://cloud.google.com/pubsub/docs/handling-failures).

use std::sync::Arc;
use std::time::Duration;

use axum::http::header;
use serde_json::json;

use super::keys::Keyring;
use super::{PushFault, RETENTION_MS};
use crate::state::{Shared, lock};

/// The Pub/Sub message as pushed.
#[derive(Clone, Debug)]
pub struct PushMessage {
    pub id: String,
    /// Base64 (standard, padded) of the payload.
    pub data: String,
    /// RFC 3339, UTC, milliseconds.
    pub publish_time: String,
    pub publish_ms: i64,
}

pub struct Delivery {
    pub subscription: String,
    pub message: PushMessage,
    pub http: reqwest::Client,
    pub keys: Arc<Keyring>,
}

const ACKNOWLEDGED: [u16; 5] = [102, 200, 201, 202, 204];

/// How an attempt ended, as counted.
enum Outcome {
    Delivered,
    Failed,
}

pub async fn run(shared: Shared, delivery: Delivery, fault: Option<PushFault>) {
    match fault {
        Some(PushFault::Drop) => {
            finish(&shared, &delivery.subscription, |c| c.dropped += 1);
            return;
        }
        Some(PushFault::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(PushFault::Duplicate) => {
            let mut state = lock(&shared);
            state
                .pubsub
                .start(&delivery.subscription, &delivery.message, None);
        }
        None => {}
    }
    let mut backoff: Option<Duration> = None;
    loop {
        let (config, now_ms) = {
            let state = lock(&shared);
            let Some(sub) = state.pubsub.subscriptions.get(&delivery.subscription) else {
                return;
            };
            (sub.config.clone(), state.clock.epoch_ms())
        };
        if now_ms >= delivery.message.publish_ms.saturating_add(RETENTION_MS) {
            finish(&shared, &delivery.subscription, |c| c.expired += 1);
            return;
        }
        let body = json!({
            "message": {
                "attributes": {},
                "data": delivery.message.data,
                "messageId": delivery.message.id,
                "message_id": delivery.message.id,
                "publishTime": delivery.message.publish_time,
                "publish_time": delivery.message.publish_time,
            },
            "subscription": config.name,
        });
        let mut request = delivery.http.post(&config.push_endpoint).json(&body);
        if let Some(email) = &config.service_account_email {
            let audience = config.audience.as_deref().unwrap_or(&config.push_endpoint);
            match delivery.keys.sign_push_token(email, audience, now_ms).await {
                Ok(token) => {
                    request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
                }
                Err(error) => {
                    tracing::error!(%error, "signing a push token");
                }
            }
        }
        let outcome = match request.send().await {
            Ok(response) if ACKNOWLEDGED.contains(&response.status().as_u16()) => {
                Outcome::Delivered
            }
            Ok(_) | Err(_) => Outcome::Failed,
        };
        match outcome {
            Outcome::Delivered => {
                finish(&shared, &delivery.subscription, |c| c.delivered += 1);
                return;
            }
            Outcome::Failed => {
                let mut state = lock(&shared);
                if let Some(sub) = state.pubsub.subscriptions.get_mut(&delivery.subscription) {
                    sub.counters.failed_attempts += 1;
                }
            }
        }
        let wait = backoff.map_or(config.min_backoff, |b| {
            b.saturating_mul(2).min(config.max_backoff)
        });
        backoff = Some(wait);
        tokio::time::sleep(wait).await;
    }
}

/// The message leaves the backlog; `count` records how.
fn finish(shared: &Shared, subscription: &str, count: impl FnOnce(&mut super::Counters)) {
    let mut state = lock(shared);
    if let Some(sub) = state.pubsub.subscriptions.get_mut(subscription) {
        sub.counters.backlog = sub.counters.backlog.saturating_sub(1);
        count(&mut sub.counters);
    }
}
