//! Many messages at once: `messages.get` calls grouped in batches of
//! [`GmailOptions::batch_size`](super::GmailOptions::batch_size), with at
//! most [`GmailOptions::concurrency`](super::GmailOptions::concurrency)
//! batches in flight per fetch. Every call still costs its own quota units,
//! and with pacing a batch costs no more than the budget's burst.

use futures::stream::{self, Stream, StreamExt as _};
use tokio::task::JoinHandle;
use tracing::Instrument as _;

use super::exec::{Call, Route, parse};
use super::methods::message_call;
use super::params::format_query;
use super::quota::Method;
use super::{GmailError, Mailbox, Message, MessageFormat};
use crate::error::Error;

impl Mailbox {
    /// `messages.get` of each id, batched; one result per id, in the order
    /// of `ids`. A failed call (e.g. a 404 for a deleted message) fails
    /// only its own result.
    pub async fn get_messages<S: AsRef<str>>(
        &self,
        ids: &[S],
        format: MessageFormat,
        metadata_headers: &[&str],
    ) -> Vec<Result<Message, Error>> {
        let query = format_query(format, metadata_headers);
        let calls: Vec<Call> = ids
            .iter()
            .map(|id| message_call(id.as_ref(), &query))
            .collect();
        let size = self.batch_size(Method::MessagesGet);
        // Owned batches: a closure over borrowed chunks makes the future
        // unprovably `Send`, which an axum handler needs.
        let batches: Vec<Vec<Call>> = calls.chunks(size).map(<[Call]>::to_vec).collect();
        stream::iter(batches)
            .map(|batch| self.clone().spawned_batch(batch))
            .buffered(self.gmail.inner.options.concurrency)
            .flat_map(stream::iter)
            .collect()
            .await
    }

    /// Like [`Mailbox::get_messages`] for ids that arrive as a stream (e.g.
    /// from [`Mailbox::message_refs`]): each id with its result, in the
    /// order the ids came. A batch is sent when `batch_size` ids are there
    /// or the ids end.
    pub fn fetch_messages<S>(
        &self,
        ids: S,
        format: MessageFormat,
        metadata_headers: &[&str],
    ) -> impl Stream<Item = (String, Result<Message, Error>)> + Send + 'static
    where
        S: Stream<Item = String> + Send + 'static,
    {
        let mailbox = self.clone();
        let query = format_query(format, metadata_headers);
        let size = self.batch_size(Method::MessagesGet);
        ids.chunks(size)
            .map(move |chunk| {
                let (mailbox, query) = (mailbox.clone(), query.clone());
                async move {
                    let calls = chunk.iter().map(|id| message_call(id, &query)).collect();
                    let results = mailbox.spawned_batch(calls).await;
                    stream::iter(chunk.into_iter().zip(results))
                }
            })
            .buffered(self.gmail.inner.options.concurrency)
            .flatten()
    }

    /// Calls of `method` per batch: the configured size, and with pacing
    /// no more than the budget's burst pays for. A batch reaches Google at
    /// once, so one costing more than the burst would break the budget's
    /// promise of at most `burst + rate × t` units in any `t`.
    fn batch_size(&self, method: Method) -> usize {
        let options = &self.gmail.inner.options;
        match options.quota {
            Some(budget) => {
                let affordable = (budget.burst / method.units()).max(1);
                options.batch_size.min(affordable as usize)
            }
            None => options.batch_size,
        }
    }

    /// [`Mailbox::batch`] of messages on a task of its own: sending, reading
    /// and decoding one batch then runs beside the others and beside the
    /// caller, on as many cores as the runtime has. Dropping the future
    /// aborts the task.
    async fn spawned_batch(self, calls: Vec<Call>) -> Vec<Result<Message, Error>> {
        let count = calls.len();
        let task = tokio::spawn(
            async move { self.batch::<Message>(calls).await }.instrument(tracing::Span::current()),
        );
        let mut task = AbortOnDrop(task);
        match (&mut task.0).await {
            Ok(results) => results,
            Err(error) => match error.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                // Cancelled: the runtime is shutting down.
                Err(error) => {
                    let reason = GmailError::Transport(format!("the batch was not run: {error}"));
                    let mut results = Vec::with_capacity(count);
                    for _ in 0..count {
                        results.push(Err(reason.clone().into()));
                    }
                    results
                }
            },
        }
    }

    /// One batch request (with its retries), each answer read as `T`.
    async fn batch<T: serde::de::DeserializeOwned>(
        &self,
        calls: Vec<Call>,
    ) -> Vec<Result<T, Error>> {
        let mut out = Vec::with_capacity(calls.len());
        for body in self.run(&calls, Route::Batch).await {
            match body {
                Ok(body) => out.push(parse(&body).map_err(Error::from)),
                Err(error) => out.push(Err(error)),
            }
        }
        out
    }
}

/// Aborts the task when dropped (the fetch was given up).
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
