//! The outbox to the webhook: at least once, in order per user, each event
//! POSTed alone and signed as [`crate::webhook`] says (its id the same on
//! every retry), retried with backoff until the webhook answers 2xx or the
//! event is older than [`EventsConfig::webhook_max_age`](super::EventsConfig).
//! One replica at a time delivers (a lease), so one user's events never
//! race each other.

use std::time::Duration;

use std::panic::AssertUnwindSafe;

use futures::{FutureExt as _, StreamExt as _};
use secrecy::ExposeSecret as _;

use super::{Events, WebhookTarget, envelope, nap};
use crate::http::describe;
use crate::store::StoredEvent;
use crate::webhook::{EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signature};

const LEASE: &str = "outbox-delivery";
/// A replica that dies holding it hands delivery over this long after.
const LEASE_MS: i64 = 15_000;
/// One batch takes at most one attempt's time (a batch never outlives the lease).
const BATCH: u32 = CONCURRENCY as u32;
/// Deliveries in flight at once (each to a different user).
const CONCURRENCY: usize = 64;
/// One attempt's limit; a slower webhook counts as a failure.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest wait between attempts.
const MAX_BACKOFF_MS: i64 = 10 * 60 * 1000;
/// How often the outbox depth gauge is recounted.
const DEPTH_EVERY_MS: i64 = 5_000;

impl Events {
    pub(super) async fn run_delivery(self) {
        let Some(target) = self.inner.config.webhook.clone() else {
            return;
        };
        let holder = self.inner.config.holder.clone();
        let mut depth_counted: Option<i64> = None;
        loop {
            let now = self.now();
            match self
                .inner
                .leases
                .try_acquire(LEASE, &holder, now, LEASE_MS)
                .await
            {
                Ok(true) => {
                    // Counted by the replica that delivers (a scan of the
                    // pending events, so not by every replica).
                    if depth_counted.is_none_or(|at| now - at >= DEPTH_EVERY_MS) {
                        depth_counted = Some(now);
                        if let Ok(stats) = self.inner.events.outbox_stats(None).await {
                            let depth = &self.inner.config.metrics.outbox_depth;
                            depth.set(stats.pending as i64);
                        }
                    }
                }
                Ok(false) => {
                    // Another replica delivers; take over if it stops.
                    tokio::time::sleep(Duration::from_millis(LEASE_MS as u64 / 3)).await;
                    continue;
                }
                Err(error) => {
                    tracing::warn!(%error, "could not take the delivery lease");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            }
            let due = match self.inner.events.due_deliveries(now, BATCH).await {
                Ok(due) => due,
                Err(error) => {
                    tracing::warn!(%error, "could not read the outbox");
                    Vec::new()
                }
            };
            if due.is_empty() {
                nap(&self.inner.committed, Duration::from_secs(1)).await;
                continue;
            }
            futures::stream::iter(due)
                .for_each_concurrent(CONCURRENCY, |event| {
                    let (this, target) = (self.clone(), target.clone());
                    async move {
                        let id = event.id;
                        // Delivered again at the next look: at least once.
                        let delivery = AssertUnwindSafe(this.deliver(&target, event));
                        if delivery.catch_unwind().await.is_err() {
                            tracing::error!(event = id, "webhook delivery panicked");
                        }
                    }
                })
                .await;
        }
    }

    async fn deliver(&self, target: &WebhookTarget, event: StoredEvent) {
        let (store, metrics) = (&self.inner.events, &self.inner.config.metrics);
        let now = self.now();
        let max_age = self.inner.config.webhook_max_age.as_millis() as i64;
        let outcome = if now - event.occurred_at > max_age {
            tracing::error!(event = event.id, user = %event.user_id, "webhook delivery given up: the event is older than --webhook-max-age");
            metrics.events_abandoned.inc();
            store.mark_abandoned(event.id, now).await
        } else if self.post(target, &event).await {
            metrics.events_delivered.inc();
            let lag = (self.now() - event.occurred_at).max(0) as f64 / 1000.0;
            metrics.delivery_lag.observe(lag);
            store.mark_delivered(event.id, self.now()).await
        } else {
            metrics.delivery_failures.inc();
            store
                .mark_failed(event.id, now + backoff_ms(event.attempts + 1))
                .await
        };
        if let Err(error) = outcome {
            // Delivered again later: at least once.
            tracing::warn!(event = event.id, %error, "could not record the delivery");
        }
    }

    /// One attempt; `true` when the webhook answered 2xx.
    async fn post(&self, target: &WebhookTarget, event: &StoredEvent) -> bool {
        let body = serde_json::to_string(&envelope(event)).expect("envelopes serialize");
        let id = event.id.to_string();
        let timestamp = (self.now() / 1000).max(0) as u64;
        let signed = signature(
            target.secret.expose_secret(),
            &id,
            timestamp,
            body.as_bytes(),
        );
        let result = self
            .inner
            .config
            .http
            .post(target.url.clone())
            .timeout(ATTEMPT_TIMEOUT)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(EVENT_ID_HEADER, &id)
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(SIGNATURE_HEADER, signed)
            .body(body)
            .send()
            .await;
        match result {
            Ok(response) if response.status().is_success() => true,
            Ok(response) => {
                tracing::warn!(
                    event = event.id,
                    status = response.status().as_u16(),
                    attempt = event.attempts + 1,
                    "webhook refused the event"
                );
                false
            }
            Err(error) => {
                tracing::warn!(event = event.id, error = %describe(error), attempt = event.attempts + 1, "webhook unreachable");
                false
            }
        }
    }
}

/// The wait before attempt `attempt + 1`: 1 s doubling to 10 min, with
/// jitter (so a webhook that comes back is not hit by every event at once).
fn backoff_ms(attempt: u32) -> i64 {
    let base = 1000i64
        .saturating_mul(1 << attempt.min(20))
        .min(MAX_BACKOFF_MS);
    base / 2 + (rand::random::<u64>() % (base as u64 / 2 + 1)) as i64
}

#[cfg(test)]
mod tests {
    use super::backoff_ms;

    #[test]
    fn backoff_doubles_and_stops_at_ten_minutes() {
        for attempt in 0..40 {
            let wait = backoff_ms(attempt);
            let base = (1000i64 << attempt.min(20)).min(super::MAX_BACKOFF_MS);
            assert!(
                wait >= base / 2 && wait <= base,
                "attempt {attempt}: {wait}"
            );
        }
    }
}
