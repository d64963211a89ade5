//! Everything the emulator remembers, behind one `std::sync::Mutex` that is
//! never held across an `.await`: clients, users and their mailboxes,
//! pending consent requests, codes, tokens, grants, counters, faults and
//! the Gmail quota, the clock, Gmail watches and the emulated Pub/Sub.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::clock::Clock;
use crate::config::{ClientRegistration, EmulatorConfig, UserSeed};
use crate::faults::Faults;
use crate::gmail::watch::Watch;
use crate::ids;
use crate::mailbox::{Address, Mailbox};
use crate::pubsub::PubSub;
use crate::quota::Quota;

/// Live refresh tokens kept per user and client before the oldest stops
/// working. Google documents a limit "per client-user combination" without
/// the number; 100 is commonly quoted (reference §2, unconfirmed).
pub const MAX_LIVE_REFRESH_TOKENS: usize = 100;

/// The shared handle every handler gets.
pub type Shared = Arc<Mutex<EmulatorState>>;

/// Locks the state. A panic while it was held cannot leave it half-written
/// in a way that matters to a test double, so a poisoned lock is used as is.
pub fn lock(shared: &Shared) -> MutexGuard<'_, EmulatorState> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

pub struct User {
    pub id: String,
    pub email: String,
    pub name: String,
    pub mailbox: Mailbox,
}

/// A PKCE challenge from the authorization request (RFC 7636 §4.3).
#[derive(Clone, Debug)]
pub struct CodeChallenge {
    pub challenge: String,
    /// `S256`, or `plain` (the default when a challenge is present).
    pub s256: bool,
}

/// A validated authorization request.
#[derive(Clone, Debug)]
pub struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_uri: String,
    /// Scopes as asked for, aliases kept (they are echoed in the redirect).
    pub requested: Vec<String>,
    /// The same, canonical.
    pub scopes: Vec<String>,
    pub offline: bool,
    pub prompt_none: bool,
    pub prompt_consent: bool,
    pub prompt_select_account: bool,
    pub state: Option<String>,
    pub login_hint: Option<String>,
    pub include_granted_scopes: bool,
    pub code_challenge: Option<CodeChallenge>,
    pub nonce: Option<String>,
}

/// An authorization code waiting to be exchanged.
pub struct IssuedCode {
    pub client_id: String,
    pub user_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub code_challenge: Option<CodeChallenge>,
    /// Whether the exchange yields a refresh token (reference §1, "When a
    /// refresh token is issued").
    pub issue_refresh: bool,
    pub nonce: Option<String>,
    pub expires_at: Instant,
    pub used: bool,
}

pub struct AccessToken {
    pub user_id: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub expires_at: Instant,
    pub revoked: bool,
    /// The refresh token it was minted from, or that was issued with it.
    pub refresh_token: Option<String>,
}

impl AccessToken {
    pub fn is_live(&self, now: Instant) -> bool {
        !self.revoked && now < self.expires_at
    }
}

pub struct RefreshToken {
    pub user_id: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub revoked: bool,
    /// Issue order, to find the oldest when over the limit.
    pub serial: u64,
    /// With rotation on: the token this one replaced, revoked when this one
    /// is first used.
    pub predecessor: Option<String>,
}

/// What a user has granted one client: canonical scopes, cumulative.
pub struct Grant {
    pub scopes: Vec<String>,
}

#[derive(Default)]
pub struct Counters {
    pub authorization_code_grants: u64,
    pub refresh_token_grants: u64,
    pub revocations: u64,
    pub userinfo_calls: u64,
    pub gmail_calls: u64,
    pub batch_requests: u64,
    pub batch_parts: u64,
}

pub struct EmulatorState {
    pub auto_approve: bool,
    pub rotate_refresh_tokens: bool,
    pub code_lifetime: Duration,
    pub access_token_lifetime: Duration,
    pub clients: HashMap<String, ClientRegistration>,
    /// `disabled` or `deleted` for a client its owner switched off; absent: active.
    pub client_status: HashMap<String, String>,
    /// In creation order: the first is the default for auto-approval.
    pub users: Vec<User>,
    /// Consent pages shown and not yet answered, by request id.
    pub pending: HashMap<String, AuthorizationRequest>,
    pub codes: HashMap<String, IssuedCode>,
    pub access_tokens: HashMap<String, AccessToken>,
    pub refresh_tokens: HashMap<String, RefreshToken>,
    /// By (user id, client id).
    pub grants: HashMap<(String, String), Grant>,
    pub counters: Counters,
    pub faults: Faults,
    pub quota: Quota,
    /// Now, for every deadline the emulator keeps.
    pub clock: Clock,
    /// Gmail watches by user id.
    pub watches: HashMap<String, Watch>,
    pub pubsub: PubSub,
    next_serial: u64,
}

impl EmulatorState {
    pub fn new(config: EmulatorConfig) -> Self {
        let mut state = Self {
            auto_approve: config.auto_approve,
            rotate_refresh_tokens: config.rotate_refresh_tokens,
            code_lifetime: config.code_lifetime,
            access_token_lifetime: config.access_token_lifetime,
            clients: HashMap::new(),
            client_status: HashMap::new(),
            users: Vec::new(),
            pending: HashMap::new(),
            codes: HashMap::new(),
            access_tokens: HashMap::new(),
            refresh_tokens: HashMap::new(),
            grants: HashMap::new(),
            counters: Counters::default(),
            faults: Faults::default(),
            quota: Quota::new(config.quota),
            clock: Clock::default(),
            watches: HashMap::new(),
            pubsub: PubSub::default(),
            next_serial: 0,
        };
        for client in config.clients {
            state.clients.insert(client.client_id.clone(), client);
        }
        for seed in config.users {
            state.add_user(seed);
        }
        state
    }

    /// Adds a user unless the email is taken; returns the id and whether
    /// the user is new.
    pub fn add_user(&mut self, seed: UserSeed) -> (String, bool) {
        if let Some(user) = self.user_by_email(&seed.email) {
            return (user.id.clone(), false);
        }
        let id = ids::user_id(&seed.email);
        let owner = Address {
            name: seed.name.clone(),
            email: seed.email.clone(),
        };
        let mailbox = Mailbox::generate(&owner, &id, seed.messages, self.clock.epoch_ms());
        self.users.push(User {
            id: id.clone(),
            email: seed.email,
            name: seed.name,
            mailbox,
        });
        (id, true)
    }

    pub fn user_by_email(&self, email: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(email))
    }

    pub fn user_by_id(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    pub fn user_by_id_mut(&mut self, id: &str) -> Option<&mut User> {
        self.users.iter_mut().find(|u| u.id == id)
    }

    pub fn user_by_email_mut(&mut self, email: &str) -> Option<&mut User> {
        self.users
            .iter_mut()
            .find(|u| u.email.eq_ignore_ascii_case(email))
    }

    /// A `login_hint` is an email address or a `sub` (reference §1).
    pub fn user_by_hint(&self, hint: &str) -> Option<&User> {
        self.user_by_email(hint).or_else(|| self.user_by_id(hint))
    }

    pub fn grant(&self, user_id: &str, client_id: &str) -> Option<&Grant> {
        self.grants.get(&(user_id.to_owned(), client_id.to_owned()))
    }

    pub fn mint_access_token(
        &mut self,
        user_id: &str,
        client_id: &str,
        scopes: &[String],
        refresh_token: Option<String>,
    ) -> String {
        let token = ids::access_token();
        self.access_tokens.insert(
            token.clone(),
            AccessToken {
                user_id: user_id.to_owned(),
                client_id: client_id.to_owned(),
                scopes: scopes.to_vec(),
                expires_at: self.clock.instant() + self.access_token_lifetime,
                revoked: false,
                refresh_token,
            },
        );
        token
    }

    /// Issues a refresh token; past [`MAX_LIVE_REFRESH_TOKENS`] for this
    /// user and client, the oldest live one is revoked, as Google does.
    pub fn mint_refresh_token(
        &mut self,
        user_id: &str,
        client_id: &str,
        scopes: &[String],
    ) -> String {
        let mut live: Vec<(u64, String)> = self
            .refresh_tokens
            .iter()
            .filter(|(_, r)| !r.revoked && r.user_id == user_id && r.client_id == client_id)
            .map(|(t, r)| (r.serial, t.clone()))
            .collect();
        live.sort();
        while live.len() >= MAX_LIVE_REFRESH_TOKENS {
            let (_, oldest) = live.remove(0);
            self.revoke_refresh_token_only(&oldest);
        }
        let token = ids::refresh_token();
        self.next_serial += 1;
        self.refresh_tokens.insert(
            token.clone(),
            RefreshToken {
                user_id: user_id.to_owned(),
                client_id: client_id.to_owned(),
                scopes: scopes.to_vec(),
                revoked: false,
                serial: self.next_serial,
                predecessor: None,
            },
        );
        token
    }

    /// Revokes one refresh token and the access tokens minted from it;
    /// returns how many tokens that ended.
    pub fn revoke_refresh_token_only(&mut self, refresh_token: &str) -> usize {
        let mut ended = 0;
        if let Some(r) = self.refresh_tokens.get_mut(refresh_token)
            && !r.revoked
        {
            r.revoked = true;
            ended += 1;
        }
        let now = self.clock.instant();
        for access in self.access_tokens.values_mut() {
            if access.refresh_token.as_deref() == Some(refresh_token) && access.is_live(now) {
                access.revoked = true;
                ended += 1;
            }
        }
        ended
    }

    /// Removes what `user_id` granted `client_id` and ends every token of
    /// theirs for it, as removing an app from one's Google Account does.
    /// Returns how many live tokens that ended.
    pub fn revoke_grant(&mut self, user_id: &str, client_id: &str) -> usize {
        self.grants
            .remove(&(user_id.to_owned(), client_id.to_owned()));
        let now = self.clock.instant();
        let mut ended = 0;
        for r in self.refresh_tokens.values_mut() {
            if r.user_id == user_id && r.client_id == client_id && !r.revoked {
                r.revoked = true;
                ended += 1;
            }
        }
        for a in self.access_tokens.values_mut() {
            if a.user_id == user_id && a.client_id == client_id && a.is_live(now) {
                a.revoked = true;
                ended += 1;
            }
        }
        ended
    }

    /// Number of live refresh tokens of a grant.
    pub fn live_refresh_tokens(&self, user_id: &str, client_id: &str) -> usize {
        self.refresh_tokens
            .values()
            .filter(|r| !r.revoked && r.user_id == user_id && r.client_id == client_id)
            .count()
    }
}
