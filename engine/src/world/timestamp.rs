//! ISO 8601 timestamps in the shape Discord sends them: `2024-05-01T12:34:56.789000+00:00`.
//!
//! Flux keeps times as Unix milliseconds and formats them only when it writes JSON.
//! Hand-rolled (days-to-civil conversion) so the world needs no date crate and never
//! reads the clock.

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
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}000+00:00",
        second_of_day / 3600,
        (second_of_day / 60) % 60,
        second_of_day % 60
    )
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
