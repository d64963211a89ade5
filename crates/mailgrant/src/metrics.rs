//! Prometheus counters of what the broker and the Gmail client do.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TypeLabel {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    pub status: u16,
}

/// Counters shared by the broker, the Gmail client and the change stream.
pub struct Metrics {
    /// Refresh grants sent, by outcome: `ok`, `transient_error`, `revoked`,
    /// `client_rejected`.
    pub refreshes: Family<OutcomeLabel, Counter>,
    /// Answers of Google's token endpoint that refuse the OAuth client itself.
    pub client_misconfigured: Counter,
    /// Credentials that stopped working or were disconnected.
    pub revocations: Counter,
    /// Gmail API answers by HTTP status (0: no answer).
    pub gmail_calls: Family<StatusLabel, Counter>,
    /// Pub/Sub pushes by outcome: `verified`, or why they were rejected.
    pub pushes: Family<OutcomeLabel, Counter>,
    /// Events committed to the outbox, by type.
    pub events_emitted: Family<TypeLabel, Counter>,
    /// Events the webhook acknowledged.
    pub events_delivered: Counter,
    /// Webhook delivery attempts that failed (retried later).
    pub delivery_failures: Counter,
    /// Events whose delivery was given up (older than the maximum age).
    pub events_abandoned: Counter,
    /// Seconds from an event's commit to the webhook's acknowledgement.
    pub delivery_lag: Histogram,
    /// Events neither delivered nor abandoned, as last counted.
    pub outbox_depth: Gauge,
    /// Gmail watch calls by outcome: `ok`, `refused`, `error`.
    pub watch_renewals: Family<OutcomeLabel, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            refreshes: Family::default(),
            client_misconfigured: Counter::default(),
            revocations: Counter::default(),
            gmail_calls: Family::default(),
            pushes: Family::default(),
            events_emitted: Family::default(),
            events_delivered: Counter::default(),
            delivery_failures: Counter::default(),
            events_abandoned: Counter::default(),
            // 5 ms to about 80 s.
            delivery_lag: Histogram::new([
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 80.0,
            ]),
            outbox_depth: Gauge::default(),
            watch_renewals: Family::default(),
        }
    }
}

impl Metrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "mailgrant_refreshes",
            "Refresh grants sent to Google's token endpoint, by outcome",
            self.refreshes.clone(),
        );
        registry.register(
            "mailgrant_revocations",
            "Credentials found revoked or disconnected",
            self.revocations.clone(),
        );
        registry.register(
            "mailgrant_client_misconfigured",
            "Token endpoint answers refusing the OAuth client (wrong secret, disabled or deleted client)",
            self.client_misconfigured.clone(),
        );
        registry.register(
            "mailgrant_gmail_calls",
            "Gmail API calls by HTTP status",
            self.gmail_calls.clone(),
        );
        registry.register(
            "mailgrant_pushes",
            "Gmail Pub/Sub pushes received, by outcome (verified or the reason for rejection)",
            self.pushes.clone(),
        );
        registry.register(
            "mailgrant_events_emitted",
            "Change events committed to the outbox, by type",
            self.events_emitted.clone(),
        );
        registry.register(
            "mailgrant_events_delivered",
            "Events the webhook acknowledged",
            self.events_delivered.clone(),
        );
        registry.register(
            "mailgrant_webhook_delivery_failures",
            "Webhook delivery attempts that failed and will be retried",
            self.delivery_failures.clone(),
        );
        registry.register(
            "mailgrant_events_abandoned",
            "Events whose webhook delivery was given up after the maximum age",
            self.events_abandoned.clone(),
        );
        registry.register(
            "mailgrant_event_delivery_lag_seconds",
            "Time from an event's commit to the webhook's acknowledgement",
            self.delivery_lag.clone(),
        );
        registry.register(
            "mailgrant_outbox_depth",
            "Events waiting for webhook delivery",
            self.outbox_depth.clone(),
        );
        registry.register(
            "mailgrant_watch_renewals",
            "Gmail users.watch calls by outcome",
            self.watch_renewals.clone(),
        );
    }

    pub fn push(&self, outcome: &'static str) {
        self.pushes.get_or_create(&OutcomeLabel { outcome }).inc();
    }

    pub(crate) fn event_emitted(&self, kind: &str) {
        self.events_emitted
            .get_or_create(&TypeLabel {
                kind: kind.to_owned(),
            })
            .inc();
    }

    pub(crate) fn watch_renewal(&self, outcome: &'static str) {
        self.watch_renewals
            .get_or_create(&OutcomeLabel { outcome })
            .inc();
    }

    pub(crate) fn refresh(&self, outcome: &'static str) {
        self.refreshes
            .get_or_create(&OutcomeLabel { outcome })
            .inc();
    }

    pub(crate) fn gmail_call(&self, status: u16) {
        self.gmail_calls
            .get_or_create(&StatusLabel { status })
            .inc();
    }
}
