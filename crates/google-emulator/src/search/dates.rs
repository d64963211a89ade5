//! The values of the date and size operators (reference §8, "Dates" and
//! "Size").

use crate::date::{civil_from_days, days_from_civil};

const DAY_MS: i64 = 86_400_000;
/// "Dates are interpreted as midnight PST" (filtering guide, reference §8):
/// a fixed UTC-8, summer or not.
const PST_OFFSET_MS: i64 = 8 * 3_600_000;
/// Ten thousand years in days. A longer age reaches past every message
/// anyway, and within it the sums below cannot overflow.
const MAX_AGE: i64 = 3_652_500;

/// `after:`/`before:` values as epoch ms: `YYYY/MM/DD` (or with `-`),
/// `MM/DD/YYYY`, each at midnight PST, or epoch seconds (the filtering
/// guide's way to give an exact time).
pub fn absolute(value: &str) -> Option<i64> {
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<i64>().ok()?.checked_mul(1000);
    }
    let fields: Vec<i64> = value
        .split(['/', '-'])
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    let [a, b, c] = fields[..] else {
        return None;
    };
    let (year, month, day) = if a > 31 { (a, b, c) } else { (c, a, b) };
    // A five-digit year is no date Gmail reads, and could overflow below.
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || !(0..=9999).contains(&year) {
        return None;
    }
    Some(days_from_civil(year, month, day) * DAY_MS + PST_OFFSET_MS)
}

/// `older_than:`/`newer_than:` values (`3d`, `2m`, `1y`) as the instant
/// that long before `now_ms`; months and years are calendar ones.
pub fn relative(value: &str, now_ms: i64) -> Option<i64> {
    let unit = value.chars().last()?;
    let count: i64 = value[..value.len() - unit.len_utf8()].parse().ok()?;
    let count = count.clamp(-MAX_AGE, MAX_AGE);
    let months = match unit.to_ascii_lowercase() {
        'd' => return Some(now_ms - count * DAY_MS),
        'm' => count,
        'y' => count * 12,
        _ => return None,
    };
    let days = now_ms.div_euclid(DAY_MS);
    let time_of_day = now_ms.rem_euclid(DAY_MS);
    let (year, month, day) = civil_from_days(days);
    let then = days_from_civil(year, i64::from(month) - months, i64::from(day));
    Some(then * DAY_MS + time_of_day)
}

/// `larger:`/`smaller:`/`size:` values in bytes: a number with an optional
/// `K` or `M` suffix. Whether Gmail's K and M are 1000 or 1024 is
/// unconfirmed; the emulator uses 1024.
pub fn size(value: &str) -> Option<u64> {
    let value = value.trim_end_matches(['b', 'B']);
    let (digits, multiplier) = match value.chars().last()? {
        'k' | 'K' => (&value[..value.len() - 1], 1024),
        'm' | 'M' => (&value[..value.len() - 1], 1024 * 1024),
        _ => (value, 1),
    };
    digits.parse::<u64>().ok()?.checked_mul(multiplier)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_dates_are_midnight_pst_and_numbers_are_epoch_seconds() {
        // 2014-01-01T00:00:00-08:00.
        assert_eq!(absolute("2014/01/01"), Some(1_388_563_200_000));
        assert_eq!(absolute("01/01/2014"), absolute("2014/01/01"));
        assert_eq!(absolute("2014-01-01"), absolute("2014/01/01"));
        assert_eq!(absolute("1388552400"), Some(1_388_552_400_000));
        assert_eq!(absolute("2014/13/01"), None);
        assert_eq!(absolute("soon"), None);
    }

    #[test]
    fn relative_ages_count_back_days_and_calendar_months() {
        let now = absolute("2024/03/15").unwrap();
        assert_eq!(relative("2d", now), Some(now - 2 * DAY_MS));
        assert_eq!(relative("1m", now), absolute("2024/02/15"));
        assert_eq!(relative("1y", now), absolute("2023/03/15"));
        assert_eq!(relative("3w", now), None);
    }

    #[test]
    fn huge_ages_and_years_do_not_overflow() {
        // Found by tests/parser_properties.rs: these overflowed.
        let now = absolute("2024/03/15").unwrap();
        let ten_thousand_years_ago = now - MAX_AGE * DAY_MS;
        assert_eq!(
            relative("9223372036854775807d", now),
            Some(ten_thousand_years_ago)
        );
        assert!(relative("999999999999999999y", now).is_some_and(|t| t < ten_thousand_years_ago));
        assert!(relative("-9223372036854775807m", now).is_some_and(|t| t > now));
        assert_eq!(absolute("9223372036854775807/01/01"), None);
    }

    #[test]
    fn sizes_take_k_and_m_suffixes() {
        assert_eq!(size("500"), Some(500));
        assert_eq!(size("2K"), Some(2048));
        assert_eq!(size("10M"), Some(10 * 1024 * 1024));
        assert_eq!(size("big"), None);
    }
}
