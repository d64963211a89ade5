//! What the emulator starts with: its registered OAuth clients, its users,
//! the lifetimes of the codes and tokens it issues, and the Gmail quota.

use std::time::Duration;

/// How an [`crate::Emulator`] behaves and what it knows at start.
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    /// Approve authorization requests at once, without a consent page, for
    /// the `login_hint` user or else the first user. Meant for scripted
    /// tests and the demo; a hint naming nobody still shows the page.
    pub auto_approve: bool,
    /// OAuth clients as registered in a Google Cloud console.
    pub clients: Vec<ClientRegistration>,
    /// Google accounts, each with a generated mailbox.
    pub users: Vec<UserSeed>,
    /// How long an authorization code can be exchanged. Google documents
    /// codes as single use but not their lifetime (reference §2, "Code
    /// lifetime", unconfirmed); ten minutes is the RFC 6749 §4.1.2 maximum.
    pub code_lifetime: Duration,
    /// Lifetime of access tokens; live Google responses say `3599`.
    pub access_token_lifetime: Duration,
    /// Answer every refresh with a new refresh token, as RFC 6749 §6 allows
    /// and Google does not do (reference §2, "Refresh response"). The old one
    /// stays valid until the new one is first used (refresh token rotation,
    /// RFC 6819 §5.2.2.3), so a client that failed to store the new one
    /// keeps a working grant. For testing clients against rotation.
    pub rotate_refresh_tokens: bool,
    /// The per-user Gmail quota; `None` turns quota checks off.
    pub quota: Option<QuotaConfig>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            auto_approve: false,
            clients: vec![ClientRegistration::demo()],
            users: UserSeed::demo_users(),
            code_lifetime: Duration::from_secs(10 * 60),
            access_token_lifetime: Duration::from_secs(3599),
            rotate_refresh_tokens: false,
            quota: Some(QuotaConfig::default()),
        }
    }
}

/// A per-user Gmail quota: at most `units` quota units in any sliding
/// `window` (reference §7). Method costs are Google's units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotaConfig {
    pub units: u32,
    pub window: Duration,
}

impl Default for QuotaConfig {
    /// Google's "15,000 units/user/min" (reference §7). A sliding window
    /// also allows the "short bursts" the older quota page mentions.
    fn default() -> Self {
        Self {
            units: 15_000,
            window: Duration::from_secs(60),
        }
    }
}

/// One OAuth client ("Web application" type) as Google's console holds it.
#[derive(Clone, Debug)]
pub struct ClientRegistration {
    pub client_id: String,
    pub client_secret: String,
    /// Exact redirect URIs: Google compares scheme, case and trailing slash.
    pub redirect_uris: Vec<String>,
}

impl ClientRegistration {
    /// The client the `mailgrant demo` command uses.
    pub fn demo() -> Self {
        Self {
            client_id: "mailgrant-demo.apps.googleusercontent.com".to_owned(),
            client_secret: "GOCSPX-emulator-demo-secret".to_owned(),
            redirect_uris: vec![
                "http://127.0.0.1:8080/oauth2callback".to_owned(),
                "http://localhost:8080/oauth2callback".to_owned(),
            ],
        }
    }
}

/// A Google account to create, with a mailbox of `messages` generated messages.
#[derive(Clone, Debug)]
pub struct UserSeed {
    pub email: String,
    pub name: String,
    pub messages: usize,
}

impl UserSeed {
    /// Alice (250 messages) and Bob (40 messages).
    pub fn demo_users() -> Vec<UserSeed> {
        vec![
            UserSeed {
                email: "alice@example.com".to_owned(),
                name: "Alice Example".to_owned(),
                messages: 250,
            },
            UserSeed {
                email: "bob@example.com".to_owned(),
                name: "Bob Example".to_owned(),
                messages: 40,
            },
        ]
    }
}
