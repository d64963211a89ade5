//! Reading and checking the authorization endpoint's query (reference §1,
//! "Parameters"), in the order Google reports problems: the client first,
//! then the redirect URI, since only once both are known good may an error
//! be sent back to the client instead of shown (RFC 6749 §4.1.2.1).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::pages::error_page;
use crate::scopes;
use crate::state::{AuthorizationRequest, CodeChallenge, EmulatorState};

/// The literal redirect URI of Google's JavaScript code client, accepted
/// for every client (the popup hands the code to its opener instead).
pub const POSTMESSAGE: &str = "postmessage";

const POLICY: &str = "You can't sign in to this app because it doesn't comply with Google's \
                      OAuth 2.0 policy.";

/// Why a request is refused; shown as a page, never redirected.
#[derive(Debug, thiserror::Error)]
pub enum AuthorizationError {
    #[error("invalid_client")]
    InvalidClient,
    #[error("redirect_uri_mismatch: {0}")]
    RedirectUriMismatch(String),
    #[error("invalid_request: {0}")]
    InvalidRequest(String),
    #[error("invalid_scope: {0}")]
    InvalidScope(String),
}

impl IntoResponse for AuthorizationError {
    fn into_response(self) -> Response {
        let (status, error, detail) = match self {
            Self::InvalidClient => (
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "The OAuth client was not found.".to_owned(),
            ),
            Self::RedirectUriMismatch(uri) => (
                StatusCode::BAD_REQUEST,
                "redirect_uri_mismatch",
                format!(
                    "{POLICY} The redirect URI in the request, {uri}, does not match the \
                     ones authorized for the OAuth client."
                ),
            ),
            Self::InvalidRequest(detail) => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!("{POLICY} {detail}"),
            ),
            Self::InvalidScope(detail) => (StatusCode::BAD_REQUEST, "invalid_scope", detail),
        };
        error_page(status, error, &detail)
    }
}

fn invalid_request(detail: &str) -> AuthorizationError {
    AuthorizationError::InvalidRequest(detail.to_owned())
}

/// Parses a query string into its pairs, `+` as space.
pub fn pairs(query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn get<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Checks the request.
pub fn parse(
    state: &EmulatorState,
    pairs: &[(String, String)],
) -> Result<AuthorizationRequest, AuthorizationError> {
    let client_id = get(pairs, "client_id")
        .filter(|c| !c.is_empty())
        .ok_or_else(|| invalid_request("Missing required parameter: client_id"))?;
    let client = state
        .clients
        .get(client_id)
        .ok_or(AuthorizationError::InvalidClient)?;
    let redirect_uri = get(pairs, "redirect_uri")
        .filter(|r| !r.is_empty())
        .ok_or_else(|| invalid_request("Missing required parameter: redirect_uri"))?;
    // Exact string comparison: scheme, case and trailing slash all count.
    if redirect_uri != POSTMESSAGE && !client.redirect_uris.iter().any(|r| r == redirect_uri) {
        return Err(AuthorizationError::RedirectUriMismatch(
            redirect_uri.to_owned(),
        ));
    }
    // RFC 6749 §3.1: parameters must not be repeated.
    for (i, (name, _)) in pairs.iter().enumerate() {
        if pairs[..i].iter().any(|(n, _)| n == name) {
            return Err(invalid_request(&format!(
                "Parameter {name} was provided more than once."
            )));
        }
    }
    match get(pairs, "response_type") {
        Some("code") => {}
        Some(other) => {
            return Err(invalid_request(&format!("Invalid response_type: {other}")));
        }
        None => {
            return Err(invalid_request(
                "Required parameter is missing: response_type",
            ));
        }
    }
    let requested = scopes::split(get(pairs, "scope").unwrap_or_default());
    if requested.is_empty() {
        return Err(invalid_request("Missing required parameter: scope"));
    }
    let unknown: Vec<&str> = requested
        .iter()
        .filter(|s| scopes::describe(s).is_none())
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(AuthorizationError::InvalidScope(format!(
            "Some requested scopes were invalid. {{invalid=[{}]}}",
            unknown.join(", ")
        )));
    }
    let offline = match get(pairs, "access_type") {
        None | Some("online") => false,
        Some("offline") => true,
        Some(other) => return Err(invalid_request(&format!("Invalid access_type: {other}"))),
    };
    let prompt: Vec<&str> = get(pairs, "prompt")
        .unwrap_or_default()
        .split(' ')
        .filter(|p| !p.is_empty())
        .collect();
    // Space-delimited and case-sensitive; `none` stands alone (reference §1).
    if prompt
        .iter()
        .any(|p| !matches!(*p, "none" | "consent" | "select_account"))
        || (prompt.contains(&"none") && prompt.len() > 1)
    {
        return Err(invalid_request(&format!(
            "Invalid prompt: {}",
            prompt.join(" ")
        )));
    }
    let code_challenge = code_challenge(pairs)?;
    Ok(AuthorizationRequest {
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        scopes: scopes::canonicalize(&requested),
        requested,
        offline,
        prompt_none: prompt.contains(&"none"),
        prompt_consent: prompt.contains(&"consent"),
        prompt_select_account: prompt.contains(&"select_account"),
        state: get(pairs, "state").map(str::to_owned),
        login_hint: get(pairs, "login_hint")
            .filter(|h| !h.is_empty())
            .map(str::to_owned),
        include_granted_scopes: get(pairs, "include_granted_scopes") == Some("true"),
        code_challenge,
        nonce: get(pairs, "nonce").map(str::to_owned),
    })
}

/// PKCE parameters (RFC 7636 §4.3): `plain` is the default method, and a
/// challenge is 43 to 128 unreserved characters (§4.2).
fn code_challenge(pairs: &[(String, String)]) -> Result<Option<CodeChallenge>, AuthorizationError> {
    let method = get(pairs, "code_challenge_method");
    let Some(challenge) = get(pairs, "code_challenge") else {
        return match method {
            None => Ok(None),
            Some(_) => Err(invalid_request(
                "Missing required parameter: code_challenge",
            )),
        };
    };
    let s256 = match method {
        None | Some("plain") => false,
        Some("S256") => true,
        Some(other) => {
            return Err(invalid_request(&format!(
                "Invalid code_challenge_method: {other}"
            )));
        }
    };
    let unreserved = |c: char| c.is_ascii_alphanumeric() || "-._~".contains(c);
    if !(43..=128).contains(&challenge.len()) || !challenge.chars().all(unreserved) {
        return Err(invalid_request("Invalid code_challenge."));
    }
    Ok(Some(CodeChallenge {
        challenge: challenge.to_owned(),
        s256,
    }))
}
