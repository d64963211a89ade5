//! Who the user is: Google's v2 userinfo answers `id`, an OpenID Connect userinfo
//! answers `sub` (https://developers.google.com/identity/openid-connect/openid-connect#obtaininguserprofileinformation);
//! both are accepted.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::http::describe;

/// The user, as userinfo describes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserInfo {
    /// Google's stable id for the user; the key credentials are stored under.
    pub id: String,
    pub email: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UserInfoError {
    #[error("userinfo answered without a user id (neither `id` nor `sub`)")]
    MissingId,
    #[error("userinfo answered HTTP {status}")]
    Status { status: u16 },
    #[error("userinfo answer is not JSON userinfo: {0}")]
    Malformed(String),
    #[error("could not reach userinfo: {0}")]
    Transport(String),
}

#[derive(Deserialize)]
struct Wire {
    id: Option<String>,
    sub: Option<String>,
    email: Option<String>,
    name: Option<String>,
}

/// Asks the userinfo endpoint who holds `access_token`.
#[tracing::instrument(skip_all)]
pub async fn fetch(
    http: &reqwest::Client,
    endpoint: &Url,
    access_token: &SecretString,
) -> Result<UserInfo, UserInfoError> {
    let response = http
        .get(endpoint.clone())
        .bearer_auth(access_token.expose_secret())
        .send()
        .await
        .map_err(|e| UserInfoError::Transport(describe(e)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(UserInfoError::Status {
            status: status.as_u16(),
        });
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| UserInfoError::Transport(describe(e)))?;
    let wire: Wire = serde_json::from_slice(&body).map_err(|e| {
        UserInfoError::Malformed(format!("line {} column {}", e.line(), e.column()))
    })?;
    let id = wire
        .id
        .or(wire.sub)
        .filter(|id| !id.is_empty())
        .ok_or(UserInfoError::MissingId)?;
    Ok(UserInfo {
        id,
        email: wire.email,
        name: wire.name,
    })
}
