//! One refresh per user: callers in this process share a flight; the flight
//! takes the cross-process lock, re-reads the row, and only then asks Google,
//! retrying transient failures and recording a dead grant.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use super::{Broker, CredentialEvent, FreshToken, expires_at};
use crate::error::{Error, ReauthReason};
use crate::oauth::TokenSet;
use crate::store::{EncryptedToken, RefreshUpdate};

impl Broker {
    /// Joins (or starts) the user's one refresh in this process.
    pub(super) async fn refresh_shared(
        &self,
        user_id: &str,
        rejected: Option<&SecretString>,
    ) -> Result<FreshToken, Error> {
        for _ in 0..2 {
            let outcome = self
                .flights
                .run(user_id, || async {
                    self.refresh_locked(user_id, rejected)
                        .await
                        .map_err(Arc::new)
                })
                .await;
            match outcome {
                // Joined a flight that ended with the very token Google refused:
                // go once more, now as the one who knows it is refused.
                Ok(token)
                    if rejected.is_some_and(|r| {
                        r.expose_secret() == token.access_token.expose_secret()
                    }) => {}
                Ok(token) => return Ok(token),
                Err(error) => return Err(unshare(error)),
            }
        }
        Err(self.reauthorize(user_id, None, ReauthReason::Unauthorized))
    }

    /// Under the cross-process lock: re-reads the row (another replica may have
    /// refreshed meanwhile) and refreshes only if it still has to.
    async fn refresh_locked(
        &self,
        user_id: &str,
        rejected: Option<&SecretString>,
    ) -> Result<FreshToken, Error> {
        let _guard = self.config.coordinator.lock(user_id).await?;
        let credential = self.live_credential(user_id).await?;
        if let Some(token) = self.usable_access_token(&credential)?
            && rejected.is_none_or(|r| r.expose_secret() != token.access_token.expose_secret())
        {
            return Ok(token);
        }
        let email = credential.email.as_deref();
        let Some(sealed) = &credential.refresh_token else {
            return Err(self.reauthorize(user_id, email, ReauthReason::NoRefreshToken));
        };
        let refresh_token = self.config.keys.decrypt(&sealed.0, user_id)?;
        let tokens = self
            .refresh_with_retries(user_id, email, sealed, &refresh_token)
            .await?;
        let update = self.refresh_update(user_id, &tokens, &credential.scopes);
        if !self.config.store.save_refresh(user_id, &update).await? {
            return Err(self.reauthorize(
                user_id,
                email,
                ReauthReason::Revoked {
                    reason: "credentials were removed during the refresh".to_owned(),
                },
            ));
        }
        tracing::info!(user = %user_id, rotated = tokens.refresh_token.is_some(), "access token refreshed");
        Ok(FreshToken {
            access_token: tokens.access_token,
            expires_at: update.access_token_expires_at,
            scopes: update.scopes,
        })
    }

    /// What a refresh that brought `tokens` writes, sealed for `user_id`.
    pub(super) fn refresh_update(
        &self,
        user_id: &str,
        tokens: &TokenSet,
        stored_scopes: &[String],
    ) -> RefreshUpdate {
        RefreshUpdate {
            access_token: self.seal(&tokens.access_token, user_id),
            access_token_expires_at: expires_at(tokens),
            scopes: tokens
                .scopes
                .clone()
                .unwrap_or_else(|| stored_scopes.to_vec()),
            // Google does not rotate refresh tokens today; if it does, the new
            // one is written in the same statement as the access token, before
            // the access token is handed out.
            refresh_token: tokens.refresh_token.as_ref().map(|t| self.seal(t, user_id)),
        }
    }

    /// The refresh grant, retried with backoff while the failure is transient;
    /// a dead grant is recorded as revoked, with when and why.
    async fn refresh_with_retries(
        &self,
        user_id: &str,
        email: Option<&str>,
        sealed: &EncryptedToken,
        refresh_token: &SecretString,
    ) -> Result<TokenSet, Error> {
        let policy = self.config.retry;
        let mut failures = 0;
        loop {
            match self.config.oauth.refresh(refresh_token).await {
                Ok(tokens) => {
                    self.config.metrics.refresh("ok");
                    if failures > 0 {
                        self.config
                            .events
                            .emit(CredentialEvent::RefreshedAfterFailure {
                                user_id: user_id.to_owned(),
                                failed_attempts: failures,
                            });
                    }
                    return Ok(tokens);
                }
                Err(error) if error.is_grant_dead() => {
                    self.config.metrics.refresh("revoked");
                    let reason = error.to_string();
                    tracing::warn!(user = %user_id, %reason, "grant is dead; marking revoked");
                    self.mark_revoked(user_id, sealed, &reason).await?;
                    return Err(self.reauthorize(user_id, email, ReauthReason::Revoked { reason }));
                }
                Err(error) if error.is_client_rejected() => {
                    // The deployment's fault: no row is touched, no retry helps.
                    self.config.metrics.refresh("client_rejected");
                    return Err(self.oauth_failure(error));
                }
                Err(error) => {
                    self.config.metrics.refresh("transient_error");
                    failures += 1;
                    if failures >= policy.attempts {
                        tracing::warn!(user = %user_id, %error, failures, "refresh failed; giving up for now");
                        return Err(Error::RefreshFailed {
                            user_id: user_id.to_owned(),
                            attempts: failures,
                            reason: error.to_string(),
                        });
                    }
                    let pause = policy.delay(failures);
                    tracing::info!(user = %user_id, %error, failures, pause_ms = pause.as_millis() as u64, "refresh failed; retrying");
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }
}

/// The leader of a flight gets its own error back; waiters get a copy that
/// keeps what they act on ([`Error::duplicate`]).
fn unshare(error: Arc<Error>) -> Error {
    Arc::try_unwrap(error).unwrap_or_else(|shared| shared.duplicate())
}
