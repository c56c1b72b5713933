//! How numbers are written in the report, the plots' axes and the gate's reason, so a figure
//! reads the same wherever it appears.

/// An integer with thousands separators: `4,000,000`.
pub(crate) fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A rate such as ops/s, rounded to a whole number with thousands separators. Rates this
/// report deals in run from thousands to billions, so a fraction would be noise.
pub(crate) fn rate(value: f64) -> String {
    if !value.is_finite() || value < 0.0 {
        return "—".to_owned();
    }
    count(value.round() as u64)
}

/// A duration or cost with as many decimals as its size deserves: `3.42`, `41.7`, `1,250`.
pub(crate) fn amount(value: f64) -> String {
    if !value.is_finite() {
        return "—".to_owned();
    }
    let magnitude = value.abs();
    if magnitude >= 1000.0 {
        let sign = if value < 0.0 { "-" } else { "" };
        format!("{sign}{}", count(magnitude.round() as u64))
    } else if magnitude >= 100.0 {
        format!("{value:.0}")
    } else if magnitude >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// A ratio, two decimals: `1.27`.
pub(crate) fn ratio(value: f64) -> String {
    if value.is_finite() {
        format!("{value:.2}")
    } else {
        "—".to_owned()
    }
}

/// A short axis label with an SI suffix: `250k`, `1.5M`.
pub(crate) fn si(value: f64) -> String {
    let magnitude = value.abs();
    let (scaled, suffix) = if magnitude >= 1e9 {
        (value / 1e9, "G")
    } else if magnitude >= 1e6 {
        (value / 1e6, "M")
    } else if magnitude >= 1e3 {
        (value / 1e3, "k")
    } else {
        (value, "")
    };
    let text = format!("{scaled:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_for_reading() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(4_000_000), "4,000,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(rate(8_000_000.4), "8,000,000");
        assert_eq!(rate(f64::NAN), "—");
        assert_eq!(amount(3.4159), "3.42");
        assert_eq!(amount(41.66), "41.7");
        assert_eq!(amount(512.4), "512");
        assert_eq!(amount(1250.2), "1,250");
        assert_eq!(ratio(1.2549), "1.25");
        assert_eq!(si(0.0), "0");
        assert_eq!(si(250_000.0), "250k");
        assert_eq!(si(1_500_000.0), "1.5M");
        assert_eq!(si(2.5), "2.5");
    }
}
