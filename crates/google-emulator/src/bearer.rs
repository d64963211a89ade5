//! Access tokens presented to the APIs: from `Authorization: Bearer` or the
//! `access_token` query parameter (RFC 6750 §2.1, §2.3), checked against
//! what the token endpoint issued.

use axum::http::{HeaderMap, header};

use crate::reply::ApiError;
use crate::state::EmulatorState;

/// Whose token it is and what it may do.
pub struct Caller {
    pub user_id: String,
    pub email: String,
    pub scopes: Vec<String>,
}

/// The token sent with the request, if any.
pub fn presented(headers: &HeaderMap, query: &[(String, String)]) -> Option<String> {
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned());
    from_header.or_else(|| {
        query
            .iter()
            .find(|(k, _)| k == "access_token")
            .map(|(_, v)| v.clone())
    })
}

/// Checks the presented token: a 401 when it is missing, unknown, expired
/// or revoked. `service` names the API in the missing-token error detail.
pub fn authenticate(
    state: &EmulatorState,
    headers: &HeaderMap,
    query: &[(String, String)],
    service: &str,
) -> Result<Caller, ApiError> {
    let Some(token) = presented(headers, query).filter(|t| !t.is_empty()) else {
        return Err(ApiError::login_required(service));
    };
    let access = state
        .access_tokens
        .get(&token)
        .filter(|a| a.is_live(state.clock.instant()))
        .ok_or_else(ApiError::invalid_credentials)?;
    let user = state
        .user_by_id(&access.user_id)
        .ok_or_else(ApiError::invalid_credentials)?;
    Ok(Caller {
        user_id: user.id.clone(),
        email: user.email.clone(),
        scopes: access.scopes.clone(),
    })
}
