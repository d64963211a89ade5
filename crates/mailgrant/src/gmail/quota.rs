//! Quota pacing: each Gmail method costs quota units, Google allows a user
//! so many per period, and a per-user token bucket keeps each user's calls
//! under a budget so that they are not refused in the first place
//! (https://developers.google.com/gmail/api/reference/quota; reference §7).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// The methods this client calls, with their quota cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Method {
    GetProfile,
    MessagesList,
    MessagesGet,
    AttachmentsGet,
    ThreadsList,
    ThreadsGet,
    LabelsList,
    LabelsGet,
    HistoryList,
    Watch,
    Stop,
}

impl Method {
    /// Quota units per call (reference §7, "Units per method"). A batch
    /// costs the sum of its calls ("n requests batched together count as n
    /// requests", batch guide).
    pub fn units(self) -> u32 {
        match self {
            Self::GetProfile | Self::LabelsList | Self::LabelsGet => 1,
            Self::HistoryList => 2,
            Self::MessagesList | Self::MessagesGet | Self::AttachmentsGet => 5,
            // Not in the captured quota table (reference §7, unconfirmed):
            // 10 is the commonly quoted cost.
            Self::ThreadsList | Self::ThreadsGet => 10,
            // Not in the captured table either (unconfirmed): Google's quota
            // page lists `watch` at 100 and `stop` at 50.
            Self::Watch => 100,
            Self::Stop => 50,
        }
    }
}

/// How fast one user's calls may spend quota: a token bucket that refills
/// at `units_per_second` and holds at most `burst` units. In any period of
/// `t` seconds a user then spends at most `burst + units_per_second * t`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QuotaBudget {
    pub units_per_second: f64,
    pub burst: u32,
}

impl QuotaBudget {
    /// A little under Google's per-user limits: 240 units/s against the
    /// older page's "250 units/user/second", and a burst of 250 (one batch
    /// of 50 `messages.get`) so that any 60 s spend at most 14,650 units
    /// against the current page's "15,000 units/user/min" (reference §7).
    pub const GOOGLE_PER_USER: Self = Self {
        units_per_second: 240.0,
        burst: 250,
    };

    /// A budget that stays under `units` in any sliding `window` (e.g. a
    /// quota configured elsewhere): a quarter of it as burst, and 90 % of
    /// the rest spread over the window.
    pub fn within(units: u32, window: Duration) -> Self {
        let burst = units / 4;
        Self {
            units_per_second: 0.9 * f64::from(units - burst) / window.as_secs_f64().max(1e-3),
            burst,
        }
    }

    /// The most a user can spend in any `window` under this budget.
    pub fn max_in(&self, window: Duration) -> f64 {
        f64::from(self.burst) + self.units_per_second * window.as_secs_f64()
    }
}

impl Default for QuotaBudget {
    fn default() -> Self {
        Self::GOOGLE_PER_USER
    }
}

/// Past this many users, idle (full) buckets are forgotten.
const PRUNE_ABOVE: usize = 10_000;

/// One token bucket per user. Callers reserve units in arrival order and
/// wait until their reservation is covered, so concurrent callers of one
/// user are served first come, first served.
pub(crate) struct Pacer {
    budget: QuotaBudget,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    /// Units available; negative when reserved ahead of the refill.
    units: f64,
    at: Instant,
}

impl Pacer {
    pub fn new(budget: QuotaBudget) -> Self {
        Self {
            budget,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Waits until `user_id` may spend `units`, and spends them.
    pub async fn acquire(&self, user_id: &str, units: u32) {
        let wait = self.reserve(user_id, units, Instant::now());
        if !wait.is_zero() {
            tracing::debug!(
                units,
                wait_ms = wait.as_millis() as u64,
                "pacing Gmail quota"
            );
            tokio::time::sleep(wait).await;
        }
    }

    fn reserve(&self, user_id: &str, units: u32, now: Instant) -> Duration {
        let rate = self.budget.units_per_second.max(f64::MIN_POSITIVE);
        let burst = f64::from(self.budget.burst);
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > PRUNE_ABOVE {
            buckets.retain(|_, b| b.units + rate * now.duration_since(b.at).as_secs_f64() < burst);
        }
        let bucket = buckets.entry(user_id.to_owned()).or_insert(Bucket {
            units: burst,
            at: now,
        });
        let refill = rate * now.duration_since(bucket.at).as_secs_f64();
        bucket.units = (bucket.units + refill).min(burst) - f64::from(units);
        bucket.at = now;
        if bucket.units >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-bucket.units / rate)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_stays_under_googles_per_minute_and_per_second_limits() {
        let budget = QuotaBudget::default();
        assert!(budget.max_in(Duration::from_secs(60)) < 15_000.0);
        assert!(budget.units_per_second < 250.0);
        let small = QuotaBudget::within(500, Duration::from_secs(2));
        assert!(small.max_in(Duration::from_secs(2)) < 500.0);
    }

    #[test]
    fn reservations_past_the_burst_wait_for_the_refill_in_order() {
        let pacer = Pacer::new(QuotaBudget {
            units_per_second: 100.0,
            burst: 10,
        });
        let now = Instant::now();
        assert_eq!(pacer.reserve("u", 10, now), Duration::ZERO);
        assert_eq!(pacer.reserve("u", 10, now), Duration::from_millis(100));
        assert_eq!(pacer.reserve("u", 10, now), Duration::from_millis(200));
        assert_eq!(pacer.reserve("other", 10, now), Duration::ZERO);
        // A second later the debt is paid and the bucket refilled to its cap.
        let later = now + Duration::from_secs(2);
        assert_eq!(pacer.reserve("u", 10, later), Duration::ZERO);
        assert_eq!(pacer.reserve("u", 1, later), Duration::from_millis(10));
    }
}
