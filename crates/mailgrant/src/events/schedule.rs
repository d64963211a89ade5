//! The schedule: each tracked mailbox is checked every poll interval, by
//! whichever replica claims it. A check renews the watch when it is a day
//! old (Google: renew at least every 7 days, daily recommended; reference
//! §11), so a watch never comes within six days of its `expiration`, and
//! polls `history.list` when pushes cannot be relied on: no watch, a failed
//! one, or no notification for ten poll intervals (pushes can be lost).

use std::time::Duration;

use std::panic::AssertUnwindSafe;

use futures::future::BoxFuture;
use futures::{FutureExt as _, StreamExt as _};
use serde_json::json;

use super::{Events, nap};
use crate::error::Error;
use crate::gmail::{GmailError, WatchRequest};
use crate::store::{MailboxState, NewEvent, SyncCommit, WatchStatus};

const DAY_MS: i64 = 24 * 3600 * 1000;
/// A watch is renewed when it is this old.
const RENEW_AFTER_MS: i64 = DAY_MS;
/// A refused watch is tried again after this long (each try costs quota).
const RETRY_FAILED_WATCH_MS: i64 = 3600 * 1000;
/// How long a claimed check is kept from other replicas.
const CLAIM_MS: i64 = 120_000;
const CLAIM_BATCH: u32 = 256;
/// Checks run at once in this process.
const CONCURRENT_CHECKS: usize = 16;
/// Gmail's notifications of one user are at least this far apart; the
/// changes in between are not notified.
pub(super) const NOTIFICATION_GAP_MS: i64 = 1_000;
/// Watched mailboxes are polled when nothing came for this many intervals.
pub(super) const SAFETY_NET_INTERVALS: i64 = 10;

impl Events {
    /// Claims due checks and runs them, forever.
    pub(super) async fn run_schedule(self) {
        loop {
            let claimed = match self
                .inner
                .events
                .claim_due(self.now(), CLAIM_MS, CLAIM_BATCH)
                .await
            {
                Ok(claimed) => claimed,
                Err(error) => {
                    tracing::warn!(%error, "could not read the mailbox schedule");
                    Vec::new()
                }
            };
            let full = claimed.len() == CLAIM_BATCH as usize;
            futures::stream::iter(claimed)
                .for_each_concurrent(CONCURRENT_CHECKS, |state| {
                    let this = self.clone();
                    async move {
                        let user_id = state.user_id.clone();
                        // One user's panic must not stop everyone's schedule
                        // (their check comes round again when its claim lapses).
                        let check: BoxFuture<'_, ()> = Box::pin(this.check(state));
                        if AssertUnwindSafe(check).catch_unwind().await.is_err() {
                            tracing::error!(user = %user_id, "mailbox check panicked");
                        }
                    }
                })
                .await;
            if !full {
                nap(&self.inner.due, Duration::from_secs(1)).await;
            }
        }
    }

    /// Tracks every stored user not tracked yet (users stored before the
    /// change stream existed, or by `users import`), their first checks
    /// spread over one interval.
    pub(super) async fn track_all(&self) -> Result<(), Error> {
        let mut after: Option<String> = None;
        loop {
            let page = self.inner.config.store.list(after.as_deref(), 500).await?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = Some(last.user_id.clone());
            for user in page.iter().filter(|u| u.revoked.is_none()) {
                let spread = (rand::random::<u64>() % (self.interval_ms().max(1) as u64)) as i64;
                self.inner
                    .events
                    .track(&user.user_id, self.now() + spread)
                    .await?;
            }
        }
    }

    async fn check(&self, state: MailboxState) {
        let user_id = state.user_id.clone();
        let next = match self.check_inner(state).await {
            Ok(next) => next,
            Err(error) => {
                tracing::warn!(user = %user_id, %error, "mailbox check failed; trying again later");
                self.now() + self.interval_ms()
            }
        };
        if let Err(error) = self.inner.events.schedule(&user_id, next).await {
            tracing::warn!(user = %user_id, %error, "could not schedule the mailbox's next check");
        }
    }

    /// Does what is due and says when to look again.
    async fn check_inner(&self, state: MailboxState) -> Result<i64, Error> {
        let user_id = state.user_id.as_str();
        let Some(credential) = self.inner.config.store.get(user_id).await? else {
            // Deleted without a disconnect (e.g. `users delete`).
            self.inner.events.untrack(user_id).await?;
            return Ok(i64::MAX);
        };
        let now = self.now();
        if credential.revoked.is_some() {
            // A new consent calls `connected` again.
            return Ok(now + SAFETY_NET_INTERVALS * self.interval_ms());
        }
        let started = state.cursor.is_none();
        if started {
            // The stream starts from now.
            self.sync_user(user_id).await?;
        }
        let topic = self.inner.config.topic.clone();
        // Pushes are expected only for a live watch with the topic in use.
        let was_watched = topic.is_some()
            && state.watch_status == WatchStatus::Watching
            && state.watch_expires_at.is_some_and(|expires| expires > now);
        let mut watched = was_watched;
        if let Some(topic) = topic
            && watch_due(&state, now)
        {
            watched = match self.watch(user_id, &topic, state.watch_status).await {
                Ok(accepted) => accepted,
                // Google did not answer (5xx, quota, network): poll this
                // time, renew at the next check.
                Err(error) => {
                    tracing::warn!(user = %user_id, %error, "could not renew the Gmail watch; polling meanwhile");
                    false
                }
            };
        }
        if self.sync_due(&state, started, was_watched, watched, now) {
            self.sync_user(user_id).await?;
        }
        Ok(self.now() + self.jittered_interval_ms())
    }

    /// Whether the check syncs (reads the history) after the watch.
    fn sync_due(
        &self,
        state: &MailboxState,
        started: bool,
        was_watched: bool,
        watched: bool,
        now: i64,
    ) -> bool {
        // Changes made while no watch was in place were pushed to no one
        // (also those between a new stream's start and its first watch).
        let newly_watched = watched && !was_watched;
        // A push recorded but not synced: its sync failed, or its replica
        // died before committing.
        let push_pending = match (state.pushed_history_id, state.cursor) {
            (Some(pushed), Some(cursor)) => pushed > cursor,
            _ => false,
        };
        // Gmail drops the notifications of a user's further changes within
        // a second of one (push guide: "maximum notification rate of 1
        // event/sec"): a push is followed by one sync after that second.
        let after_push_second = state.last_push_at.is_some_and(|pushed| {
            state
                .last_sync_at
                .is_none_or(|synced| synced < pushed + NOTIFICATION_GAP_MS)
        });
        let quiet_since = state.last_push_at.max(state.last_sync_at).unwrap_or(0);
        let safety_net = now - quiet_since >= SAFETY_NET_INTERVALS * self.interval_ms();
        (state.cursor.is_some() || started)
            && (!watched || newly_watched || push_pending || after_push_second || safety_net)
    }

    /// Watches the mailbox; `true` when Gmail accepted.
    async fn watch(&self, user_id: &str, topic: &str, before: WatchStatus) -> Result<bool, Error> {
        let request = WatchRequest {
            topic_name: topic.to_owned(),
            ..WatchRequest::default()
        };
        let metrics = &self.inner.config.metrics;
        match self.inner.config.gmail.user(user_id).watch(&request).await {
            Ok(watch) => {
                let events = &self.inner.events;
                events
                    .set_watch(
                        user_id,
                        WatchStatus::Watching,
                        Some(watch.expiration),
                        None,
                        self.now(),
                    )
                    .await?;
                metrics.watch_renewal("ok");
                Ok(true)
            }
            // Google refused the watch itself: the topic is missing, or
            // Gmail may not publish to it. The operator must fix it; the
            // user is polled meanwhile.
            Err(Error::Gmail(GmailError::Api {
                status, message, ..
            })) if matches!(status, 400 | 403 | 404) => {
                let why = format!(
                    "Gmail refused to watch {topic} (HTTP {status}: {message}); check that the topic exists \
                     and that gmail-api-push@system.gserviceaccount.com may publish to it"
                );
                tracing::error!(user = %user_id, "{why}; polling instead");
                let events = &self.inner.events;
                events
                    .set_watch(user_id, WatchStatus::Failed, None, Some(&why), self.now())
                    .await?;
                metrics.watch_renewal("refused");
                // Once when it starts failing, not at each hourly retry.
                if before != WatchStatus::Failed {
                    let data = json!({ "topic": topic, "error": why });
                    self.append(user_id, "watch.failed", data).await?;
                }
                Ok(false)
            }
            Err(error) => {
                metrics.watch_renewal("error");
                Err(error)
            }
        }
    }

    /// Stops the mailbox's watch; a failure is logged (the watch lapses
    /// within 7 days anyway).
    pub(super) async fn stop_watch(&self, user_id: &str) {
        if let Err(error) = self.inner.config.gmail.user(user_id).stop_watch().await {
            tracing::warn!(user = %user_id, %error, "could not stop the Gmail watch; it lapses by itself");
        }
    }

    /// Appends an event that is not a mailbox change (the cursor stays).
    async fn append(
        &self,
        user_id: &str,
        kind: &str,
        data: serde_json::Value,
    ) -> Result<(), Error> {
        let Some(state) = self.inner.events.mailbox(user_id).await? else {
            return Ok(());
        };
        let Some(cursor) = state.cursor else {
            return Ok(());
        };
        let email = self
            .inner
            .config
            .store
            .get(user_id)
            .await?
            .and_then(|c| c.email);
        let events = [NewEvent {
            kind: kind.to_owned(),
            email,
            occurred_at: self.now(),
            data: data.to_string(),
        }];
        let commit = SyncCommit {
            user_id,
            expected_cursor: Some(cursor),
            new_cursor: cursor,
            events: &events,
            at: self.now(),
        };
        if self.inner.events.commit_sync(commit).await? {
            self.inner.config.metrics.event_emitted(kind);
            self.inner.committed.notify_one();
        }
        Ok(())
    }

    fn interval_ms(&self) -> i64 {
        self.inner.config.poll_interval.as_millis() as i64
    }

    /// The interval, ±25 % at random, so that mailboxes connected together
    /// spread over the interval instead of polling in step.
    fn jittered_interval_ms(&self) -> i64 {
        let interval = self.interval_ms().max(1);
        interval * 3 / 4 + (rand::random::<u64>() % (interval as u64 / 2 + 1)) as i64
    }
}

/// Whether the watch should be (re)newed now.
fn watch_due(state: &MailboxState, now: i64) -> bool {
    let since_renewal = now - state.watch_renewed_at.unwrap_or(i64::MIN / 2);
    match state.watch_status {
        WatchStatus::None => true,
        WatchStatus::Failed => since_renewal >= RETRY_FAILED_WATCH_MS,
        WatchStatus::Watching => {
            since_renewal >= RENEW_AFTER_MS
                || state
                    .watch_expires_at
                    .is_none_or(|expires| expires - now <= 6 * DAY_MS)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(status: WatchStatus, renewed: Option<i64>, expires: Option<i64>) -> MailboxState {
        MailboxState {
            user_id: "u".into(),
            cursor: Some(1),
            pushed_history_id: None,
            last_push_at: None,
            last_sync_at: None,
            watch_status: status,
            watch_expires_at: expires,
            watch_renewed_at: renewed,
            watch_error: None,
            next_check_at: 0,
        }
    }

    #[test]
    fn a_watch_is_renewed_daily_and_never_near_its_expiration() {
        let t = 100 * DAY_MS;
        let fresh = state(WatchStatus::Watching, Some(t), Some(t + 7 * DAY_MS));
        assert!(!watch_due(&fresh, t + DAY_MS - 1));
        assert!(watch_due(&fresh, t + DAY_MS));
        // An expiration closer than Google's 7 days (a clock apart, or a
        // shorter watch) is renewed however recent the watch.
        let short = state(WatchStatus::Watching, Some(t), Some(t + 6 * DAY_MS));
        assert!(watch_due(&short, t));
    }

    #[test]
    fn a_refused_watch_is_tried_again_hourly_and_a_new_mailbox_at_once() {
        let t = 100 * DAY_MS;
        assert!(watch_due(&state(WatchStatus::None, None, None), t));
        let failed = state(WatchStatus::Failed, Some(t), None);
        assert!(!watch_due(&failed, t + RETRY_FAILED_WATCH_MS - 1));
        assert!(watch_due(&failed, t + RETRY_FAILED_WATCH_MS));
    }
}
