//! The webhook: an axum endpoint on 127.0.0.1 that parses each event and
//! keeps its id, type, user and subject with the time it came. It checks no
//! signature: what it measures is when events arrive, and how many.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::Value;
use tokio::net::TcpListener;

/// One delivery.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub id: String,
    pub kind: String,
    pub email: String,
    pub subject: String,
    pub at: Instant,
}

/// The running webhook; cheap to clone.
#[derive(Clone)]
pub struct Receiver {
    /// `http://127.0.0.1:PORT/hook`.
    pub url: String,
    deliveries: Arc<Mutex<Vec<Delivery>>>,
    malformed: Arc<Mutex<u64>>,
}

impl Receiver {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the webhook");
        let receiver = Self {
            url: format!(
                "http://{}/hook",
                listener.local_addr().expect("webhook address")
            ),
            deliveries: Arc::default(),
            malformed: Arc::default(),
        };
        let router = axum::Router::new()
            .route("/hook", post(deliver))
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.expect("webhook serves") });
        receiver
    }

    /// Deliveries from the `from`th on.
    pub fn since(&self, from: usize) -> Vec<Delivery> {
        self.deliveries.lock().expect("deliveries")[from..].to_vec()
    }

    pub fn len(&self) -> usize {
        self.deliveries.lock().expect("deliveries").len()
    }

    /// Bodies that were not an event (answered 400).
    pub fn malformed(&self) -> u64 {
        *self.malformed.lock().expect("malformed")
    }
}

async fn deliver(State(receiver): State<Receiver>, body: Bytes) -> StatusCode {
    let at = Instant::now();
    let Ok(event) = serde_json::from_slice::<Value>(&body) else {
        *receiver.malformed.lock().expect("malformed") += 1;
        return StatusCode::BAD_REQUEST;
    };
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let id = match &event["id"] {
        Value::String(id) => id.clone(),
        other => other.to_string(),
    };
    receiver
        .deliveries
        .lock()
        .expect("deliveries")
        .push(Delivery {
            id,
            kind: text(&event["type"]),
            email: text(&event["email"]),
            subject: text(&event["data"]["subject"]),
            at,
        });
    StatusCode::NO_CONTENT
}
