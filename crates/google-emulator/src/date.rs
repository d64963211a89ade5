//! Dates without a date crate: RFC 2822 `Date:` values written and read,
//! ISO 8601 instants, and civil-date arithmetic for search operators.

/// Days since 1970-01-01 to a (year, month, day) civil date, per Howard
/// Hinnant's `civil_from_days` (http://howardhinnant.github.io/date_algorithms.html).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The inverse, Hinnant's `days_from_civil`. Months out of 1..=12 are
/// normalised first, so `(2024, 0, 1)` is 2023-12-01.
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = year + (month - 1).div_euclid(12);
    let month = (month - 1).rem_euclid(12) + 1;
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `Tue, 14 May 2024 09:30:50 -0700` (RFC 2822 §3.3) for the instant
/// `epoch_ms`, written in the zone `offset_minutes` east of UTC.
pub fn rfc2822(epoch_ms: i64, offset_minutes: i32) -> String {
    let local = epoch_ms.div_euclid(1000) + i64::from(offset_minutes) * 60;
    let days = local.div_euclid(86_400);
    let secs = local.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let weekday = WEEKDAYS[days.rem_euclid(7) as usize];
    let month_name = MONTHS[(month - 1) as usize];
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let off = offset_minutes.unsigned_abs();
    format!(
        "{weekday}, {day} {month_name} {year} {:02}:{:02}:{:02} {sign}{:02}{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
        off / 60,
        off % 60
    )
}

/// `2024-11-12T11:16:42.247Z`, the form of Google's "Retry after" texts
/// (reference §5, 429 row).
pub fn iso8601(epoch_ms: i64) -> String {
    let secs = epoch_ms.div_euclid(1000);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        s / 3600,
        s % 3600 / 60,
        s % 60,
        epoch_ms.rem_euclid(1000)
    )
}

/// Reads an RFC 2822 §3.3 date (`[Day,] DD Mon YYYY HH:MM[:SS] zone`,
/// plus the obsolete named zones of §4.3 and a trailing comment) as epoch
/// milliseconds. `None` when it is not one.
pub fn parse_rfc2822(value: &str) -> Option<i64> {
    let value = value.split('(').next().unwrap_or(value);
    let value = value.split_once(',').map_or(value, |(_, rest)| rest);
    let mut fields = value.split_whitespace();
    let day: i64 = fields.next()?.parse().ok()?;
    let month_name = fields.next()?;
    // `get`: a name whose third byte is inside a character is no month.
    let month_name = month_name.get(..month_name.len().min(3))?;
    let month = MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(month_name))?;
    let mut year: i64 = fields.next()?.parse().ok()?;
    // Two-digit years (§4.3): 00-49 are 20xx, 50-99 are 19xx.
    if year < 50 {
        year += 2000;
    } else if year < 100 {
        year += 1900;
    }
    let mut time = fields.next()?.split(':');
    let hour: i64 = time.next()?.parse().ok()?;
    let minute: i64 = time.next()?.parse().ok()?;
    let second: i64 = time.next().map_or(Some(0), |s| s.parse().ok())?;
    // Out of these ranges it is no date, and the sums below could overflow.
    let two_digits = 0..=99;
    if !(1..=31).contains(&day)
        || !(0..=9999).contains(&year)
        || ![hour, minute, second]
            .iter()
            .all(|v| two_digits.contains(v))
    {
        return None;
    }
    let offset_minutes = fields.next().map_or(Some(0), zone_minutes)?;
    let days = days_from_civil(year, month as i64 + 1, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Some(secs * 1000)
}

/// `+0100`, `-0700`, or a named zone of RFC 2822 §4.3.
fn zone_minutes(zone: &str) -> Option<i64> {
    let named = match zone.to_ascii_uppercase().as_str() {
        "UT" | "UTC" | "GMT" | "Z" => Some(0),
        "EDT" => Some(-4 * 60),
        "EST" | "CDT" => Some(-5 * 60),
        "CST" | "MDT" => Some(-6 * 60),
        "MST" | "PDT" => Some(-7 * 60),
        "PST" => Some(-8 * 60),
        _ => None,
    };
    if named.is_some() {
        return named;
    }
    let (sign, digits) = match zone.as_bytes().first()? {
        b'+' => (1, &zone[1..]),
        b'-' => (-1, &zone[1..]),
        _ => return Some(0),
    };
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i64 = digits[..2].parse().ok()?;
    let minutes: i64 = digits[2..].parse().ok()?;
    Some(sign * (hours * 60 + minutes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc2822(0, 0), "Thu, 1 Jan 1970 00:00:00 +0000");
        // 2024-05-09T14:30:50Z, from a recorded Gmail internalDate.
        assert_eq!(
            rfc2822(1_715_265_050_000, -420),
            "Thu, 9 May 2024 07:30:50 -0700"
        );
        assert_eq!(
            rfc2822(1_709_251_199_000, 60),
            "Fri, 1 Mar 2024 00:59:59 +0100"
        );
        assert_eq!(iso8601(1_731_410_202_247), "2024-11-12T11:16:42.247Z");
    }

    #[test]
    fn parses_what_it_writes_and_common_variants() {
        for (ms, offset) in [(1_715_265_050_000, -420), (0, 0), (1_709_251_199_000, 60)] {
            assert_eq!(parse_rfc2822(&rfc2822(ms, offset)), Some(ms));
        }
        assert_eq!(
            parse_rfc2822("9 May 2024 14:30 GMT"),
            Some(1_715_265_000_000)
        );
        assert_eq!(
            parse_rfc2822("Thu, 09 May 2024 07:30:50 -0700 (PDT)"),
            Some(1_715_265_050_000)
        );
        assert_eq!(parse_rfc2822("yesterday"), None);
    }

    #[test]
    fn a_non_ascii_month_or_a_huge_field_is_no_date() {
        // Found by tests/parser_properties.rs: a slice inside a character
        // panicked, and these numbers overflowed.
        assert_eq!(parse_rfc2822("1 éé 2024 10:00"), None);
        assert_eq!(parse_rfc2822("9223372036854775807 Jan 2024 10:00"), None);
        assert_eq!(parse_rfc2822("1 Jan 9223372036854775807 10:00"), None);
        assert_eq!(parse_rfc2822("1 Jan 2024 9223372036854775807:00"), None);
        assert_eq!(parse_rfc2822("1 Jan 2024 10:00:-1"), None);
    }

    #[test]
    fn civil_days_round_trip() {
        for days in [-1000, 0, 19_000, 20_500] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, i64::from(m), i64::from(d)), days);
        }
        assert_eq!(days_from_civil(2024, 13, 1), days_from_civil(2025, 1, 1));
        assert_eq!(days_from_civil(2024, 0, 1), days_from_civil(2023, 12, 1));
    }
}
