//! Numbers for people: `3.4 M`, `1.2 GB`, `1m20s`. For the terminal only; result files keep
//! every digit.

/// A count with a k, M or G suffix: `1234567.0` -> `1.2 M`; below a thousand, as it is
/// (integers without decimals, others with up to three significant digits).
pub fn count(value: f64) -> String {
    let magnitude = value.abs();
    match magnitude {
        m if m >= 1e9 => format!("{:.1} G", value / 1e9),
        m if m >= 1e6 => format!("{:.1} M", value / 1e6),
        m if m >= 1e3 => format!("{:.1} k", value / 1e3),
        _ => plain(value),
    }
}

/// A number below a thousand with at most three significant digits: `9.473` -> `9.47`,
/// `12.0` -> `12`, `0.0042` -> `0.0042`.
pub fn plain(value: f64) -> String {
    if value == value.trunc() && value.abs() < 1e15 {
        return format!("{value:.0}");
    }
    let magnitude = value.abs();
    let decimals = if magnitude >= 100.0 {
        0
    } else if magnitude >= 10.0 {
        1
    } else if magnitude >= 1.0 {
        2
    } else if magnitude > 0.0 {
        // Three significant digits of a small number.
        (2 - magnitude.log10().floor() as i32).clamp(0, 12) as usize
    } else {
        0
    };
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// Seconds as `45s`, `1m20s`, `2h05m`.
pub fn duration(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "-".to_owned();
    }
    let total = seconds.max(0.0).round() as u64;
    match total {
        t if t < 60 => format!("{t}s"),
        t if t < 3600 => format!("{}m{:02}s", t / 60, t % 60),
        t => format!("{}h{:02}m", t / 3600, (t % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_take_a_suffix_from_a_thousand_on() {
        assert_eq!(count(999.0), "999");
        assert_eq!(count(1234.0), "1.2 k");
        assert_eq!(count(3_400_000.0), "3.4 M");
        assert_eq!(count(2.5e9), "2.5 G");
        assert_eq!(count(9.473), "9.47");
    }

    #[test]
    fn plain_numbers_keep_three_significant_digits() {
        assert_eq!(plain(12.0), "12");
        assert_eq!(plain(12.34), "12.3");
        assert_eq!(plain(0.0042123), "0.00421");
        assert_eq!(plain(0.5), "0.5");
        assert_eq!(plain(123.4), "123");
    }

    #[test]
    fn durations_read_as_minutes_and_hours() {
        assert_eq!(duration(4.4), "4s");
        assert_eq!(duration(80.0), "1m20s");
        assert_eq!(duration(7500.0), "2h05m");
        assert_eq!(duration(f64::INFINITY), "-");
    }
}
