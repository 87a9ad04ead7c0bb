//! Bar times and the civil calendar: a raw file's `2015-02-02 09:15:00+05:30` as the wall clock
//! written and the instant it denotes, and dates from day counts (proleptic Gregorian, after
//! H. Hinnant), without a time-zone database.

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;

/// A bar time: the wall clock written in the file and the instant it denotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarTime {
    /// Milliseconds since 1970-01-01 00:00 of the wall clock as written (India time).
    pub local_ms: i64,
    /// Milliseconds since the Unix epoch (UTC): what the series is sorted by.
    pub utc_ms: i64,
}

/// Days from 1970-01-01 to the civil date (proleptic Gregorian), after H. Hinnant.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Parses `2015-02-02 09:15:00+05:30` (also with `T`, `Z` or `+0530`). The offset is required:
/// without it the instant is ambiguous.
pub fn parse_bar_time(s: &str) -> Result<BarTime, &'static str> {
    parse_bar_time_bytes(s.trim().as_bytes())
}

/// [`parse_bar_time`] on bytes already trimmed.
pub fn parse_bar_time_bytes(b: &[u8]) -> Result<BarTime, &'static str> {
    const BAD: &str = "not a date like 2015-02-02 09:15:00+05:30";
    let num = |r: std::ops::Range<usize>| -> Result<u32, &'static str> {
        let part = b.get(r).ok_or(BAD)?;
        let mut v = 0u32;
        for c in part {
            if !c.is_ascii_digit() {
                return Err(BAD);
            }
            v = v * 10 + (c - b'0') as u32;
        }
        Ok(v)
    };
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b' ' | b'T') {
        return Err(BAD);
    }
    if b[13] != b':' || b[16] != b':' {
        return Err(BAD);
    }
    let (y, mo, d) = (num(0..4)? as i64, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo)
        || d == 0
        || d > days_in_month(y, mo)
        || h > 23
        || mi > 59
        || sec > 59
    {
        return Err("date or time out of range");
    }
    let rest = &b[19..];
    let offset_min: i64 = match rest {
        [] => return Err("date has no UTC offset (expected e.g. +05:30)"),
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), tail @ ..] => {
            let digits = match tail {
                [a, b, b':', c, d] | [a, b, c, d] => [*a, *b, *c, *d],
                _ => return Err(BAD),
            };
            if !digits.iter().all(u8::is_ascii_digit) {
                return Err(BAD);
            }
            let oh = ((digits[0] - b'0') * 10 + (digits[1] - b'0')) as i64;
            let om = ((digits[2] - b'0') * 10 + (digits[3] - b'0')) as i64;
            if oh > 18 || om > 59 {
                return Err("UTC offset out of range");
            }
            let m = oh * 60 + om;
            if *sign == b'-' {
                -m
            } else {
                m
            }
        }
        _ => return Err(BAD),
    };
    let days = days_from_civil(y, mo, d);
    let local_ms = ((days * 24 + h as i64) * 60 + mi as i64) * 60_000 + sec as i64 * 1000;
    Ok(BarTime {
        local_ms,
        utc_ms: local_ms - offset_min * 60_000,
    })
}

/// The civil date (year, month, day) of a day count since 1970-01-01, after H. Hinnant.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    (y, m, d)
}

/// `YYYY-MM-DD HH:MM` of a wall-clock millisecond count.
pub fn format_wall(ms: i64) -> String {
    let (y, m, d) = civil_from_days(ms.div_euclid(DAY_MS));
    let mins = ms.rem_euclid(DAY_MS) / 60_000;
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}", mins / 60, mins % 60)
}

/// The wall-clock ms of `YYYY-MM-DD HH:MM` (India time, as [`format_wall`] writes it).
pub fn parse_wall(s: &str) -> Result<i64, &'static str> {
    let s = s.trim();
    if s.len() != 16 {
        return Err("not a minute like 2015-02-02 09:15 (India time)");
    }
    parse_bar_time(&format!("{s}:00+05:30"))
        .map(|t| t.local_ms)
        .map_err(|_| "not a minute like 2015-02-02 09:15 (India time)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_times_parse_with_their_offset() {
        let t = parse_bar_time("2015-02-02 09:15:00+05:30").unwrap();
        // 2015-02-02 03:45:00 UTC
        assert_eq!(t.utc_ms, 1_422_848_700_000);
        assert_eq!(t.local_ms - t.utc_ms, 330 * 60_000);
        assert_eq!(parse_bar_time("2015-02-02T09:15:00+0530").unwrap(), t);
        assert_eq!(
            parse_bar_time("2015-02-02 03:45:00Z").unwrap().utc_ms,
            t.utc_ms
        );
        assert!(parse_bar_time("2015-02-02 09:15:00")
            .unwrap_err()
            .contains("offset"));
        assert!(parse_bar_time("2015-02-30 09:15:00+05:30").is_err());
        assert!(parse_bar_time("2015/02/02 09:15:00+05:30").is_err());
        assert!(parse_bar_time("").is_err());
    }

    #[test]
    fn civil_days_match_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
    }

    #[test]
    fn wall_minutes_round_trip() {
        let t = parse_wall("2015-02-02 09:15").unwrap();
        assert_eq!(format_wall(t), "2015-02-02 09:15");
        assert!(parse_wall("2015-02-02").is_err());
        assert!(parse_wall("2015-02-02 25:15").is_err());
    }

    #[test]
    fn wall_clock_is_written_to_the_minute() {
        let t = parse_bar_time("2015-02-02 09:15:59+05:30").unwrap();
        assert_eq!(format_wall(t.local_ms), "2015-02-02 09:15");
        assert_eq!(format_wall(-60_000), "1969-12-31 23:59");
    }

    #[test]
    fn civil_round_trip() {
        for days in [-800_000i64, -1, 0, 1, 11_017, 16_468, 20_000, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{days}");
        }
    }
}
