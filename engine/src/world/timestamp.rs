//! ISO 8601 timestamps in the shape Discord sends them: `2024-05-01T12:34:56.789000+00:00`.
//!
//! Flux keeps times as Unix milliseconds and formats them only when it writes JSON, and
//! parses them only where a client sends one (`communication_disabled_until`).
//! Hand-rolled (days-to-civil conversion and back) so the world needs no date crate and
//! never reads the clock.

/// Formats Unix milliseconds as Discord's ISO 8601 UTC form with microseconds.
///
/// ```
/// use engine::world::iso8601_from_unix_ms;
/// assert_eq!(iso8601_from_unix_ms(0), "1970-01-01T00:00:00.000000+00:00");
/// ```
pub fn iso8601_from_unix_ms(unix_ms: u64) -> String {
    let seconds = unix_ms / 1000;
    let millis = unix_ms % 1000;
    let days = seconds / 86_400;
    let second_of_day = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    let (hour, minute, second) = (
        second_of_day / 3600,
        (second_of_day / 60) % 60,
        second_of_day % 60,
    );
    if year > 9999 {
        // Five digits or more: never a real message's time, so the general formatter.
        return format!(
            "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{millis:03}000+00:00"
        );
    }
    // Every message and member carries timestamps, so the common case writes its digits
    // into a template instead of going through `format!` (seven padded integers and
    // several reallocations: 7.6% of a core's time on the one-channel durable path).
    let mut text = *b"0000-00-00T00:00:00.000000+00:00";
    put_digits(&mut text[0..4], year);
    put_digits(&mut text[5..7], month);
    put_digits(&mut text[8..10], day);
    put_digits(&mut text[11..13], hour);
    put_digits(&mut text[14..16], minute);
    put_digits(&mut text[17..19], second);
    put_digits(&mut text[20..23], millis);
    String::from_utf8(text.to_vec()).expect("a template of ASCII digits")
}

/// Writes `value` in decimal into all of `out`, zero-padded; `value` must fit.
fn put_digits(out: &mut [u8], mut value: u64) {
    for byte in out.iter_mut().rev() {
        *byte = b'0' + (value % 10) as u8;
        value /= 10;
    }
    debug_assert_eq!(value, 0, "the value fits its field");
}

/// Parses an RFC 3339 / ISO 8601 timestamp as clients send them
/// (`2024-05-01T12:34:56Z`, `…56.789+00:00`, `…56.789000-05:30`; a space may stand for
/// `T`; no offset means UTC, as Python's `isoformat()` of a naive time) into Unix
/// milliseconds. Fractions beyond milliseconds are truncated. `None` for anything else,
/// and for instants before 1970 or after 9999.
///
/// ```
/// use engine::world::unix_ms_from_iso8601;
/// assert_eq!(unix_ms_from_iso8601("1970-01-01T00:00:01.5Z"), Some(1_500));
/// assert_eq!(unix_ms_from_iso8601("2016-04-30T13:18:25.796000+02:00"), Some(1_462_015_105_796));
/// assert_eq!(unix_ms_from_iso8601("2016-02-30T00:00:00Z"), None);
/// ```
pub fn unix_ms_from_iso8601(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    if bytes.len() < 19 || !text.is_ascii() {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u64> {
        let digits = bytes.get(range)?;
        digits.iter().try_fold(0u64, |acc, &b| {
            b.is_ascii_digit().then(|| acc * 10 + u64::from(b - b'0'))
        })
    };
    let separators_ok = bytes[4] == b'-'
        && bytes[7] == b'-'
        && matches!(bytes[10], b'T' | b't' | b' ')
        && bytes[13] == b':'
        && bytes[16] == b':';
    if !separators_ok {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if year < 1970 || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut rest = &bytes[19..];
    let mut millis = 0;
    if let Some((b'.', fraction)) = rest.split_first() {
        let digits = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        for (place, b) in fraction[..digits.min(3)].iter().enumerate() {
            millis += u64::from(b - b'0') * [100, 10, 1][place];
        }
        rest = &fraction[digits..];
    }
    let offset_s: i64 = match rest {
        [] | [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let digit = |b: &u8| b.is_ascii_digit().then(|| i64::from(b - b'0'));
            let hours = digit(h1)? * 10 + digit(h2)?;
            let minutes = digit(m1)? * 10 + digit(m2)?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let magnitude = hours * 3600 + minutes * 60;
            if *sign == b'+' {
                magnitude
            } else {
                -magnitude
            }
        }
        _ => return None,
    };
    let local_s = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    let utc_s = i64::try_from(local_s).ok()?.checked_sub(offset_s)?;
    let utc_s = u64::try_from(utc_s).ok()?;
    Some(utc_s * 1000 + millis)
}

fn is_leap(year: u64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Howard Hinnant's `days_from_civil` for dates from 1970 on.
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year / 400;
    let year_of_era = year % 400;
    let month_index = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Howard Hinnant's `civil_from_days` for days since 1970-01-01 (non-negative only).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn parsing_what_we_format_gives_the_instant_back(ms in 0u64..253_402_300_799_999) {
            prop_assert_eq!(unix_ms_from_iso8601(&iso8601_from_unix_ms(ms)), Some(ms));
        }

        #[test]
        fn offsets_shift_the_instant(ms in 86_400_000u64..253_402_214_399_000, minutes in 0i64..(24 * 60)) {
            let utc = iso8601_from_unix_ms(ms);
            let shifted = ms as i64 + minutes * 60_000;
            let local = iso8601_from_unix_ms(shifted as u64);
            let with_offset = format!("{}+{:02}:{:02}", &local[..26], minutes / 60, minutes % 60);
            prop_assert_eq!(unix_ms_from_iso8601(&with_offset), unix_ms_from_iso8601(&utc));
        }

        #[test]
        fn formats_as_the_padded_integers_say(
            ms in prop_oneof![0u64..253_402_300_800_000, any::<u64>()]
        ) {
            let seconds = ms / 1000;
            let (year, month, day) = civil_from_days(seconds / 86_400);
            let second_of_day = seconds % 86_400;
            let reference = format!(
                "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}000+00:00",
                second_of_day / 3600,
                (second_of_day / 60) % 60,
                second_of_day % 60,
                ms % 1000,
            );
            prop_assert_eq!(iso8601_from_unix_ms(ms), reference);
        }

        #[test]
        fn any_text_is_an_instant_or_none_never_a_panic(text in ".{0,40}") {
            let _ = unix_ms_from_iso8601(&text);
        }

        #[test]
        fn near_misses_are_refused_or_parsed_without_panic(
            ms in 0u64..4_102_444_800_000,
            cut in 0usize..32,
            byte in any::<u8>(),
            at in 0usize..32,
        ) {
            let mut text = iso8601_from_unix_ms(ms).into_bytes();
            text.truncate(cut.max(1));
            if at < text.len() {
                text[at] = byte;
            }
            let _ = unix_ms_from_iso8601(&String::from_utf8_lossy(&text));
        }
    }

    #[test]
    fn parses_the_shapes_clients_send_and_refuses_the_rest() {
        let ok = [
            ("2024-05-01T12:34:56Z", 1_714_566_896_000),
            ("2024-05-01T12:34:56", 1_714_566_896_000),
            ("2024-05-01 12:34:56+00:00", 1_714_566_896_000),
            ("2024-05-01T12:34:56.1Z", 1_714_566_896_100),
            ("2024-05-01T12:34:56.123456789Z", 1_714_566_896_123),
            ("2024-05-01T14:34:56.000+02:00", 1_714_566_896_000),
            ("2024-05-01T07:04:56-05:30", 1_714_566_896_000),
            ("2000-02-29T00:00:00Z", 951_782_400_000),
        ];
        for (text, ms) in ok {
            assert_eq!(unix_ms_from_iso8601(text), Some(ms), "{text}");
        }
        let refused = [
            "",
            "2024-05-01",
            "2024-05-01T12:34",
            "2024-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-04-31T00:00:00Z",
            "2024-05-01T24:00:00Z",
            "2024-05-01T12:60:00Z",
            "2024-05-01T12:34:56.Z",
            "2024-05-01T12:34:56.1234567890Z",
            "2024-05-01T12:34:56+0200",
            "2024-05-01T12:34:56+24:00",
            "2024-05-01T12:34:56 Z",
            "1969-12-31T23:59:59Z",
            "1970-01-01T00:00:00+00:01",
            "２０２４-05-01T12:34:56Z",
        ];
        for text in refused {
            assert_eq!(unix_ms_from_iso8601(text), None, "{text}");
        }
    }

    #[test]
    fn formats_known_instants() {
        let table = [
            (0, "1970-01-01T00:00:00.000000+00:00"),
            (951_782_400_000, "2000-02-29T00:00:00.000000+00:00"),
            (1_420_070_400_000, "2015-01-01T00:00:00.000000+00:00"),
            (1_462_015_105_796, "2016-04-30T11:18:25.796000+00:00"),
            (1_709_251_199_999, "2024-02-29T23:59:59.999000+00:00"),
            (4_102_444_800_000, "2100-01-01T00:00:00.000000+00:00"),
        ];
        for (ms, want) in table {
            assert_eq!(iso8601_from_unix_ms(ms), want, "{ms}");
        }
    }
}
