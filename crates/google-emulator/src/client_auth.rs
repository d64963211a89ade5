//! Who is calling the token endpoint: client id and secret from the form
//! body (`client_secret_post`, what Google documents) or from HTTP Basic
//! (`client_secret_basic`, RFC 6749 §2.3.1), both used against Google
//! (reference §2, "Client authentication").

use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::reply::OAuthError;
use crate::state::EmulatorState;

/// Id and secret as sent, before checking.
struct Credentials {
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// Reads `Authorization: Basic base64(urlencode(id):urlencode(secret))`.
fn basic(headers: &HeaderMap) -> Option<Result<Credentials, OAuthError>> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let malformed = || {
        OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Invalid client authentication header.",
        )
    };
    let Some(decoded) = STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
    else {
        return Some(Err(malformed()));
    };
    let Some((id, secret)) = decoded.split_once(':') else {
        return Some(Err(malformed()));
    };
    // RFC 6749 §2.3.1: both parts are form-urlencoded before encoding.
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some(Ok(Credentials {
        client_id: Some(unescape(id)),
        client_secret: Some(unescape(secret)),
    }))
}

/// Authenticates the client; returns its id, or the error to send.
pub fn authenticate(
    state: &EmulatorState,
    headers: &HeaderMap,
    form: &[(String, String)],
) -> Result<String, OAuthError> {
    let from_form = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let credentials = match basic(headers) {
        Some(result) => result?,
        None => Credentials {
            client_id: from_form("client_id"),
            client_secret: from_form("client_secret"),
        },
    };
    let Some(client_id) = credentials.client_id.filter(|id| !id.is_empty()) else {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Could not determine client ID from request.",
        ));
    };
    let Some(client) = state.clients.get(&client_id) else {
        return Err(OAuthError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "The OAuth client was not found.",
        ));
    };
    // A client its owner disabled or deleted in the Cloud console answers
    // 401 whatever else the request holds: `disabled_client` "The OAuth
    // client was disabled." (gh:openpubkey/opkssh#617, a bogus-code probe of
    // the token endpoint) and `deleted_client` "The OAuth client was
    // deleted." (gh:prasmussen/gdrive#646, on the consent page; the token
    // endpoint's answer is assumed to match, as it does for disabled).
    match state.client_status.get(&client_id).map(String::as_str) {
        Some("disabled") => {
            return Err(OAuthError::new(
                StatusCode::UNAUTHORIZED,
                "disabled_client",
                "The OAuth client was disabled.",
            ));
        }
        Some("deleted") => {
            return Err(OAuthError::new(
                StatusCode::UNAUTHORIZED,
                "deleted_client",
                "The OAuth client was deleted.",
            ));
        }
        _ => {}
    }
    match credentials.client_secret {
        None => Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "client_secret is missing.",
        )),
        Some(secret) if secret != client.client_secret => Err(OAuthError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Unauthorized",
        )),
        Some(_) => Ok(client_id),
    }
}
