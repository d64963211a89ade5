//! Knowing when mail arrives: one durable change stream per user.
//!
//! Gmail tells us a mailbox changed by a Pub/Sub push (after
//! `users.watch`), or we ask it on a schedule (`history.list`, the polling
//! fallback). Either way the same sync reads the history from the user's
//! stored cursor, turns each change into an event (`message.added`,
//! `message.deleted`, `labels.changed`, or `mailbox.resynced` when Gmail no
//! longer keeps that history), and commits the events to the outbox in the
//! same transaction as the new cursor, so a change is never lost nor
//! emitted twice. The outbox is delivered to the webhook, in order per
//! user, until it acknowledges or the event is older than
//! [`EventsConfig::webhook_max_age`]; backends may also pull it.
//!
//! Across replicas sharing PostgreSQL: a user's sync runs under a lease
//! (one replica at a time), scheduled checks are claimed row by row (so
//! they spread over replicas), and one replica at a time holds the
//! delivery lease.

mod delivery;
mod envelope;
mod schedule;
mod sync;

use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt as _;
use secrecy::SecretString;
use tokio::sync::{Notify, Semaphore};
use url::Url;

use crate::gmail::Gmail;
use crate::metrics::Metrics;
use crate::store::{CredentialStore, EventStore, Leases, StoreError, now_unix_ms};

pub use envelope::{Envelope, envelope};

/// Unix milliseconds now; replaceable so tests can move time.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The wall clock.
pub fn system_clock() -> Clock {
    Arc::new(now_unix_ms)
}

/// Where events are POSTed, one per request, signed as [`crate::webhook`] says.
#[derive(Clone)]
pub struct WebhookTarget {
    pub url: Url,
    pub secret: SecretString,
}

impl std::fmt::Debug for WebhookTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookTarget")
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

/// How the change stream runs.
#[derive(Clone)]
pub struct EventsConfig {
    pub gmail: Gmail,
    pub store: Arc<dyn CredentialStore>,
    pub http: reqwest::Client,
    /// `projects/P/topics/T` to watch mailboxes with; `None`: poll only.
    pub topic: Option<String>,
    /// How often an unwatched mailbox is polled. Watched mailboxes are
    /// polled too when no push came for ten times this long.
    pub poll_interval: Duration,
    pub webhook: Option<WebhookTarget>,
    /// Delivery of an event is given up when it is older than this.
    pub webhook_max_age: Duration,
    /// This replica's name in leases.
    pub holder: String,
    pub clock: Clock,
    pub metrics: Arc<Metrics>,
    /// Whether a push starts its sync in this process at once (`false`: it
    /// is only recorded and scheduled, for the replicas running the stream).
    pub sync_on_push: bool,
}

impl EventsConfig {
    /// Defaults: no topic, polling every 60 s, no webhook, 3 days of
    /// delivery attempts, a random holder name, the wall clock.
    pub fn new(gmail: Gmail, store: Arc<dyn CredentialStore>, http: reqwest::Client) -> Self {
        let metrics = Arc::new(Metrics::default());
        Self {
            gmail,
            store,
            http,
            topic: None,
            poll_interval: Duration::from_secs(60),
            webhook: None,
            webhook_max_age: Duration::from_secs(3 * 24 * 3600),
            holder: format!("replica-{:016x}", rand::random::<u64>()),
            clock: system_clock(),
            metrics,
            sync_on_push: true,
        }
    }
}

/// The change stream of every user; cheap to clone.
#[derive(Clone)]
pub struct Events {
    inner: Arc<Inner>,
}

struct Inner {
    config: EventsConfig,
    events: Arc<dyn EventStore>,
    leases: Arc<dyn Leases>,
    /// Woken when events were committed (delivery has work).
    committed: Notify,
    /// Woken when a check became due now (a connection).
    due: Notify,
    /// Users whose sync runs in this process, and those asked to sync
    /// again when it ends.
    syncing: Mutex<SyncSet>,
    /// Bounds the syncs pushes start at once (a burst of pushes for many
    /// users must not open as many Gmail calls and database writes).
    sync_slots: Semaphore,
}

/// A push's sync that failed is tried again (by the schedule) this long after.
const SYNC_RETRY_MS: i64 = 5_000;

/// Syncs that pushes run at once in this process.
const CONCURRENT_SYNCS: usize = 32;

#[derive(Default)]
struct SyncSet {
    running: HashSet<String>,
    again: HashSet<String>,
}

/// What a push turned into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushOutcome {
    /// Recorded; the user's sync follows.
    Recorded { user_id: String },
    /// No connected user has that address (acknowledge it anyway, or
    /// Pub/Sub retries it for a week).
    UnknownAddress,
}

impl Events {
    pub fn new(config: EventsConfig) -> Self {
        let events = config.store.events();
        let leases = config.store.leases();
        Self {
            inner: Arc::new(Inner {
                config,
                events,
                leases,
                committed: Notify::new(),
                due: Notify::new(),
                syncing: Mutex::default(),
                sync_slots: Semaphore::new(CONCURRENT_SYNCS),
            }),
        }
    }

    pub fn config(&self) -> &EventsConfig {
        &self.inner.config
    }

    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.inner.events
    }

    fn now(&self) -> i64 {
        (self.inner.config.clock)()
    }

    /// Runs the scheduler (watches, polls) and the webhook delivery until
    /// the task is dropped.
    pub fn spawn(&self) -> tokio::task::JoinHandle<()> {
        let (scheduler, delivery) = (self.clone(), self.clone());
        tokio::spawn(async move {
            // Tracking the users stored before runs beside the loops: the
            // tracked ones need not wait for a long list.
            let untracked = async {
                if let Err(error) = scheduler.track_all().await {
                    tracing::warn!(%error, "could not list the stored users to track their mailboxes");
                }
            };
            tokio::join!(
                untracked,
                scheduler.clone().run_schedule(),
                delivery.run_delivery()
            );
        })
    }

    /// A user connected (or consented again): start tracking their mailbox
    /// now, watching it when a topic is configured.
    pub async fn connected(&self, user_id: &str) -> Result<(), StoreError> {
        let now = self.now();
        self.inner.events.track(user_id, now).await?;
        // Due now (also for a row kept from before): the scheduler, here or
        // on another replica, takes the first cursor and watches.
        self.inner.events.schedule(user_id, now).await?;
        self.inner.due.notify_one();
        Ok(())
    }

    /// A user is being disconnected: stop their watch while the grant
    /// still works. Their tracking stays until [`Events::disconnected`]
    /// (a disconnect that fails leaves them connected: [`Events::connected`]
    /// watches them again, from the same cursor).
    pub async fn disconnecting(&self, user_id: &str) -> Result<(), StoreError> {
        if let Some(state) = self.inner.events.mailbox(user_id).await?
            && state.watch_status == crate::store::WatchStatus::Watching
        {
            self.stop_watch(user_id).await;
            let now = self.now();
            let events = &self.inner.events;
            events
                .set_watch(user_id, crate::store::WatchStatus::None, None, None, now)
                .await?;
        }
        Ok(())
    }

    /// A user was disconnected: forget their tracking. Their events stay.
    pub async fn disconnected(&self, user_id: &str) -> Result<(), StoreError> {
        self.inner.events.untrack(user_id).await?;
        Ok(())
    }

    /// A verified push: "the mailbox of `email` has changes up to
    /// `history_id`". Durable when this returns; the sync runs after.
    pub async fn push(&self, email: &str, history_id: u64) -> Result<PushOutcome, StoreError> {
        let Some(user) = self.inner.config.store.find_by_email(email).await? else {
            return Ok(PushOutcome::UnknownAddress);
        };
        let now = self.now();
        let events = &self.inner.events;
        events.note_push(&user.user_id, history_id, now).await?;
        // A check once Gmail's notification gap is over, for the changes it
        // did not notify (on whichever replica runs the schedule).
        events
            .schedule(&user.user_id, now + schedule::NOTIFICATION_GAP_MS + 500)
            .await?;
        if self.inner.config.sync_on_push {
            self.request_sync(&user.user_id);
        }
        Ok(PushOutcome::Recorded {
            user_id: user.user_id,
        })
    }

    /// Runs the user's sync in the background; if one is running in this
    /// process, once more after it.
    pub fn request_sync(&self, user_id: &str) {
        {
            let mut syncing = self.inner.syncing.lock().unwrap_or_else(|e| e.into_inner());
            if !syncing.running.insert(user_id.to_owned()) {
                syncing.again.insert(user_id.to_owned());
                return;
            }
        }
        let this = self.clone();
        let user_id = user_id.to_owned();
        tokio::spawn(async move {
            loop {
                let slot = this.inner.sync_slots.acquire().await;
                // A panic must not leave the user marked as syncing here
                // for good.
                let synced = AssertUnwindSafe(this.sync_user(&user_id))
                    .catch_unwind()
                    .await;
                drop(slot);
                let failed = match synced {
                    Ok(Ok(())) => false,
                    Ok(Err(error)) => {
                        tracing::warn!(user = %user_id, %error, "mailbox sync failed; trying again in a few seconds");
                        true
                    }
                    Err(_) => {
                        tracing::error!(user = %user_id, "mailbox sync panicked; trying again in a few seconds");
                        true
                    }
                };
                if failed {
                    let retry = this.now() + SYNC_RETRY_MS;
                    if let Err(error) = this.inner.events.schedule(&user_id, retry).await {
                        tracing::warn!(user = %user_id, %error, "could not schedule the sync's retry");
                    }
                }
                let mut syncing = this.inner.syncing.lock().unwrap_or_else(|e| e.into_inner());
                if !syncing.again.remove(&user_id) {
                    syncing.running.remove(&user_id);
                    return;
                }
            }
        });
    }
}

/// Waits `duration`, or less when `notify` is woken.
async fn nap(notify: &Notify, duration: Duration) {
    let _ = tokio::time::timeout(duration, notify.notified()).await;
}
