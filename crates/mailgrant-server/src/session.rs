//! Login state and the signed-in user, kept in encrypted, HttpOnly, SameSite=Lax
//! cookies so that any replica can serve any request. Behind https the
//! cookies are `Secure` and carry the `__Host-` prefix: the browser then
//! takes them only from this origin, over https, for the whole site (no
//! `Domain`, `Path=/`), so a sibling subdomain cannot plant one
//! (https://datatracker.ietf.org/doc/html/draft-ietf-httpbis-rfc6265bis#section-4.1.3.2).

use axum_extra::extract::PrivateCookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use mailgrant::oauth::PendingAuthorization;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Cookie names over plain http, and behind https.
const LOGIN_COOKIE: [&str; 2] = ["mailgrant_login", "__Host-mailgrant_login"];
const SESSION_COOKIE: [&str; 2] = ["mailgrant_session", "__Host-mailgrant_session"];
/// How long a user may take on Google's consent screen.
const LOGIN_TTL_SECS: i64 = 15 * 60;
const SESSION_TTL_SECS: i64 = 30 * 24 * 3600;

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
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

fn read<T: DeserializeOwned>(jar: &PrivateCookieJar, name: &str) -> Option<T> {
    serde_json::from_str(jar.get(name)?.value()).ok()
}

/// The login and session cookies of this deployment.
#[derive(Clone, Copy, Debug)]
pub struct Cookies {
    /// The public URL is https: `Secure` and `__Host-` names.
    secure: bool,
}

impl Cookies {
    pub fn new(secure: bool) -> Self {
        Self { secure }
    }

    fn name(&self, names: [&'static str; 2]) -> &'static str {
        names[usize::from(self.secure)]
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
            issued_at: now(),
        };
        let value = serde_json::to_string(&login).expect("serializable");
        jar.add(self.cookie(self.name(LOGIN_COOKIE), value, LOGIN_TTL_SECS))
    }

    /// Takes the login state out of the jar (it is single-use): `None` when it is
    /// missing, unreadable or too old.
    pub fn take_login(&self, jar: PrivateCookieJar) -> (PrivateCookieJar, Option<Login>) {
        let name = self.name(LOGIN_COOKIE);
        let login = read::<Login>(&jar, name).filter(|l| now() - l.issued_at <= LOGIN_TTL_SECS);
        (jar.remove(self.removal(name)), login)
    }

    pub fn sign_in(&self, jar: PrivateCookieJar, session: &Session) -> PrivateCookieJar {
        let value = serde_json::to_string(session).expect("serializable");
        jar.add(self.cookie(self.name(SESSION_COOKIE), value, SESSION_TTL_SECS))
    }

    pub fn current(&self, jar: &PrivateCookieJar) -> Option<Session> {
        read(jar, self.name(SESSION_COOKIE))
    }

    pub fn sign_out(&self, jar: PrivateCookieJar) -> PrivateCookieJar {
        jar.remove(self.removal(self.name(SESSION_COOKIE)))
    }
}
