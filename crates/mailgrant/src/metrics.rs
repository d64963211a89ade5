//! Prometheus counters of what the broker and the Gmail client do.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    pub status: u16,
}

/// Counters shared by the broker and the Gmail client.
#[derive(Default)]
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
