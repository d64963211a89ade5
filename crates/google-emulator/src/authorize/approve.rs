//! What happens once a user is known: the grant is recorded, a code is
//! issued, and the browser is sent back to the client (reference §1,
//! "Success redirect", "Denial", "When a refresh token is issued").

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::pages;
use super::request::POSTMESSAGE;
use crate::ids;
use crate::scopes;
use crate::state::{AuthorizationRequest, EmulatorState, Grant, IssuedCode};

/// Encodes a query value the way Google's redirects read: form encoding
/// (space as `+`) but with `/` and `:` left as they are, as in the
/// recorded `scope=email+profile+openid+https://www.googleapis.com/…`.
fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes())
        .collect::<String>()
        .replace("%2F", "/")
        .replace("%3A", ":")
}

fn redirect(redirect_uri: &str, params: &[(&str, &str)]) -> Response {
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    let separator = if redirect_uri.contains('?') { '&' } else { '?' };
    let location = format!("{redirect_uri}{separator}{}", query.join("&"));
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

/// Sends `error` back to the client with the state (RFC 6749 §4.1.2.1).
pub fn redirect_error(request: &AuthorizationRequest, error: &str) -> Response {
    if request.redirect_uri == POSTMESSAGE {
        return pages::postmessage_error_page(error, request.state.as_deref());
    }
    let mut params = vec![("error", error)];
    if let Some(state) = &request.state {
        params.push(("state", state));
    }
    redirect(&request.redirect_uri, &params)
}

/// The user pressed Deny.
pub fn deny(request: &AuthorizationRequest) -> Response {
    redirect_error(request, "access_denied")
}

/// Approves `request` for `user_id`: records the grant, issues a code and
/// redirects with it.
pub fn approve(
    state: &mut EmulatorState,
    request: AuthorizationRequest,
    user_id: &str,
) -> Response {
    let key = (user_id.to_owned(), request.client_id.clone());
    let prior = state.grants.get(&key).map(|g| g.scopes.clone());
    let covered = prior
        .as_ref()
        .is_some_and(|p| scopes::covers(p, &request.scopes));
    // A consent screen is due the first time, for new scopes, or when the
    // client asks with prompt=consent; only the exchange that follows an
    // actual consent gets a refresh token, and only with offline access.
    let consented = request.prompt_consent || !covered;
    let issue_refresh = request.offline && consented;

    let mut granted = request.scopes.clone();
    if request.include_granted_scopes
        && let Some(prior) = &prior
    {
        scopes::merge(&mut granted, prior);
    }
    let grant = state
        .grants
        .entry(key)
        .or_insert(Grant { scopes: Vec::new() });
    scopes::merge(&mut grant.scopes, &granted);

    let code = ids::authorization_code();
    state.codes.insert(
        code.clone(),
        IssuedCode {
            client_id: request.client_id.clone(),
            user_id: user_id.to_owned(),
            redirect_uri: request.redirect_uri.clone(),
            scopes: granted.clone(),
            code_challenge: request.code_challenge.clone(),
            issue_refresh,
            nonce: request.nonce.clone(),
            expires_at: state.clock.instant() + state.code_lifetime,
            used: false,
        },
    );

    // The redirect names the sign-in aliases as asked, then every granted
    // scope in canonical form (reference §1, recorded callbacks).
    let mut shown: Vec<String> = request
        .requested
        .iter()
        .filter(|s| scopes::canonical(s) != s.as_str())
        .cloned()
        .collect();
    scopes::merge(&mut shown, &granted);
    let scope = shown.join(" ");
    // Recorded callbacks after a consent screen say prompt=consent; when no
    // screen was shown Google reports prompt=none.
    let prompt = if consented { "consent" } else { "none" };

    if request.redirect_uri == POSTMESSAGE {
        return pages::postmessage_page(&code, &scope, prompt, request.state.as_deref());
    }
    let mut params = Vec::new();
    if let Some(s) = &request.state {
        params.push(("state", s.as_str()));
    }
    params.extend([
        ("code", code.as_str()),
        ("scope", scope.as_str()),
        ("authuser", "0"),
        ("prompt", prompt),
    ]);
    redirect(&request.redirect_uri, &params)
}
