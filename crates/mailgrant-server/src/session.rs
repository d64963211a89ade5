//! Login state and the signed-in user, kept in encrypted, HttpOnly, SameSite=Lax
//! cookies so that any replica can serve any request.

use axum_extra::extract::PrivateCookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use mailgrant::oauth::PendingAuthorization;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

const LOGIN_COOKIE: &str = "mailgrant_login";
const SESSION_COOKIE: &str = "mailgrant_session";
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

fn cookie(name: &'static str, value: String, max_age: i64, secure: bool) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(time::Duration::seconds(max_age))
        .build()
}

fn read<T: DeserializeOwned>(jar: &PrivateCookieJar, name: &str) -> Option<T> {
    serde_json::from_str(jar.get(name)?.value()).ok()
}

fn removal(name: &'static str) -> Cookie<'static> {
    Cookie::build(name).path("/").build()
}

pub fn start_login(
    jar: PrivateCookieJar,
    pending: PendingAuthorization,
    secure: bool,
) -> PrivateCookieJar {
    let login = Login {
        pending,
        issued_at: now(),
    };
    let value = serde_json::to_string(&login).expect("serializable");
    jar.add(cookie(LOGIN_COOKIE, value, LOGIN_TTL_SECS, secure))
}

/// Takes the login state out of the jar (it is single-use): `None` when it is
/// missing, unreadable or too old.
pub fn take_login(jar: PrivateCookieJar) -> (PrivateCookieJar, Option<Login>) {
    let login = read::<Login>(&jar, LOGIN_COOKIE).filter(|l| now() - l.issued_at <= LOGIN_TTL_SECS);
    (jar.remove(removal(LOGIN_COOKIE)), login)
}

pub fn sign_in(jar: PrivateCookieJar, session: &Session, secure: bool) -> PrivateCookieJar {
    let value = serde_json::to_string(session).expect("serializable");
    jar.add(cookie(SESSION_COOKIE, value, SESSION_TTL_SECS, secure))
}

pub fn current(jar: &PrivateCookieJar) -> Option<Session> {
    read(jar, SESSION_COOKIE)
}

pub fn sign_out(jar: PrivateCookieJar) -> PrivateCookieJar {
    jar.remove(removal(SESSION_COOKIE))
}
