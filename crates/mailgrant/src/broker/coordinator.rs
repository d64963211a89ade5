//! Serializes refreshes of one user's token across processes that share a
//! store. Within one process the broker's single-flight already makes one
//! refresh per user; a database-backed store adds a lock the database holds
//! (a PostgreSQL advisory lock, say) so that replicas do too.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::OwnedMutexGuard;

use crate::store::StoreError;

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

type Locks = Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>;

/// One `tokio` mutex per user, forgotten again when nobody holds or waits for
/// it. Enough for one process (or several brokers in it) on an embedded store.
#[derive(Default)]
pub struct InProcessCoordinator {
    locks: Locks,
}

struct InProcessGuard {
    guard: Option<OwnedMutexGuard<()>>,
    locks: Locks,
    user_id: String,
}

impl Drop for InProcessGuard {
    fn drop(&mut self) {
        let mut locks = self.locks.lock().expect("lock map poisoned");
        self.guard = None;
        // Only the map holds it now: nobody is waiting, forget it.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lock_is_exclusive_per_user_and_forgotten_when_released() {
        let coordinator = InProcessCoordinator::default();
        let first = coordinator.lock("a").await.unwrap();
        let other_user = coordinator.lock("b").await.unwrap();
        let waiting =
            tokio::time::timeout(std::time::Duration::from_millis(50), coordinator.lock("a")).await;
        assert!(waiting.is_err(), "a second lock on the same user waits");
        drop((first, other_user));
        assert!(coordinator.locks.lock().unwrap().is_empty());
        let _again = coordinator.lock("a").await.unwrap();
    }
}
