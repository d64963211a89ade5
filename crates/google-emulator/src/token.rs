//! The token endpoint, `POST /token` (reference §2): the
//! `authorization_code` and `refresh_token` grants, with Google's error
//! bodies for each failure.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::client_auth;
use crate::id_token;
use crate::reply::{oauth_error, oauth_json};
use crate::scopes;
use crate::state::{CodeChallenge, EmulatorState, Shared, lock};

fn bad_request(error: &str, description: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, error, description)
}

pub async fn token(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    // RFC 6749 §3.2: parameters must not be repeated.
    for (i, (name, _)) in form.iter().enumerate() {
        if form[..i].iter().any(|(n, _)| n == name) {
            return bad_request(
                "invalid_request",
                &format!("Parameter {name} was provided more than once."),
            );
        }
    }
    let param = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let mut state = lock(&shared);
    let client_id = match client_auth::authenticate(&state, &headers, &form) {
        Ok(id) => id,
        Err(error) => return error.into_response(),
    };
    match param("grant_type") {
        Some("authorization_code") => {
            let Some(code) = param("code") else {
                return bad_request("invalid_request", "Missing required parameter: code");
            };
            exchange_code(
                &mut state,
                &client_id,
                code,
                param("redirect_uri"),
                param("code_verifier"),
            )
        }
        Some("refresh_token") => {
            let Some(refresh_token) = param("refresh_token") else {
                return bad_request(
                    "invalid_request",
                    "Missing required parameter: refresh_token",
                );
            };
            refresh(&mut state, &client_id, refresh_token, param("scope"))
        }
        other => bad_request(
            "unsupported_grant_type",
            &format!("Invalid grant_type: {}", other.unwrap_or_default()),
        ),
    }
}

/// RFC 7636 §4.6: S256 compares BASE64URL-NOPAD(SHA256(verifier)).
fn verifier_matches(challenge: &CodeChallenge, verifier: &str) -> bool {
    if challenge.s256 {
        URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == challenge.challenge
    } else {
        verifier == challenge.challenge
    }
}

fn exchange_code(
    state: &mut EmulatorState,
    client_id: &str,
    code: &str,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
) -> Response {
    // Unknown, used, expired or another client's code all read the same
    // (reference §2 table, "bad / used / expired code").
    let Some(issued) = state
        .codes
        .get(code)
        .filter(|c| !c.used && c.client_id == client_id && state.clock.instant() < c.expires_at)
    else {
        return bad_request("invalid_grant", "Bad Request");
    };
    let Some(redirect_uri) = redirect_uri else {
        return bad_request("invalid_request", "Missing parameter: redirect_uri");
    };
    if redirect_uri != issued.redirect_uri {
        return bad_request("redirect_uri_mismatch", "Bad Request");
    }
    if let Some(challenge) = &issued.code_challenge {
        match verifier {
            None => return bad_request("invalid_grant", "Missing code verifier."),
            Some(v) if !verifier_matches(challenge, v) => {
                return bad_request("invalid_grant", "Invalid code verifier.");
            }
            Some(_) => {}
        }
    }
    let (user_id, scopes, issue_refresh, nonce) = (
        issued.user_id.clone(),
        issued.scopes.clone(),
        issued.issue_refresh,
        issued.nonce.clone(),
    );
    if let Some(issued) = state.codes.get_mut(code) {
        issued.used = true;
    }
    // The grant may have been revoked since the code was issued; issuing a
    // refresh token makes it live again.
    let refresh_token = issue_refresh.then(|| {
        let key = (user_id.clone(), client_id.to_owned());
        let grant = state
            .grants
            .entry(key)
            .or_insert(crate::state::Grant { scopes: Vec::new() });
        scopes::merge(&mut grant.scopes, &scopes);
        state.mint_refresh_token(&user_id, client_id, &scopes)
    });
    state.counters.authorization_code_grants += 1;
    let minted = Minted {
        new_refresh_token: refresh_token.is_some(),
        refresh_token,
    };
    success(
        state,
        &user_id,
        client_id,
        &scopes,
        minted,
        nonce.as_deref(),
    )
}

fn refresh(
    state: &mut EmulatorState,
    client_id: &str,
    refresh_token: &str,
    scope: Option<&str>,
) -> Response {
    let Some(stored) = state
        .refresh_tokens
        .get(refresh_token)
        .filter(|r| !r.revoked)
    else {
        return bad_request("invalid_grant", "Token has been expired or revoked.");
    };
    // Another client's refresh token: 401 `unauthorized_client`
    // "Unauthorized" (reference §10: gh:timfee/meet#25, gh:prasmussen/gdrive#375,
    // gh:baptisteArno/typebot.io#580 with Google's full answer).
    if stored.client_id != client_id {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized_client",
            "Unauthorized",
        );
    }
    // An optional narrower `scope` (RFC 6749 §6); more than was granted is
    // refused.
    let scopes = match scope {
        None => stored.scopes.clone(),
        Some(raw) => {
            let wanted = scopes::canonicalize(&scopes::split(raw));
            if !scopes::covers(&stored.scopes, &wanted) {
                return bad_request("invalid_scope", "Bad Request");
            }
            wanted
        }
    };
    let user_id = stored.user_id.clone();
    let granted = stored.scopes.clone();
    let predecessor = stored.predecessor.clone();
    state.counters.refresh_token_grants += 1;
    // First use of a rotated token: the one it replaced is done.
    if let Some(old) = predecessor {
        state.revoke_refresh_token_only(&old);
    }
    let minted = if state.rotate_refresh_tokens {
        let successor = state.mint_refresh_token(&user_id, client_id, &granted);
        if let Some(record) = state.refresh_tokens.get_mut(&successor) {
            record.predecessor = Some(refresh_token.to_owned());
        }
        Minted {
            refresh_token: Some(successor),
            new_refresh_token: true,
        }
    } else {
        // Google does not rotate refresh tokens: none in the answer
        // (reference §2, "Refresh response").
        Minted {
            refresh_token: Some(refresh_token.to_owned()),
            new_refresh_token: false,
        }
    };
    success(state, &user_id, client_id, &scopes, minted, None)
}

/// The refresh token an access token belongs to, and whether it is new
/// (and so part of the answer).
struct Minted {
    refresh_token: Option<String>,
    new_refresh_token: bool,
}

/// `access_token`, `expires_in`, `refresh_token` (when new), `scope`,
/// `token_type` and, with `openid`, `id_token` (reference §2).
fn success(
    state: &mut EmulatorState,
    user_id: &str,
    client_id: &str,
    scopes: &[String],
    minted: Minted,
    nonce: Option<&str>,
) -> Response {
    let access_token =
        state.mint_access_token(user_id, client_id, scopes, minted.refresh_token.clone());
    let mut body = json!({
        "access_token": access_token,
        "expires_in": state.access_token_lifetime.as_secs(),
        "scope": scopes.join(" "),
        "token_type": "Bearer",
    });
    if minted.new_refresh_token
        && let Some(refresh_token) = minted.refresh_token
    {
        body["refresh_token"] = json!(refresh_token);
    }
    if scopes::has_openid(scopes)
        && let Some(user) = state.user_by_id(user_id)
    {
        let now_ms = state.clock.epoch_ms();
        let claims = id_token::claims(user, client_id, scopes, nonce, &access_token, now_ms);
        body["id_token"] = json!(id_token::encode(&claims));
    }
    oauth_json(StatusCode::OK, &body)
}
