//! An authorized Gmail v1 client: every call carries a fresh access token from
//! the broker; a 401 gets one refresh and one retry, then "authorize again"
//! (https://developers.google.com/gmail/api/guides/handle-errors#resolve_a_401_error_invalid_credentials).

mod models;

use std::sync::Arc;

use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use url::Url;

use crate::http::describe;

use crate::broker::Broker;
use crate::error::{Error, ReauthReason};

pub use models::{
    Header, ListMessages, Message, MessageFormat, MessageList, MessagePart, MessagePartBody,
    MessageRef, Profile,
};

/// Gmail answered with an error other than 401.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GmailError {
    /// Google's error JSON: `{"error":{"code","message","errors":[{"reason"}],"status"}}`.
    #[error("Gmail answered HTTP {status}: {message}{}", reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default())]
    Api {
        status: u16,
        reason: Option<String>,
        message: String,
    },
    #[error("Gmail's answer could not be read: {0}")]
    Malformed(String),
    #[error("could not reach Gmail: {0}")]
    Transport(String),
}

/// Scopes that allow reading mail; a read needs one of them. The first is what
/// an incremental authorization asks for.
pub const READ_SCOPES: [&str; 4] = [
    "https://www.googleapis.com/auth/gmail.readonly",
    "https://www.googleapis.com/auth/gmail.modify",
    "https://mail.google.com/",
    "https://www.googleapis.com/auth/gmail.metadata",
];

/// The Gmail client shared by every user.
#[derive(Clone)]
pub struct Gmail {
    http: reqwest::Client,
    base: Url,
    broker: Arc<Broker>,
}

impl Gmail {
    /// `base` is the API root (`https://gmail.googleapis.com/` at Google).
    pub fn new(http: reqwest::Client, base: Url, broker: Arc<Broker>) -> Self {
        Self { http, base, broker }
    }

    /// Calls on behalf of one stored user.
    pub fn user<'a>(&'a self, user_id: &'a str) -> Mailbox<'a> {
        Mailbox {
            gmail: self,
            user_id,
        }
    }
}

/// One user's mailbox (`userId=me` with that user's token).
pub struct Mailbox<'a> {
    gmail: &'a Gmail,
    user_id: &'a str,
}

impl Mailbox<'_> {
    /// `users.messages.list`: one page.
    pub async fn list_messages(&self, params: &ListMessages) -> Result<MessageList, Error> {
        let mut query = Vec::new();
        if let Some(q) = params.q.as_deref().filter(|q| !q.is_empty()) {
            query.push(("q", q.to_owned()));
        }
        if let Some(max) = params.max_results {
            query.push(("maxResults", max.to_string()));
        }
        if let Some(token) = params.page_token.as_deref().filter(|t| !t.is_empty()) {
            query.push(("pageToken", token.to_owned()));
        }
        self.get("messages", &query).await
    }

    /// `users.messages.get`; `metadata_headers` limits the headers of `metadata`.
    pub async fn get_message(
        &self,
        id: &str,
        format: MessageFormat,
        metadata_headers: &[&str],
    ) -> Result<Message, Error> {
        let mut query = vec![("format", format.as_str().to_owned())];
        query.extend(
            metadata_headers
                .iter()
                .map(|h| ("metadataHeaders", (*h).to_owned())),
        );
        self.get(&format!("messages/{}", encode_segment(id)), &query)
            .await
    }

    /// `users.getProfile`.
    pub async fn profile(&self) -> Result<Profile, Error> {
        self.get("profile", &[]).await
    }

    /// "Authorize again" for this user, with their address as the hint.
    async fn reauthorize(&self, reason: ReauthReason) -> Result<Error, Error> {
        let credential = self.gmail.broker.store().get(self.user_id).await?;
        let email = credential.as_ref().and_then(|c| c.email.as_deref());
        Ok(self.gmail.broker.reauthorize(self.user_id, email, reason))
    }

    #[tracing::instrument(skip_all, fields(user = %self.user_id, path = %path))]
    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, Error> {
        let url = self
            .gmail
            .base
            .join(&format!("gmail/v1/users/me/{path}"))
            .map_err(|e| GmailError::Malformed(e.to_string()))?;
        let broker = &self.gmail.broker;
        let metrics = broker.metrics();
        let mut token = broker
            .access_token_with_scope(self.user_id, &READ_SCOPES)
            .await?;
        let mut retried = false;
        loop {
            let response = self
                .gmail
                .http
                .get(url.clone())
                .query(query)
                .bearer_auth(token.access_token.expose_secret())
                .send()
                .await
                .map_err(|e| {
                    metrics.gmail_call(0);
                    GmailError::Transport(describe(e))
                })?;
            let status = response.status();
            metrics.gmail_call(status.as_u16());
            if status == reqwest::StatusCode::UNAUTHORIZED {
                if retried {
                    return Err(self.reauthorize(ReauthReason::Unauthorized).await?);
                }
                tracing::info!("Gmail answered 401; refreshing once");
                token = broker
                    .refresh_after_unauthorized(self.user_id, &token.access_token)
                    .await?;
                retried = true;
                continue;
            }
            let body = response
                .bytes()
                .await
                .map_err(|e| GmailError::Transport(describe(e)))?;
            if !status.is_success() {
                let error = api_error(status.as_u16(), &body);
                // The user unticked the scope on Google's granular consent screen
                // (or revoked it): ask for it again, incrementally.
                if matches!(&error, GmailError::Api { reason: Some(r), .. } if r == "insufficientPermissions")
                {
                    return Err(self
                        .reauthorize(ReauthReason::MissingScope {
                            scope: READ_SCOPES[0].to_owned(),
                        })
                        .await?);
                }
                return Err(error.into());
            }
            return serde_json::from_slice(&body).map_err(|e| {
                GmailError::Malformed(format!("line {} column {}", e.line(), e.column())).into()
            });
        }
    }
}

fn api_error(status: u16, body: &[u8]) -> GmailError {
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let error = &json["error"];
    GmailError::Api {
        status,
        reason: error["errors"][0]["reason"].as_str().map(str::to_owned),
        message: error["message"]
            .as_str()
            .unwrap_or("no error message")
            .to_owned(),
    }
}

fn encode_segment(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes()).collect()
}
