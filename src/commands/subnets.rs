//! `regsolver subnets`: every subnet in one table at one block (read-only): PoW allowed,
//! difficulty raw and clamped, the expected time to a seal on this machine's selected devices
//! (one short measurement for all rows, as `status` takes it), the burn price, registrations
//! against their limits, blocks to the next adjustment, UIDs used, and the wallet's hotkeys
//! holding a UID. PoW subnets first (quickest seal first), then by burn price; `--pow` keeps only
//! PoW subnets; `--json` prints one object.

use std::cmp::Ordering;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::chain::{device_selection, endpoint, load, on_big_stack, open_wallet, target_flags};
use super::lifecycle::runtime;
use super::{usage, CommandError};
use crate::cli::SubnetsArgs;
use regsolver::burn::format_tao;
use regsolver::chain::subnets::SubnetRow;
use regsolver::chain::{choose_scheme, connect, ChainError, Endpoint};
use regsolver::config::{Config, Hotkeys};
use regsolver::daemon::report::format_duration;
use regsolver::daemon::DaemonError;
use regsolver::pow::ss58::encode_ss58;
use regsolver::pow::{AccountId, Scheme};
use regsolver::solver::bench::measure;
use regsolver::solver::hashrate::format_rate;

/// What `subnets` reports.
#[derive(Clone, Debug, Serialize)]
pub struct SubnetsReport {
    pub endpoint: String,
    pub block: u64,
    pub block_hash: String,
    pub spec_version: u32,
    /// The scheme the expected times are for (`None` where the runtime offers no PoW registration).
    pub scheme: Option<Scheme>,
    /// Seals per second of the selected devices (0 without a measurement).
    pub seals_per_second: f64,
    /// How long reading every subnet took.
    pub read_seconds: f64,
    pub subnets: Vec<SubnetEntry>,
}

/// One row of the table.
#[derive(Clone, Debug, Serialize)]
pub struct SubnetEntry {
    #[serde(flatten)]
    pub row: SubnetRow,
    /// The burn price in TAO, exact (a string: `0.5`).
    pub burn_tao: Option<String>,
    /// What a seal must meet under the scheme in use (clamped for `pow_register`).
    pub difficulty: Option<u64>,
    /// `difficulty / seals_per_second` where PoW is allowed and a rate was measured.
    pub expected_seconds: Option<f64>,
    pub hotkeys: Vec<HotkeyUid>,
}

#[derive(Clone, Debug, Serialize)]
pub struct HotkeyUid {
    pub name: String,
    pub ss58: String,
    pub uid: u16,
}

/// `regsolver subnets ...`
pub fn run(args: SubnetsArgs, verbose: bool) -> Result<(), CommandError> {
    if !(args.measure_seconds.is_finite() && (0.0..=60.0).contains(&args.measure_seconds)) {
        return Err(usage("--measure-seconds must be from 0 (no measurement) to 60"));
    }
    let loaded = load(&args.target, &target_flags(&args.target))?;
    let config = &loaded.config;
    regsolver::telemetry::init_logging(config.log_format, verbose)?;
    let hotkeys = wallet_hotkeys(config, &args)?;
    let specs = regsolver::solver::selection::specs(&device_selection(config)?)?;
    let (endpoint, genesis) = endpoint(&loaded)?;
    let seconds = args.measure_seconds;
    let measured = move |scheme| match seconds > 0.0 {
        true => measure(specs, scheme, Duration::from_secs_f64(seconds)).map(|r| r.iter().map(|x| x.seals_per_second).sum()).unwrap_or(0.0),
        false => 0.0,
    };
    let deadline = Duration::from_secs(config.retry.connect_deadline_s);
    let runtime = runtime()?;
    let mut report = on_big_stack(|| runtime.block_on(read(&endpoint, genesis, deadline, &hotkeys, measured)))??;
    if args.pow {
        report.subnets.retain(|e| e.row.pow_registration_allowed == Some(true));
    }
    match args.target.json {
        true => println!("{}", serde_json::to_value(&report).unwrap_or_default()),
        false => print!("{}", text(&report)),
    }
    Ok(())
}

/// The wallet's hotkeys to look for: those `--wallet.hotkey(s)` names, else every hotkey of the
/// wallet. A wallet named on the command line must open (exit 2 otherwise); the configured or
/// default one is used only if it opens, and no wallet is needed at all.
fn wallet_hotkeys(config: &Config, args: &SubnetsArgs) -> Result<Vec<(String, AccountId)>, CommandError> {
    let flags = &args.target.wallet;
    let hotkeys_named = flags.wallet_hotkey.is_some() || flags.wallet_hotkeys.is_some();
    let read = || -> Result<Vec<(String, AccountId)>, CommandError> {
        let (wallet, _) = open_wallet(config)?;
        let names = match (hotkeys_named, config.wallet.selection()) {
            (true, Hotkeys::Named(names)) => names,
            _ => wallet.hotkey_names().map_err(DaemonError::from)?,
        };
        names
            .into_iter()
            .map(|name| Ok((wallet.hotkey_public(&name).map_err(DaemonError::from)?, name)).map(|(key, name)| (name, key)))
            .collect()
    };
    match read() {
        Err(_) if !(hotkeys_named || flags.wallet_name.is_some() || flags.wallet_path.is_some()) => Ok(Vec::new()),
        result => result,
    }
}

/// Connects, reads every subnet at the best block while the devices are measured, and builds the
/// sorted report.
async fn read(
    endpoint: &Endpoint,
    genesis: Option<[u8; 32]>,
    deadline: Duration,
    hotkeys: &[(String, AccountId)],
    measure: impl FnOnce(Scheme) -> f64 + Send + 'static,
) -> Result<SubnetsReport, DaemonError> {
    let fail = |e: ChainError| DaemonError::Unreachable(e.to_string());
    let chain = connect(endpoint, genesis, deadline).await.map_err(fail)?;
    let best = chain.best_block().await.map_err(fail)?;
    let runtime = chain.runtime_at(&best).await.map_err(fail)?;
    let scheme = choose_scheme(&runtime, None).ok().map(|c| c.scheme);
    // Where the runtime offers no PoW, rows are still shown with pow_register's rule (mainnet's).
    let measured = tokio::task::spawn_blocking(move || measure(scheme.unwrap_or(Scheme::PowRegister)));
    let started = Instant::now();
    let keys: Vec<AccountId> = hotkeys.iter().map(|(_, key)| *key).collect();
    let rows = chain.subnets(&best, &keys).await.map_err(fail)?;
    let read_seconds = started.elapsed().as_secs_f64();
    let seals_per_second = measured.await.map_err(|e| DaemonError::Other(format!("measuring the devices failed: {e}")))?;
    let mut subnets: Vec<SubnetEntry> = rows.into_iter().map(|row| entry(row, scheme, seals_per_second, hotkeys)).collect();
    subnets.sort_by(order);
    Ok(SubnetsReport {
        endpoint: chain.endpoint().to_string(),
        block: best.number,
        block_hash: regsolver::chain::network::hex_0x(&best.hash),
        spec_version: runtime.spec_version,
        scheme,
        seals_per_second,
        read_seconds,
        subnets,
    })
}

fn entry(row: SubnetRow, scheme: Option<Scheme>, seals_per_second: f64, hotkeys: &[(String, AccountId)]) -> SubnetEntry {
    let difficulty = match scheme {
        Some(Scheme::Legacy) => row.difficulty_raw,
        _ => row.difficulty_clamped,
    };
    let pow = row.pow_registration_allowed == Some(true);
    let expected_seconds = difficulty.filter(|_| pow && seals_per_second > 0.0).map(|d| d as f64 / seals_per_second);
    let name_of = |key: &AccountId| hotkeys.iter().find(|(_, k)| k == key).map(|(name, _)| name.clone()).unwrap_or_default();
    let holders = row.hotkeys.iter().map(|(key, uid)| HotkeyUid { name: name_of(key), ss58: encode_ss58(key), uid: *uid }).collect();
    SubnetEntry { burn_tao: row.burn_rao.map(|rao| format_tao(u128::from(rao))), difficulty, expected_seconds, hotkeys: holders, row }
}

/// PoW subnets first, quickest seal first (the same order as by difficulty: one rate for all);
/// then by burn price; unknowns last; then by netuid.
fn order(a: &SubnetEntry, b: &SubnetEntry) -> Ordering {
    let pow = |e: &SubnetEntry| e.row.pow_registration_allowed == Some(true);
    let known_first = |x: Option<u64>, y: Option<u64>| x.unwrap_or(u64::MAX).cmp(&y.unwrap_or(u64::MAX));
    let by_route = match pow(a) {
        true => known_first(a.difficulty, b.difficulty),
        false => Ordering::Equal,
    };
    pow(b).cmp(&pow(a)).then(by_route).then(known_first(a.row.burn_rao, b.row.burn_rao)).then(a.row.netuid.cmp(&b.row.netuid))
}

/// The human table.
pub fn text(report: &SubnetsReport) -> String {
    let mut out = format!(
        "{} at block {} (spec {}): {} subnets; this machine {}/s ({}); read in {:.2} s\n",
        report.endpoint,
        report.block,
        report.spec_version,
        report.subnets.len(),
        format_rate(report.seals_per_second),
        report.scheme.map_or("no PoW scheme on this runtime", |s| s.name()),
        report.read_seconds,
    );
    out += &format!(
        "{:>6}  {:<16} {:<4} {:>14} {:>14} {:>10} {:>14} {:>7} {:>9} {:>6} {:>11}  {}\n",
        "netuid", "name", "pow", "difficulty", "raw", "expected", "burn TAO", "reg/blk", "reg/intvl", "adj in", "uids", "hotkeys"
    );
    for e in &report.subnets {
        out += &row_text(e);
    }
    out
}

fn row_text(e: &SubnetEntry) -> String {
    let dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    let num = |v: Option<u64>| dash(v.map(|v| v.to_string()));
    let of = |x: Option<u64>, y: Option<u64>| format!("{}/{}", num(x), num(y));
    let r = &e.row;
    let pow = match r.pow_registration_allowed {
        Some(true) => "yes",
        Some(false) => "no",
        None => "-",
    };
    let name: String = r.name.clone().unwrap_or_default().chars().take(16).collect();
    let hotkeys: Vec<String> = e.hotkeys.iter().map(|h| format!("{} (UID {})", h.name, h.uid)).collect();
    format!(
        "{:>6}  {:<16} {:<4} {:>14} {:>14} {:>10} {:>14} {:>7} {:>9} {:>6} {:>11}  {}\n",
        r.netuid,
        name,
        pow,
        num(e.difficulty),
        num(r.difficulty_raw),
        dash(e.expected_seconds.map(format_duration)),
        dash(e.burn_tao.clone()),
        of(r.registrations_this_block, r.max_registrations_per_block),
        of(r.registrations_this_interval, r.target_registrations_per_interval),
        num(r.blocks_to_adjustment),
        of(r.uids, r.max_uids),
        hotkeys.join(", "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(netuid: u16, pow: bool, difficulty: u64, burn_rao: u64) -> SubnetRow {
        SubnetRow {
            netuid,
            pow_registration_allowed: Some(pow),
            difficulty_raw: Some(difficulty),
            difficulty_clamped: Some(difficulty),
            burn_rao: Some(burn_rao),
            ..SubnetRow::default()
        }
    }

    #[test]
    fn pow_subnets_come_first_by_expected_time_then_the_rest_by_burn_price() {
        let rows = [row(1, false, 10, 300), row(2, true, 5_000, 1), row(3, true, 100, 900), row(4, false, 1, 200), row(5, true, 100, 50)];
        let mut entries: Vec<SubnetEntry> = rows.into_iter().map(|r| entry(r, Some(Scheme::PowRegister), 1000.0, &[])).collect();
        entries.sort_by(order);
        let netuids: Vec<u16> = entries.iter().map(|e| e.row.netuid).collect();
        assert_eq!(netuids, [5, 3, 2, 4, 1]);
        assert_eq!(entries[0].expected_seconds, Some(0.1));
        assert_eq!(entries[3].expected_seconds, None, "no expected time where PoW is closed");
        assert_eq!(entries[3].burn_tao.as_deref(), Some("0.0000002"));
    }

    #[test]
    fn legacy_runtimes_use_the_raw_difficulty_and_no_rate_means_no_expected_time() {
        let mut r = row(1, true, 50, 0);
        r.difficulty_clamped = Some(70);
        assert_eq!(entry(r.clone(), Some(Scheme::Legacy), 10.0, &[]).difficulty, Some(50));
        assert_eq!(entry(r.clone(), Some(Scheme::PowRegister), 10.0, &[]).difficulty, Some(70));
        assert_eq!(entry(r, Some(Scheme::PowRegister), 0.0, &[]).expected_seconds, None);
    }

    #[test]
    fn the_table_names_every_column_and_the_hotkeys() {
        let mut r = row(7, true, 1_000, 1_500_000_000);
        r.name = Some("apex".into());
        r.hotkeys = vec![([1; 32], 12)];
        let e = entry(r, Some(Scheme::PowRegister), 100.0, &[("h0".into(), [1; 32])]);
        let line = row_text(&e);
        for part in ["apex", "yes", "1000", "10 s", "1.5", "h0 (UID 12)"] {
            assert!(line.contains(part), "{part} in {line}");
        }
    }
}
