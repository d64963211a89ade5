//! Injected failures (test control, not Google): the next N requests to an
//! endpoint get a chosen status and raw body, the normal answer late, or a
//! connection that breaks off mid-answer. Installed with
//! `POST /emulator/faults`, applied by [`middleware`] (and by the batch's
//! `messages.get` shortcut, through [`intercept`]).

use std::collections::{HashMap, VecDeque};
use std::io;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::Channel;

use crate::state::{Shared, lock};

/// The endpoints a fault can be set on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Token,
    Revoke,
    Userinfo,
    Gmail,
}

impl Endpoint {
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "token" => Self::Token,
            "revoke" => Self::Revoke,
            "userinfo" => Self::Userinfo,
            "gmail" => Self::Gmail,
            _ => return None,
        })
    }
}

/// One fault, applied to the next `remaining` requests.
#[derive(Clone, Debug)]
pub struct Fault {
    pub remaining: u32,
    /// `None`: answer normally, after `delay`.
    pub status: Option<StatusCode>,
    pub body: String,
    pub content_type: String,
    pub delay: Duration,
    /// Break the connection instead of answering.
    pub drop_connection: bool,
}

/// Queued faults per endpoint, used in the order they were set.
#[derive(Default)]
pub struct Faults {
    queues: HashMap<Endpoint, VecDeque<Fault>>,
}

impl Faults {
    pub fn push(&mut self, endpoint: Endpoint, fault: Fault) {
        if fault.remaining > 0 {
            self.queues.entry(endpoint).or_default().push_back(fault);
        }
    }

    pub fn clear(&mut self) {
        self.queues.clear();
    }

    /// Takes one use of the first fault queued for `endpoint`.
    fn take(&mut self, endpoint: Endpoint) -> Option<Fault> {
        let queue = self.queues.get_mut(&endpoint)?;
        let front = queue.front_mut()?;
        front.remaining -= 1;
        let fault = front.clone();
        if front.remaining == 0 {
            queue.pop_front();
        }
        Some(fault)
    }
}

/// Counts the call and applies a pending fault; one layer per endpoint.
pub async fn middleware(
    State((shared, endpoint)): State<(Shared, Endpoint)>,
    request: Request,
    next: Next,
) -> Response {
    match intercept(&shared, endpoint).await {
        Some(answer) => answer,
        None => next.run(request).await,
    }
}

/// What [`middleware`] does before the call: counts it, takes a pending
/// fault and waits out its delay. The fault's answer, if it replaces the
/// call's; `None` to go on with the call.
pub async fn intercept(shared: &Shared, endpoint: Endpoint) -> Option<Response> {
    let fault = {
        let mut state = lock(shared);
        match endpoint {
            Endpoint::Userinfo => state.counters.userinfo_calls += 1,
            Endpoint::Gmail => state.counters.gmail_calls += 1,
            Endpoint::Token | Endpoint::Revoke => {}
        }
        state.faults.take(endpoint)
    }?;
    if !fault.delay.is_zero() {
        tokio::time::sleep(fault.delay).await;
    }
    if fault.drop_connection {
        return Some(dropped_connection());
    }
    let status = fault.status?;
    let content_type = HeaderValue::from_str(&fault.content_type)
        .unwrap_or(HeaderValue::from_static("application/json"));
    let mut response = (status, Body::from(fault.body)).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, content_type);
    Some(response)
}

/// An answer that breaks off: a status line and headers promising a JSON
/// body, then a body stream that fails, on which the server closes the
/// connection. A client sees a transport error (an incomplete message),
/// not an HTTP status.
pub fn dropped_connection() -> Response {
    let (sender, body) = Channel::<Bytes, io::Error>::new(1);
    sender.abort(io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "drop_connection fault",
    ));
    let mut response = (StatusCode::OK, Body::new(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}
