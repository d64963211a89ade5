//! The application state every handler shares, and how it is built from settings.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use axum_extra::extract::cookie::Key;
use mailgrant::broker::{
    Broker, BrokerConfig, DEFAULT_REFRESH_MARGIN, DEFAULT_TOKEN_CACHE_TTL, EventSink, NoEvents,
    RetryPolicy,
};
use mailgrant::config::{ClientSecrets, DEFAULT_SCOPES, GoogleEndpoints};
use mailgrant::crypto::Keyring;
use mailgrant::events::{Clock, Events, EventsConfig, WebhookTarget};
use mailgrant::gmail::Gmail;
use mailgrant::metrics::Metrics;
use mailgrant::oauth::OAuthClient;
use mailgrant::pubsub::{PushSettings, PushVerifier};
use mailgrant::store::CredentialStore;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use url::Url;

use crate::api_keys::ApiKeys;
use crate::session::Cookies;

/// Path of the OAuth callback, as in Google's samples.
pub const CALLBACK_PATH: &str = "/oauth2callback";
/// Path that starts an authorization.
pub const AUTHORIZE_PATH: &str = "/oauth2/authorize";

/// What the server is configured with.
pub struct Settings {
    pub client_secrets: ClientSecrets,
    pub endpoints: GoogleEndpoints,
    /// The URL users reach this server at; the redirect URI is derived from it.
    pub public_url: Url,
    /// What every authorization asks for.
    pub scopes: Vec<String>,
    /// Scopes that may be asked for on demand (`/oauth2/authorize?scope=`,
    /// the token API's incremental consent) on top of `scopes`; no others.
    pub optional_scopes: Vec<String>,
    /// How long a browser session lasts at most.
    pub session_max_age: Duration,
    pub store: Arc<dyn CredentialStore>,
    pub keys: Arc<Keyring>,
    pub refresh_margin: Duration,
    pub retry: RetryPolicy,
    /// Time limit of each call to Google.
    pub http_timeout: Duration,
    pub events: Arc<dyn EventSink>,
    /// Keys that may call the token API (none: it is disabled).
    pub api_keys: ApiKeys,
    /// How long a decrypted access token may be served from memory.
    pub token_cache_ttl: Duration,
    /// Knowing when mail arrives: watches, pushes, polling, the outbox.
    pub stream: StreamSettings,
}

/// How the change stream runs.
pub struct StreamSettings {
    /// `projects/P/topics/T` that mailboxes are watched with; none: polling.
    pub topic: Option<String>,
    /// How `POST /pubsub/push` checks Google's JWT; none: the route answers 404.
    pub push: Option<PushSettings>,
    pub poll_interval: Duration,
    /// Where change events are POSTed (and the credential events).
    pub webhook: Option<WebhookTarget>,
    pub webhook_max_age: Duration,
    /// `None`: the wall clock.
    pub clock: Option<Clock>,
    /// Run the scheduler and delivery in the background (off for one-shot
    /// commands).
    pub run: bool,
}

impl Default for StreamSettings {
    fn default() -> Self {
        Self {
            topic: None,
            push: None,
            poll_interval: Duration::from_secs(60),
            webhook: None,
            webhook_max_age: Duration::from_secs(3 * 24 * 3600),
            clock: None,
            run: true,
        }
    }
}

impl Settings {
    /// Settings with the defaults for everything but what must be given.
    pub fn new(
        client_secrets: ClientSecrets,
        endpoints: GoogleEndpoints,
        public_url: Url,
        store: Arc<dyn CredentialStore>,
        keys: Arc<Keyring>,
    ) -> Self {
        Self {
            client_secrets,
            endpoints,
            public_url,
            scopes: DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            optional_scopes: Vec::new(),
            session_max_age: crate::session::DEFAULT_SESSION_MAX_AGE,
            store,
            keys,
            refresh_margin: DEFAULT_REFRESH_MARGIN,
            retry: RetryPolicy::default(),
            http_timeout: Duration::from_secs(30),
            events: Arc::new(NoEvents),
            api_keys: ApiKeys::default(),
            token_cache_ttl: DEFAULT_TOKEN_CACHE_TTL,
            stream: StreamSettings::default(),
        }
    }
}

/// Everything a request may need.
pub struct App {
    /// Stored grants, refresh and revocation.
    pub broker: Arc<Broker>,
    /// Gmail calls on behalf of stored users.
    pub gmail: Gmail,
    /// `{public_url}/oauth2callback`, registered with Google.
    pub redirect_uri: Url,
    /// `{public_url}/oauth2/authorize`: where users are sent to (re)connect.
    pub authorize_url: Url,
    /// Encrypts the login and session cookies; derived from the token key, so
    /// every replica with the same key reads every cookie.
    pub cookie_key: Key,
    /// The login and session cookies (`Secure`, `__Host-` behind https).
    pub cookies: Cookies,
    /// The public URL is https: browsers are told to stay on https.
    pub https: bool,
    /// `scheme://host[:port]` of the public URL: the only `Origin` a
    /// browser's state-changing request may come from.
    pub origin: String,
    /// The configured and the optional scopes: all `/oauth2/authorize` asks for.
    pub requestable_scopes: Vec<String>,
    /// Who may call the token API.
    pub api_keys: ApiKeys,
    /// Everything `/metrics` shows.
    pub registry: Registry,
    /// Seconds each token API call took.
    pub token_api_latency: Histogram,
    /// Each user's change stream.
    pub events: Events,
    /// Checks Gmail's pushes; `None`: push is not configured.
    pub push: Option<PushVerifier>,
    /// Stops the change stream's background work with the app.
    background: Option<tokio::task::AbortHandle>,
}

impl Drop for App {
    fn drop(&mut self) {
        if let Some(background) = &self.background {
            background.abort();
        }
    }
}

/// The state handed to axum.
#[derive(Clone)]
pub struct AppState(pub Arc<App>);

impl FromRef<AppState> for Key {
    fn from_ref(state: &AppState) -> Self {
        state.0.cookie_key.clone()
    }
}

/// Settings could not make an app.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Config(#[from] mailgrant::config::ConfigError),
    #[error("public URL {0} cannot carry paths")]
    PublicUrl(Url),
}

/// `{public_url}/oauth2callback`.
pub fn redirect_uri(public_url: &Url) -> Result<Url, BuildError> {
    public_url
        .join(CALLBACK_PATH)
        .map_err(|_| BuildError::PublicUrl(public_url.clone()))
}

impl App {
    /// Checks the redirect URI against `client_secrets.json` and wires the parts.
    pub fn build(settings: Settings) -> Result<Self, BuildError> {
        let redirect_uri = redirect_uri(&settings.public_url)?;
        let authorize_url = settings
            .public_url
            .join(AUTHORIZE_PATH)
            .map_err(|_| BuildError::PublicUrl(settings.public_url.clone()))?;
        settings
            .client_secrets
            .ensure_redirect_uri(redirect_uri.as_str())?;
        let https = settings.public_url.scheme() == "https";
        let origin = settings.public_url.origin().ascii_serialization();
        let requestable_scopes = settings
            .scopes
            .iter()
            .chain(&settings.optional_scopes)
            .cloned()
            .collect();
        let http = mailgrant::http::client_with_timeout(settings.http_timeout);
        let metrics = Arc::new(Metrics::default());
        let oauth = Arc::new(OAuthClient::new(
            &settings.client_secrets,
            &settings.endpoints,
            settings.scopes,
            http.clone(),
        ));
        let cookie_keys: Vec<Key> = settings
            .keys
            .derive_cookie_keys()
            .iter()
            .map(|k| Key::from(k))
            .collect();
        // Writes go with the current key; reads try every one (`Cookies`).
        let cookie_key = cookie_keys[0].clone();
        let broker = Arc::new(Broker::new(BrokerConfig {
            coordinator: settings.store.refresh_coordinator(),
            store: settings.store,
            keys: settings.keys,
            oauth,
            http: http.clone(),
            userinfo_url: settings.endpoints.userinfo.clone(),
            reauthorize_url: authorize_url.clone(),
            refresh_margin: settings.refresh_margin,
            retry: settings.retry,
            events: settings.events,
            metrics,
            token_cache_ttl: settings.token_cache_ttl,
        }));
        let gmail = Gmail::new(
            http.clone(),
            settings.endpoints.gmail_api.clone(),
            broker.clone(),
        );
        let stream = settings.stream;
        let mut events_config =
            EventsConfig::new(gmail.clone(), broker.store().clone(), http.clone());
        events_config.topic = stream.topic;
        events_config.poll_interval = stream.poll_interval;
        events_config.webhook = stream.webhook;
        events_config.webhook_max_age = stream.webhook_max_age;
        events_config.metrics = broker.metrics().clone();
        events_config.sync_on_push = stream.run;
        if let Some(clock) = stream.clock {
            events_config.clock = clock;
        }
        let events = Events::new(events_config);
        let background = (stream.run && tokio::runtime::Handle::try_current().is_ok())
            .then(|| events.spawn().abort_handle());
        let push = stream.push.map(|push| PushVerifier::new(http, push));
        let mut registry = Registry::default();
        broker.metrics().register(&mut registry);
        let token_api_latency = Histogram::new(exponential_buckets(0.0001, 2.0, 16));
        registry.register(
            "mailgrant_token_api_seconds",
            "Latency of token API calls",
            token_api_latency.clone(),
        );
        Ok(Self {
            broker,
            gmail,
            cookies: Cookies::new(https, cookie_keys, settings.session_max_age),
            https,
            origin,
            requestable_scopes,
            redirect_uri,
            authorize_url,
            cookie_key,
            api_keys: settings.api_keys,
            registry,
            token_api_latency,
            events,
            push,
            background,
        })
    }

    /// A user connected: their mailbox's change stream starts (a failure
    /// is logged; the schedule picks the user up at the next start).
    pub async fn connected(&self, user_id: &str) {
        if let Err(error) = self.events.connected(user_id).await {
            tracing::warn!(user = %user_id, %error, "could not start tracking the mailbox");
        }
    }

    /// Disconnects the user: their Gmail watch stops while the grant still
    /// works, then the grant is revoked at Google and the stored row
    /// deleted, ending every session ([`mailgrant::broker::Broker::disconnect`]).
    /// When that fails, the user stays connected: their mailbox is watched
    /// again, its stream going on from the same cursor (nothing missed).
    /// `false`: no such user.
    pub async fn disconnect(&self, user_id: &str) -> Result<bool, mailgrant::Error> {
        if let Err(error) = self.events.disconnecting(user_id).await {
            tracing::warn!(user = %user_id, %error, "could not record the mailbox's stopped watch");
        }
        let disconnected = self.broker.disconnect(user_id).await;
        let tracked = match disconnected {
            Err(_) => self.events.connected(user_id).await,
            Ok(_) => self.events.disconnected(user_id).await,
        };
        if let Err(error) = tracked {
            tracing::warn!(user = %user_id, %error, "could not update the mailbox's tracking");
        }
        disconnected
    }

    /// Whether `/oauth2/authorize` may ask for `scope`.
    pub fn may_request(&self, scope: &str) -> bool {
        self.requestable_scopes.iter().any(|s| s == scope)
    }
}
