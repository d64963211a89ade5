//! One round's HTTP: a lone GET to a call's REST URL, or a batch POST to
//! `batch/gmail/v1` (reference §6), each answer as an [`Answer`]; and the
//! "authorize again" error when Google keeps refusing.

use super::Mailbox;
use super::batch::BatchRequest;
use super::error::GmailError;
use super::retry::Answer;
use crate::broker::FreshToken;
use crate::error::{Error, ReauthReason};
use crate::http::describe;
use secrecy::ExposeSecret;

impl Mailbox {
    /// The path under which calls go (`/gmail/v1/users/me/` below the API
    /// root's own path).
    pub(super) fn api_root(&self) -> Result<String, GmailError> {
        self.gmail
            .inner
            .base
            .join("gmail/v1/users/me/")
            .map(|url| url.path().to_owned())
            .map_err(bad_url)
    }

    /// A GET with the user's token, or a POST of `body` (JSON).
    pub(super) async fn send_direct(
        &self,
        token: &FreshToken,
        target: &str,
        body: Option<&str>,
    ) -> Result<Answer, GmailError> {
        // The path is set, not joined: a root path that starts with `//`
        // must not be read as another host.
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let mut url = self.gmail.inner.base.clone();
        url.set_path(path);
        url.set_query(Some(query).filter(|q| !q.is_empty()));
        let http = &self.gmail.inner.http;
        let request = match body {
            Some(body) => http
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_owned()),
            None => http.get(url),
        };
        let response = request
            .bearer_auth(token.access_token.expose_secret())
            .send()
            .await
            .map_err(|e| GmailError::Transport(describe(e)))?;
        let status = response.status().as_u16();
        let retry_after = header(&response, "retry-after");
        let body = response
            .bytes()
            .await
            .map_err(|e| GmailError::Transport(describe(e)))?;
        Ok(Answer {
            status,
            retry_after,
            body: body.to_vec(),
        })
    }

    /// One batch; a refusal of the whole batch (not multipart) becomes that
    /// answer for every call in it. The parts inherit the outer
    /// `Authorization` header (batch guide: outer headers apply to every
    /// part), so no token is written into the body.
    pub(super) async fn send_batch(
        &self,
        token: &FreshToken,
        targets: &[(usize, String)],
    ) -> Result<Vec<Option<Answer>>, GmailError> {
        let inner = &self.gmail.inner;
        let batch = BatchRequest::new(targets);
        let url = inner.base.join("batch/gmail/v1").map_err(bad_url)?;
        let response = inner
            .http
            .post(url)
            .bearer_auth(token.access_token.expose_secret())
            .header(reqwest::header::CONTENT_TYPE, batch.content_type.clone())
            .body(batch.body.clone())
            .send()
            .await
            .map_err(|e| GmailError::Transport(describe(e)))?;
        let status = response.status().as_u16();
        let content_type = header(&response, "content-type").unwrap_or_default();
        let retry_after = header(&response, "retry-after");
        let body = response
            .bytes()
            .await
            .map_err(|e| GmailError::Transport(describe(e)))?;
        let ids: Vec<usize> = targets.iter().map(|(i, _)| *i).collect();
        if let Some(answers) = batch.answers(&content_type, &body, &ids) {
            return Ok(answers);
        }
        if (200..300).contains(&status) {
            tracing::warn!(content_type, "Gmail's batch answer is not multipart/mixed");
            return Ok(vec![None; ids.len()]);
        }
        let whole = Answer {
            status,
            retry_after,
            body: body.to_vec(),
        };
        Ok(vec![Some(whole); ids.len()])
    }

    /// "Authorize again" for this user, with their address as the hint.
    pub(super) async fn reauthorize(&self, reason: ReauthReason) -> Error {
        let broker = &self.gmail.inner.broker;
        match broker.store().get(&self.user_id).await {
            Ok(credential) => {
                let email = credential.as_ref().and_then(|c| c.email.as_deref());
                broker.reauthorize(&self.user_id, email, reason)
            }
            Err(error) => error.into(),
        }
    }
}

fn bad_url(error: url::ParseError) -> GmailError {
    GmailError::malformed(format!("bad URL: {error}"), b"")
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}
