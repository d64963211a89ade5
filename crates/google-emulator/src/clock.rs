//! The emulator's one notion of now: the machine's clock plus an offset a
//! test can set (`POST /emulator/clock`), so that token lifetimes, code
//! lifetimes, the quota window, watch expiry and Pub/Sub retention all move
//! together when a test skips ahead.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Cheap to clone; clones share the offset (background deliveries read it
/// without taking the state lock).
#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed)
    }

    pub fn set_offset_ms(&self, offset_ms: i64) {
        self.offset_ms.store(offset_ms, Ordering::Relaxed);
    }

    /// Milliseconds since the Unix epoch, offset included.
    pub fn epoch_ms(&self) -> i64 {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        real.saturating_add(self.offset_ms())
    }

    /// A monotonic instant, offset included: what deadlines kept as
    /// `Instant`s (tokens, codes, quota) are compared with.
    pub fn instant(&self) -> Instant {
        let now = Instant::now();
        let offset = self.offset_ms();
        let by = Duration::from_millis(offset.unsigned_abs());
        if offset >= 0 {
            now.checked_add(by).unwrap_or(now)
        } else {
            now.checked_sub(by).unwrap_or(now)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offset_moves_both_readings() {
        let clock = Clock::default();
        let (before_ms, before) = (clock.epoch_ms(), clock.instant());
        clock.set_offset_ms(3_600_000);
        assert!(clock.epoch_ms() - before_ms >= 3_600_000);
        assert!(clock.instant().duration_since(before) >= Duration::from_secs(3600));
    }
}
