//! `solve`: flags -> one job -> [`regsolver::solver::engine::solve`] -> the seal, as text or JSON.

use std::time::Duration;

use serde::Serialize;

use super::{usage, CommandError};
use crate::cli::SolveArgs;
use regsolver::pow::hotloop::HotLoop;
use regsolver::pow::ss58::{parse_account, parse_hex};
use regsolver::pow::{ByteOrder, Challenge, Scheme, Target, FAUCET_DIFFICULTY};

/// The longest `--timeout`: a year.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 3600);

fn account(flag: &str, value: &Option<String>, scheme: Scheme) -> Result<[u8; 32], CommandError> {
    let text = value.as_deref().ok_or_else(|| usage(format!("--scheme {scheme} needs {flag}")))?;
    parse_account(text).map_err(|e| usage(format!("{flag}: {e}")))
}

fn refuse(given: bool, flag: &str, scheme: Scheme, why: &str) -> Result<(), CommandError> {
    if given {
        return Err(usage(format!("--scheme {scheme} does not take {flag}: {why}")));
    }
    Ok(())
}

/// The job `solve` searches, from its flags.
fn job(args: &SolveArgs) -> Result<HotLoop, CommandError> {
    let block_hash = parse_hex::<32>(&args.block_hash).map_err(|e| usage(format!("--block-hash: {e}")))?;
    let scheme = args.scheme;
    let needs_difficulty = || args.difficulty.ok_or_else(|| usage(format!("--scheme {scheme} needs --difficulty")));
    let (challenge, difficulty) = match scheme {
        Scheme::PowRegister => {
            let order_why = "pow-register seals are little-endian on every runtime that has the call";
            refuse(args.byte_order == Some(ByteOrder::Big), "--byte-order be", scheme, order_why)?;
            let netuid = args.netuid.ok_or_else(|| usage("--scheme pow-register needs --netuid"))?;
            let (hotkey, coldkey) = (account("--hotkey", &args.hotkey, scheme)?, account("--coldkey", &args.coldkey, scheme)?);
            let challenge = Challenge::pow_register(netuid, &block_hash, &hotkey, &coldkey).map_err(|e| usage(e.to_string()))?;
            (challenge, needs_difficulty()?)
        }
        Scheme::Legacy => {
            refuse(args.coldkey.is_some(), "--coldkey", scheme, "the legacy seal binds only the hotkey")?;
            refuse(args.netuid.is_some(), "--netuid", scheme, "the legacy seal binds no subnet")?;
            (Challenge::legacy(&block_hash, &account("--hotkey", &args.hotkey, scheme)?), needs_difficulty()?)
        }
        Scheme::Faucet => {
            refuse(args.hotkey.is_some(), "--hotkey", scheme, "the faucet seal binds only the coldkey")?;
            refuse(args.netuid.is_some(), "--netuid", scheme, "the faucet seal binds no subnet")?;
            (Challenge::legacy(&block_hash, &account("--coldkey", &args.coldkey, scheme)?), args.difficulty.unwrap_or(FAUCET_DIFFICULTY))
        }
    };
    let target = Target::from_difficulty(difficulty).map_err(|e| usage(format!("--difficulty: {e}")))?;
    Ok(HotLoop::new(challenge, target, args.byte_order.unwrap_or(ByteOrder::Little)))
}

/// `--timeout` as a duration: more than 0, at most [`MAX_TIMEOUT`].
fn timeout(seconds: Option<f64>) -> Result<Option<Duration>, CommandError> {
    let Some(seconds) = seconds else { return Ok(None) };
    match Duration::try_from_secs_f64(seconds) {
        Ok(t) if !t.is_zero() && t <= MAX_TIMEOUT => Ok(Some(t)),
        _ => Err(usage(format!("--timeout must be more than 0 and at most {} seconds (got {seconds})", MAX_TIMEOUT.as_secs()))),
    }
}

#[derive(Serialize)]
struct SolveReport {
    scheme: Scheme,
    nonce: u64,
    seal: String,
    difficulty: u64,
    byte_order: ByteOrder,
    hashes: u64,
    seconds: f64,
    device: String,
}

pub fn run(args: SolveArgs) -> Result<(), CommandError> {
    let hot = job(&args)?;
    let timeout = timeout(args.timeout)?;
    let selection = args.devices.selection(args.backend.clone())?;
    let (difficulty, order) = (hot.target.difficulty, hot.order);
    let start = hot.layout.position_of(args.start_nonce.unwrap_or_else(rand::random));
    let found = regsolver::solver::engine::solve(&selection, hot, start, timeout)?;
    let report = SolveReport {
        scheme: args.scheme,
        nonce: found.solution.nonce,
        seal: hex::encode(found.solution.seal),
        difficulty,
        byte_order: order,
        hashes: found.hashes,
        seconds: found.elapsed.as_secs_f64(),
        device: found.solution.device,
    };
    if args.json {
        println!("{}", serde_json::to_string(&report).map_err(|e| CommandError::Failed(e.to_string()))?);
    } else {
        println!(
            "nonce {}\nseal  0x{}\nfound by {} after {} hashes in {:.3} s",
            report.nonce, report.seal, report.device, report.hashes, report.seconds
        );
    }
    Ok(())
}
