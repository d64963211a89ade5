//! The per-user Gmail quota (reference §7): each call costs its method's
//! units, and a user may spend at most `units` in any sliding `window`. A
//! refused call spends nothing. Batch parts are charged one by one ("n
//! requests batched together count as n requests", reference §6), as
//! each part goes through the same Gmail routes.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::config::QuotaConfig;

/// Spent units per user, and what the counters report.
pub struct Quota {
    config: Option<QuotaConfig>,
    /// Charges still inside the window, oldest first, by user id.
    spent: HashMap<String, VecDeque<(Instant, u32)>>,
    pub refusals: u64,
    /// Units charged since start, by user id.
    pub used: HashMap<String, u64>,
}

impl Quota {
    pub fn new(config: Option<QuotaConfig>) -> Self {
        Self {
            config,
            spent: HashMap::new(),
            refusals: 0,
            used: HashMap::new(),
        }
    }

    /// Charges `units` to `user_id` at `now`; when that would pass the
    /// limit, charges nothing and returns how long until enough units
    /// leave the window.
    pub fn charge(&mut self, user_id: &str, units: u32, now: Instant) -> Result<(), Duration> {
        let Some(config) = self.config else {
            *self.used.entry(user_id.to_owned()).or_default() += u64::from(units);
            return Ok(());
        };
        let charges = self.spent.entry(user_id.to_owned()).or_default();
        while charges
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) >= config.window)
        {
            charges.pop_front();
        }
        let in_window: u32 = charges.iter().map(|(_, u)| u).sum();
        if in_window + units <= config.units {
            charges.push_back((now, units));
            *self.used.entry(user_id.to_owned()).or_default() += u64::from(units);
            return Ok(());
        }
        self.refusals += 1;
        if units > config.units {
            return Err(config.window);
        }
        let to_free = in_window + units - config.units;
        let mut freed = 0;
        for (at, spent) in charges.iter() {
            freed += spent;
            if freed >= to_free {
                return Err((*at + config.window).saturating_duration_since(now));
            }
        }
        Err(config.window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sliding_window_refuses_without_charging_and_frees_up() {
        let window = Duration::from_secs(10);
        let mut quota = Quota::new(Some(QuotaConfig { units: 10, window }));
        let start = Instant::now();
        assert!(quota.charge("u", 5, start).is_ok());
        assert!(quota.charge("u", 5, start + Duration::from_secs(4)).is_ok());
        let wait = quota.charge("u", 1, start + Duration::from_secs(5));
        assert_eq!(wait, Err(Duration::from_secs(5)));
        assert!(quota.charge("other", 10, start).is_ok());
        assert!(
            quota
                .charge("u", 5, start + Duration::from_secs(10))
                .is_ok()
        );
        assert_eq!((quota.refusals, quota.used["u"]), (1, 15));
    }

    #[test]
    fn no_config_means_no_limit() {
        let mut quota = Quota::new(None);
        for _ in 0..100 {
            assert!(quota.charge("u", 1000, Instant::now()).is_ok());
        }
        assert_eq!(quota.used["u"], 100_000);
    }
}
