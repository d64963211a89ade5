//! Key rotation: re-encrypt every stored token with the current key. Nothing is
//! written until every token has been decrypted, so a wrong or missing key
//! stops the rotation with the user named and the data untouched.

use crate::crypto::{CryptoError, Keyring};
use crate::store::{CredentialStore, EncryptedToken, StoreError, TokenPair};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RotationError {
    #[error(
        "the tokens of user {user_id} cannot be decrypted with the configured keys: {error}; nothing was changed"
    )]
    Undecryptable { user_id: String, error: CryptoError },
    #[error(
        "none of the {sampled} stored tokens sampled decrypts with the configured keys ({configured}); they were written with key {found}: configure that key (MAILGRANT_ENCRYPTION_KEY or the key file) or every request would fail"
    )]
    WrongKeys {
        sampled: usize,
        configured: String,
        found: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How many stored tokens [`check_keys`] tries.
pub const KEY_CHECK_SAMPLE: u32 = 20;

/// At start: decrypts the tokens of up to `sample` stored users and fails
/// when there are some and none decrypts (a wrong key would otherwise fail
/// every request, user after user). Returns how many decrypted.
pub async fn check_keys(
    store: &dyn CredentialStore,
    keys: &Keyring,
    sample: u32,
) -> Result<usize, RotationError> {
    let users = store.list(None, sample).await?;
    let tokens: Vec<(&str, &EncryptedToken)> = users
        .iter()
        .filter_map(|u| {
            let token = u.refresh_token.as_ref().or(u.access_token.as_ref())?;
            Some((u.user_id.as_str(), token))
        })
        .collect();
    let readable = tokens
        .iter()
        .filter(|(user, token)| keys.decrypt(&token.0, user).is_ok())
        .count();
    if readable == 0 && !tokens.is_empty() {
        let mut found: Vec<&str> = tokens
            .iter()
            .map(|(_, t)| Keyring::key_id_of(&t.0).unwrap_or("(unreadable)"))
            .collect();
        found.sort_unstable();
        found.dedup();
        return Err(RotationError::WrongKeys {
            sampled: tokens.len(),
            configured: keys.key_ids().join(", "),
            found: found.join(", "),
        });
    }
    Ok(readable)
}

/// What a rotation did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RotationReport {
    /// Users whose tokens were re-encrypted.
    pub reencrypted: usize,
    /// Users already on the current key (or without tokens).
    pub unchanged: usize,
}

const PAGE: u32 = 500;

fn reseal(
    keys: &Keyring,
    token: &Option<EncryptedToken>,
    user_id: &str,
) -> Result<Option<EncryptedToken>, CryptoError> {
    token
        .as_ref()
        .map(|t| {
            let plain = keys.decrypt(&t.0, user_id)?;
            Ok(EncryptedToken(keys.encrypt(
                secrecy::ExposeSecret::expose_secret(&plain),
                user_id,
            )))
        })
        .transpose()
}

fn on_current_key(keys: &Keyring, pair: &TokenPair) -> bool {
    [&pair.refresh_token, &pair.access_token]
        .into_iter()
        .flatten()
        .all(|t| Keyring::key_id_of(&t.0) == Some(keys.current_key_id()))
}

/// Re-encrypts every token that is not on the current key.
pub async fn reencrypt_all(
    store: &dyn CredentialStore,
    keys: &Keyring,
) -> Result<RotationReport, RotationError> {
    // Pass 1: prove every token decrypts before writing anything.
    let mut after: Option<String> = None;
    loop {
        let page = store.list(after.as_deref(), PAGE).await?;
        for user in &page {
            for token in [&user.refresh_token, &user.access_token]
                .into_iter()
                .flatten()
            {
                keys.decrypt(&token.0, &user.user_id).map_err(|error| {
                    RotationError::Undecryptable {
                        user_id: user.user_id.clone(),
                        error,
                    }
                })?;
            }
        }
        match page.last() {
            Some(last) if page.len() == PAGE as usize => after = Some(last.user_id.clone()),
            _ => break,
        }
    }
    // Pass 2: swap each row, retrying rows a concurrent refresh changed.
    let mut report = RotationReport::default();
    let mut after: Option<String> = None;
    loop {
        let page = store.list(after.as_deref(), PAGE).await?;
        for user in &page {
            let mut current = TokenPair {
                refresh_token: user.refresh_token.clone(),
                access_token: user.access_token.clone(),
            };
            loop {
                if on_current_key(keys, &current) {
                    report.unchanged += 1;
                    break;
                }
                let undecryptable = |error| RotationError::Undecryptable {
                    user_id: user.user_id.clone(),
                    error,
                };
                let replacement = TokenPair {
                    refresh_token: reseal(keys, &current.refresh_token, &user.user_id)
                        .map_err(undecryptable)?,
                    access_token: reseal(keys, &current.access_token, &user.user_id)
                        .map_err(undecryptable)?,
                };
                if store
                    .replace_tokens(&user.user_id, &current, &replacement)
                    .await?
                {
                    report.reencrypted += 1;
                    break;
                }
                let Some(fresh) = store.get(&user.user_id).await? else {
                    break;
                };
                current = TokenPair {
                    refresh_token: fresh.refresh_token,
                    access_token: fresh.access_token,
                };
            }
        }
        match page.last() {
            Some(last) if page.len() == PAGE as usize => after = Some(last.user_id.clone()),
            _ => return Ok(report),
        }
    }
}
