//! TAO amounts, exact: text in TAO to RAO (1 TAO = 10^9 RAO) in integers, and back for display.
//! No floating point anywhere: `0.1` is 100,000,000 RAO, not a binary approximation.

/// RAO in one TAO.
pub const RAO_PER_TAO: u64 = 1_000_000_000;
/// Decimals a TAO amount may have (RAO is the smallest unit).
pub const MAX_DECIMALS: usize = 9;

/// Why a TAO amount was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("no amount given: write TAO as digits, e.g. 0.5")]
    Empty,
    #[error("`{0}` is negative: an amount of TAO is 0 or more")]
    Negative(String),
    #[error("`{0}` has an exponent: write the amount out in digits (e.g. 0.001, not 1e-3)")]
    Exponent(String),
    #[error("`{0}` has more than {MAX_DECIMALS} decimals: the smallest amount is 0.000000001 TAO (1 RAO)")]
    TooPrecise(String),
    #[error("`{0}` is too large: at most 18446744073.709551615 TAO")]
    Overflow(String),
    #[error("`{0}` is not an amount of TAO: write digits with at most one decimal point, e.g. 0.5 or 12")]
    NotANumber(String),
}

/// Parses an amount of TAO (`12`, `0.5`, `1.000000001`) into RAO, exactly.
pub fn parse_tao(text: &str) -> Result<u64, AmountError> {
    let text = text.trim();
    let owned = || text.to_string();
    if text.is_empty() {
        return Err(AmountError::Empty);
    }
    if text.starts_with('-') {
        return Err(AmountError::Negative(owned()));
    }
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    if !is_decimal(whole) || fraction.is_some_and(|f| !is_decimal(f)) {
        return Err(if is_exponent_form(text) { AmountError::Exponent(owned()) } else { AmountError::NotANumber(owned()) });
    }
    let fraction = fraction.unwrap_or("");
    if fraction.len() > MAX_DECIMALS {
        return Err(AmountError::TooPrecise(owned()));
    }
    let overflow = || AmountError::Overflow(owned());
    let whole: u64 = whole.parse().map_err(|_| overflow())?;
    let scaled: u64 = format!("{fraction:0<width$}", width = MAX_DECIMALS).parse().map_err(|_| overflow())?;
    whole.checked_mul(RAO_PER_TAO).and_then(|rao| rao.checked_add(scaled)).ok_or_else(overflow)
}

/// One or more ASCII digits.
fn is_decimal(part: &str) -> bool {
    !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit())
}

/// `M[.F]e[+-]X` with digits in every part: a number written with an exponent.
fn is_exponent_form(text: &str) -> bool {
    let Some((mantissa, exponent)) = text.split_once(['e', 'E']) else { return false };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, "0"));
    let exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
    is_decimal(whole) && is_decimal(fraction) && is_decimal(exponent)
}

/// RAO as TAO for people: `1.5`, `0.000000001`, `12` (no trailing zeros, no rounding).
pub fn format_tao(rao: u128) -> String {
    let per = u128::from(RAO_PER_TAO);
    let (whole, fraction) = (rao / per, rao % per);
    if fraction == 0 {
        return whole.to_string();
    }
    let fraction = format!("{fraction:09}");
    format!("{whole}.{}", fraction.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn examples() {
        assert_eq!(parse_tao("1"), Ok(RAO_PER_TAO));
        assert_eq!(parse_tao(" 0.5 "), Ok(500_000_000));
        assert_eq!(parse_tao("0.1"), Ok(100_000_000));
        assert_eq!(parse_tao("0.000000001"), Ok(1));
        assert_eq!(parse_tao("18446744073.709551615"), Ok(u64::MAX));
        assert_eq!(parse_tao("007.50"), Ok(7_500_000_000));
        assert_eq!(parse_tao("0"), Ok(0));
    }

    #[test]
    fn refusals_say_why() {
        assert_eq!(parse_tao(""), Err(AmountError::Empty));
        assert_eq!(parse_tao("-1"), Err(AmountError::Negative("-1".into())));
        assert_eq!(parse_tao("-0.5"), Err(AmountError::Negative("-0.5".into())));
        for exponent in ["1e9", "1E3", "1e-3", "2.5e2"] {
            assert_eq!(parse_tao(exponent), Err(AmountError::Exponent(exponent.into())), "{exponent}");
        }
        for not in ["NaN", "nan", "inf", "Infinity", "1.2.3", ".5", "5.", "0x10", "1,5", "+1", "one", "1 000", "e5"] {
            assert_eq!(parse_tao(not), Err(AmountError::NotANumber(not.into())), "{not}");
        }
        assert_eq!(parse_tao("0.0000000001"), Err(AmountError::TooPrecise("0.0000000001".into())));
        assert_eq!(parse_tao("18446744073.709551616"), Err(AmountError::Overflow("18446744073.709551616".into())));
        assert_eq!(parse_tao("99999999999999999999999"), Err(AmountError::Overflow("99999999999999999999999".into())));
    }

    #[test]
    fn formatting_is_exact_and_trims_zeros() {
        assert_eq!(format_tao(0), "0");
        assert_eq!(format_tao(1), "0.000000001");
        assert_eq!(format_tao(1_500_000_000), "1.5");
        assert_eq!(format_tao(12 * u128::from(RAO_PER_TAO)), "12");
        assert_eq!(format_tao(u128::from(u64::MAX)), "18446744073.709551615");
    }

    proptest! {
        /// Every RAO amount survives format -> parse exactly.
        #[test]
        fn format_then_parse_is_the_identity(rao in any::<u64>()) {
            prop_assert_eq!(parse_tao(&format_tao(u128::from(rao))), Ok(rao));
        }

        /// `W.F` with at most 9 decimals is W * 10^9 + F scaled, computed here by other means.
        #[test]
        fn whole_and_decimals_are_scaled_exactly(whole in 0u64..18_446_744_073, fraction in 0u64..1_000_000_000, decimals in 1usize..=9) {
            let fraction = fraction % 10u64.pow(decimals as u32);
            let text = format!("{whole}.{fraction:0width$}", width = decimals);
            let expected = u128::from(whole) * u128::from(RAO_PER_TAO) + u128::from(fraction) * 10u128.pow((9 - decimals) as u32);
            prop_assert_eq!(parse_tao(&text).map(u128::from), Ok(expected));
        }

        /// Negative, exponent, too precise, too large: always refused, never a number.
        #[test]
        fn bad_forms_are_refused(whole in 0u64..1_000_000, fraction in 0u64..1_000_000_000, extra in 1usize..20, power in 0u32..30) {
            let negative = format!("-{whole}.{fraction}");
            prop_assert!(matches!(parse_tao(&negative), Err(AmountError::Negative(_))));
            let exponent = format!("{whole}e{power}");
            prop_assert!(matches!(parse_tao(&exponent), Err(AmountError::Exponent(_))));
            let precise = format!("{whole}.{fraction:09}{}", "1".repeat(extra));
            prop_assert!(matches!(parse_tao(&precise), Err(AmountError::TooPrecise(_))));
            let big = u128::from(u64::MAX) / u128::from(RAO_PER_TAO) + 1 + u128::from(whole);
            prop_assert!(matches!(parse_tao(&big.to_string()), Err(AmountError::Overflow(_))));
        }
    }
}
