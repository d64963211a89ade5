//! Login state and the signed-in user, kept in encrypted, HttpOnly, SameSite=Lax
//! cookies so that any replica can serve any request. Behind https the
//! cookies are `Secure` and carry the `__Host-` prefix: the browser then
//! takes them only from this origin, over https, for the whole site (no
//! `Domain`, `Path=/`), so a sibling subdomain cannot plant one
//! (https://datatracker.ietf.org/doc/html/draft-ietf-httpbis-rfc6265bis#section-4.1.3.2).

use std::time::Duration;

use axum::http::HeaderMap;
use axum_extra::extract::PrivateCookieJar;
use axum_extra::extract::cookie::{Cookie, Key, SameSite};
use mailgrant::oauth::PendingAuthorization;
use mailgrant::store::{CredentialStore, StoreError, now_unix, now_unix_ms};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Cookie names over plain http, and behind https.
const LOGIN_COOKIE: [&str; 2] = ["mailgrant_login", "__Host-mailgrant_login"];
const SESSION_COOKIE: [&str; 2] = ["mailgrant_session", "__Host-mailgrant_session"];
/// How long a user may take on Google's consent screen.
const LOGIN_TTL_SECS: i64 = 15 * 60;
/// How far another replica's clock may run ahead of ours.
const CLOCK_SKEW_MS: i64 = 60_000;
/// The default of `--session-max-age`.
pub const DEFAULT_SESSION_MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);

/// Between `/oauth2/authorize` and the callback.
#[derive(Serialize, Deserialize)]
pub struct Login {
    pub pending: PendingAuthorization,
    pub issued_at: i64,
}

/// The signed-in user.
#[derive(Clone, Serialize, Deserialize)]
pub struct Session {
    pub user_id: String,
    pub email: Option<String>,
    /// Unix milliseconds: the session ends `--session-max-age` later, or
    /// when the user's sessions are ended after it (logout, disconnect, a
    /// new consent), on any replica. A cookie without it is no session.
    pub issued_at_ms: i64,
}

/// The login and session cookies of this deployment.
#[derive(Clone)]
pub struct Cookies {
    /// The public URL is https: `Secure` and `__Host-` names.
    secure: bool,
    /// Every key that may have encrypted a cookie, the one that encrypts
    /// now first: replicas part-way through a key rotation read each
    /// other's cookies.
    keys: Vec<Key>,
    max_age: Duration,
}

impl std::fmt::Debug for Cookies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cookies")
            .field("secure", &self.secure)
            .field("keys", &self.keys.len())
            .field("max_age", &self.max_age)
            .finish()
    }
}

impl Cookies {
    pub fn new(secure: bool, keys: Vec<Key>, max_age: Duration) -> Self {
        assert!(!keys.is_empty(), "a cookie key is configured");
        Self {
            secure,
            keys,
            max_age,
        }
    }

    fn name(&self, names: [&'static str; 2]) -> &'static str {
        names[usize::from(self.secure)]
    }

    /// Cookie `name` of the request, decrypted with whichever key made it.
    fn read<T: DeserializeOwned>(&self, headers: &HeaderMap, name: &str) -> Option<T> {
        self.keys.iter().find_map(|key| {
            let cookie = PrivateCookieJar::from_headers(headers, key.clone()).get(name)?;
            serde_json::from_str(cookie.value()).ok()
        })
    }

    fn cookie(&self, name: &'static str, value: String, max_age: i64) -> Cookie<'static> {
        Cookie::build((name, value))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .max_age(time::Duration::seconds(max_age))
            .build()
    }

    /// What removes cookie `name`: the same attributes, or a `__Host-`
    /// removal would itself be refused.
    fn removal(&self, name: &'static str) -> Cookie<'static> {
        Cookie::build(name).path("/").secure(self.secure).build()
    }

    pub fn start_login(
        &self,
        jar: PrivateCookieJar,
        pending: PendingAuthorization,
    ) -> PrivateCookieJar {
        let login = Login {
            pending,
            issued_at: now_unix(),
        };
        let value = serde_json::to_string(&login).expect("serializable");
        jar.add(self.cookie(self.name(LOGIN_COOKIE), value, LOGIN_TTL_SECS))
    }

    /// Takes the login state out of the jar (it is single-use): `None` when it is
    /// missing, unreadable or too old.
    pub fn take_login(
        &self,
        jar: PrivateCookieJar,
        headers: &HeaderMap,
    ) -> (PrivateCookieJar, Option<Login>) {
        let name = self.name(LOGIN_COOKIE);
        let login = self
            .read::<Login>(headers, name)
            .filter(|l| now_unix() - l.issued_at <= LOGIN_TTL_SECS);
        (jar.remove(self.removal(name)), login)
    }

    pub fn sign_in(&self, jar: PrivateCookieJar, session: &Session) -> PrivateCookieJar {
        let value = serde_json::to_string(session).expect("serializable");
        let max_age = self.max_age.as_secs() as i64;
        jar.add(self.cookie(self.name(SESSION_COOKIE), value, max_age))
    }

    /// The session cookie's user, if it is one of ours and younger than
    /// `--session-max-age`. Whether it was ended since is [`still_valid`]'s.
    pub fn current(&self, headers: &HeaderMap) -> Option<Session> {
        let session: Session = self.read(headers, self.name(SESSION_COOKIE))?;
        let age_ms = now_unix_ms().saturating_sub(session.issued_at_ms);
        // Another replica's clock may run a little ahead of ours.
        (age_ms >= -CLOCK_SKEW_MS && i128::from(age_ms) < self.max_age.as_millis() as i128)
            .then_some(session)
    }

    pub fn sign_out(&self, jar: PrivateCookieJar) -> PrivateCookieJar {
        jar.remove(self.removal(self.name(SESSION_COOKIE)))
    }
}

/// Whether the user's sessions were ended (on any replica) after `session`
/// was issued.
pub async fn still_valid(
    store: &dyn CredentialStore,
    session: &Session,
) -> Result<bool, StoreError> {
    let cutoff = store.session_cutoff(&session.user_id).await?;
    Ok(cutoff.is_none_or(|cutoff| session.issued_at_ms > cutoff))
}

/// Ends every session of `user_id` so far, on every replica.
pub async fn end_all(store: &dyn CredentialStore, user_id: &str) -> Result<(), StoreError> {
    store.end_sessions(user_id, now_unix_ms()).await
}

/// A new session for the user; a new consent (a new refresh token) first
/// ends every earlier one, so a cookie copied before it is refused.
pub async fn begin(
    store: &dyn CredentialStore,
    user_id: String,
    email: Option<String>,
    new_consent: bool,
) -> Result<Session, StoreError> {
    let now = now_unix_ms();
    if new_consent {
        store.end_sessions(&user_id, now).await?;
    }
    Ok(Session {
        user_id,
        email,
        // After the cutoff just set, even within the same millisecond.
        issued_at_ms: now + 1,
    })
}

/// Records the login's state as used, on every replica; `false` when it
/// was used already (a replayed callback with a copied login cookie).
pub async fn use_state(store: &dyn CredentialStore, login: &Login) -> Result<bool, StoreError> {
    let hash: String = Sha256::digest(login.pending.state.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let expires_at_ms = (login.issued_at + LOGIN_TTL_SECS + 60) * 1000;
    store.use_state(&hash, expires_at_ms).await
}
