//! The errors a caller of the broker or the Gmail client acts on.

use url::Url;

use crate::crypto::CryptoError;
use crate::gmail::GmailError;
use crate::oauth::OAuthError;
use crate::store::StoreError;
use crate::userinfo::UserInfoError;

/// Why a user has to go through consent again.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReauthReason {
    /// Google returned no refresh token and none is stored (the user consented
    /// before, elsewhere): only `prompt=consent` brings a new one.
    NoRefreshToken,
    /// The grant is gone: revoked by the user, expired, or the password changed.
    Revoked { reason: String },
    /// Google kept refusing the access token after a refresh.
    Unauthorized,
    /// The call needs a scope the user did not grant; ask for it incrementally.
    MissingScope { scope: String },
}

impl std::fmt::Display for ReauthReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoRefreshToken => f.write_str("no refresh token is stored for this user"),
            Self::Revoked { reason } => write!(f, "the grant was revoked or expired ({reason})"),
            Self::Unauthorized => f.write_str("Google refuses the user's access token"),
            Self::MissingScope { scope } => write!(f, "the user has not granted {scope}"),
        }
    }
}

/// Errors of the broker and the Gmail client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Send the user to `authorization_url`; nothing else will fix this.
    #[error("user must authorize again: {reason}")]
    ReauthorizationRequired {
        user_id: Option<String>,
        authorization_url: Url,
        reason: ReauthReason,
    },
    #[error("no stored credentials for user {0}")]
    UnknownUser(String),
    /// The token endpoint kept failing transiently; the grant is kept, try later.
    #[error("refreshing the access token of user {user_id} failed {attempts} times: {reason}")]
    RefreshFailed {
        user_id: String,
        attempts: u32,
        reason: String,
    },
    /// Another caller's refresh failed with this error (shared single-flight result).
    #[error("{0}")]
    Shared(String),
    /// Google refuses the OAuth client itself (`invalid_client`,
    /// `unauthorized_client`, `disabled_client`, `deleted_client`): the
    /// deployment's fault, not the user's. No grant was touched; fix the
    /// client secret (or client) and every grant works again.
    #[error("the OAuth client is rejected by Google: check the client secret ({code}{})", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    ClientMisconfigured {
        code: String,
        description: Option<String>,
    },
    #[error(transparent)]
    OAuth(OAuthError),
    #[error(transparent)]
    UserInfo(#[from] UserInfoError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Gmail(#[from] GmailError),
}

impl From<OAuthError> for Error {
    /// A refusal of the client becomes [`Error::ClientMisconfigured`] wherever
    /// it comes from (code exchange, refresh, import); anything else stays an
    /// [`Error::OAuth`].
    fn from(error: OAuthError) -> Self {
        match error {
            OAuthError::Rejected { code, description } if crate::oauth::is_client_error(&code) => {
                Error::ClientMisconfigured { code, description }
            }
            other => Error::OAuth(other),
        }
    }
}

impl Error {
    /// A copy for another caller that shares this error: the waiters of a
    /// refresh flight, the calls of a batch. [`Error`] is not `Clone` (it
    /// carries database errors); what a caller acts on is kept whole,
    /// anything else as its message.
    pub(crate) fn duplicate(&self) -> Error {
        match self {
            Error::ReauthorizationRequired {
                user_id,
                authorization_url,
                reason,
            } => Error::ReauthorizationRequired {
                user_id: user_id.clone(),
                authorization_url: authorization_url.clone(),
                reason: reason.clone(),
            },
            Error::UnknownUser(user) => Error::UnknownUser(user.clone()),
            Error::RefreshFailed {
                user_id,
                attempts,
                reason,
            } => Error::RefreshFailed {
                user_id: user_id.clone(),
                attempts: *attempts,
                reason: reason.clone(),
            },
            Error::ClientMisconfigured { code, description } => Error::ClientMisconfigured {
                code: code.clone(),
                description: description.clone(),
            },
            Error::Gmail(gmail) => Error::Gmail(gmail.clone()),
            other => Error::Shared(other.to_string()),
        }
    }
}
