//! RFC 2822 `Date:` values from epoch milliseconds, without a date crate.

/// Days since 1970-01-01 to a (year, month, day) civil date, per Howard
/// Hinnant's `civil_from_days` (http://howardhinnant.github.io/date_algorithms.html).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
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
    }
}
