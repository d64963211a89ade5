//! An authorized Gmail v1 client that reads a user's mailbox as fast as
//! Google allows: every call carries a fresh access token from the broker
//! (a 401 gets one refresh and one retry, then "authorize again"); many
//! `messages.get` travel in batches of [`GmailOptions::batch_size`], a few
//! batches at once; transient failures are retried with backoff; and a
//! per-user quota pacer keeps each user under Google's rate limit.
//!
//! ```no_run
//! # async fn run(gmail: mailgrant::gmail::Gmail) -> Result<(), mailgrant::Error> {
//! use futures::TryStreamExt as _;
//! use mailgrant::gmail::{ListMessages, MessageFormat};
//! let mailbox = gmail.user("user-id");
//! let ids: Vec<String> = mailbox
//!     .message_refs(ListMessages { q: Some("is:unread".into()), ..Default::default() })
//!     .map_ok(|m| m.id)
//!     .try_collect()
//!     .await?;
//! for message in mailbox.get_messages(&ids, MessageFormat::Metadata, &["From", "Subject"]).await {
//!     println!("{:?}", message?.header("Subject"));
//! }
//! # Ok(()) }
//! ```

mod batch;
mod error;
mod exec;
mod fetch;
mod methods;
mod models;
mod paging;
mod params;
mod quota;
mod retry;
mod send;
mod sync;

use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::broker::{Broker, RetryPolicy};

pub use batch::MAX_BATCH_SIZE;
#[doc(hidden)]
pub use batch::{ResponsePart, response_parts};
pub use error::GmailError;
pub use methods::{WatchRequest, WatchResponse};
pub use models::{
    Header, History, HistoryLabelChange, HistoryList, HistoryMessageChange, Label, LabelColor,
    LabelList, Message, MessageList, MessagePart, MessagePartBody, MessageRef, Profile, Thread,
    ThreadList, decode_base64url,
};
pub use params::{HistoryType, ListHistory, ListMessages, MessageFormat};
pub use quota::QuotaBudget;
pub use sync::{SyncError, SyncKind, SyncOptions, SyncProgress, SyncRecord, SyncReport, SyncSink};

/// Scopes that allow reading mail; a read needs one of them. The first is what
/// an incremental authorization asks for.
pub const READ_SCOPES: [&str; 4] = [
    "https://www.googleapis.com/auth/gmail.readonly",
    "https://www.googleapis.com/auth/gmail.modify",
    "https://mail.google.com/",
    "https://www.googleapis.com/auth/gmail.metadata",
];

/// How the client batches, retries and paces.
#[derive(Clone, Debug)]
pub struct GmailOptions {
    /// Calls per batch request, 1 to [`MAX_BATCH_SIZE`]. Default 50: "more
    /// than 50 is not recommended" as larger batches trigger rate limiting
    /// (batch guide; reference §6). With a quota budget, a batch holds no
    /// more calls than its `burst` pays for.
    pub batch_size: usize,
    /// Batches of one fetch in flight at once. Default 4: quota, not
    /// latency, is the limit, and the pacer holds the rate; a few batches
    /// in flight hide the round trips.
    pub concurrency: usize,
    /// Tries per call and the backoff between them. Default: 5 tries,
    /// 1 s doubling to 32 s with full jitter, as Google's exponential
    /// backoff advice (handle-errors guide). Google's `Retry-After` is the
    /// least wait; a longer one than `max_delay` ends the retries.
    pub retry: RetryPolicy,
    /// The per-user pace; `None` sends as fast as answers come.
    pub quota: Option<QuotaBudget>,
}

impl Default for GmailOptions {
    fn default() -> Self {
        Self {
            batch_size: 50,
            concurrency: 4,
            retry: RetryPolicy {
                attempts: 5,
                base_delay: Duration::from_secs(1),
                max_delay: Duration::from_secs(32),
            },
            quota: Some(QuotaBudget::GOOGLE_PER_USER),
        }
    }
}

/// The Gmail client shared by every user; cheap to clone.
#[derive(Clone)]
pub struct Gmail {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    broker: Arc<Broker>,
    options: GmailOptions,
    pacer: Option<quota::Pacer>,
}

impl Gmail {
    /// `base` is the API root (`https://gmail.googleapis.com/` at Google);
    /// default options.
    pub fn new(http: reqwest::Client, base: Url, broker: Arc<Broker>) -> Self {
        Self::with_options(http, base, broker, GmailOptions::default())
    }

    /// Like [`Gmail::new`]; `batch_size` is brought into 1..=100 and
    /// `concurrency` to at least 1.
    pub fn with_options(
        http: reqwest::Client,
        base: Url,
        broker: Arc<Broker>,
        mut options: GmailOptions,
    ) -> Self {
        options.batch_size = options.batch_size.clamp(1, MAX_BATCH_SIZE);
        options.concurrency = options.concurrency.max(1);
        options.retry.attempts = options.retry.attempts.max(1);
        Self {
            inner: Arc::new(Inner {
                pacer: options.quota.map(quota::Pacer::new),
                http,
                base,
                broker,
                options,
            }),
        }
    }

    pub fn options(&self) -> &GmailOptions {
        &self.inner.options
    }

    /// Calls on behalf of one stored user.
    pub fn user(&self, user_id: &str) -> Mailbox {
        Mailbox {
            gmail: self.clone(),
            user_id: Arc::from(user_id),
        }
    }
}

impl std::fmt::Debug for Gmail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gmail")
            .field("base", &self.inner.base.as_str())
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

/// One user's mailbox (`userId=me` with that user's token); cheap to clone.
/// The methods are in `methods.rs` (one call each), `paging.rs` (streams
/// over every page) and `fetch.rs` (many messages, batched).
#[derive(Clone, Debug)]
pub struct Mailbox {
    gmail: Gmail,
    user_id: Arc<str>,
}

impl Mailbox {
    pub fn user_id(&self) -> &str {
        &self.user_id
    }
}
