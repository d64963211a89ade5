//! A reverse proxy that waits before forwarding each request, standing in
//! for the network between a server and Google; it also keeps a record of
//! every request it forwarded (path, status, when it was answered) for the
//! report.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;

/// Reads a note to keep from a request's path and body (e.g. whose push it is).
pub type Note = fn(&str, &[u8]) -> Option<String>;

/// One forwarded request.
#[derive(Clone, Debug)]
pub struct Hop {
    pub path: String,
    /// 502 when the upstream could not be reached.
    pub status: u16,
    /// When the answer went back.
    pub answered: Instant,
    pub note: Option<String>,
}

/// A running proxy; cheap to clone.
#[derive(Clone)]
pub struct Proxy {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    inner: Arc<Inner>,
}

struct Inner {
    upstream: String,
    delay_ms: AtomicU64,
    note: Option<Note>,
    hops: Mutex<Vec<Hop>>,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    http: reqwest::Client,
}

/// Headers that belong to one connection, not to the request or answer.
const HOP_BY_HOP: [HeaderName; 5] = [
    header::CONNECTION,
    header::TRANSFER_ENCODING,
    header::CONTENT_LENGTH,
    header::HOST,
    header::UPGRADE,
];

impl Proxy {
    /// Forwards everything to `upstream` (`http://host:port`) after `delay`.
    pub async fn start(upstream: &str, delay: Duration, note: Option<Note>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let base = format!("http://{}", listener.local_addr().expect("proxy address"));
        let proxy = Self {
            base,
            inner: Arc::new(Inner {
                upstream: upstream.trim_end_matches('/').to_owned(),
                delay_ms: AtomicU64::new(delay.as_millis() as u64),
                note,
                hops: Mutex::default(),
                in_flight: AtomicUsize::new(0),
                most_in_flight: AtomicUsize::new(0),
                http: reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .timeout(Duration::from_secs(60))
                    .build()
                    .expect("the proxy's client"),
            }),
        };
        let router = axum::Router::new()
            .fallback(forward)
            .with_state(proxy.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.expect("proxy serves") });
        proxy
    }

    pub fn delay(&self) -> Duration {
        Duration::from_millis(self.inner.delay_ms.load(Ordering::Relaxed))
    }

    pub fn set_delay(&self, delay: Duration) {
        self.inner
            .delay_ms
            .store(delay.as_millis() as u64, Ordering::Relaxed);
    }

    /// Every request answered so far.
    pub fn hops(&self) -> Vec<Hop> {
        self.inner.hops.lock().expect("hops").clone()
    }

    /// The most requests that were in the proxy at once; resets it.
    pub fn take_most_in_flight(&self) -> usize {
        self.inner.most_in_flight.swap(0, Ordering::Relaxed)
    }
}

async fn forward(State(proxy): State<Proxy>, request: Request) -> Response {
    let inner = &proxy.inner;
    let now_in = inner.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
    inner.most_in_flight.fetch_max(now_in, Ordering::Relaxed);
    let delay = proxy.delay();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let body = to_bytes(body, usize::MAX).await.unwrap_or_default();
    let note = inner.note.and_then(|note| note(&path, &body));
    let mut upstream = inner
        .http
        .request(parts.method, format!("{}{path_and_query}", inner.upstream))
        .body(body);
    for (name, value) in &parts.headers {
        if !HOP_BY_HOP.contains(name) {
            upstream = upstream.header(name, value);
        }
    }
    let response = match upstream.send().await {
        Ok(answer) => {
            let status = answer.status();
            let headers = answer.headers().clone();
            let body = answer.bytes().await.unwrap_or_default();
            let mut response = Response::new(Body::from(body));
            *response.status_mut() = status;
            for (name, value) in &headers {
                if !HOP_BY_HOP.contains(name) {
                    response.headers_mut().append(name, value.clone());
                }
            }
            response
        }
        Err(error) => (StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
    };
    inner.in_flight.fetch_sub(1, Ordering::Relaxed);
    inner.hops.lock().expect("hops").push(Hop {
        path,
        status: response.status().as_u16(),
        answered: Instant::now(),
        note,
    });
    response
}
