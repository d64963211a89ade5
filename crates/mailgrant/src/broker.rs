//! "Give me a fresh access token for user X": completes authorizations (the
//! decision logic of Google's server-side flow sample), refreshes expired tokens
//! one at a time per user, and turns a dead grant into "authorize again".

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::OwnedMutexGuard;
use url::Url;

use crate::crypto::{CryptoError, Keyring};
use crate::error::{Error, ReauthReason};
use crate::oauth::{OAuthClient, RedirectTarget, TokenSet};
use crate::store::{
    CredentialStore, EncryptedToken, GrantUpdate, RefreshUpdate, StoreError, StoredCredential,
    now_unix,
};
use crate::userinfo::{self, UserInfo};

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

/// Serializes refreshes of one user's token. In one process a mutex per user is
/// enough; replicas sharing a database need a lock the database holds.
#[async_trait]
pub trait RefreshCoordinator: Send + Sync + 'static {
    async fn lock(&self, user_id: &str) -> Result<RefreshGuard, StoreError>;
}

/// Held while refreshing; dropping it lets the next caller in.
pub struct RefreshGuard(#[expect(dead_code, reason = "held only for its Drop")] Box<dyn Send>);

impl RefreshGuard {
    pub fn new(inner: impl Send + 'static) -> Self {
        Self(Box::new(inner))
    }
}

/// One `tokio` mutex per user, removed again when nobody holds or waits for it.
#[derive(Default)]
pub struct InProcessCoordinator {
    locks: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

struct InProcessGuard {
    guard: Option<OwnedMutexGuard<()>>,
    locks: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
    user_id: String,
}

impl Drop for InProcessGuard {
    fn drop(&mut self) {
        let mut locks = self.locks.lock().expect("lock map poisoned");
        self.guard = None;
        // Only the map holds it now: no one is waiting, forget it.
        if locks
            .get(&self.user_id)
            .is_some_and(|m| Arc::strong_count(m) == 1)
        {
            locks.remove(&self.user_id);
        }
    }
}

#[async_trait]
impl RefreshCoordinator for InProcessCoordinator {
    async fn lock(&self, user_id: &str) -> Result<RefreshGuard, StoreError> {
        let mutex = {
            let mut locks = self.locks.lock().expect("lock map poisoned");
            locks.entry(user_id.to_owned()).or_default().clone()
        };
        let guard = mutex.lock_owned().await;
        Ok(RefreshGuard::new(InProcessGuard {
            guard: Some(guard),
            locks: self.locks.clone(),
            user_id: user_id.to_owned(),
        }))
    }
}

/// Everything the broker needs.
pub struct BrokerConfig {
    pub store: Arc<dyn CredentialStore>,
    pub keys: Arc<Keyring>,
    pub oauth: Arc<OAuthClient>,
    pub http: reqwest::Client,
    pub userinfo_url: Url,
    /// Where to send a user who must authorize again; `login_hint` and `prompt`
    /// are added to it. The server passes its own `/oauth2/authorize`.
    pub reauthorize_url: Url,
    pub refresh_margin: Duration,
    pub coordinator: Arc<dyn RefreshCoordinator>,
}

/// The credential broker.
pub struct Broker {
    config: BrokerConfig,
}

impl Broker {
    pub fn new(config: BrokerConfig) -> Self {
        Self { config }
    }

    pub fn store(&self) -> &Arc<dyn CredentialStore> {
        &self.config.store
    }

    pub fn oauth(&self) -> &OAuthClient {
        &self.config.oauth
    }

    /// The URL that sends a user through consent again (`prompt=consent`).
    pub fn reauthorization_url(&self, login_hint: Option<&str>) -> Url {
        let mut url = self.config.reauthorize_url.clone();
        {
            let mut query = url.query_pairs_mut();
            if let Some(hint) = login_hint {
                query.append_pair("login_hint", hint);
            }
            query.append_pair("prompt", "consent");
        }
        url
    }

    fn reauthorize(&self, user_id: &str, email: Option<&str>, reason: ReauthReason) -> Error {
        Error::ReauthorizationRequired {
            user_id: Some(user_id.to_owned()),
            authorization_url: self.reauthorization_url(Some(email.unwrap_or(user_id))),
            reason,
        }
    }

    fn seal(&self, token: &SecretString, user_id: &str) -> EncryptedToken {
        EncryptedToken(self.config.keys.encrypt(token.expose_secret(), user_id))
    }

    /// Exchanges the code, asks userinfo who the user is, and stores the grant.
    ///
    /// Google's rule: a refresh token comes only with a consent. When none comes,
    /// the stored one is used; with none stored either, the user must consent
    /// again (`prompt=consent`), and nothing is written.
    #[tracing::instrument(skip_all)]
    pub async fn complete_authorization(
        &self,
        code: &str,
        pkce_verifier: Option<&SecretString>,
        redirect: &RedirectTarget,
    ) -> Result<Connected, Error> {
        let tokens = self
            .config
            .oauth
            .exchange_code(code, pkce_verifier, redirect)
            .await?;
        let user = userinfo::fetch(
            &self.config.http,
            &self.config.userinfo_url,
            &tokens.access_token,
        )
        .await?;
        let stored = self.config.store.get(&user.id).await?;
        let has_live_refresh_token = stored
            .as_ref()
            .is_some_and(|c| c.revoked.is_none() && c.refresh_token.is_some());
        if tokens.refresh_token.is_none() && !has_live_refresh_token {
            tracing::info!(user = %user.id, "no refresh token returned or stored; asking for consent");
            return Err(self.reauthorize(
                &user.id,
                user.email.as_deref(),
                ReauthReason::NoRefreshToken,
            ));
        }
        let scopes = tokens
            .scopes
            .clone()
            .unwrap_or_else(|| self.config.oauth.scopes().to_vec());
        let grant = GrantUpdate {
            user_id: user.id.clone(),
            email: user.email.clone(),
            name: user.name.clone(),
            refresh_token: tokens
                .refresh_token
                .as_ref()
                .map(|t| self.seal(t, &user.id)),
            access_token: self.seal(&tokens.access_token, &user.id),
            access_token_expires_at: expires_at(&tokens),
            scopes: scopes.clone(),
        };
        self.config.store.save_grant(&grant).await?;
        tracing::info!(user = %user.id, new_refresh_token = tokens.refresh_token.is_some(), "credentials stored");
        Ok(Connected {
            user,
            scopes,
            new_refresh_token: tokens.refresh_token.is_some(),
        })
    }

    /// A valid access token for `user_id`, refreshed first when it is about to expire.
    #[tracing::instrument(skip_all, fields(user = %user_id))]
    pub async fn access_token(&self, user_id: &str) -> Result<FreshToken, Error> {
        let credential = self.live_credential(user_id).await?;
        if let Some(token) = self.usable_access_token(&credential)? {
            return Ok(token);
        }
        self.refresh_unless(user_id, |c| self.usable_access_token(c))
            .await
    }

    /// Called when Google answered 401 to `rejected`: refreshes once, unless another
    /// caller already replaced that token.
    #[tracing::instrument(skip_all, fields(user = %user_id))]
    pub async fn refresh_after_unauthorized(
        &self,
        user_id: &str,
        rejected: &SecretString,
    ) -> Result<FreshToken, Error> {
        self.refresh_unless(user_id, |c| {
            Ok(self
                .usable_access_token(c)?
                .filter(|t| t.access_token.expose_secret() != rejected.expose_secret()))
        })
        .await
    }

    async fn live_credential(&self, user_id: &str) -> Result<StoredCredential, Error> {
        let credential = self
            .config
            .store
            .get(user_id)
            .await?
            .ok_or_else(|| Error::UnknownUser(user_id.to_owned()))?;
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
        if expires_at - (self.config.refresh_margin.as_secs() as i64) <= now_unix() {
            return Ok(None);
        }
        Ok(Some(FreshToken {
            access_token: self.config.keys.decrypt(&token.0, &credential.user_id)?,
            expires_at,
            scopes: credential.scopes.clone(),
        }))
    }

    /// Refreshes under the user's lock; `reuse` looks at the row read under the
    /// lock and returns a token when someone else's refresh already made one.
    async fn refresh_unless(
        &self,
        user_id: &str,
        reuse: impl Fn(&StoredCredential) -> Result<Option<FreshToken>, CryptoError>,
    ) -> Result<FreshToken, Error> {
        let _guard = self.config.coordinator.lock(user_id).await?;
        let credential = self.live_credential(user_id).await?;
        if let Some(token) = reuse(&credential)? {
            return Ok(token);
        }
        let email = credential.email.as_deref();
        let Some(sealed) = &credential.refresh_token else {
            return Err(self.reauthorize(user_id, email, ReauthReason::NoRefreshToken));
        };
        let refresh_token = self.config.keys.decrypt(&sealed.0, user_id)?;
        let tokens = match self.config.oauth.refresh(&refresh_token).await {
            Ok(tokens) => tokens,
            Err(error) if error.is_grant_dead() => {
                let reason = error.to_string();
                tracing::warn!(user = %user_id, %reason, "grant is dead; marking revoked");
                self.config.store.mark_revoked(user_id, &reason).await?;
                return Err(self.reauthorize(user_id, email, ReauthReason::Revoked { reason }));
            }
            Err(error) => return Err(error.into()),
        };
        let update = RefreshUpdate {
            access_token: self.seal(&tokens.access_token, user_id),
            access_token_expires_at: expires_at(&tokens),
            scopes: tokens
                .scopes
                .clone()
                .unwrap_or_else(|| credential.scopes.clone()),
            // Google does not rotate refresh tokens today; if it ever does, the new
            // one is written in the same statement as the access token.
            refresh_token: tokens.refresh_token.as_ref().map(|t| self.seal(t, user_id)),
        };
        if !self.config.store.save_refresh(user_id, &update).await? {
            return Err(self.reauthorize(
                user_id,
                email,
                ReauthReason::Revoked {
                    reason: "credentials were removed during the refresh".to_owned(),
                },
            ));
        }
        tracing::info!(user = %user_id, "access token refreshed");
        Ok(FreshToken {
            access_token: tokens.access_token,
            expires_at: update.access_token_expires_at,
            scopes: update.scopes,
        })
    }

    /// Revokes the grant at Google (best effort when Google says it is already
    /// gone) and deletes the stored credentials. Returns false for an unknown user.
    #[tracing::instrument(skip_all, fields(user = %user_id))]
    pub async fn disconnect(&self, user_id: &str) -> Result<bool, Error> {
        let Some(credential) = self.config.store.get(user_id).await? else {
            return Ok(false);
        };
        if let Some(sealed) = &credential.refresh_token {
            let token = self.config.keys.decrypt(&sealed.0, user_id)?;
            match self.config.oauth.revoke(&token).await {
                Ok(()) => {}
                // invalid_token: already revoked at Google; deleting is still right.
                Err(crate::oauth::OAuthError::Rejected { code, .. }) if code == "invalid_token" => {
                }
                Err(error) => return Err(error.into()),
            }
        }
        Ok(self.config.store.delete(user_id).await?)
    }
}

fn expires_at(tokens: &TokenSet) -> i64 {
    now_unix() + tokens.expires_in.as_secs() as i64
}
