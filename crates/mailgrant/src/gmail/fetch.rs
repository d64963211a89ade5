//! Many messages at once: `messages.get` calls grouped in batches of
//! [`GmailOptions::batch_size`](super::GmailOptions::batch_size), with at
//! most [`GmailOptions::concurrency`](super::GmailOptions::concurrency)
//! batches in flight per fetch. Every call still costs its own quota units,
//! and with pacing a batch costs no more than the budget's burst.

use futures::stream::{self, Stream, StreamExt as _};

use super::exec::{Call, Route, parse};
use super::methods::message_call;
use super::quota::Method;
use super::{Mailbox, Message, MessageFormat};
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
        let calls: Vec<Call> = ids
            .iter()
            .map(|id| message_call(id.as_ref(), format, metadata_headers))
            .collect();
        let size = self.batch_size(Method::MessagesGet);
        // Owned batches: a closure over borrowed chunks makes the future
        // unprovably `Send`, which an axum handler needs.
        let batches: Vec<Vec<Call>> = calls.chunks(size).map(<[Call]>::to_vec).collect();
        stream::iter(batches)
            .map(|batch| self.batch(batch))
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
        let headers: Vec<String> = metadata_headers.iter().map(|h| (*h).to_owned()).collect();
        let size = self.batch_size(Method::MessagesGet);
        ids.chunks(size)
            .map(move |chunk| {
                let (mailbox, headers) = (mailbox.clone(), headers.clone());
                async move {
                    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
                    let calls = chunk
                        .iter()
                        .map(|id| message_call(id, format, &headers))
                        .collect();
                    let results = mailbox.batch::<Message>(calls).await;
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
