//! `bench`: flags -> a [`BenchPlan`] -> [`regsolver::solver::engine::bench`] -> a table or JSON.

use std::time::Duration;

use super::{usage, CommandError};
use crate::cli::{BenchArgs, BenchBackend};
use regsolver::solver::engine::BenchPlan;
use regsolver::solver::hashrate::format_rate;
use regsolver::solver::Backend;

/// The longest `--seconds`: a day.
pub const MAX_SECONDS: f64 = 86_400.0;

pub fn run(args: BenchArgs) -> Result<(), CommandError> {
    let duration = match Duration::try_from_secs_f64(args.seconds) {
        Ok(d) if !d.is_zero() && args.seconds <= MAX_SECONDS => d,
        _ => return Err(usage(format!("--seconds must be a positive number, at most {MAX_SECONDS} (got {})", args.seconds))),
    };
    let backends = match args.backend {
        BenchBackend::Cpu => vec![Backend::Cpu],
        BenchBackend::Cuda => vec![Backend::Cuda],
        BenchBackend::Opencl => vec![Backend::Opencl],
        BenchBackend::All => Backend::ALL.to_vec(),
    };
    let every_simd_path = args.devices.simd_all();
    let mut devices = args.devices.clone();
    if every_simd_path {
        devices.simd = None;
    }
    let plan = BenchPlan {
        selection: devices.selection(backends)?,
        skip_unavailable: args.backend == BenchBackend::All,
        every_simd_path,
        scheme: args.scheme,
        duration,
    };
    let report = regsolver::solver::engine::bench(&plan)?;
    if args.json {
        println!("{}", serde_json::to_string(&report).map_err(|e| CommandError::Failed(e.to_string()))?);
        return Ok(());
    }
    println!("{:<8} {:<40} {:>8} {:<13} {:>16}", "backend", "device", "threads", "scheme", "seals/s");
    for r in &report.results {
        println!(
            "{:<8} {:<40} {:>8} {:<13} {:>16}",
            r.backend.to_string(),
            r.device,
            r.threads,
            r.scheme.to_string(),
            format_rate(r.seals_per_second)
        );
    }
    for u in &report.unavailable {
        println!("{:<8} unavailable: {}", u.backend.to_string(), u.reason);
    }
    Ok(())
}
