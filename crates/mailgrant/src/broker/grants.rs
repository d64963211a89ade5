//! Where grants begin and end: a consent (Google's sample's decision logic), an
//! imported `authorized_user` token, an export, and a disconnect.

use secrecy::SecretString;

use super::{Broker, Connected, CredentialEvent, expires_at};
use crate::error::{Error, ReauthReason};
use crate::oauth::{OAuthError, RedirectTarget, TokenSet};
use crate::store::GrantUpdate;
use crate::userinfo::{self, UserInfo};

impl Broker {
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
            .await
            .map_err(|e| self.oauth_failure(e))?;
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
        let connected = self
            .store_grant(user, &tokens, tokens.refresh_token.as_ref(), scopes)
            .await?;
        tracing::info!(
            user = %connected.user.id,
            new_refresh_token = connected.new_refresh_token,
            "credentials stored"
        );
        Ok(connected)
    }

    /// Stores what a consent or an import brought: `refresh_token` (`None`
    /// keeps the stored one) and the access token, sealed for `user`. A new
    /// refresh token is a new grant, which the webhook hears of.
    async fn store_grant(
        &self,
        user: UserInfo,
        tokens: &TokenSet,
        refresh_token: Option<&SecretString>,
        scopes: Vec<String>,
    ) -> Result<Connected, Error> {
        let grant = GrantUpdate {
            user_id: user.id.clone(),
            email: user.email.clone(),
            name: user.name.clone(),
            refresh_token: refresh_token.map(|t| self.seal(t, &user.id)),
            access_token: self.seal(&tokens.access_token, &user.id),
            access_token_expires_at: expires_at(tokens),
            scopes: scopes.clone(),
        };
        self.config.store.save_grant(&grant).await?;
        // Scopes may have grown (incremental consent): no stale copy.
        self.cache.forget(&user.id);
        let new_refresh_token = refresh_token.is_some();
        if new_refresh_token {
            self.config.events.emit(CredentialEvent::Created {
                user_id: user.id.clone(),
                email: user.email.clone(),
                scopes: scopes.clone(),
            });
        }
        Ok(Connected {
            user,
            scopes,
            new_refresh_token,
        })
    }

    /// Takes over a grant made elsewhere (an `authorized_user` file, say): one
    /// refresh proves the token and tells who the user is; then it is stored
    /// like a consent. Nothing is stored when Google refuses it.
    #[tracing::instrument(skip_all)]
    pub async fn import_refresh_token(
        &self,
        refresh_token: &SecretString,
    ) -> Result<Connected, Error> {
        let tokens = self
            .config
            .oauth
            .refresh(refresh_token)
            .await
            .map_err(|e| self.oauth_failure(e))?;
        let user = userinfo::fetch(
            &self.config.http,
            &self.config.userinfo_url,
            &tokens.access_token,
        )
        .await?;
        let kept = tokens.refresh_token.as_ref().unwrap_or(refresh_token);
        let scopes = tokens.scopes.clone().unwrap_or_default();
        let connected = self.store_grant(user, &tokens, Some(kept), scopes).await?;
        tracing::info!(user = %connected.user.id, "imported a refresh token");
        Ok(connected)
    }

    /// Checks at start that Google accepts this OAuth client: a refresh grant
    /// with a token that cannot exist answers `invalid_grant` for a good
    /// client, and `invalid_client` (or another `*_client` code) for a bad
    /// one, because Google authenticates the client before it looks at the
    /// grant (reference §10; RFC 6749 §5.2). No user's grant is involved.
    /// A transient failure (no answer, a 5xx) is retried as refreshes are.
    pub async fn check_client(&self) -> Result<(), Error> {
        let probe = SecretString::from("1//mailgrant-client-check.not-a-refresh-token".to_owned());
        let policy = self.config.retry;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let error = match self.config.oauth.refresh(&probe).await {
                Err(error) if error.is_grant_dead() => return Ok(()),
                Err(error) if error.is_client_rejected() => return Err(self.oauth_failure(error)),
                Err(error) => error,
                Ok(_) => {
                    return Err(Error::OAuth(OAuthError::Malformed {
                        reason: "the token endpoint accepted a refresh token that does not exist"
                            .to_owned(),
                        body: crate::oauth::RawBody(Vec::new()),
                    }));
                }
            };
            if attempt >= policy.attempts {
                return Err(self.oauth_failure(error));
            }
            tokio::time::sleep(policy.delay(attempt)).await;
        }
    }

    /// Tries the stored refresh token once, whatever the row's status: a
    /// revocation that turns out to be wrong (recorded while Google had a
    /// fault, say) is cleared when Google accepts the token. `Ok(true)`: the
    /// row was revoked and is active again; `Ok(false)`: it was active and
    /// still is. A refusal keeps (or makes) the row revoked.
    #[tracing::instrument(skip_all, fields(user = %user_id))]
    pub async fn recheck(&self, user_id: &str) -> Result<bool, Error> {
        let credential = self.credential(user_id).await?;
        let email = credential.email.as_deref();
        let Some(sealed) = &credential.refresh_token else {
            return Err(self.reauthorize(user_id, email, ReauthReason::NoRefreshToken));
        };
        let refresh_token = self.config.keys.decrypt(&sealed.0, user_id)?;
        let tokens = match self.config.oauth.refresh(&refresh_token).await {
            Ok(tokens) => tokens,
            Err(error) if error.is_grant_dead() => {
                let reason = error.to_string();
                if credential.revoked.is_none() {
                    self.mark_revoked(user_id, sealed, &reason).await?;
                }
                return Err(self.reauthorize(user_id, email, ReauthReason::Revoked { reason }));
            }
            Err(error) => return Err(self.oauth_failure(error)),
        };
        let update = self.refresh_update(user_id, &tokens, &credential.scopes);
        self.cache.forget(user_id);
        let was_revoked = credential.revoked.is_some();
        let written = if was_revoked {
            self.config.store.reinstate(user_id, &update).await?
        } else {
            self.config.store.save_refresh(user_id, &update).await?
        };
        if !written {
            // Deleted, revoked or reinstated by someone else meanwhile.
            return Err(Error::UnknownUser(user_id.to_owned()));
        }
        if was_revoked {
            tracing::warn!(user = %user_id, "revocation undone: Google accepts the stored refresh token");
        }
        Ok(was_revoked)
    }

    /// The stored refresh token of a live grant, for export. Callers own the
    /// responsibility of where it goes.
    pub async fn export_refresh_token(&self, user_id: &str) -> Result<SecretString, Error> {
        let credential = self.live_credential(user_id).await?;
        let sealed = credential.refresh_token.ok_or_else(|| {
            self.reauthorize(
                user_id,
                credential.email.as_deref(),
                ReauthReason::NoRefreshToken,
            )
        })?;
        Ok(self.config.keys.decrypt(&sealed.0, user_id)?)
    }

    /// Revokes the grant at Google (an `invalid_token` answer means it is gone
    /// already), ends every session of the user and deletes the stored
    /// credentials. False for an unknown user.
    #[tracing::instrument(skip_all, fields(user = %user_id))]
    pub async fn disconnect(&self, user_id: &str) -> Result<bool, Error> {
        let Some(credential) = self.config.store.get(user_id).await? else {
            return Ok(false);
        };
        let token = match (&credential.refresh_token, &credential.access_token) {
            (Some(sealed), _) | (None, Some(sealed)) => {
                Some(self.config.keys.decrypt(&sealed.0, user_id)?)
            }
            (None, None) => None,
        };
        if let Some(token) = token {
            match self.config.oauth.revoke(&token).await {
                Ok(()) => {}
                Err(OAuthError::Rejected { code, .. }) if code == "invalid_token" => {}
                Err(error) => return Err(error.into()),
            }
        }
        self.cache.forget(user_id);
        // Every browser session of the user ends with the grant, before the
        // row goes, whoever disconnects (the page, the token API, the CLI).
        self.config
            .store
            .end_sessions(user_id, crate::store::now_unix_ms())
            .await?;
        let deleted = self.config.store.delete(user_id).await?;
        if deleted && credential.revoked.is_none() {
            self.config.metrics.revocations.inc();
            self.config.events.emit(CredentialEvent::Revoked {
                user_id: user_id.to_owned(),
                reason: "disconnected".to_owned(),
            });
        }
        Ok(deleted)
    }
}
