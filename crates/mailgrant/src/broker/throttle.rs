//! "At most once per interval": for alarms that would otherwise fire on every
//! request while a fault lasts.

use std::sync::Mutex;
use std::time::{Duration, Instant};

pub(crate) struct Throttle {
    interval: Duration,
    last: Mutex<Option<Instant>>,
}

impl Throttle {
    pub(crate) fn new(interval: Duration) -> Self {
        Self {
            interval,
            last: Mutex::new(None),
        }
    }

    /// True for the first call, then again once `interval` has passed since
    /// the last `true`.
    pub(crate) fn due(&self) -> bool {
        self.due_at(Instant::now())
    }

    fn due_at(&self, now: Instant) -> bool {
        let mut last = self.last.lock().expect("throttle poisoned");
        match *last {
            Some(at) if now.saturating_duration_since(at) < self.interval => false,
            _ => {
                *last = Some(now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_once_per_interval() {
        let throttle = Throttle::new(Duration::from_secs(60));
        let start = Instant::now();
        let at = |seconds| start + Duration::from_secs(seconds);
        assert!(throttle.due_at(at(0)));
        assert!(!throttle.due_at(at(1)));
        assert!(!throttle.due_at(at(59)));
        assert!(throttle.due_at(at(60)));
        assert!(!throttle.due_at(at(61)));
    }
}
