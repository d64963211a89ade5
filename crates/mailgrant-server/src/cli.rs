//! The `mailgrant` command line: `demo`, `serve`, `emulator`, and operator
//! commands on the store. Every flag also reads a `MAILGRANT_*` variable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use google_emulator::{ClientRegistration, Emulator, EmulatorConfig, UserSeed};
use mailgrant::broker::DEFAULT_REFRESH_MARGIN;
use mailgrant::config::{ClientSecrets, DEFAULT_SCOPES, GoogleEndpoints};
use mailgrant::crypto::{KeySource, Keyring};
use mailgrant::gmail::ListMessages;
use mailgrant::store::{self, CredentialStore, StoredCredential};
use mailgrant::{ExposeSecret, SecretString};
use tokio::net::TcpListener;
use url::Url;

use crate::state::{App, AppState, CALLBACK_PATH, Settings};

#[derive(Parser)]
#[command(
    name = "mailgrant",
    version,
    about = "Act on a user's Gmail while the user is away"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Emulator and server in one process, with demo users and seeded mailboxes.
    Demo(DemoArgs),
    /// Run the web server against Google (or an emulator).
    Serve(ServeArgs),
    /// Run the local stand-in for Google's OAuth, userinfo, revoke and Gmail endpoints.
    Emulator(EmulatorArgs),
    /// Stored users: list, show, print a fresh access token, revoke and delete.
    #[command(subcommand)]
    Users(UsersCommand),
    /// A stored user's messages.
    #[command(subcommand)]
    Messages(MessagesCommand),
}

#[derive(Args)]
pub struct DemoArgs {
    /// Where the mailgrant server listens.
    #[arg(long, env = "MAILGRANT_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Where the emulated Google listens (port 0: any free port).
    #[arg(long, env = "MAILGRANT_EMULATOR_LISTEN", default_value = "127.0.0.1:0")]
    emulator_listen: SocketAddr,
    /// Approve consent at once for the login_hint user (for scripts).
    #[arg(long, env = "MAILGRANT_AUTO_APPROVE")]
    auto_approve: bool,
}

/// Where credentials are kept and how they are encrypted.
#[derive(Args)]
pub struct StoreArgs {
    /// Database URL; default `sqlite://DATA_DIR/mailgrant.db`.
    #[arg(long, env = "MAILGRANT_DATABASE")]
    database: Option<String>,
    /// Directory for the embedded database and a generated key file.
    #[arg(long, env = "MAILGRANT_DATA_DIR", default_value = ".mailgrant")]
    data_dir: PathBuf,
    /// Base64 of 32 random bytes; several, comma-separated, to rotate (first is current).
    /// Default: a key file in the data directory, generated on first use.
    #[arg(long, env = "MAILGRANT_ENCRYPTION_KEY", hide_env_values = true)]
    encryption_key: Option<String>,
}

/// The OAuth client and Google's endpoints.
#[derive(Args)]
pub struct GoogleArgs {
    /// Google's client_secrets.json for this app.
    #[arg(long, env = "MAILGRANT_CLIENT_SECRETS")]
    client_secrets: PathBuf,
    /// The URL users reach this server at; the redirect URI is PUBLIC_URL/oauth2callback.
    #[arg(
        long,
        env = "MAILGRANT_PUBLIC_URL",
        default_value = "http://localhost:8080"
    )]
    public_url: Url,
    /// Scopes to request (space or comma separated).
    #[arg(long, env = "MAILGRANT_SCOPES", value_delimiter = ',', num_args = 1..)]
    scopes: Vec<String>,
    #[arg(
        long,
        env = "MAILGRANT_USERINFO_URL",
        default_value = "https://www.googleapis.com/oauth2/v2/userinfo"
    )]
    userinfo_url: Url,
    #[arg(
        long,
        env = "MAILGRANT_REVOKE_URL",
        default_value = "https://oauth2.googleapis.com/revoke"
    )]
    revoke_url: Url,
    #[arg(
        long,
        env = "MAILGRANT_GMAIL_API_URL",
        default_value = "https://gmail.googleapis.com/"
    )]
    gmail_api_url: Url,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Args)]
pub struct ServeArgs {
    #[arg(long, env = "MAILGRANT_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    #[command(flatten)]
    google: GoogleArgs,
}

#[derive(Args)]
pub struct EmulatorArgs {
    #[arg(
        long,
        env = "MAILGRANT_EMULATOR_LISTEN",
        default_value = "127.0.0.1:8081"
    )]
    listen: SocketAddr,
    /// Write a client_secrets.json that points at this emulator.
    #[arg(long)]
    write_client_secrets: Option<PathBuf>,
    /// Approve consent at once for the login_hint user (or the first user).
    #[arg(long, env = "MAILGRANT_AUTO_APPROVE")]
    auto_approve: bool,
    /// Redirect URIs registered for the demo client (default: port 8080 on localhost and 127.0.0.1).
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
}

#[derive(Subcommand)]
pub enum UsersCommand {
    /// Every stored user, one a line.
    List {
        #[command(flatten)]
        google: GoogleArgs,
    },
    /// One user (id or email), without tokens.
    Show {
        user: String,
        #[command(flatten)]
        google: GoogleArgs,
    },
    /// Print a fresh access token for the user on stdout.
    Token {
        user: String,
        #[command(flatten)]
        google: GoogleArgs,
    },
    /// Revoke the grant at Google and delete the stored credentials.
    Revoke {
        user: String,
        #[command(flatten)]
        google: GoogleArgs,
    },
}

#[derive(Subcommand)]
pub enum MessagesCommand {
    /// One page of the user's messages: id and thread id a line.
    List {
        user: String,
        #[arg(long)]
        query: Option<String>,
        #[arg(long, default_value_t = 20)]
        max_results: u32,
        #[command(flatten)]
        google: GoogleArgs,
    },
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Demo(args) => demo(args).await,
            Command::Serve(args) => serve(args).await,
            Command::Emulator(args) => emulator(args).await,
            Command::Users(command) => users(command).await,
            Command::Messages(MessagesCommand::List {
                user,
                query,
                max_results,
                google,
            }) => {
                let app = google.app().await?;
                let user = resolve(&app, &user).await?;
                let params = ListMessages {
                    q: query,
                    max_results: Some(max_results),
                    page_token: None,
                };
                let page = app
                    .gmail
                    .user(&user.user_id)
                    .list_messages(&params)
                    .await
                    .map_err(explain(&user))?;
                for message in page.messages {
                    println!("{}\t{}", message.id, message.thread_id);
                }
                Ok(())
            }
        }
    }
}

impl StoreArgs {
    async fn open(&self) -> anyhow::Result<(Arc<dyn CredentialStore>, Arc<Keyring>)> {
        let keys = match &self.encryption_key {
            Some(value) => Keyring::from_config(value).context("MAILGRANT_ENCRYPTION_KEY")?,
            None => {
                let (keys, source) = Keyring::load_or_generate(&self.data_dir)?;
                if let KeySource::GeneratedKeyFile(path) = source {
                    tracing::warn!(
                        path = %path.display(),
                        "generated a new encryption key for stored tokens; keep this file (or set MAILGRANT_ENCRYPTION_KEY): without it stored tokens cannot be read"
                    );
                }
                keys
            }
        };
        let url = match &self.database {
            Some(url) => url.clone(),
            None => {
                std::fs::create_dir_all(&self.data_dir)
                    .with_context(|| format!("creating {}", self.data_dir.display()))?;
                format!("sqlite://{}", self.data_dir.join("mailgrant.db").display())
            }
        };
        let store = store::open(&url)
            .await
            .context("opening the credential store")?;
        Ok((store, Arc::new(keys)))
    }
}

impl GoogleArgs {
    async fn app(&self) -> anyhow::Result<App> {
        let client_secrets = ClientSecrets::load(&self.client_secrets)?;
        // Refuse before anything is created on disk.
        client_secrets
            .ensure_redirect_uri(crate::state::redirect_uri(&self.public_url)?.as_str())?;
        let (store, keys) = self.store.open().await?;
        let scopes = if self.scopes.is_empty() {
            DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect()
        } else {
            self.scopes
                .iter()
                .flat_map(|s| s.split_whitespace())
                .map(str::to_owned)
                .collect()
        };
        let settings = Settings {
            client_secrets,
            endpoints: GoogleEndpoints {
                userinfo: self.userinfo_url.clone(),
                revoke: self.revoke_url.clone(),
                gmail_api: self.gmail_api_url.clone(),
            },
            public_url: self.public_url.clone(),
            scopes,
            store,
            keys,
            refresh_margin: DEFAULT_REFRESH_MARGIN,
        };
        Ok(App::build(settings)?)
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let app = args
        .google
        .app()
        .await
        .context("mailgrant serve cannot start")?;
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    tracing::info!(listen = %args.listen, redirect_uri = %app.redirect_uri, "mailgrant is serving");
    run_server(listener, app).await
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

async fn emulator(args: EmulatorArgs) -> anyhow::Result<()> {
    let mut client = ClientRegistration::demo();
    if !args.redirect_uris.is_empty() {
        client.redirect_uris = args.redirect_uris;
    }
    let emulator = Emulator::new(EmulatorConfig {
        auto_approve: args.auto_approve,
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

async fn demo(args: DemoArgs) -> anyhow::Result<()> {
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
    let app = App::build(Settings {
        client_secrets,
        endpoints: emulator_endpoints(&base)?,
        public_url: public_url.clone(),
        scopes: DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
        store,
        keys: Arc::new(keys),
        refresh_margin: DEFAULT_REFRESH_MARGIN,
    })?;
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
    println!("  Press Ctrl-C to stop.");
    run_server(listener, app).await
}

async fn resolve(app: &App, user: &str) -> anyhow::Result<StoredCredential> {
    let store = app.broker.store();
    let found = if user.contains('@') {
        store.find_by_email(user).await?
    } else {
        store.get(user).await?
    };
    found.with_context(|| format!("no stored user {user}"))
}

/// Turns "authorize again" into a message that names the user and the URL.
fn explain(user: &StoredCredential) -> impl Fn(mailgrant::Error) -> anyhow::Error + '_ {
    move |error| match error {
        mailgrant::Error::ReauthorizationRequired {
            authorization_url,
            reason,
            ..
        } => anyhow::anyhow!(
            "user {} ({}) must authorize again: {reason}; send them to {authorization_url}",
            user.email.as_deref().unwrap_or("-"),
            user.user_id
        ),
        other => other.into(),
    }
}

fn status(credential: &StoredCredential) -> String {
    match &credential.revoked {
        Some(revocation) => format!("revoked ({})", revocation.reason),
        None => "active".to_owned(),
    }
}

async fn users(command: UsersCommand) -> anyhow::Result<()> {
    match command {
        UsersCommand::List { google } => {
            let app = google.app().await?;
            let mut after: Option<String> = None;
            loop {
                let page = app.broker.store().list(after.as_deref(), 200).await?;
                for user in &page {
                    println!(
                        "{}\t{}\t{}",
                        user.user_id,
                        user.email.as_deref().unwrap_or("-"),
                        status(user)
                    );
                }
                match page.last() {
                    Some(last) if page.len() == 200 => after = Some(last.user_id.clone()),
                    _ => return Ok(()),
                }
            }
        }
        UsersCommand::Show { user, google } => {
            let app = google.app().await?;
            let user = resolve(&app, &user).await?;
            println!("id:            {}", user.user_id);
            println!("email:         {}", user.email.as_deref().unwrap_or("-"));
            println!("name:          {}", user.name.as_deref().unwrap_or("-"));
            println!("status:        {}", status(&user));
            println!(
                "refresh token: {}",
                if user.refresh_token.is_some() {
                    "stored (encrypted)"
                } else {
                    "none"
                }
            );
            println!("scopes:        {}", user.scopes.join(" "));
            Ok(())
        }
        UsersCommand::Token { user, google } => {
            let app = google.app().await?;
            let user = resolve(&app, &user).await?;
            let token = app
                .broker
                .access_token(&user.user_id)
                .await
                .map_err(explain(&user))?;
            let remaining = token.expires_at - now();
            eprintln!(
                "expires in {}s; scopes: {}",
                remaining,
                token.scopes.join(" ")
            );
            println!("{}", expose(&token.access_token));
            Ok(())
        }
        UsersCommand::Revoke { user, google } => {
            let app = google.app().await?;
            let user = resolve(&app, &user).await?;
            if !app.broker.disconnect(&user.user_id).await? {
                bail!("no stored user {}", user.user_id);
            }
            println!("revoked at Google and deleted: {}", user.user_id);
            Ok(())
        }
    }
}

/// The one place the CLI prints a token: the operator asked for it.
fn expose(token: &SecretString) -> &str {
    token.expose_secret()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs() as i64
}
