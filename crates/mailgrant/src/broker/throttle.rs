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
        let mut last = self.last.lock().expect("throttle poisoned");
        match *last {
            Some(at) if at.elapsed() < self.interval => false,
            _ => {
                *last = Some(Instant::now());
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
        let throttle = Throttle::new(Duration::from_millis(50));
        assert!(throttle.due());
        assert!(!throttle.due());
        std::thread::sleep(Duration::from_millis(60));
        assert!(throttle.due());
        assert!(!throttle.due());
    }
}
