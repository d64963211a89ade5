//! The `mailgrant` command line: `demo`, `serve`, `emulator`, and operator
//! commands on the store. Every flag also reads a `MAILGRANT_*` variable.

mod events;
mod messages;
mod operator;
mod servers;

pub use servers::emulator_endpoints;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use mailgrant::config::{ClientSecrets, DEFAULT_SCOPES, GoogleEndpoints};
use mailgrant::crypto::{KeySource, Keyring};
use mailgrant::store::{self, CredentialStore};
use url::Url;

use crate::state::{App, Settings};

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
    Serve(Box<ServeArgs>),
    /// Run the local stand-in for Google's OAuth, userinfo, revoke and Gmail endpoints.
    Emulator(EmulatorArgs),
    /// Stored users: list, show, print a fresh access token, revoke and delete.
    #[command(subcommand)]
    Users(UsersCommand),
    /// A stored user's messages.
    #[command(subcommand)]
    Messages(MessagesCommand),
    /// Encryption keys of stored tokens.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// The change stream: events of every user's mailbox.
    #[command(subcommand)]
    Events(EventsCommand),
}

#[derive(Subcommand)]
pub enum EventsCommand {
    /// Print events as JSON lines (from the ten latest, or after --after),
    /// then new ones as they come.
    Tail {
        /// Only this user's (id or email).
        #[arg(long)]
        user: Option<String>,
        /// Start after this event id.
        #[arg(long)]
        after: Option<i64>,
        /// Stop when caught up instead of waiting for more.
        #[arg(long)]
        once: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Args)]
pub struct DemoArgs {
    /// Where the mailgrant server listens. Not `MAILGRANT_LISTEN`: that is
    /// `serve`'s, and a demo must not take over a real server's address.
    #[arg(long, env = "MAILGRANT_DEMO_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Where the emulated Google listens (port 0: any free port).
    #[arg(long, env = "MAILGRANT_EMULATOR_LISTEN", default_value = "127.0.0.1:0")]
    emulator_listen: SocketAddr,
    /// Approve consent at once for the login_hint user (for scripts).
    #[arg(long, env = "MAILGRANT_AUTO_APPROVE")]
    auto_approve: bool,
    /// Do not enforce Gmail's per-user quota (15,000 units a minute) in the emulator.
    #[arg(long, env = "MAILGRANT_NO_QUOTA")]
    no_quota: bool,
}

/// Where credentials are kept and how they are encrypted.
#[derive(Args)]
pub struct StoreArgs {
    /// Database URL: `sqlite://PATH` (default `sqlite://DATA_DIR/mailgrant.db`),
    /// or `postgres://USER@HOST/DB` for several replicas.
    #[arg(long, env = "MAILGRANT_DATABASE", hide_env_values = true)]
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
    /// Scopes incremental authorization may ask for later, beside --scopes
    /// (space or comma separated); `/oauth2/authorize?scope=` refuses others.
    #[arg(
        long,
        env = "MAILGRANT_OPTIONAL_SCOPES",
        value_delimiter = ',',
        num_args = 1..
    )]
    optional_scopes: Vec<String>,
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
    /// Refresh access tokens this many seconds before they expire.
    #[arg(long, env = "MAILGRANT_REFRESH_MARGIN", default_value_t = 300)]
    refresh_margin: u64,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Args)]
pub struct ServeArgs {
    #[arg(long, env = "MAILGRANT_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Keys that may call the token API (/v1); comma separated. A key, or
    /// `sha256:HEX` of one. None: the token API answers 401.
    #[arg(
        long = "api-key",
        env = "MAILGRANT_API_KEYS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    api_keys: Vec<String>,
    /// POST signed events here: mailbox changes (from the durable outbox) and
    /// credential events (created, refreshed after a failure, revoked).
    #[arg(long, env = "MAILGRANT_WEBHOOK_URL", requires = "webhook_secret")]
    webhook_url: Option<Url>,
    /// HMAC-SHA256 key of the webhook's `X-Mailgrant-Signature` (not empty).
    #[arg(long, env = "MAILGRANT_WEBHOOK_SECRET", hide_env_values = true)]
    webhook_secret: Option<String>,
    /// How long a browser session lasts at most: seconds, or a number with
    /// `s`, `m`, `h` or `d` (`30d`, `12h`).
    #[arg(long, env = "MAILGRANT_SESSION_MAX_AGE", default_value = "30d", value_parser = parse_duration)]
    session_max_age: Duration,
    /// Start without asking Google's token endpoint whether it accepts the
    /// OAuth client (for starts without network).
    #[arg(long, env = "MAILGRANT_SKIP_CLIENT_CHECK")]
    skip_client_check: bool,
    #[command(flatten)]
    stream: StreamArgs,
    #[command(flatten)]
    google: GoogleArgs,
}

/// Knowing when mail arrives.
#[derive(Args)]
pub struct StreamArgs {
    /// Watch every connected mailbox with this Cloud Pub/Sub topic
    /// (`projects/P/topics/T`); without it, mailboxes are polled.
    #[arg(long, env = "MAILGRANT_PUBSUB_TOPIC")]
    pubsub_topic: Option<String>,
    /// The service account the push subscription authenticates as; pushes
    /// to /pubsub/push are accepted only with Google's JWT for it.
    #[arg(long, env = "MAILGRANT_PUBSUB_SERVICE_ACCOUNT")]
    pubsub_service_account: Option<String>,
    /// The audience of the push subscription's JWT (default
    /// PUBLIC_URL/pubsub/push, as Google's default).
    #[arg(long, env = "MAILGRANT_PUBSUB_AUDIENCE")]
    pubsub_audience: Option<String>,
    /// Google's keys for push JWTs (a JWKS).
    #[arg(
        long,
        env = "MAILGRANT_GOOGLE_CERTS_URL",
        default_value = "https://www.googleapis.com/oauth2/v3/certs"
    )]
    google_certs_url: Url,
    /// How often an unwatched mailbox is polled (watched ones too when no
    /// push came for ten times this): seconds, or with a unit (`2s`, `1h`).
    #[arg(long, env = "MAILGRANT_POLL_INTERVAL", default_value = "60s", value_parser = parse_duration)]
    poll_interval: Duration,
    /// How long the webhook delivery of an event is retried.
    #[arg(long, env = "MAILGRANT_WEBHOOK_MAX_AGE", default_value = "3d", value_parser = parse_duration)]
    webhook_max_age: Duration,
    /// Do not watch, poll, sync or deliver events in this process; pushes it
    /// receives are recorded and left to the replicas that do.
    #[arg(
        long,
        env = "MAILGRANT_NO_CHANGE_STREAM",
        conflicts_with = "pubsub_topic"
    )]
    no_change_stream: bool,
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
    /// Do not enforce Gmail's per-user quota (15,000 units a minute) in the emulator.
    #[arg(long, env = "MAILGRANT_NO_QUOTA")]
    no_quota: bool,
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
    /// Try the user's stored refresh token once; a revocation that turns out
    /// to be wrong is cleared when Google accepts it.
    Recheck {
        user: String,
        #[command(flatten)]
        google: GoogleArgs,
    },
    /// Write the user's grant as Google's `authorized_user` JSON (holds the refresh token).
    Export {
        user: String,
        /// File to write (created with 0600 rights); default stdout.
        #[arg(long)]
        output: Option<PathBuf>,
        #[command(flatten)]
        google: GoogleArgs,
    },
    /// Store a grant from Google's `authorized_user` JSON (as google-auth writes it).
    Import {
        file: PathBuf,
        #[command(flatten)]
        google: GoogleArgs,
    },
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Print a new random key for MAILGRANT_ENCRYPTION_KEY.
    Generate,
    /// Re-encrypt every stored token with the current key. With the key file
    /// (no MAILGRANT_ENCRYPTION_KEY), a new key is generated first and put in
    /// front; old keys stay in the file, readable, until you remove them.
    Rotate {
        #[command(flatten)]
        store: StoreArgs,
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
    /// Every message as a JSON line; with --state, later runs send only the changes.
    ///
    /// Lines are {"type":"message",…the message…} (new, or its labels changed),
    /// {"type":"deleted","id":…} and {"type":"unmatched","id":…} (relabelled out
    /// of the selection). A progress bar and a one-line summary go to stderr.
    Sync {
        /// The user's id or email.
        user: String,
        /// Gmail search operators selecting the messages (default: all but SPAM and TRASH).
        #[arg(long)]
        query: Option<String>,
        #[arg(long, value_enum, default_value_t = SyncFormat::Metadata)]
        format: SyncFormat,
        /// Headers that --format metadata keeps (repeat or comma-separate; default all).
        #[arg(long = "header", value_delimiter = ',')]
        headers: Vec<String>,
        /// Write the JSON lines to FILE (replaced each run) instead of stdout.
        #[arg(long)]
        output: Option<PathBuf>,
        /// Keep the history id in FILE: the next run with it sends only the changes.
        #[arg(long)]
        state: Option<PathBuf>,
        #[command(flatten)]
        google: GoogleArgs,
    },
}

/// `format` of `messages.get` for `messages sync`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SyncFormat {
    /// Ids, labels, snippet and dates.
    Minimal,
    /// Also the headers.
    Metadata,
    /// The parsed MIME tree with bodies.
    Full,
    /// The whole RFC 2822 message, base64url.
    Raw,
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Demo(args) => servers::demo(args).await,
            Command::Serve(args) => servers::serve(*args).await,
            Command::Emulator(args) => servers::emulator(args).await,
            Command::Users(command) => operator::users(command).await,
            Command::Messages(command) => messages::messages(command).await,
            Command::Keys(command) => operator::keys(command).await,
            Command::Events(command) => events::events(command).await,
        }
    }
}

impl StoreArgs {
    async fn open(&self) -> anyhow::Result<(Arc<dyn CredentialStore>, Arc<Keyring>)> {
        let shared = self.database.as_deref().is_some_and(store::is_shared);
        if shared && self.encryption_key.is_none() {
            anyhow::bail!(
                "a PostgreSQL database is shared by replicas, and every replica must read the tokens the others wrote: set the same MAILGRANT_ENCRYPTION_KEY (or --encryption-key) on each (`mailgrant keys generate` makes one) instead of a key file of this machine's own"
            );
        }
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

/// Scopes given space or comma separated, in one value or several.
fn split_scopes(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|s| s.split_whitespace())
        .map(str::to_owned)
        .collect()
}

/// `3600`, `3600s`, `60m`, `12h` or `30d`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last() {
        Some((at, c)) if c.is_ascii_alphabetic() => (&text[..at], c),
        _ => (text, 's'),
    };
    let seconds_per = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        other => return Err(format!("unknown unit `{other}`: use s, m, h or d")),
    };
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 3600, 90m, 12h or 30d"))?;
    match number.checked_mul(seconds_per) {
        Some(0) => Err("a duration must be more than zero".to_owned()),
        Some(seconds) => Ok(Duration::from_secs(seconds)),
        None => Err(format!("`{text}` is too long")),
    }
}

impl GoogleArgs {
    /// The app of a one-shot command: the change stream does not run.
    async fn app(&self) -> anyhow::Result<App> {
        let mut settings = self.settings().await?;
        settings.stream.run = false;
        Ok(App::build(settings)?)
    }

    async fn settings(&self) -> anyhow::Result<Settings> {
        let client_secrets = ClientSecrets::load(&self.client_secrets)?;
        // Refuse before anything is created on disk.
        client_secrets
            .ensure_redirect_uri(crate::state::redirect_uri(&self.public_url)?.as_str())?;
        let (store, keys) = self.store.open().await?;
        let scopes = if self.scopes.is_empty() {
            DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect()
        } else {
            split_scopes(&self.scopes)
        };
        let endpoints = GoogleEndpoints {
            userinfo: self.userinfo_url.clone(),
            revoke: self.revoke_url.clone(),
            gmail_api: self.gmail_api_url.clone(),
        };
        let mut settings = Settings::new(
            client_secrets,
            endpoints,
            self.public_url.clone(),
            store,
            keys,
        );
        settings.scopes = scopes;
        settings.optional_scopes = split_scopes(&self.optional_scopes);
        settings.refresh_margin = Duration::from_secs(self.refresh_margin);
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_seconds_or_a_unit() {
        assert_eq!(parse_duration("3600"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("90m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("12h"), Ok(Duration::from_secs(43_200)));
        assert_eq!(parse_duration("30d"), Ok(Duration::from_secs(2_592_000)));
        assert!(parse_duration("0").unwrap_err().contains("more than zero"));
        assert!(parse_duration("3w").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("").is_err());
    }
}
