//! An in-process stand-in for the part of Cloud Pub/Sub that Gmail push
//! notifications use: topics (with or without Gmail's publish right), push
//! subscriptions, and delivery of published messages over real HTTP
//! (`delivery`), signed with the emulator's keys when the subscription has
//! a service account (`keys`).
//!
//! Delivery is at-least-once, as Pub/Sub's is: a push is retried until the
//! endpoint acknowledges it or the message outlives the retention
//! (https://cloud.google.com/pubsub/docs/push).

pub mod delivery;
pub mod keys;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::PROJECT_ID;
use crate::date;
use crate::state::EmulatorState;
use delivery::{Delivery, PushMessage};
use keys::Keyring;

/// Pub/Sub's default minimum and maximum retry backoff for a subscription
/// (`RetryPolicy`: "minimumBackoff … Defaults to 10 seconds",
/// "maximumBackoff … Defaults to 600 seconds";
/// https://cloud.google.com/pubsub/docs/reference/rest/v1/projects.subscriptions#retrypolicy).
pub const DEFAULT_MIN_BACKOFF: Duration = Duration::from_secs(10);
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(600);

/// Pub/Sub keeps unacknowledged messages 7 days by default
/// (`messageRetentionDuration`, same page).
pub const RETENTION_MS: i64 = 7 * 24 * 3600 * 1000;

/// A push subscription as a test creates it: [`PushSubscription::new`]
/// gives Pub/Sub's defaults (no authentication, 10 s to 600 s backoff).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushSubscription {
    /// `projects/mailgrant-emulator/subscriptions/<id>`.
    pub name: String,
    /// `projects/mailgrant-emulator/topics/<id>`; must exist.
    pub topic: String,
    pub push_endpoint: String,
    /// The `aud` of the push token; the push endpoint when `None`, as
    /// Pub/Sub does (`OidcToken.audience`).
    pub audience: Option<String>,
    /// With one, each push carries `Authorization: Bearer <OIDC token>`
    /// for this service account; without, no `Authorization` at all.
    pub service_account_email: Option<String>,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
}

impl PushSubscription {
    pub fn new(
        name: impl Into<String>,
        topic: impl Into<String>,
        push_endpoint: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            topic: topic.into(),
            push_endpoint: push_endpoint.into(),
            audience: None,
            service_account_email: None,
            min_backoff: DEFAULT_MIN_BACKOFF,
            max_backoff: DEFAULT_MAX_BACKOFF,
        }
    }
}

/// Why a topic or subscription was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum PubSubError {
    #[error("invalid topic name {0:?}: expected projects/{PROJECT_ID}/topics/<id>")]
    InvalidTopicName(String),
    #[error("invalid subscription name {0:?}: expected projects/{PROJECT_ID}/subscriptions/<id>")]
    InvalidSubscriptionName(String),
    #[error("no topic {0}")]
    TopicNotFound(String),
    #[error("{0} already exists")]
    AlreadyExists(String),
    #[error("invalid push endpoint {0:?}: expected an http or https URL")]
    InvalidPushEndpoint(String),
    #[error("min_backoff must not exceed max_backoff")]
    InvalidBackoff,
}

/// What each subscription has done, for `GET /emulator/pubsub/subscriptions/…`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counters {
    /// Pushes the endpoint acknowledged.
    pub delivered: u64,
    /// Pushes refused or not answered (each is retried).
    pub failed_attempts: u64,
    /// Messages not yet acknowledged, dropped or expired.
    pub backlog: u64,
    /// Messages lost to a `drop` fault.
    pub dropped: u64,
    /// Messages given up on after the retention.
    pub expired: u64,
}

pub struct Subscription {
    pub config: PushSubscription,
    pub counters: Counters,
}

/// A test fault on the next pushes (not Pub/Sub's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushFault {
    /// The message is lost, as if never published.
    Drop,
    /// Delivered this much later.
    Delay(Duration),
    /// Delivered twice.
    Duplicate,
}

pub struct PubSub {
    /// Topic name → whether `gmail-api-push@system.gserviceaccount.com`
    /// may publish to it.
    pub topics: HashMap<String, bool>,
    pub subscriptions: BTreeMap<String, Subscription>,
    /// Faults for the next pushes, each with how many it still applies to.
    pub faults: VecDeque<(PushFault, u32)>,
    pub keys: Arc<Keyring>,
    /// The state this belongs to, for the delivery tasks.
    pub shared: Weak<Mutex<EmulatorState>>,
    /// Where to run deliveries when published outside a runtime (e.g. from
    /// the synchronous `Emulator::import_mbox`).
    pub runtime: Option<tokio::runtime::Handle>,
    /// Not following redirects, with Pub/Sub's default 10 s ack deadline
    /// as the time an endpoint has to answer.
    http: reqwest::Client,
    published: u64,
}

impl Default for PubSub {
    fn default() -> Self {
        Self {
            topics: HashMap::new(),
            subscriptions: BTreeMap::new(),
            faults: VecDeque::new(),
            keys: Arc::new(Keyring::default()),
            shared: Weak::new(),
            runtime: None,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            published: 0,
        }
    }
}

/// The `<id>` of `projects/mailgrant-emulator/<kind>/<id>`, if the id is
/// one Pub/Sub accepts: a letter first, 3 to 255 of letters, digits and
/// `-_.~+%`, not starting with `goog`
/// (https://cloud.google.com/pubsub/docs/pubsub-basics#resource_names).
pub fn resource_id<'a>(name: &'a str, kind: &str) -> Option<&'a str> {
    let id = name
        .strip_prefix("projects/")?
        .strip_prefix(PROJECT_ID)?
        .strip_prefix('/')?
        .strip_prefix(kind)?
        .strip_prefix('/')?;
    let valid = (3..=255).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_alphabetic())
        && !id.to_ascii_lowercase().starts_with("goog")
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.~+%".contains(c));
    valid.then_some(id)
}

impl PubSub {
    pub fn create_topic(&mut self, name: &str, gmail_can_publish: bool) -> Result<(), PubSubError> {
        if resource_id(name, "topics").is_none() {
            return Err(PubSubError::InvalidTopicName(name.to_owned()));
        }
        if self.topics.contains_key(name) {
            return Err(PubSubError::AlreadyExists(name.to_owned()));
        }
        self.topics.insert(name.to_owned(), gmail_can_publish);
        Ok(())
    }

    pub fn create_subscription(&mut self, config: PushSubscription) -> Result<(), PubSubError> {
        if resource_id(&config.name, "subscriptions").is_none() {
            return Err(PubSubError::InvalidSubscriptionName(config.name));
        }
        if !self.topics.contains_key(&config.topic) {
            return Err(PubSubError::TopicNotFound(config.topic));
        }
        if !matches!(
            url::Url::parse(&config.push_endpoint).map(|u| u.scheme().to_owned()),
            Ok(scheme) if scheme == "http" || scheme == "https"
        ) {
            return Err(PubSubError::InvalidPushEndpoint(config.push_endpoint));
        }
        if config.min_backoff > config.max_backoff {
            return Err(PubSubError::InvalidBackoff);
        }
        if self.runtime.is_none() {
            self.runtime = tokio::runtime::Handle::try_current().ok();
        }
        // A subscription under an existing name replaces its settings (the
        // control API's contract, so a script can re-run its wiring); its
        // counters go on.
        match self.subscriptions.get_mut(&config.name) {
            Some(existing) => existing.config = config,
            None => {
                let subscription = Subscription {
                    config,
                    counters: Counters::default(),
                };
                self.subscriptions
                    .insert(subscription.config.name.clone(), subscription);
            }
        }
        Ok(())
    }

    /// Takes one use of the first pending fault.
    fn take_fault(&mut self) -> Option<PushFault> {
        let (fault, remaining) = self.faults.front_mut()?;
        let fault = *fault;
        *remaining -= 1;
        if *remaining == 0 {
            self.faults.pop_front();
        }
        Some(fault)
    }

    /// Publishes `data` to `topic` at `now_ms` and starts its push to every
    /// subscription of the topic; returns the message id.
    pub fn publish(&mut self, topic: &str, data: &[u8], now_ms: i64) -> String {
        self.published += 1;
        // Pub/Sub message ids are decimal strings of about 16 digits.
        let id = (1_000_000_000_000_000
            + now_ms.unsigned_abs() % 1_000_000_000 * 1000
            + self.published % 1000)
            .to_string();
        let message = PushMessage {
            id: id.clone(),
            data: STANDARD.encode(data),
            publish_time: date::iso8601(now_ms),
            publish_ms: now_ms,
        };
        let names: Vec<String> = self
            .subscriptions
            .values()
            .filter(|s| s.config.topic == topic)
            .map(|s| s.config.name.clone())
            .collect();
        for name in names {
            let fault = self.take_fault();
            self.start(&name, &message, fault);
        }
        id
    }

    /// Counts the message into the subscription's backlog and spawns its
    /// delivery.
    pub fn start(&mut self, subscription: &str, message: &PushMessage, fault: Option<PushFault>) {
        let Some(sub) = self.subscriptions.get_mut(subscription) else {
            return;
        };
        sub.counters.backlog += 1;
        let (Some(shared), Some(runtime)) = (
            self.shared.upgrade(),
            tokio::runtime::Handle::try_current()
                .ok()
                .or_else(|| self.runtime.clone()),
        ) else {
            tracing::warn!(subscription, "no runtime to deliver a Pub/Sub push on");
            return;
        };
        let delivery = Delivery {
            subscription: subscription.to_owned(),
            message: message.clone(),
            http: self.http.clone(),
            keys: self.keys.clone(),
        };
        runtime.spawn(delivery::run(shared, delivery, fault));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_in_the_emulator_project_with_a_valid_id() {
        let ok = "projects/mailgrant-emulator/topics/gmail-push";
        assert_eq!(resource_id(ok, "topics"), Some("gmail-push"));
        for bad in [
            "projects/other/topics/gmail-push",
            "projects/mailgrant-emulator/topics/",
            "projects/mailgrant-emulator/topics/1abc",
            "projects/mailgrant-emulator/topics/google-x",
            "projects/mailgrant-emulator/topics/a/b",
            "gmail-push",
        ] {
            assert_eq!(resource_id(bad, "topics"), None, "{bad}");
        }
        assert_eq!(resource_id(ok, "subscriptions"), None);
    }
}
