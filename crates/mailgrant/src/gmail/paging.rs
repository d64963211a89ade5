//! Streams that follow `nextPageToken` to the last page
//! (https://developers.google.com/gmail/api/guides/list-messages).

use std::future::Future;

use futures::stream::{self, Stream, TryStreamExt as _};

use super::models::Page;
use super::{
    History, HistoryList, ListHistory, ListMessages, Mailbox, MessageList, MessageRef, Thread,
    ThreadList,
};
use crate::error::Error;
use crate::gmail::GmailError;

/// List parameters that carry a page token.
trait Paged: Clone + Send + 'static {
    fn page_token(&self) -> Option<String>;
    fn at(&self, page_token: Option<String>) -> Self;
}

impl Paged for ListMessages {
    fn page_token(&self) -> Option<String> {
        self.page_token.clone()
    }
    fn at(&self, page_token: Option<String>) -> Self {
        Self {
            page_token,
            ..self.clone()
        }
    }
}

impl Paged for ListHistory {
    fn page_token(&self) -> Option<String> {
        self.page_token.clone()
    }
    fn at(&self, page_token: Option<String>) -> Self {
        Self {
            page_token,
            ..self.clone()
        }
    }
}

impl Mailbox {
    /// Every page of one list method, from `params`' page token on.
    fn pages_of<Params, P, F, Fut>(
        &self,
        params: Params,
        list: F,
    ) -> impl Stream<Item = Result<P, Error>> + Send + 'static
    where
        Params: Paged,
        P: Page + Send + 'static,
        F: Fn(Mailbox, Params) -> Fut + Send + 'static,
        Fut: Future<Output = Result<P, Error>> + Send + 'static,
    {
        let mailbox = self.clone();
        pages(params.page_token(), move |token| {
            list(mailbox.clone(), params.at(token))
        })
    }

    /// Every page of `users.messages.list`, from `params.page_token` on.
    pub fn message_pages(
        &self,
        params: ListMessages,
    ) -> impl Stream<Item = Result<MessageList, Error>> + Send + 'static {
        self.pages_of(params, |mailbox, params| async move {
            mailbox.list_messages(&params).await
        })
    }

    /// Every message id that `params` selects, page after page.
    pub fn message_refs(
        &self,
        params: ListMessages,
    ) -> impl Stream<Item = Result<MessageRef, Error>> + Send + 'static {
        self.message_pages(params)
            .map_ok(|page| stream::iter(page.messages.into_iter().map(Ok)))
            .try_flatten()
    }

    /// Every page of `users.threads.list`.
    pub fn thread_pages(
        &self,
        params: ListMessages,
    ) -> impl Stream<Item = Result<ThreadList, Error>> + Send + 'static {
        self.pages_of(params, |mailbox, params| async move {
            mailbox.list_threads(&params).await
        })
    }

    /// Every thread that `params` selects (without their messages).
    pub fn threads(
        &self,
        params: ListMessages,
    ) -> impl Stream<Item = Result<Thread, Error>> + Send + 'static {
        self.thread_pages(params)
            .map_ok(|page| stream::iter(page.threads.into_iter().map(Ok)))
            .try_flatten()
    }

    /// Every page of `users.history.list`. Store the last page's
    /// `history_id` as the next sync's start.
    pub fn history_pages(
        &self,
        params: ListHistory,
    ) -> impl Stream<Item = Result<HistoryList, Error>> + Send + 'static {
        self.pages_of(params, |mailbox, params| async move {
            mailbox.list_history(&params).await
        })
    }

    /// Every history record after `params.start_history_id`, oldest first.
    pub fn history(
        &self,
        params: ListHistory,
    ) -> impl Stream<Item = Result<History, Error>> + Send + 'static {
        self.history_pages(params)
            .map_ok(|page| stream::iter(page.history.into_iter().map(Ok)))
            .try_flatten()
    }
}

/// Pages from `first` on, until one has no `nextPageToken`. A page whose
/// token is the one that fetched it would loop forever: that is an error.
fn pages<P, F, Fut>(
    first: Option<String>,
    fetch: F,
) -> impl Stream<Item = Result<P, Error>> + Send + 'static
where
    P: Page + Send + 'static,
    F: Fn(Option<String>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<P, Error>> + Send + 'static,
{
    stream::unfold(Some(first), move |state| {
        let next = state.map(|token| {
            let used = token.clone();
            (fetch(token), used)
        });
        async move {
            let (page, used) = next?;
            let page = match page.await {
                Ok(page) => page,
                Err(error) => return Some((Err(error), None)),
            };
            let token = page
                .next_page_token()
                .filter(|t| !t.is_empty())
                .map(str::to_owned);
            match token {
                None => Some((Ok(page), None)),
                Some(token) if Some(&token) == used.as_ref() => {
                    let error = GmailError::malformed(
                        "nextPageToken repeats the token that fetched the page",
                        token.as_bytes(),
                    );
                    Some((Err(error.into()), None))
                }
                Some(token) => Some((Ok(page), Some(Some(token)))),
            }
        }
    })
}
