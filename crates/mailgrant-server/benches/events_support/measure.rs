//! Turning what was sent and what arrived into figures: losses and
//! duplicates by subject, latencies and their percentiles, and what the
//! emulator, the proxy and the binary's `/metrics` counted during a phase.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use serde_json::{Value, json};

use super::{Delivery, Hop, World, sample};

/// A message the bench added: each subject is unique in the run.
#[derive(Clone, Debug)]
pub struct Sent {
    pub email: String,
    pub subject: String,
    pub at: Instant,
}

/// Whether each sent message arrived exactly once, as its user's event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub sent: usize,
    /// Sent messages no `message.added` came for.
    pub lost: usize,
    /// Deliveries beyond the first for a sent message.
    pub duplicated: usize,
    /// Deliveries whose subject was sent to another user, or not as
    /// `message.added`.
    pub wrong: usize,
    /// Deliveries sharing an event id with an earlier one.
    pub repeated_ids: usize,
}

impl Tally {
    pub fn of(sent: &[Sent], deliveries: &[Delivery]) -> Self {
        let mut by_subject: HashMap<&str, Vec<&Delivery>> = HashMap::new();
        for d in deliveries {
            by_subject.entry(d.subject.as_str()).or_default().push(d);
        }
        let mut tally = Self {
            sent: sent.len(),
            ..Self::default()
        };
        for s in sent {
            let got = by_subject
                .get(s.subject.as_str())
                .map_or(&[][..], Vec::as_slice);
            let right = got
                .iter()
                .filter(|d| d.kind == "message.added" && d.email == s.email)
                .count();
            tally.wrong += got.len() - right;
            match right {
                0 => tally.lost += 1,
                n => tally.duplicated += n - 1,
            }
        }
        let mut ids = HashSet::new();
        tally.repeated_ids = deliveries.iter().filter(|d| !ids.insert(&d.id)).count();
        tally
    }

    pub fn clean(&self) -> bool {
        self.lost == 0 && self.duplicated == 0 && self.wrong == 0 && self.repeated_ids == 0
    }

    pub fn json(&self) -> Value {
        json!({
            "sent": self.sent,
            "lost": self.lost,
            "duplicated": self.duplicated,
            "wrong": self.wrong,
            "repeated_ids": self.repeated_ids,
        })
    }
}

/// When each sent subject first arrived.
pub fn first_arrivals(deliveries: &[Delivery]) -> HashMap<&str, Instant> {
    let mut first: HashMap<&str, Instant> = HashMap::new();
    for d in deliveries {
        first
            .entry(d.subject.as_str())
            .and_modify(|at| *at = (*at).min(d.at))
            .or_insert(d.at);
    }
    first
}

/// The nearest-rank percentile `p` (0–100) of `values`.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    assert!(!values.is_empty(), "percentile of nothing");
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// p50, p99 and max of milliseconds, as JSON.
pub fn spread(ms: &[f64]) -> Value {
    if ms.is_empty() {
        return json!(null);
    }
    json!({
        "p50_ms": percentile(ms, 50.0),
        "p99_ms": percentile(ms, 99.0),
        "max_ms": percentile(ms, 100.0),
    })
}

/// The counters a phase is measured between.
pub struct Snapshot {
    metrics: String,
    counters: Value,
    subscription: Value,
    gmail_hops: usize,
}

impl Snapshot {
    pub async fn take(world: &World) -> Self {
        Self {
            metrics: world.metrics().await,
            counters: world.counters().await,
            subscription: world.subscription().await,
            gmail_hops: world.gmail_proxy.hops().len(),
        }
    }

    /// What happened between `self` and `after`.
    pub fn until(&self, after: &Snapshot, world: &World) -> Value {
        let hops: Vec<Hop> = world.gmail_proxy.hops()[self.gmail_hops..after.gmail_hops].to_vec();
        let (mut statuses, mut kinds) = (HashMap::<String, usize>::new(), HashMap::new());
        for hop in &hops {
            *statuses.entry(hop.status.to_string()).or_default() += 1;
            *kinds.entry(kind(&hop.path)).or_insert(0usize) += 1;
        }
        let count =
            |v: &Value, path: &[&str]| path.iter().fold(v, |v, k| &v[*k]).as_u64().unwrap_or(0);
        let diff = |path: &[&str]| {
            count(&after.counters, path).saturating_sub(count(&self.counters, path))
        };
        let sub = |key: &str| {
            count(&after.subscription, &[key]).saturating_sub(count(&self.subscription, &[key]))
        };
        let metric = |name: &str, label: &str| {
            sample(&after.metrics, name, label) - sample(&self.metrics, name, label)
        };
        let lag_count = metric("mailgrant_event_delivery_lag_seconds_count", "");
        let lag_sum = metric("mailgrant_event_delivery_lag_seconds_sum", "");
        json!({
            "emulator": {
                "gmail_calls": diff(&["gmail_calls"]),
                "batch_requests": diff(&["batch_requests"]),
                "quota_refusals": diff(&["quota_refusals"]),
                "refresh_grants": diff(&["token_grants", "refresh_token"]),
            },
            "proxied_google_requests": { "total": hops.len(), "by_status": statuses, "by_kind": kinds },
            "pushes": {
                "acknowledged": sub("delivered"),
                "failed_attempts": sub("failedAttempts"),
                "verified_by_mailgrant": metric("mailgrant_pushes_total", "verified"),
            },
            "mailgrant": {
                "events_emitted": metric("mailgrant_events_emitted_total", ""),
                "events_delivered": metric("mailgrant_events_delivered_total", ""),
                "webhook_failures": metric("mailgrant_webhook_delivery_failures_total", ""),
                "delivery_lag_mean_ms": if lag_count > 0.0 { lag_sum / lag_count * 1000.0 } else { 0.0 },
                "delivery_lag_buckets": lag_buckets(&self.metrics, &after.metrics),
                "outbox_depth_after": sample(&after.metrics, "mailgrant_outbox_depth", ""),
            },
        })
    }
}

/// What a Google request was, from its path.
fn kind(path: &str) -> &'static str {
    let last = path.rsplit('/').next().unwrap_or_default();
    match path {
        "/token" => "token",
        "/batch/gmail/v1" => "gmail batch",
        p if p.starts_with("/gmail/v1/users/") => match last {
            "history" => "history.list",
            "watch" => "watch",
            "profile" => "getProfile",
            _ if p.contains("/messages/") => "messages.get",
            _ => "other gmail",
        },
        p if p.contains("userinfo") => "userinfo",
        p if p.ends_with("/certs") => "certs",
        _ => "other",
    }
}

/// `mailgrant_event_delivery_lag_seconds` bucket counts (cumulative, by
/// `le`) gained between two scrapes.
fn lag_buckets(before: &str, after: &str) -> Value {
    const BUCKET: &str = "mailgrant_event_delivery_lag_seconds_bucket{";
    let bounds: Vec<&str> = after
        .lines()
        .filter_map(|l| l.strip_prefix(BUCKET)?.split('"').nth(1))
        .collect();
    let name = "mailgrant_event_delivery_lag_seconds_bucket";
    let buckets: serde_json::Map<String, Value> = bounds
        .iter()
        .map(|le| {
            let gained = sample(after, name, le) - sample(before, name, le);
            ((*le).to_owned(), json!(gained))
        })
        .collect();
    Value::Object(buckets)
}
