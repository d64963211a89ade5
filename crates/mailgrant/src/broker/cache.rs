//! Decrypted access tokens kept in memory for a short while, so a hot token
//! API does not read and decrypt the row on every call. Entries live at most
//! `ttl` (a revocation made by another replica shows within it) and never past
//! the token's own refresh point; local refreshes, revocations and deletions
//! replace or drop them at once.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use super::FreshToken;

pub(crate) struct TokenCache {
    ttl: Duration,
    entries: RwLock<HashMap<String, (Instant, FreshToken)>>,
}

impl TokenCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: RwLock::default(),
        }
    }

    /// The cached token, if still within the TTL and `usable_until` (unix s).
    pub(crate) fn get(
        &self,
        user_id: &str,
        refresh_at: impl Fn(&FreshToken) -> bool,
    ) -> Option<FreshToken> {
        let entries = self.entries.read().expect("token cache poisoned");
        let (stored, token) = entries.get(user_id)?;
        (stored.elapsed() < self.ttl && !refresh_at(token)).then(|| token.clone())
    }

    pub(crate) fn put(&self, user_id: &str, token: &FreshToken) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.write().expect("token cache poisoned");
        // Bound the map: expired entries go when it grows.
        if entries.len() >= 100_000 {
            let ttl = self.ttl;
            entries.retain(|_, (stored, _)| stored.elapsed() < ttl);
        }
        entries.insert(user_id.to_owned(), (Instant::now(), token.clone()));
    }

    pub(crate) fn forget(&self, user_id: &str) {
        self.entries
            .write()
            .expect("token cache poisoned")
            .remove(user_id);
    }
}
