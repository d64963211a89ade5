//! What the `events` bench runs against: the in-process emulator (quota on)
//! behind a delaying proxy, the release `mailgrant serve` process watching
//! every user, a Pub/Sub push subscription to it (through a second proxy
//! that only records), and a webhook receiver; with every user signed in
//! through the binary's real sign-in and watched.

pub mod measure;
mod proxy;
mod receiver;
mod serve;

use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;
use futures::StreamExt as _;
use google_emulator::{ClientRegistration, Emulator, PROJECT_ID, PushSubscription, UserSeed};
use serde_json::{Value, json};

pub use proxy::{Hop, Proxy};
pub use receiver::{Delivery, Receiver};
pub use serve::Serve;

use crate::support::{self, Google};

const TOPIC_ID: &str = "gmail";
const SUBSCRIPTION_ID: &str = "mailgrant-push";
const SERVICE_ACCOUNT: &str = "push@mailgrant-bench.iam.gserviceaccount.com";
const CLIENT_ID: &str = "events-bench.apps.googleusercontent.com";
const API_KEY: &str = "bench-api-key-0123456789abcdef";
/// Sign-ins in flight at once during the set-up.
const SIGN_INS: usize = 32;

/// Everything the bench drives.
pub struct World {
    pub google: Google,
    /// Between mailgrant and every Google endpoint but Pub/Sub's push.
    pub gmail_proxy: Proxy,
    /// Between the emulator's Pub/Sub and mailgrant's `/pubsub/push`: no
    /// delay, it records when each push was acknowledged and for whom.
    pub push_tap: Proxy,
    pub receiver: Receiver,
    pub serve: Serve,
    pub emails: Vec<String>,
    http: reqwest::Client,
}

impl World {
    /// Starts everything, signs `users` users in through the binary
    /// concurrently, and waits until Gmail watches each of them.
    pub async fn start(users: usize, latency: Duration, dir: &Path) -> Self {
        let google = Google::start(Vec::new()).await;
        let gmail_proxy = Proxy::start(&google.base, latency, None).await;
        let receiver = Receiver::start().await;
        let address = Serve::free_address();
        let client = ClientRegistration {
            client_id: CLIENT_ID.to_owned(),
            client_secret: "GOCSPX-events-bench".to_owned(),
            redirect_uris: vec![format!("{address}/oauth2callback")],
        };
        google.emulator.register_client(client.clone());
        let secrets = dir.join("client_secrets.json");
        let secrets_json = Emulator::client_secrets_json(&gmail_proxy.base, &client);
        std::fs::write(&secrets, secrets_json.to_string()).expect("write client_secrets.json");
        let topic = format!("projects/{PROJECT_ID}/topics/{TOPIC_ID}");
        google
            .emulator
            .create_topic(&topic, true)
            .expect("create the topic");
        let audience = format!("{address}/pubsub/push");
        let g = &gmail_proxy.base;
        let env = [
            ("MAILGRANT_CLIENT_SECRETS", secrets.display().to_string()),
            ("MAILGRANT_USERINFO_URL", format!("{g}/oauth2/v2/userinfo")),
            ("MAILGRANT_REVOKE_URL", format!("{g}/revoke")),
            ("MAILGRANT_GMAIL_API_URL", format!("{g}/")),
            ("MAILGRANT_GOOGLE_CERTS_URL", Emulator::jwks_url(g)),
            ("MAILGRANT_API_KEYS", API_KEY.to_owned()),
            ("MAILGRANT_PUBSUB_TOPIC", topic.clone()),
            (
                "MAILGRANT_PUBSUB_SERVICE_ACCOUNT",
                SERVICE_ACCOUNT.to_owned(),
            ),
            ("MAILGRANT_PUBSUB_AUDIENCE", audience.clone()),
            ("MAILGRANT_WEBHOOK_URL", receiver.url.clone()),
            ("MAILGRANT_WEBHOOK_SECRET", "events-bench-secret".to_owned()),
        ];
        let serve = Serve::start(&address, &env, dir).await;
        let push_tap = Proxy::start(&serve.address, Duration::ZERO, Some(pushed_address)).await;
        let mut subscription = PushSubscription::new(
            format!("projects/{PROJECT_ID}/subscriptions/{SUBSCRIPTION_ID}"),
            topic,
            format!("{}/pubsub/push", push_tap.base),
        );
        subscription.audience = Some(audience);
        subscription.service_account_email = Some(SERVICE_ACCOUNT.to_owned());
        google
            .emulator
            .create_push_subscription(subscription)
            .expect("create the push subscription");
        let emails: Vec<String> = (0..users)
            .map(|i| format!("bench{i:04}@example.com"))
            .collect();
        let world = Self {
            google,
            gmail_proxy,
            push_tap,
            receiver,
            serve,
            emails,
            http: support::no_redirects(false),
        };
        world.connect_all().await;
        world
    }

    /// Adds every user (one message each) and signs them in, `SIGN_INS` at
    /// a time; then waits for the watches.
    async fn connect_all(&self) {
        let started = Instant::now();
        for email in &self.emails {
            self.google.emulator.add_user(UserSeed {
                email: email.clone(),
                name: format!("Bench {email}"),
                messages: 1,
            });
        }
        futures::stream::iter(&self.emails)
            .for_each_concurrent(SIGN_INS, |email| self.sign_in(email))
            .await;
        println!(
            "  {} users signed in through the binary in {:.1} s",
            self.emails.len(),
            started.elapsed().as_secs_f64()
        );
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let watched = sample(
                &self.metrics().await,
                "mailgrant_watch_renewals_total",
                "ok",
            );
            if watched as usize >= self.emails.len() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "only {watched} watches after 180 s; serve's log:\n{}",
                tail(&self.serve.log_text())
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let unwatched = futures::stream::iter(&self.emails)
            .map(|email| async move {
                let url = format!("{}/emulator/users/{email}/watch", self.google.base);
                let status = self.http.get(url).send().await.map(|r| r.status());
                status.is_ok_and(|s| s == 200)
            })
            .buffer_unordered(64)
            .filter(|watched| std::future::ready(!watched))
            .count()
            .await;
        assert_eq!(unwatched, 0, "the emulator has a watch for every user");
        println!(
            "  {} watches in the emulator after {:.1} s",
            self.emails.len(),
            started.elapsed().as_secs_f64()
        );
    }

    /// The binary's sign-in, as a browser goes through it.
    async fn sign_in(&self, email: &String) {
        let browser = support::no_redirects(true);
        let mut url = format!("{}/oauth2/authorize?login_hint={email}", self.serve.address);
        for expected in [302, 302, 303] {
            let response = browser.get(&url).send().await.expect("a sign-in step");
            assert_eq!(response.status().as_u16(), expected, "{email}: {url}");
            url = response.headers()["location"]
                .to_str()
                .expect("Location is ASCII")
                .to_owned();
        }
    }

    /// A new message in `email`'s inbox through the emulator's control API
    /// (mail arriving: not through the proxy).
    pub async fn add_message(&self, email: &str, subject: &str) {
        let response = self
            .http
            .post(format!(
                "{}/emulator/users/{email}/messages",
                self.google.base
            ))
            .json(&json!({ "from": "Ada <ada@example.org>", "subject": subject, "body": "hello" }))
            .send()
            .await
            .expect("add a message");
        assert_eq!(response.status(), 201, "{email}: the message is added");
    }

    /// The binary's `/metrics` text.
    pub async fn metrics(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.serve.address))
            .send()
            .await
            .expect("serve's metrics")
            .text()
            .await
            .expect("metrics text")
    }

    /// `GET /emulator/counters`.
    pub async fn counters(&self) -> Value {
        self.get_json(&format!("{}/emulator/counters", self.google.base))
            .await
    }

    /// The push subscription's counters (delivered, failedAttempts, backlog…).
    pub async fn subscription(&self) -> Value {
        self.get_json(&format!(
            "{}/emulator/pubsub/subscriptions/projects/{PROJECT_ID}/subscriptions/{SUBSCRIPTION_ID}",
            self.google.base
        ))
        .await
    }

    async fn get_json(&self, url: &str) -> Value {
        self.http
            .get(url)
            .send()
            .await
            .expect("an emulator control")
            .json()
            .await
            .expect("JSON")
    }
}

/// For the push tap: the `emailAddress` of a push's Gmail notification.
fn pushed_address(path: &str, body: &[u8]) -> Option<String> {
    if path != "/pubsub/push" {
        return None;
    }
    let push: Value = serde_json::from_slice(body).ok()?;
    let data = base64::engine::general_purpose::STANDARD
        .decode(push["message"]["data"].as_str()?)
        .ok()?;
    let notification: Value = serde_json::from_slice(&data).ok()?;
    Some(notification["emailAddress"].as_str()?.to_owned())
}

/// The sum of the samples of metric `name` (exactly; labels aside) whose
/// labels contain `label` (a value, e.g. `ok`; empty: all).
pub fn sample(metrics: &str, name: &str, label: &str) -> f64 {
    metrics
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(name)?;
            let value = match rest.strip_prefix('{') {
                Some(labelled) => {
                    let (labels, value) = labelled.split_once('}')?;
                    if !label.is_empty() && !labels.contains(&format!("\"{label}\"")) {
                        return None;
                    }
                    value
                }
                None if rest.starts_with(' ') => rest,
                None => return None,
            };
            value.split_whitespace().next()?.parse::<f64>().ok()
        })
        .sum()
}

/// The last lines of a log, for a failure's message.
pub fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}
