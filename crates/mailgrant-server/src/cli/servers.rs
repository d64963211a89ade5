//! `serve`, `emulator` and `demo`: the long-running commands.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use google_emulator::{
    ClientRegistration, Emulator, EmulatorConfig, PushSubscription, QuotaConfig, UserSeed,
};
use mailgrant::SecretString;
use mailgrant::config::{ClientSecrets, GoogleEndpoints};
use mailgrant::crypto::Keyring;
use mailgrant::events::WebhookTarget;
use mailgrant::pubsub::PushSettings;
use mailgrant::store;
use mailgrant::webhook::WebhookSink;
use tokio::net::TcpListener;
use url::Url;

use super::{DemoArgs, EmulatorArgs, ServeArgs, StreamArgs};
use crate::api_keys::ApiKeys;
use crate::state::{App, AppState, CALLBACK_PATH, Settings, StreamSettings};

pub(super) async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut settings = args
        .google
        .settings()
        .await
        .context("mailgrant serve cannot start")?;
    settings.api_keys = ApiKeys::parse(&args.api_keys)?;
    settings.session_max_age = args.session_max_age;
    if args
        .webhook_secret
        .as_deref()
        .is_some_and(|s| s.trim().is_empty())
    {
        anyhow::bail!(
            "mailgrant serve cannot start: --webhook-secret (MAILGRANT_WEBHOOK_SECRET) is empty; receivers could not tell our events from forged ones"
        );
    }
    check_keys(&settings).await?;
    let webhook = match (args.webhook_url, args.webhook_secret) {
        (Some(url), Some(secret)) => {
            let http = mailgrant::http::client_with_timeout(settings.http_timeout);
            let secret = SecretString::from(secret);
            settings.events = Arc::new(WebhookSink::new(http, url.clone(), secret.clone()));
            Some(WebhookTarget { url, secret })
        }
        _ => None,
    };
    settings.stream = stream_settings(args.stream, &settings.public_url, webhook)
        .context("mailgrant serve cannot start")?;
    let app = App::build(settings).context("mailgrant serve cannot start")?;
    if args.skip_client_check {
        tracing::warn!("not checking the OAuth client with Google (--skip-client-check)");
    } else {
        check_client(&app).await?;
    }
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    tracing::info!(listen = %args.listen, redirect_uri = %app.redirect_uri, "mailgrant is serving");
    run_server(listener, app).await
}

/// The change stream's settings from the flags.
fn stream_settings(
    args: StreamArgs,
    public_url: &Url,
    webhook: Option<WebhookTarget>,
) -> anyhow::Result<StreamSettings> {
    if let Some(topic) = &args.pubsub_topic {
        let parts: Vec<&str> = topic.split('/').collect();
        let well_formed = parts.len() == 4
            && parts[0] == "projects"
            && parts[2] == "topics"
            && !parts[1].is_empty()
            && !parts[3].is_empty();
        if !well_formed {
            anyhow::bail!(
                "--pubsub-topic `{topic}` is not a topic name like projects/PROJECT/topics/TOPIC"
            );
        }
        if args.pubsub_service_account.is_none() {
            anyhow::bail!(
                "--pubsub-topic needs --pubsub-service-account (MAILGRANT_PUBSUB_SERVICE_ACCOUNT): the service account of the push subscription, without which pushes cannot be told from forgeries"
            );
        }
    }
    let push = args
        .pubsub_service_account
        .map(|service_account| PushSettings {
            certs_url: args.google_certs_url,
            audience: args
                .pubsub_audience
                .unwrap_or_else(|| push_url(public_url).to_string()),
            service_account,
            leeway: Duration::from_secs(60),
        });
    Ok(StreamSettings {
        topic: args.pubsub_topic,
        push,
        poll_interval: args.poll_interval,
        webhook,
        webhook_max_age: args.webhook_max_age,
        run: !args.no_change_stream,
        ..StreamSettings::default()
    })
}

/// Where Pub/Sub pushes: PUBLIC_URL/pubsub/push.
fn push_url(public_url: &Url) -> Url {
    public_url
        .join("pubsub/push")
        .expect("a public URL takes a path")
}

/// Refuses to start when the configured keys read none of a sample of
/// stored tokens: every request would fail.
async fn check_keys(settings: &Settings) -> anyhow::Result<()> {
    let readable = mailgrant::rotation::check_keys(
        settings.store.as_ref(),
        &settings.keys,
        mailgrant::rotation::KEY_CHECK_SAMPLE,
    )
    .await
    .context("mailgrant serve cannot start")?;
    tracing::debug!(readable, "stored tokens decrypt with the configured keys");
    Ok(())
}

/// Refuses to start when Google's token endpoint refuses the OAuth client.
async fn check_client(app: &App) -> anyhow::Result<()> {
    match app.broker.check_client().await {
        Ok(()) => {
            tracing::info!("Google's token endpoint accepts the OAuth client");
            Ok(())
        }
        Err(error @ mailgrant::Error::ClientMisconfigured { .. }) => Err(anyhow::anyhow!(
            "mailgrant serve cannot start: {error}. Download client_secrets.json again from the Google Cloud console"
        )),
        Err(error) => Err(anyhow::anyhow!(
            "mailgrant serve cannot start: checking the OAuth client with Google's token endpoint failed: {error}. Pass --skip-client-check (MAILGRANT_SKIP_CLIENT_CHECK=1) to start without the check"
        )),
    }
}

async fn run_server(listener: TcpListener, app: App) -> anyhow::Result<()> {
    let router = crate::router(AppState(Arc::new(app)));
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

pub(super) async fn emulator(args: EmulatorArgs) -> anyhow::Result<()> {
    let mut client = ClientRegistration::demo();
    if !args.redirect_uris.is_empty() {
        client.redirect_uris = args.redirect_uris;
    }
    let emulator = Emulator::new(EmulatorConfig {
        auto_approve: args.auto_approve,
        quota: (!args.no_quota).then(QuotaConfig::default),
        clients: vec![client.clone()],
        ..EmulatorConfig::default()
    });
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let base = format!("http://{}", listener.local_addr()?);
    if let Some(path) = &args.write_client_secrets {
        let json = Emulator::client_secrets_json(&base, &client);
        std::fs::write(path, serde_json::to_string_pretty(&json)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    println!("Google emulator on {base}");
    println!("  MAILGRANT_USERINFO_URL={base}/oauth2/v2/userinfo");
    println!("  MAILGRANT_REVOKE_URL={base}/revoke");
    println!("  MAILGRANT_GMAIL_API_URL={base}/");
    axum::serve(listener, emulator.router())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// The endpoints of an emulator at `base`.
pub fn emulator_endpoints(base: &str) -> anyhow::Result<GoogleEndpoints> {
    Ok(GoogleEndpoints {
        userinfo: Url::parse(&format!("{base}/oauth2/v2/userinfo"))?,
        revoke: Url::parse(&format!("{base}/revoke"))?,
        gmail_api: Url::parse(&format!("{base}/"))?,
    })
}

pub(super) async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let listener = TcpListener::bind(args.listen).await.with_context(|| {
        format!(
            "cannot listen on {} (is another demo running? pass --listen)",
            args.listen
        )
    })?;
    let public_url = Url::parse(&format!("http://{}/", listener.local_addr()?))?;
    let mut client = ClientRegistration::demo();
    client.redirect_uris = vec![public_url.join(CALLBACK_PATH)?.to_string()];
    let emulator = Emulator::new(EmulatorConfig {
        auto_approve: args.auto_approve,
        quota: (!args.no_quota).then(QuotaConfig::default),
        clients: vec![client.clone()],
        users: UserSeed::demo_users(),
        ..EmulatorConfig::default()
    });
    let emulator_listener = TcpListener::bind(args.emulator_listen).await?;
    let base = format!("http://{}", emulator_listener.local_addr()?);
    let secrets_json = Emulator::client_secrets_json(&base, &client).to_string();
    let client_secrets = ClientSecrets::parse(
        &secrets_json,
        std::path::Path::new("emulator client_secrets.json"),
    )?;
    // A fresh data directory each run: the demo starts clean and leaves nothing behind.
    let data_dir = tempfile::tempdir()?;
    let (keys, _) = Keyring::load_or_generate(data_dir.path())?;
    let store = store::open(&format!(
        "sqlite://{}",
        data_dir.path().join("mailgrant.db").display()
    ))
    .await?;
    let mut settings = Settings::new(
        client_secrets,
        emulator_endpoints(&base)?,
        public_url.clone(),
        store,
        Arc::new(keys),
    );
    settings.stream = demo_stream(&emulator, &base, &public_url)?;
    let app = App::build(settings)?;
    let emulator_router = emulator.router();
    tokio::spawn(async move { axum::serve(emulator_listener, emulator_router).await });
    let users: Vec<String> = UserSeed::demo_users()
        .into_iter()
        .map(|u| u.email)
        .collect();
    println!("mailgrant demo is running.");
    println!("  Open {public_url} and click \"Connect Gmail\".");
    println!(
        "  Google is emulated at {base}; demo users: {}.",
        users.join(", ")
    );
    println!(
        "  New mail is pushed to the signed-in page as it arrives: deliver one at {} or with \
         curl -H 'Content-Type: application/json' -d '{{\"subject\": \"Hello\", \"body\": \"Hi\"}}' {base}/emulator/users/{}/messages",
        Emulator::mail_page_url(&base),
        users.first().map_or("alice@example.com", String::as_str),
    );
    println!("  Press Ctrl-C to stop.");
    run_server(listener, app).await
}

/// The demo's topic, to which Gmail (the emulator) may publish.
const DEMO_TOPIC: &str = "projects/mailgrant-emulator/topics/mailgrant-demo";
const DEMO_SUBSCRIPTION: &str = "projects/mailgrant-emulator/subscriptions/mailgrant-demo";
/// The service account the demo's pushes are signed for.
const DEMO_PUSHER: &str = "mailgrant-demo@mailgrant-emulator.iam.gserviceaccount.com";

/// Push in the demo as in production: the emulator's Gmail publishes to a
/// topic whose subscription pushes to our `/pubsub/push`, with a token
/// checked against the emulator's keys. A refused push is retried after a
/// second, not Pub/Sub's default ten.
fn demo_stream(
    emulator: &Emulator,
    base: &str,
    public_url: &Url,
) -> anyhow::Result<StreamSettings> {
    let push_url = push_url(public_url);
    emulator.create_topic(DEMO_TOPIC, true)?;
    let mut subscription = PushSubscription::new(DEMO_SUBSCRIPTION, DEMO_TOPIC, push_url.as_str());
    subscription.audience = Some(push_url.to_string());
    subscription.service_account_email = Some(DEMO_PUSHER.to_owned());
    subscription.min_backoff = Duration::from_secs(1);
    emulator.create_push_subscription(subscription)?;
    Ok(StreamSettings {
        topic: Some(DEMO_TOPIC.to_owned()),
        push: Some(PushSettings {
            certs_url: Url::parse(&Emulator::jwks_url(base))?,
            audience: push_url.to_string(),
            service_account: DEMO_PUSHER.to_owned(),
            leeway: Duration::from_secs(60),
        }),
        ..StreamSettings::default()
    })
}
