//! "Give me a fresh access token for user X": completes authorizations (the
//! decision logic of Google's server-side flow sample), refreshes tokens before
//! they expire, one refresh per user however many callers ask, retries
//! transient failures, and turns a dead grant into "authorize again".

mod cache;
mod coordinator;
mod events;
mod flight;
mod grants;
mod refresh;
mod retry;
mod throttle;

use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

pub use coordinator::{InProcessCoordinator, RefreshCoordinator, RefreshGuard};
pub use events::{CredentialEvent, EventSink, NoEvents};
pub use retry::RetryPolicy;

use crate::crypto::{CryptoError, Keyring};
use crate::error::{Error, ReauthReason};
use crate::metrics::Metrics;
use crate::oauth::{OAuthClient, TokenSet};
use crate::store::{CredentialStore, EncryptedToken, StoredCredential, now_unix};
use crate::userinfo::UserInfo;
use cache::TokenCache;
use throttle::Throttle;

/// How often a misconfigured client is logged and announced at most.
const CLIENT_ALARM_INTERVAL: Duration = Duration::from_secs(60);
use flight::SingleFlight;

/// Refresh this long before Google's expiry, so a token handed out stays good
/// for a request.
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// An access token ready to use. `Debug` redacts it.
#[derive(Clone, Debug)]
pub struct FreshToken {
    pub access_token: SecretString,
    /// Unix seconds.
    pub expires_at: i64,
    pub scopes: Vec<String>,
}

/// The result of a completed authorization.
#[derive(Clone, Debug)]
pub struct Connected {
    pub user: UserInfo,
    pub scopes: Vec<String>,
    /// Whether Google issued a new refresh token (false: the stored one is used).
    pub new_refresh_token: bool,
}

/// Everything the broker needs.
pub struct BrokerConfig {
    pub store: Arc<dyn CredentialStore>,
    pub keys: Arc<Keyring>,
    pub oauth: Arc<OAuthClient>,
    pub http: reqwest::Client,
    pub userinfo_url: Url,
    /// Where to send a user who must authorize again; `login_hint`, `prompt`
    /// and `scope` are added to it. The server passes its own `/oauth2/authorize`.
    pub reauthorize_url: Url,
    pub refresh_margin: Duration,
    pub retry: RetryPolicy,
    pub coordinator: Arc<dyn RefreshCoordinator>,
    pub events: Arc<dyn EventSink>,
    pub metrics: Arc<Metrics>,
    /// How long a decrypted access token may be served from memory (zero: never).
    pub token_cache_ttl: Duration,
}

/// The default of [`BrokerConfig::token_cache_ttl`].
pub const DEFAULT_TOKEN_CACHE_TTL: Duration = Duration::from_secs(1);

/// The shared outcome of one refresh: the leader's error is handed to the
/// waiters too.
type Outcome = Result<FreshToken, Arc<Error>>;

/// The credential broker.
pub struct Broker {
    config: BrokerConfig,
    flights: SingleFlight<Outcome>,
    cache: TokenCache,
    /// Paces the `client.misconfigured` alarm: once a minute at most.
    client_alarm: Throttle,
}

impl Broker {
    pub fn new(config: BrokerConfig) -> Self {
        Self {
            cache: TokenCache::new(config.token_cache_ttl),
            config,
            flights: SingleFlight::default(),
            client_alarm: Throttle::new(CLIENT_ALARM_INTERVAL),
        }
    }

    pub fn store(&self) -> &Arc<dyn CredentialStore> {
        &self.config.store
    }

    pub fn oauth(&self) -> &OAuthClient {
        &self.config.oauth
    }

    pub fn keys(&self) -> &Keyring {
        &self.config.keys
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.config.metrics
    }

    /// The URL that sends a user through consent again (`prompt=consent`).
    pub fn reauthorization_url(&self, login_hint: Option<&str>) -> Url {
        self.consent_url(login_hint, &[("prompt", "consent")])
    }

    /// The URL that asks the user for `scope` on top of what they granted
    /// (incremental authorization: the server adds `include_granted_scopes=true`).
    pub fn incremental_authorization_url(&self, login_hint: Option<&str>, scope: &str) -> Url {
        self.consent_url(login_hint, &[("scope", scope)])
    }

    fn consent_url(&self, login_hint: Option<&str>, params: &[(&str, &str)]) -> Url {
        let mut url = self.config.reauthorize_url.clone();
        {
            let mut query = url.query_pairs_mut();
            if let Some(hint) = login_hint {
                query.append_pair("login_hint", hint);
            }
            query.extend_pairs(params);
        }
        url
    }

    pub(crate) fn reauthorize(
        &self,
        user_id: &str,
        email: Option<&str>,
        reason: ReauthReason,
    ) -> Error {
        let hint = Some(email.unwrap_or(user_id));
        let authorization_url = match &reason {
            ReauthReason::MissingScope { scope } => self.incremental_authorization_url(hint, scope),
            _ => self.reauthorization_url(hint),
        };
        Error::ReauthorizationRequired {
            user_id: Some(user_id.to_owned()),
            authorization_url,
            reason,
        }
    }

    fn seal(&self, token: &SecretString, user_id: &str) -> EncryptedToken {
        EncryptedToken(self.config.keys.encrypt(token.expose_secret(), user_id))
    }

    /// A valid access token for `user_id`, refreshed first when it expires
    /// within the refresh margin.
    #[tracing::instrument(skip_all, fields(user = %user_id))]
    pub async fn access_token(&self, user_id: &str) -> Result<FreshToken, Error> {
        if let Some(token) = self
            .cache
            .get(user_id, |t| self.due_for_refresh(t.expires_at))
        {
            return Ok(token);
        }
        let credential = self.live_credential(user_id).await?;
        let token = match self.usable_access_token(&credential)? {
            Some(token) => token,
            None => self.refresh_shared(user_id, None).await?,
        };
        self.cache.put(user_id, &token);
        Ok(token)
    }

    fn due_for_refresh(&self, expires_at: i64) -> bool {
        expires_at - (self.config.refresh_margin.as_secs() as i64) <= now_unix()
    }

    /// Like [`Broker::access_token`], for a call that needs one of `any_of`
    /// granted; otherwise "authorize again" asking for `any_of[0]` incrementally.
    pub async fn access_token_with_scope(
        &self,
        user_id: &str,
        any_of: &[&str],
    ) -> Result<FreshToken, Error> {
        let token = self.access_token(user_id).await?;
        if any_of.is_empty() || token.scopes.iter().any(|s| any_of.contains(&s.as_str())) {
            return Ok(token);
        }
        let credential = self.config.store.get(user_id).await?;
        Err(self.reauthorize(
            user_id,
            credential.as_ref().and_then(|c| c.email.as_deref()),
            ReauthReason::MissingScope {
                scope: any_of[0].to_owned(),
            },
        ))
    }

    /// Called when Google answered 401 to `rejected`: refreshes once, unless
    /// another caller already replaced that token.
    #[tracing::instrument(skip_all, fields(user = %user_id))]
    pub async fn refresh_after_unauthorized(
        &self,
        user_id: &str,
        rejected: &SecretString,
    ) -> Result<FreshToken, Error> {
        self.cache.forget(user_id);
        let token = self.refresh_shared(user_id, Some(rejected)).await?;
        self.cache.put(user_id, &token);
        Ok(token)
    }

    /// The user's row, whatever its status.
    async fn credential(&self, user_id: &str) -> Result<StoredCredential, Error> {
        self.config
            .store
            .get(user_id)
            .await?
            .ok_or_else(|| Error::UnknownUser(user_id.to_owned()))
    }

    async fn live_credential(&self, user_id: &str) -> Result<StoredCredential, Error> {
        let credential = self.credential(user_id).await?;
        if let Some(revocation) = &credential.revoked {
            return Err(self.reauthorize(
                user_id,
                credential.email.as_deref(),
                ReauthReason::Revoked {
                    reason: revocation.reason.clone(),
                },
            ));
        }
        Ok(credential)
    }

    fn usable_access_token(
        &self,
        credential: &StoredCredential,
    ) -> Result<Option<FreshToken>, CryptoError> {
        let (Some(token), Some(expires_at)) =
            (&credential.access_token, credential.access_token_expires_at)
        else {
            return Ok(None);
        };
        if self.due_for_refresh(expires_at) {
            return Ok(None);
        }
        Ok(Some(FreshToken {
            access_token: self.config.keys.decrypt(&token.0, &credential.user_id)?,
            expires_at,
            scopes: credential.scopes.clone(),
        }))
    }

    /// An OAuth failure as the caller sees it. Google's refusal of the client
    /// becomes [`Error::ClientMisconfigured`], is counted, and is logged and
    /// told to the event sink at most once a minute.
    pub(crate) fn oauth_failure(&self, error: crate::oauth::OAuthError) -> Error {
        let error = Error::from(error);
        if let Error::ClientMisconfigured { code, description } = &error {
            self.config.metrics.client_misconfigured.inc();
            if self.client_alarm.due() {
                tracing::error!(%code, description = description.as_deref().unwrap_or(""),
                    "Google rejects the OAuth client: check the client secret; no grant was changed");
                self.config
                    .events
                    .emit(CredentialEvent::ClientMisconfigured {
                        code: code.clone(),
                        description: description.clone(),
                    });
            }
        }
        error
    }

    /// Records that Google refused `sealed`, the refresh token the row held.
    async fn mark_revoked(
        &self,
        user_id: &str,
        sealed: &EncryptedToken,
        reason: &str,
    ) -> Result<(), Error> {
        self.cache.forget(user_id);
        if self
            .config
            .store
            .mark_revoked(user_id, sealed, reason)
            .await?
        {
            self.config.metrics.revocations.inc();
            self.config.events.emit(CredentialEvent::Revoked {
                user_id: user_id.to_owned(),
                reason: reason.to_owned(),
            });
        }
        Ok(())
    }
}

/// When a token answered with `tokens` expires, in Unix seconds. An absurd
/// `expires_in` from the token endpoint saturates instead of overflowing.
pub(crate) fn expires_at(tokens: &TokenSet) -> i64 {
    let lifetime = i64::try_from(tokens.expires_in.as_secs()).unwrap_or(i64::MAX);
    now_unix().saturating_add(lifetime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absurd_expires_in_saturates_instead_of_overflowing() {
        let tokens = TokenSet {
            access_token: SecretString::from("a".to_owned()),
            refresh_token: None,
            expires_in: Duration::from_secs(u64::MAX),
            scopes: None,
        };
        assert_eq!(expires_at(&tokens), i64::MAX);
    }
}
