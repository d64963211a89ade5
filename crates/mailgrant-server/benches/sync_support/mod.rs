//! What the `gmail_sync` bench needs beyond `support`: an in-process
//! emulator with the quota of the run, a broker on a fresh SQLite file, and
//! one user with a large mailbox connected through the emulator's
//! auto-approve consent (as `tests/gmail_common` does).

use std::sync::Arc;
use std::time::Duration;

use google_emulator::{ClientRegistration, Emulator, EmulatorConfig, QuotaConfig, UserSeed};
use mailgrant::SecretString;
use mailgrant::broker::{
    Broker, BrokerConfig, DEFAULT_REFRESH_MARGIN, InProcessCoordinator, NoEvents, RetryPolicy,
};
use mailgrant::config::{ClientSecrets, DEFAULT_SCOPES};
use mailgrant::crypto::Keyring;
use mailgrant::gmail::{Gmail, GmailOptions};
use mailgrant::metrics::{Metrics, StatusLabel};
use mailgrant::oauth::{AuthorizationRequest, OAuthClient, RedirectTarget};
use mailgrant::store;
use mailgrant_server::cli::emulator_endpoints;
use serde_json::Value;
use tokio::net::TcpListener;
use url::Url;

const REDIRECT: &str = "http://127.0.0.1:9/oauth2callback";

/// One emulated Google with one connected user and their mailbox.
pub struct Mailboxes {
    pub base: String,
    pub broker: Arc<Broker>,
    pub user_id: String,
    pub email: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Mailboxes {
    /// The emulator (with `quota`, `None` for none) on 127.0.0.1:0 and
    /// `email` connected with `messages` generated messages.
    pub async fn start(quota: Option<QuotaConfig>, email: &str, messages: usize) -> Self {
        let client = ClientRegistration {
            client_id: "gmail-sync-bench.apps.googleusercontent.com".to_owned(),
            client_secret: "GOCSPX-gmail-sync-bench".to_owned(),
            redirect_uris: vec![REDIRECT.to_owned()],
        };
        let emulator = Emulator::new(EmulatorConfig {
            auto_approve: true,
            clients: vec![client.clone()],
            users: Vec::new(),
            quota,
            ..EmulatorConfig::default()
        });
        emulator.add_user(UserSeed {
            email: email.to_owned(),
            name: format!("Bench {email}"),
            messages,
        });
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the emulator");
        let base = format!("http://{}", listener.local_addr().expect("an address"));
        let router = emulator.router();
        tokio::spawn(async move { axum::serve(listener, router).await.expect("serves") });

        let dir = tempfile::tempdir().expect("a temporary directory");
        let db_url = format!("sqlite://{}", dir.path().join("sync.db").display());
        let secrets_json = Emulator::client_secrets_json(&base, &client).to_string();
        let secrets = ClientSecrets::parse(&secrets_json, "bench".as_ref()).expect("secrets");
        let endpoints = emulator_endpoints(&base).expect("emulator endpoints");
        let http = mailgrant::http::client();
        let scopes = DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect();
        let broker = Arc::new(Broker::new(BrokerConfig {
            store: store::open(&db_url).await.expect("open the SQLite store"),
            keys: Arc::new(Keyring::from_config(&Keyring::generate_config_value()).expect("keys")),
            oauth: Arc::new(OAuthClient::new(&secrets, &endpoints, scopes, http.clone())),
            http,
            userinfo_url: endpoints.userinfo.clone(),
            reauthorize_url: Url::parse("https://app.example/oauth2/authorize").expect("URL"),
            refresh_margin: DEFAULT_REFRESH_MARGIN,
            retry: RetryPolicy::default(),
            coordinator: Arc::new(InProcessCoordinator::default()),
            events: Arc::new(NoEvents),
            metrics: Arc::new(Metrics::default()),
            token_cache_ttl: Duration::from_secs(1),
        }));
        let http = crate::support::no_redirects(false);
        let user_id = connect(&broker, &http, email).await;
        Self {
            base,
            broker,
            user_id,
            email: email.to_owned(),
            http,
            _dir: dir,
        }
    }

    /// A Gmail client for this emulator.
    pub fn gmail(&self, options: GmailOptions) -> Gmail {
        Gmail::with_options(
            mailgrant::http::client(),
            Url::parse(&format!("{}/", self.base)).expect("URL"),
            self.broker.clone(),
            options,
        )
    }

    /// The user's access token, as a Google sample holds it.
    pub async fn access_token(&self) -> String {
        let token = self
            .broker
            .access_token(&self.user_id)
            .await
            .expect("a token");
        mailgrant::ExposeSecret::expose_secret(&token.access_token).to_owned()
    }

    /// `GET /emulator/counters`.
    pub async fn counters(&self) -> Counters {
        let json: Value = self
            .http
            .get(format!("{}/emulator/counters", self.base))
            .send()
            .await
            .expect("emulator counters")
            .json()
            .await
            .expect("counters are JSON");
        let number = |pointer: &str| json.pointer(pointer).and_then(Value::as_u64).unwrap_or(0);
        Counters {
            gmail_calls: number("/gmail_calls"),
            batch_requests: number("/batch_requests"),
            quota_refusals: number("/quota_refusals"),
            units: json["quota_units_used"][&self.email].as_u64().unwrap_or(0),
        }
    }

    /// Answers mailgrant counted with status 200 (its own metrics).
    pub fn ok_answers(&self) -> u64 {
        self.broker
            .metrics()
            .gmail_calls
            .get_or_create(&StatusLabel { status: 200 })
            .get()
    }
}

/// What the emulator counted.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counters {
    pub gmail_calls: u64,
    pub batch_requests: u64,
    pub quota_refusals: u64,
    pub units: u64,
}

impl std::ops::Sub for Counters {
    type Output = Self;
    fn sub(self, before: Self) -> Self {
        Self {
            gmail_calls: self.gmail_calls - before.gmail_calls,
            batch_requests: self.batch_requests - before.batch_requests,
            quota_refusals: self.quota_refusals - before.quota_refusals,
            units: self.units - before.units,
        }
    }
}

/// The consent at the emulator; returns the stored user's id.
async fn connect(broker: &Broker, http: &reqwest::Client, email: &str) -> String {
    let request = AuthorizationRequest {
        login_hint: Some(email.to_owned()),
        ..AuthorizationRequest::default()
    };
    let redirect = Url::parse(REDIRECT).expect("URL");
    let (url, pending) = broker.oauth().authorization_url(&redirect, &request);
    let response = http.get(url).send().await.expect("consent");
    let location = Url::parse(response.headers()["location"].to_str().expect("ASCII"))
        .expect("a callback URL");
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .expect("a code")
        .1
        .into_owned();
    let verifier = SecretString::from(pending.pkce_verifier);
    broker
        .complete_authorization(&code, Some(&verifier), &RedirectTarget::Callback(redirect))
        .await
        .expect("the grant is stored")
        .user
        .id
}
