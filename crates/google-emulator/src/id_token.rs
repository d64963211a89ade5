//! The `id_token` returned when `openid` was granted: a JWT-shaped string
//! with the claims Google puts in one (OIDC Core §2, §3.1.3.6).
//!
//! It is NOT signed verifiably: the signature segment is a fixed
//! placeholder and no key matches its `kid`. Clients that must verify ID
//! tokens cannot be tested against the emulator for that.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::scopes;
use crate::state::User;

/// Claims for `user` as seen by `client_id` holding `scopes`.
pub fn claims(
    user: &User,
    client_id: &str,
    scopes: &[String],
    nonce: Option<&str>,
    access_token: &str,
    now_ms: i64,
) -> Value {
    let iat = now_ms / 1000;
    // at_hash: left half of SHA-256 of the access token (OIDC §3.1.3.6).
    let digest = Sha256::digest(access_token.as_bytes());
    let mut claims = json!({
        "iss": "https://accounts.google.com",
        "azp": client_id,
        "aud": client_id,
        "sub": user.id,
        "at_hash": URL_SAFE_NO_PAD.encode(&digest[..16]),
        "iat": iat,
        "exp": iat + 3600,
    });
    if scopes::has_email(scopes) {
        claims["email"] = json!(user.email);
        claims["email_verified"] = json!(true);
    }
    if scopes::has_profile(scopes) {
        let (given, family) = split_name(&user.name);
        claims["name"] = json!(user.name);
        claims["given_name"] = json!(given);
        claims["family_name"] = json!(family);
        claims["picture"] = json!(picture(user));
    }
    if let Some(nonce) = nonce {
        claims["nonce"] = json!(nonce);
    }
    claims
}

/// `header.claims.signature`, each part base64url.
pub fn encode(claims: &Value) -> String {
    let header = json!({ "alg": "RS256", "kid": "emulator-unverifiable", "typ": "JWT" });
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode("google-emulator: not a real signature"),
    )
}

/// Given and family name: the first word and the rest.
pub fn split_name(name: &str) -> (&str, &str) {
    name.split_once(' ').unwrap_or((name, ""))
}

/// The default avatar URL shape Google returns.
pub fn picture(user: &User) -> String {
    format!(
        "https://lh3.googleusercontent.com/a/default-user-{}=s96-c",
        user.id
    )
}
