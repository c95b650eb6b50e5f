//! Time conversion: JSON number text → integer nanoseconds, exactly.
//!
//! Parsing `1712195495505543.2` (µs) through `f64` loses sub-µs digits, and
//! `16784.652225035` (s) picks up binary noise. We read the decimal digits
//! into an `i128` and scale by a power of ten instead, rounding half away
//! from zero only when the text has more digits than a nanosecond holds.

use std::fmt;

/// Unit of a timestamp in an input, as a power of ten of nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Seconds,
    Millis,
    Micros,
    Nanos,
}

impl Unit {
    fn exp(self) -> i32 {
        match self {
            Unit::Seconds => 9,
            Unit::Millis => 6,
            Unit::Micros => 3,
            Unit::Nanos => 0,
        }
    }
}

/// Why a number could not become nanoseconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimeError {
    NotANumber(String),
    OutOfRange(String),
}

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeError::NotANumber(t) => write!(f, "expected a number, found {t}"),
            TimeError::OutOfRange(t) => write!(
                f,
                "{t} is out of range (times are limited to ±2^62 ns, about ±146 years)"
            ),
        }
    }
}

impl std::error::Error for TimeError {}

/// Converts JSON number text (`-12.5e3`, `1712195495505543.2`) in `unit` to
/// integer nanoseconds.
pub fn to_ns(text: &str, unit: Unit) -> Result<i64, TimeError> {
    let bad = || TimeError::NotANumber(shorten(text));
    let b = text.trim().as_bytes();
    let mut i = 0;
    let neg = b.first() == Some(&b'-');
    if neg {
        i += 1;
    }
    // Significant digits kept in `mant`; `exp10` is the power of ten to apply.
    let mut mant: i128 = 0;
    let mut exp10: i32 = unit.exp();
    let mut digits = 0usize;
    let mut any = false;
    let push = |d: u8, frac: bool, mant: &mut i128, exp10: &mut i32, digits: &mut usize| {
        if *digits < 36 {
            *mant = *mant * 10 + i128::from(d - b'0');
            if *mant != 0 {
                *digits += 1;
            }
            if frac {
                *exp10 -= 1;
            }
        } else if !frac {
            *exp10 = exp10.saturating_add(1); // integer digit beyond our precision: scale instead
        }
    };
    while i < b.len() && b[i].is_ascii_digit() {
        push(b[i], false, &mut mant, &mut exp10, &mut digits);
        any = true;
        i += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            push(b[i], true, &mut mant, &mut exp10, &mut digits);
            any = true;
            i += 1;
        }
    }
    if !any {
        return Err(bad());
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        let eneg = match b.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let start = i;
        let mut e: i32 = 0;
        while i < b.len() && b[i].is_ascii_digit() {
            e = e.saturating_mul(10).saturating_add(i32::from(b[i] - b'0'));
            i += 1;
        }
        if i == start {
            return Err(bad());
        }
        exp10 = exp10.saturating_add(if eneg { -e } else { e });
    }
    if i != b.len() {
        return Err(bad());
    }
    let range = || TimeError::OutOfRange(shorten(text));
    let value: i128 = if mant == 0 {
        0
    } else if exp10 >= 0 {
        if exp10 > 38 {
            return Err(range());
        }
        mant.checked_mul(10i128.pow(exp10 as u32))
            .ok_or_else(range)?
    } else if exp10 < -38 {
        0
    } else {
        let div = 10i128.pow((-exp10) as u32);
        let q = mant / div;
        let r = mant % div;
        if r * 2 >= div {
            q + 1
        } else {
            q
        }
    };
    let value = if neg { -value } else { value };
    if value.abs() > i128::from(MAX_ABS_NS) {
        return Err(range());
    }
    i64::try_from(value).map_err(|_| range())
}

/// Largest magnitude of a time read from an input (ns): 2^62 - 1, about
/// 146 years. Any difference or sum of two such times fits in `i64`, so
/// durations (`end - start`) and `ts + dur` never overflow.
pub const MAX_ABS_NS: i64 = (1 << 62) - 1;

/// `a + b` when the sum stays within [`MAX_ABS_NS`] (times derived from a
/// start plus durations obey the same bound as times read directly).
pub fn add_ns(a: i64, b: i64) -> Option<i64> {
    a.checked_add(b).filter(|v| v.abs() <= MAX_ABS_NS)
}

/// Converts an `f64` in `unit` to nanoseconds (for values that arrive as
/// floats already, e.g. inside parsed arrays). Rounds to nearest.
pub fn f64_to_ns(v: f64, unit: Unit) -> Option<i64> {
    let scaled = v * 10f64.powi(unit.exp());
    if scaled.is_finite() && scaled.abs() < MAX_ABS_NS as f64 {
        Some(scaled.round() as i64)
    } else {
        None
    }
}

/// Formats nanoseconds as milliseconds with 3 decimals (µs precision).
pub fn fmt_ms(ns: i64) -> String {
    format!("{:.3}", ns as f64 / 1e6)
}

fn shorten(t: &str) -> String {
    if t.len() > 40 {
        format!(
            "{}…",
            &t[..t.char_indices().nth(40).map_or(t.len(), |(i, _)| i)]
        )
    } else {
        t.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_decimal_conversion() {
        assert_eq!(
            to_ns("16784.652225035", Unit::Seconds),
            Ok(16_784_652_225_035)
        );
        assert_eq!(
            to_ns("1712195495505543.2", Unit::Micros),
            Ok(1_712_195_495_505_543_200)
        );
        assert_eq!(
            to_ns("4458676983543.183", Unit::Micros),
            Ok(4_458_676_983_543_183)
        );
        assert_eq!(to_ns("41", Unit::Micros), Ok(41_000));
        assert_eq!(to_ns("-1.5", Unit::Nanos), Ok(-2));
        assert_eq!(to_ns("1.25e-3", Unit::Seconds), Ok(1_250_000));
        assert_eq!(to_ns("12.0", Unit::Millis), Ok(12_000_000));
        assert_eq!(to_ns("0.0", Unit::Seconds), Ok(0));
        // 16784.6566311045 s has 10 fractional digits: rounds at the ns.
        assert_eq!(
            to_ns("16784.656631104503", Unit::Seconds),
            Ok(16_784_656_631_105)
        );
    }

    #[test]
    fn rejects_non_numbers_and_overflow() {
        assert!(matches!(
            to_ns("null", Unit::Seconds),
            Err(TimeError::NotANumber(_))
        ));
        assert!(matches!(
            to_ns("\"12\"", Unit::Seconds),
            Err(TimeError::NotANumber(_))
        ));
        assert!(matches!(
            to_ns("1e30", Unit::Seconds),
            Err(TimeError::OutOfRange(_))
        ));
        assert!(matches!(to_ns("1.", Unit::Seconds), Ok(1_000_000_000)));
        assert!(to_ns("", Unit::Seconds).is_err());
    }
}
