//! Runs calls for one user, alone or as a batch, until each has its answer:
//! a fresh token from the broker; the quota pacer before every send; a 401
//! gets one refresh and one more try, then "authorize again"
//! (https://developers.google.com/gmail/api/guides/handle-errors#resolve_a_401_error_invalid_credentials);
//! retryable failures are tried again with jittered exponential backoff,
//! never sooner than Google's `Retry-After`, and in a batch only the calls
//! that failed are sent again.

use std::time::SystemTime;

use serde::de::DeserializeOwned;

use super::error::GmailError;
use super::quota::Method;
use super::retry::{Answer, Retryable, Verdict, judge};
use super::{Mailbox, READ_SCOPES};
use crate::error::{Error, ReauthReason};

/// One read call: its method (for the quota) and where it goes.
#[derive(Clone, Debug)]
pub(crate) struct Call {
    pub method: Method,
    /// Under `gmail/v1/users/me/`, segments already escaped.
    pub path: String,
    /// Form-encoded, without the `?`.
    pub query: String,
    /// A JSON body, sent with `POST` (direct calls only); `None`: a `GET`.
    pub body: Option<String>,
}

impl Call {
    /// Path and query as they follow the host: `root` (see
    /// [`Mailbox::api_root`]), the call's path, its query form-encoded.
    fn target(&self, root: &str) -> String {
        if self.query.is_empty() {
            format!("{root}{}", self.path)
        } else {
            format!("{root}{}?{}", self.path, self.query)
        }
    }
}

/// How calls travel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    /// Each call to its own REST URL (one call at a time).
    Direct,
    /// Together through `batch/gmail/v1`.
    Batch,
}

impl Mailbox {
    /// One call, to its REST URL, its JSON answer read as `T`.
    pub(crate) async fn call<T: DeserializeOwned>(&self, call: Call) -> Result<T, Error> {
        match self
            .run(std::slice::from_ref(&call), Route::Direct)
            .await
            .pop()
        {
            Some(Ok(body)) => Ok(parse(&body)?),
            Some(Err(error)) => Err(error),
            None => Err(no_answer().into()),
        }
    }

    /// Every call's answer body, in the order of `calls`.
    #[tracing::instrument(skip_all, fields(user = %self.user_id, calls = calls.len()))]
    pub(crate) async fn run(&self, calls: &[Call], route: Route) -> Vec<Result<Vec<u8>, Error>> {
        let broker = &self.gmail.inner.broker;
        let policy = self.gmail.inner.options.retry;
        let mut results: Vec<Slot> = calls.iter().map(|_| None).collect();
        let all: Vec<usize> = (0..calls.len()).collect();
        let mut token = match broker
            .access_token_with_scope(&self.user_id, &READ_SCOPES)
            .await
        {
            Ok(token) => token,
            Err(error) => {
                fill(&mut results, &all, &error);
                return finish(results);
            }
        };
        let mut targets: Vec<(usize, String)> = match self.api_root() {
            Ok(root) => calls
                .iter()
                .enumerate()
                .map(|(i, call)| (i, call.target(&root)))
                .collect(),
            Err(error) => {
                fill(&mut results, &all, &error.into());
                return finish(results);
            }
        };
        let (mut failures, mut refreshed) = (0u32, false);
        while !targets.is_empty() {
            if let Some(pacer) = &self.gmail.inner.pacer {
                let units = targets.iter().map(|(i, _)| calls[*i].method.units()).sum();
                pacer.acquire(&self.user_id, units).await;
            }
            let sent = match route {
                Route::Direct => self
                    .send_direct(&token, &targets[0].1, calls[targets[0].0].body.as_deref())
                    .await
                    .map(|a| vec![Some(a)]),
                Route::Batch => self.send_batch(&token, &targets).await,
            };
            let round = self.sort(&targets, sent, &mut results);
            let mut again: Vec<usize> = Vec::new();
            if !round.missing_scope.is_empty() {
                // The user unticked the scope on Google's granular consent
                // screen (or revoked it): ask for it again, incrementally.
                let scope = READ_SCOPES[0].to_owned();
                let error = self.reauthorize(ReauthReason::MissingScope { scope }).await;
                fill(&mut results, &round.missing_scope, &error);
            }
            if !round.unauthorized.is_empty() {
                if refreshed {
                    let error = self.reauthorize(ReauthReason::Unauthorized).await;
                    fill(&mut results, &round.unauthorized, &error);
                } else {
                    tracing::info!(
                        calls = round.unauthorized.len(),
                        "Gmail answered 401; refreshing once"
                    );
                    refreshed = true;
                    match broker
                        .refresh_after_unauthorized(&self.user_id, &token.access_token)
                        .await
                    {
                        Ok(fresh) => {
                            token = fresh;
                            again.extend(round.unauthorized);
                        }
                        Err(error) => fill(&mut results, &round.unauthorized, &error),
                    }
                }
            }
            if !round.retry.is_empty() {
                failures += 1;
                let asked = round.retry.iter().filter_map(|(_, r)| r.wait).max();
                // A wait longer than the policy's longest is the caller's to
                // schedule (e.g. the per-minute quota spent): give up now.
                if failures >= policy.attempts || asked.is_some_and(|w| w > policy.max_delay) {
                    for (i, r) in round.retry {
                        results[i] = Some(Err(r.give_up(failures).into()));
                    }
                } else {
                    let wait = policy.delay(failures).max(asked.unwrap_or_default());
                    tracing::info!(
                        calls = round.retry.len(),
                        attempt = failures,
                        wait_ms = wait.as_millis() as u64,
                        error = %round.retry[0].1.error,
                        "retrying Gmail calls"
                    );
                    tokio::time::sleep(wait).await;
                    again.extend(round.retry.into_iter().map(|(i, _)| i));
                }
            }
            targets.retain(|(i, _)| again.contains(i));
        }
        finish(results)
    }

    /// Files each answer of a round: done, or what it still needs. No
    /// answer at all (the connection failed) is a retryable failure for
    /// every call of the round.
    fn sort(
        &self,
        targets: &[(usize, String)],
        sent: Result<Vec<Option<Answer>>, GmailError>,
        results: &mut [Slot],
    ) -> Round {
        let metrics = self.gmail.inner.broker.metrics();
        let mut round = Round::default();
        let answers = match sent {
            Ok(answers) => answers,
            Err(error) => {
                metrics.gmail_call(0);
                round.retry = targets
                    .iter()
                    .map(|(i, _)| (*i, Retryable::transport(error.clone())))
                    .collect();
                return round;
            }
        };
        let now = SystemTime::now();
        for ((i, _), answer) in targets.iter().zip(answers) {
            let Some(answer) = answer else {
                let error =
                    GmailError::malformed("the batch response has no answer to this call", b"");
                round.retry.push((*i, Retryable::transport(error)));
                continue;
            };
            metrics.gmail_call(answer.status);
            match judge(&answer, now) {
                Verdict::Success => results[*i] = Some(Ok(answer.body)),
                Verdict::Unauthorized => round.unauthorized.push(*i),
                Verdict::MissingScope => round.missing_scope.push(*i),
                Verdict::Retry(r) => round.retry.push((*i, r)),
                Verdict::Fail(e) => results[*i] = Some(Err(e.into())),
            }
        }
        round
    }
}

/// A call's outcome, once it has one.
type Slot = Option<Result<Vec<u8>, Error>>;

/// The calls of a round that need more than their answer.
#[derive(Default)]
struct Round {
    retry: Vec<(usize, Retryable)>,
    unauthorized: Vec<usize>,
    missing_scope: Vec<usize>,
}

/// Reads a success body as `T`; a body that does not fit keeps its start.
pub(crate) fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, GmailError> {
    serde_json::from_slice(body).map_err(|e| {
        GmailError::malformed(
            format!("{e} (line {} column {})", e.line(), e.column()),
            body,
        )
    })
}

fn no_answer() -> GmailError {
    GmailError::malformed("no answer to this call", b"")
}

/// Every slot filled; one left empty (which the loop does not do) is
/// reported rather than panicking.
fn finish(results: Vec<Slot>) -> Vec<Result<Vec<u8>, Error>> {
    let mut out = Vec::with_capacity(results.len());
    for result in results {
        match result {
            Some(result) => out.push(result),
            None => out.push(Err(no_answer().into())),
        }
    }
    out
}

fn fill(results: &mut [Slot], indices: &[usize], error: &Error) {
    for &i in indices {
        results[i] = Some(Err(error.duplicate()));
    }
}
