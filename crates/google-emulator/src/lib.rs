//! A local, stateful stand-in for Google's OAuth 2.0 authorization server,
//! userinfo, token revocation and Gmail v1 endpoints, for offline tests and
//! the `mailgrant demo` command.
//!
//! Paths are Google's paths, so a client only changes the host. Mailboxes
//! are generated deterministically per user, or imported from an mbox
//! (Google Takeout's export). Behaviour
//! follows the project's reference (`shared/reference/google-behaviour.md`,
//! cited as "reference §n") and the Gmail discovery document. Test controls
//! live under `/emulator/`. The emulator shares no types with the client.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use google_emulator::{Emulator, EmulatorConfig};
//! let emulator = Emulator::new(EmulatorConfig::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! axum::serve(listener, emulator.router()).await
//! # }
//! ```

mod authorize;
mod bearer;
mod client_auth;
mod clock;
mod config;
mod control;
mod date;
mod faults;
mod gmail;
mod id_token;
mod ids;
mod mailbox;
mod mbox;
mod mime;
mod multipart;
#[doc(hidden)]
pub mod parsers;
mod pubsub;
mod quota;
mod reply;
mod revoke;
mod rfc2822;
mod scopes;
mod search;
mod state;
mod token;
mod userinfo;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

pub use config::{ClientRegistration, EmulatorConfig, QuotaConfig, UserSeed};
use faults::Endpoint;
pub use mbox::ImportError;
pub use pubsub::{PubSubError, PushSubscription};

/// The Google Cloud project the emulator's client and Pub/Sub topics
/// belong to: Gmail only publishes to topics of the caller's own project.
pub const PROJECT_ID: &str = "mailgrant-emulator";
use state::{EmulatorState, Shared, User, lock};

/// The emulator: cheap to clone, all clones share one state.
#[derive(Clone)]
pub struct Emulator {
    shared: Shared,
}

impl Emulator {
    pub fn new(config: EmulatorConfig) -> Self {
        Self {
            shared: Arc::new_cyclic(|me| {
                let mut state = EmulatorState::new(config);
                state.pubsub.shared = me.clone();
                Mutex::new(state)
            }),
        }
    }

    /// Every route, Google's and the `/emulator/` controls, state included.
    pub fn router(&self) -> Router {
        let faulty = |endpoint: Endpoint| {
            middleware::from_fn_with_state((self.shared.clone(), endpoint), faults::middleware)
        };
        let token = Router::new()
            .route("/token", post(token::token))
            .route_layer(faulty(Endpoint::Token));
        let revoke = Router::new()
            .route("/revoke", post(revoke::revoke).get(revoke::get_not_found))
            .route_layer(faulty(Endpoint::Revoke));
        let userinfo = Router::new()
            .route("/oauth2/v2/userinfo", get(userinfo::v2))
            .route("/v1/userinfo", get(userinfo::oidc))
            .route_layer(faulty(Endpoint::Userinfo));
        let gmail = gmail::routes().route_layer(faulty(Endpoint::Gmail));
        // Batch parts are sent to the Gmail routes as they are served.
        let batch = gmail::batch::routes(
            self.shared.clone(),
            gmail.clone().with_state(self.shared.clone()),
        );
        {
            let mut state = lock(&self.shared);
            if state.pubsub.runtime.is_none() {
                state.pubsub.runtime = tokio::runtime::Handle::try_current().ok();
            }
        }
        Router::new()
            .route("/o/oauth2/v2/auth", get(authorize::authorize))
            .route("/o/oauth2/auth", get(authorize::authorize))
            .route("/o/oauth2/v2/auth/decision", post(authorize::decision))
            // Where client_secrets.json points for certificates; ID tokens
            // here are not verifiably signed, so there are none.
            .route("/oauth2/v1/certs", get(|| async { axum::Json(json!({})) }))
            // The keys of Pub/Sub push tokens, as Google's JWKS.
            .route("/oauth2/v3/certs", get(pubsub::keys::certs))
            .merge(token)
            .merge(revoke)
            .merge(userinfo)
            .merge(gmail)
            .merge(batch)
            .merge(control::routes())
            .layer(middleware::from_fn(trace))
            .with_state(self.shared.clone())
    }

    /// Adds a client, or replaces the one with the same id.
    pub fn register_client(&self, client: ClientRegistration) {
        lock(&self.shared)
            .clients
            .insert(client.client_id.clone(), client);
    }

    /// Adds a user with a generated mailbox and returns their id; for an
    /// email already known, returns that user's id and changes nothing.
    pub fn add_user(&self, seed: UserSeed) -> String {
        lock(&self.shared).add_user(seed).0
    }

    /// Imports an mbox file (e.g. Google Takeout's `All mail Including Spam
    /// and Trash.mbox`) into the mailbox of the existing user `email`, and
    /// returns how many messages it added. Each is logged as
    /// `messageAdded` in the user's history. Takeout's `X-GM-THRID` gives
    /// the thread id and `X-Gmail-Labels` the labels; user labels are
    /// created as needed.
    pub fn import_mbox(&self, email: &str, mbox: &[u8]) -> Result<usize, ImportError> {
        let mut state = lock(&self.shared);
        let now_ms = state.clock.epoch_ms();
        let Some(User { id, mailbox, .. }) = state.user_by_email_mut(email) else {
            return Err(ImportError::UnknownUser(email.to_owned()));
        };
        let user_id = id.clone();
        let imported = mbox::import(mailbox, id, mbox, now_ms)?;
        gmail::watch::mailbox_changed(&mut state, &user_id);
        Ok(imported)
    }

    /// Creates a Pub/Sub topic `projects/mailgrant-emulator/topics/<id>`.
    /// `gmail_can_publish`: whether Gmail's publisher
    /// (gmail-api-push@system.gserviceaccount.com) was granted publish on
    /// it; without, `users.watch` on it is refused with a 403.
    pub fn create_topic(&self, name: &str, gmail_can_publish: bool) -> Result<(), PubSubError> {
        lock(&self.shared)
            .pubsub
            .create_topic(name, gmail_can_publish)
    }

    /// Creates a push subscription to an existing topic; messages
    /// published from then on are pushed to its endpoint.
    pub fn create_push_subscription(
        &self,
        subscription: PushSubscription,
    ) -> Result<(), PubSubError> {
        lock(&self.shared).pubsub.create_subscription(subscription)
    }

    /// Moves the emulator's clock `ms` milliseconds from the machine's
    /// (negative: into the past). Token, code, watch and message lifetimes
    /// all follow it.
    pub fn set_clock_offset_ms(&self, ms: i64) {
        lock(&self.shared).clock.set_offset_ms(ms);
    }

    /// Where the keys of Pub/Sub push tokens are published for an emulator
    /// at `base_url`: `{base_url}/oauth2/v3/certs`, Google's path for them.
    pub fn jwks_url(base_url: &str) -> String {
        format!("{}/oauth2/v3/certs", base_url.trim_end_matches('/'))
    }

    /// The "deliver a message" page of an emulator at `base_url`: a form
    /// that adds mail to a user's mailbox (pushed when it is watched).
    pub fn mail_page_url(base_url: &str) -> String {
        format!("{}{}", base_url.trim_end_matches('/'), control::MAIL_PAGE)
    }

    /// The client_secrets.json Google's console would give for `client`,
    /// with its endpoints at `base_url` (e.g. "http://127.0.0.1:9000").
    pub fn client_secrets_json(base_url: &str, client: &ClientRegistration) -> Value {
        let base = base_url.trim_end_matches('/');
        json!({
            "web": {
                "client_id": client.client_id,
                "project_id": PROJECT_ID,
                "auth_uri": format!("{base}/o/oauth2/auth"),
                "token_uri": format!("{base}/token"),
                "auth_provider_x509_cert_url": format!("{base}/oauth2/v1/certs"),
                "client_secret": client.client_secret,
                "redirect_uris": client.redirect_uris,
            }
        })
    }
}

/// Logs method and path only: query strings and bodies carry codes and
/// tokens.
async fn trace(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    tracing::debug!(%method, %path, status = response.status().as_u16(), "google-emulator");
    response
}
