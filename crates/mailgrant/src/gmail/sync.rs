//! Keeping a copy of a mailbox up to date, as Google's sync guide says
//! (<https://developers.google.com/gmail/api/guides/sync>): a full sync notes
//! the profile's `historyId` first, then lists the ids and fetches them; a
//! partial sync reads `history.list` from the stored id and applies what
//! changed; a start id Gmail no longer keeps (404) means a full sync
//! (reference §5 history.list). Both hand the id to store for the next time.
//!
//! Records go to the caller's [`SyncSink`] as they arrive:
//! - a message, fetched in the chosen format, for every message added *and*
//!   every message whose labels changed. A label change is not sent as a
//!   delta: a fetched message is the whole state after the change, so every
//!   record is an idempotent upsert by id, several changes to one message
//!   become one record, and its labels are current rather than those of a
//!   history entry. It costs one `messages.get` (5 units) per changed
//!   message, batched;
//! - `deleted` for every message deleted (or gone when fetched);
//! - `unmatched` for a message whose labels changed and that no longer
//!   matches the sync's selection (e.g. archived out of `in:inbox`, or moved
//!   to TRASH): drop it if you have it.
//!
//! `history.list` has no `q`. With a query, a partial sync that has
//! messages to fetch first lists the query's ids (`messages.list` with the
//! same `q`, 5 units per 500 ids) and fetches only changed messages in that
//! list: Gmail itself decides what matches. Without a query, messages in
//! SPAM or TRASH are left out, as `messages.list` leaves them out, unless
//! [`SyncOptions::include_spam_trash`]. Time-relative queries
//! (`newer_than:2d`) are evaluated for changed messages only; an unchanged
//! message that ages out of the query is not reported.

mod changes;
mod records;

use std::collections::HashSet;
use std::sync::Arc;

use futures::stream::{self, StreamExt as _, TryStreamExt as _};

use super::{GmailError, ListHistory, Mailbox};
use crate::error::Error;
use changes::{Changes, Listing};
pub use records::{
    SyncError, SyncKind, SyncOptions, SyncProgress, SyncRecord, SyncReport, SyncSink,
};

impl Mailbox {
    /// A partial sync from `since`, or a full one when there is none yet.
    pub async fn sync<S: SyncSink>(
        &self,
        since: Option<&str>,
        options: &SyncOptions,
        sink: &mut S,
    ) -> Result<SyncReport, SyncError<S::Error>> {
        match since.filter(|s| !s.is_empty()) {
            Some(since) => self.incremental_sync(since, options, sink).await,
            None => self.full_sync(options, sink).await,
        }
    }

    /// Every selected message, once, as fetched. Costs 1 + 5 per 500 ids
    /// listed + 5 per message in quota units; listing and fetching overlap.
    #[tracing::instrument(skip_all, fields(user = %self.user_id))]
    pub async fn full_sync<S: SyncSink>(
        &self,
        options: &SyncOptions,
        sink: &mut S,
    ) -> Result<SyncReport, SyncError<S::Error>> {
        self.full(options, sink, SyncKind::Full).await
    }

    /// What changed since `since_history_id`: messages added or relabelled
    /// (fetched again), deleted, or no longer selected. When Gmail no longer
    /// keeps that history, a full sync instead ([`SyncKind::FullAfterExpiry`]).
    #[tracing::instrument(skip_all, fields(user = %self.user_id, since = since_history_id))]
    pub async fn incremental_sync<S: SyncSink>(
        &self,
        since_history_id: &str,
        options: &SyncOptions,
        sink: &mut S,
    ) -> Result<SyncReport, SyncError<S::Error>> {
        let changes = match self.changes_since(since_history_id).await {
            Ok(changes) => changes,
            Err(Error::Gmail(GmailError::HistoryExpired { start_history_id })) => {
                tracing::info!(
                    expired = %start_history_id,
                    "history no longer available; doing a full sync"
                );
                let kind = SyncKind::FullAfterExpiry {
                    expired_history_id: start_history_id,
                };
                return self.full(options, sink, kind).await;
            }
            Err(error) => return Err(error.into()),
        };
        // An empty id would lose our place; starting again from the same one
        // only repeats upserts.
        let history_id = Some(changes.history_id.clone())
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| since_history_id.to_owned());
        let mut report = SyncReport::new(SyncKind::Incremental, history_id);
        report.history_records = changes.records;
        let mut fetch: Vec<(String, bool)> = Vec::new();
        for id in &changes.order {
            let change = &changes.by_id[id];
            if change.deleted {
                // Even if it was added in this window: a full sync that
                // listed after its start id may have sent it.
                emit(sink, SyncRecord::Deleted { id: id.clone() }, &mut report)?;
            } else if !options.admits(change.label_ids.as_deref()) {
                if change.relabelled {
                    emit(sink, SyncRecord::Unmatched { id: id.clone() }, &mut report)?;
                }
            } else {
                fetch.push((id.clone(), change.relabelled));
            }
        }
        if !fetch.is_empty() && options.query().is_some() {
            let selected = self.selected_ids(options).await?;
            for (id, relabelled) in std::mem::take(&mut fetch) {
                if selected.contains(&id) {
                    fetch.push((id, relabelled));
                } else if relabelled {
                    emit(sink, SyncRecord::Unmatched { id }, &mut report)?;
                }
            }
        }
        let relabelled: HashSet<String> = fetch
            .iter()
            .filter(|(_, r)| *r)
            .map(|(id, _)| id.clone())
            .collect();
        let total = fetch.len() as u64;
        let ids = stream::iter(fetch.into_iter().map(|(id, _)| id));
        let headers = options.headers();
        let mut fetched = std::pin::pin!(self.fetch_messages(ids, options.format, &headers));
        let mut done = 0;
        while let Some((id, result)) = fetched.next().await {
            let record = match result {
                Ok(message) if options.admits(Some(&message.label_ids)) => {
                    Some(SyncRecord::Message(Box::new(message)))
                }
                // Moved out of the selection since the history was read.
                Ok(_) => relabelled
                    .contains(&id)
                    .then_some(SyncRecord::Unmatched { id }),
                // Deleted since the history was read.
                Err(error) if not_found(&error) => Some(SyncRecord::Deleted { id }),
                Err(error) => return Err(error.into()),
            };
            if let Some(record) = record {
                emit(sink, record, &mut report)?;
            }
            done += 1;
            sink.progress(SyncProgress { done, total });
        }
        Ok(report)
    }

    async fn full<S: SyncSink>(
        &self,
        options: &SyncOptions,
        sink: &mut S,
        kind: SyncKind,
    ) -> Result<SyncReport, SyncError<S::Error>> {
        // The id first: whatever changes while we list is in the history
        // after it, and the next partial sync repeats it (sync guide).
        let profile = self.profile().await?;
        let mut report = SyncReport::new(kind, profile.history_id);
        let listing = Arc::new(Listing::default());
        let ids = self.listed_ids(options, listing.clone());
        let headers = options.headers();
        let mut fetched = std::pin::pin!(self.fetch_messages(ids, options.format, &headers));
        let mut done = 0;
        while let Some((_, result)) = fetched.next().await {
            match result {
                Ok(message) => emit(sink, SyncRecord::Message(Box::new(message)), &mut report)?,
                Err(error) if not_found(&error) => report.vanished += 1,
                Err(error) => return Err(error.into()),
            }
            done += 1;
            sink.progress(SyncProgress {
                done,
                total: listing.total(),
            });
        }
        if let Some(error) = listing
            .error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            return Err(error.into());
        }
        Ok(report)
    }

    /// Ids the selection lists, each once, page after page. A listing error
    /// ends the stream and is kept in `listing`.
    fn listed_ids(
        &self,
        options: &SyncOptions,
        listing: Arc<Listing>,
    ) -> impl futures::Stream<Item = String> + Send + 'static {
        let mut seen: HashSet<String> = HashSet::new();
        self.message_pages(options.list_params())
            .map(move |page| match page {
                Ok(page) => {
                    // Offset-based pages repeat an id when mail arrives
                    // while we list: each is sent once.
                    let fresh: Vec<String> = page
                        .messages
                        .into_iter()
                        .map(|m| m.id)
                        .filter(|id| seen.insert(id.clone()))
                        .collect();
                    let last = page.next_page_token.as_deref().is_none_or(str::is_empty);
                    listing.page(fresh.len(), page.result_size_estimate, last);
                    fresh
                }
                Err(error) => {
                    *listing.error.lock().unwrap_or_else(|e| e.into_inner()) = Some(error);
                    Vec::new()
                }
            })
            .flat_map(stream::iter)
    }

    /// Every id the query selects now.
    async fn selected_ids(&self, options: &SyncOptions) -> Result<HashSet<String>, Error> {
        self.message_refs(options.list_params())
            .map_ok(|m| m.id)
            .try_collect()
            .await
    }

    /// Reads the whole history from `since`; nothing is sent before all of
    /// it is read, so an expired id can still turn into a clean full sync.
    async fn changes_since(&self, since: &str) -> Result<Changes, Error> {
        let params = ListHistory {
            max_results: Some(500),
            ..ListHistory::since(since)
        };
        let mut pages = std::pin::pin!(self.history_pages(params));
        let mut changes = Changes::default();
        while let Some(page) = pages.try_next().await? {
            changes.history_id = page.history_id;
            for record in &page.history {
                changes.apply(record);
            }
        }
        Ok(changes)
    }
}

fn emit<S: SyncSink>(
    sink: &mut S,
    record: SyncRecord,
    report: &mut SyncReport,
) -> Result<(), SyncError<S::Error>> {
    match &record {
        SyncRecord::Message(_) => report.messages += 1,
        SyncRecord::Deleted { .. } => report.deleted += 1,
        SyncRecord::Unmatched { .. } => report.unmatched += 1,
    }
    sink.record(record).map_err(SyncError::Sink)
}

fn not_found(error: &Error) -> bool {
    matches!(error, Error::Gmail(GmailError::Api { status: 404, .. }))
}
