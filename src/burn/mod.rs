//! Registering by burn, opt in, under a hard cap: the options (`--burn-max`, `--burn-after`,
//! `--burn-budget`), exact TAO amounts ([`amount`]), the ledger of TAO spent across restarts
//! ([`ledger`]), and [`check`], the rule that decides whether a burn may be sent. The chain side
//! (price, balance, fee, the extrinsic) is [`crate::chain::burn`].

pub(crate) mod amount;
pub mod ledger;

use std::path::PathBuf;
use std::time::Duration;

pub use amount::{format_tao, parse_tao, AmountError};
pub use ledger::{BurnEntry, BurnLedger, BurnState, LedgerError};

use crate::settings::Key;

/// The burn route's limits, validated. Without them (no `--burn-max`) regsolver never burns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BurnOptions {
    /// `--burn-max`: the most one registration may cost in price, in RAO.
    pub max_rao: u64,
    /// `--burn-after`: with PoW open too, how long to mine for a seal before burning.
    pub after: Option<Duration>,
    /// `--burn-budget`: the most burned in total (prices and fees), over all hotkeys and restarts.
    pub budget_rao: Option<u64>,
    /// The ledger file that keeps the total across restarts.
    pub ledger: PathBuf,
}

/// Why a burn option was refused (exit 2), naming the option by its configuration key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BurnOptionError {
    #[error("{}: {error}", key.with_key())]
    Amount { key: Key, error: AmountError },
    #[error("{} must be more than 0 TAO", key.with_key())]
    Zero { key: Key },
    #[error("{}: {reason}", key.with_key())]
    Duration { key: Key, reason: String },
    #[error("{} applies only with {}: without a cap regsolver never burns", key.with_key(), Key::BurnMax.with_key())]
    WithoutMax { key: Key },
    #[error("no folder for the burn ledger: set $STATE_DIRECTORY, $XDG_STATE_HOME or $HOME")]
    NoLedgerFolder,
}

impl BurnOptionError {
    /// The configuration key at fault (`burn_max`, `burn_after`, `burn_budget`), if one is.
    pub fn key(&self) -> Option<Key> {
        match self {
            BurnOptionError::Amount { key, .. }
            | BurnOptionError::Zero { key }
            | BurnOptionError::Duration { key, .. }
            | BurnOptionError::WithoutMax { key } => Some(*key),
            BurnOptionError::NoLedgerFolder => None,
        }
    }
}

impl BurnOptions {
    /// The options from their text (flags or configuration): `None` when `max` is not given.
    /// `ledger` is where the ledger file goes ([`ledger::default_path`]).
    pub fn parse(
        max: Option<&str>,
        after: Option<&str>,
        budget: Option<&str>,
        ledger: Option<PathBuf>,
    ) -> Result<Option<BurnOptions>, BurnOptionError> {
        let Some(max) = max else {
            let given = [(Key::BurnAfter, after.is_some()), (Key::BurnBudget, budget.is_some())];
            return match given.into_iter().find(|(_, set)| *set) {
                Some((key, _)) => Err(BurnOptionError::WithoutMax { key }),
                None => Ok(None),
            };
        };
        let max_rao = positive_tao(Key::BurnMax, max)?;
        let budget_rao = budget.map(|text| positive_tao(Key::BurnBudget, text)).transpose()?;
        let after = after
            .map(|text| parse_duration(text).map_err(|reason| BurnOptionError::Duration { key: Key::BurnAfter, reason }))
            .transpose()?;
        let ledger = ledger.ok_or(BurnOptionError::NoLedgerFolder)?;
        Ok(Some(BurnOptions { max_rao, after, budget_rao, ledger }))
    }
}

fn positive_tao(key: Key, text: &str) -> Result<u64, BurnOptionError> {
    match parse_tao(text) {
        Ok(0) => Err(BurnOptionError::Zero { key }),
        Ok(rao) => Ok(rao),
        Err(error) => Err(BurnOptionError::Amount { key, error }),
    }
}

/// `90`, `90s`, `15m`, `2h`, `1d`: a whole number with an optional unit (seconds by default).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let seconds_per = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("`{text}` is not a duration: a whole number with s, m, h or d (e.g. 30m)")),
    };
    let number: u64 = number.parse().map_err(|_| format!("`{text}` is not a duration: a whole number with s, m, h or d (e.g. 30m)"))?;
    number.checked_mul(seconds_per).map(Duration::from_secs).ok_or_else(|| format!("`{text}` is too long"))
}

/// Why a burn is not sent now.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BurnRefusal {
    #[error("the burn price {} TAO is above {} {} TAO", format_tao(u128::from(*price_rao)), Key::BurnMax, format_tao(u128::from(*max_rao)))]
    AboveCap { price_rao: u64, max_rao: u64 },
    #[error(
        "a burn of {} TAO (price and fee) would pass {} {} TAO: {} TAO is spent already (ledger)",
        format_tao(*cost_rao), Key::BurnBudget, format_tao(u128::from(*budget_rao)), format_tao(*spent_rao)
    )]
    OverBudget { cost_rao: u128, spent_rao: u128, budget_rao: u64 },
    #[error("the coldkey holds {} TAO free, less than the price and fee, {} TAO", format_tao(*free_rao), format_tao(*cost_rao))]
    Balance { free_rao: u128, cost_rao: u128 },
}

/// The rule: a burn may be sent when the price is at or below the cap, the price plus the fee
/// fits what is left of the budget, and the coldkey's free balance covers the price plus the
/// fee. Returns what the burn will cost (price + fee, RAO).
pub fn check(options: &BurnOptions, price_rao: u64, fee_rao: u128, free_rao: u128, spent_rao: u128) -> Result<u128, BurnRefusal> {
    if price_rao > options.max_rao {
        return Err(BurnRefusal::AboveCap { price_rao, max_rao: options.max_rao });
    }
    let cost_rao = u128::from(price_rao) + fee_rao;
    if let Some(budget_rao) = options.budget_rao {
        if spent_rao.saturating_add(cost_rao) > u128::from(budget_rao) {
            return Err(BurnRefusal::OverBudget { cost_rao, spent_rao, budget_rao });
        }
    }
    if free_rao < cost_rao {
        return Err(BurnRefusal::Balance { free_rao, cost_rao });
    }
    Ok(cost_rao)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(max: &str, budget: Option<&str>) -> BurnOptions {
        BurnOptions::parse(Some(max), None, budget, Some(PathBuf::from("/l"))).unwrap().unwrap()
    }

    #[test]
    fn options_parse_and_need_a_cap() {
        let parsed = BurnOptions::parse(Some("0.5"), Some("30m"), Some("2"), Some(PathBuf::from("/l"))).unwrap().unwrap();
        assert_eq!(
            parsed,
            BurnOptions {
                max_rao: 500_000_000,
                after: Some(Duration::from_secs(1800)),
                budget_rao: Some(2_000_000_000),
                ledger: "/l".into()
            }
        );
        assert_eq!(BurnOptions::parse(None, None, None, None), Ok(None), "no cap: no burning, no ledger needed");
        assert!(matches!(BurnOptions::parse(None, Some("1h"), None, None), Err(BurnOptionError::WithoutMax { .. })));
        assert!(matches!(BurnOptions::parse(None, None, Some("1"), None), Err(BurnOptionError::WithoutMax { .. })));
        assert!(matches!(BurnOptions::parse(Some("0"), None, None, Some("/l".into())), Err(BurnOptionError::Zero { .. })));
        assert!(matches!(BurnOptions::parse(Some("1"), None, Some("0.0"), Some("/l".into())), Err(BurnOptionError::Zero { .. })));
        let nan = BurnOptions::parse(Some("NaN"), None, None, Some("/l".into())).unwrap_err();
        assert!(nan.to_string().starts_with("burn_max: `NaN` is not an amount"), "{nan}");
        assert!(matches!(BurnOptions::parse(Some("1"), Some("soon"), None, Some("/l".into())), Err(BurnOptionError::Duration { .. })));
        assert_eq!(BurnOptions::parse(Some("1"), None, None, None), Err(BurnOptionError::NoLedgerFolder));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        for bad in ["", "m", "1.5h", "-1s", "1w", "10 m", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_rule_checks_cap_then_budget_then_balance() {
        let capped = options("1", Some("1.5"));
        assert_eq!(check(&capped, 1_000_000_000, 10, 2_000_000_000, 0), Ok(1_000_000_010), "at the cap is allowed");
        assert_eq!(
            check(&capped, 1_000_000_001, 10, u128::MAX, 0),
            Err(BurnRefusal::AboveCap { price_rao: 1_000_000_001, max_rao: 1_000_000_000 })
        );
        assert_eq!(
            check(&capped, 600_000_000, 10, u128::MAX, 900_000_000),
            Err(BurnRefusal::OverBudget { cost_rao: 600_000_010, spent_rao: 900_000_000, budget_rao: 1_500_000_000 })
        );
        assert_eq!(check(&capped, 600_000_000, 0, u128::MAX, 900_000_000), Ok(600_000_000), "exactly the budget is allowed");
        assert_eq!(check(&capped, 500, 10, 509, 0), Err(BurnRefusal::Balance { free_rao: 509, cost_rao: 510 }));
        assert_eq!(check(&options("1", None), 500, 10, 510, u128::MAX), Ok(510), "no budget: no total limit");
        let refusal = check(&capped, 2_000_000_000, 0, 0, 0).unwrap_err();
        assert_eq!(refusal.to_string(), "the burn price 2 TAO is above burn_max 1 TAO");
    }
}
