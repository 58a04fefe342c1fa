//! What the commands (and the daemon) ask of the devices, behind plain types: one search to a
//! solution, one benchmark.

use std::time::Duration;

use serde::Serialize;
use tracing::info;

use super::bench::{measure, BenchError, BenchResult};
use super::cpu::SimdLevel;
use super::search_loop::{search_until_solved, Found, SearchError};
use super::selection::{backend_specs, reason, specs, DeviceSelection, SelectionError};
use super::{Backend, DeviceError};
use crate::pow::hotloop::HotLoop;
use crate::pow::Scheme;
use crate::settings::Key;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Selection(#[from] SelectionError),
    #[error(transparent)]
    Search(#[from] SearchError),
    #[error(transparent)]
    Bench(#[from] BenchError),
}

/// Searches `hot` from `start_position` on the selected devices until a seal verifies.
pub fn solve(selection: &DeviceSelection, hot: HotLoop, start_position: u64, timeout: Option<Duration>) -> Result<Found, EngineError> {
    let specs = specs(selection)?;
    Ok(search_until_solved(specs, hot, start_position, timeout)?)
}

/// What a benchmark measures.
#[derive(Clone, Debug)]
pub struct BenchPlan {
    /// The devices; each backend of [`DeviceSelection::requested_backends`] is measured alone.
    pub selection: DeviceSelection,
    /// Measure what this machine has and list the backends it lacks, instead of failing.
    pub skip_unavailable: bool,
    /// Measure every SIMD path this CPU runs, one after another (instead of `selection.simd`).
    pub every_simd_path: bool,
    pub scheme: Scheme,
    pub duration: Duration,
}

/// A backend a benchmark could not measure, and why.
#[derive(Clone, Debug, Serialize)]
pub struct Unmeasured {
    pub backend: Backend,
    pub reason: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    pub results: Vec<BenchResult>,
    pub unavailable: Vec<Unmeasured>,
}

/// Measures each selected backend alone (and each SIMD path alone, with `every_simd_path`).
pub fn bench(plan: &BenchPlan) -> Result<BenchReport, EngineError> {
    plan.selection.validate()?;
    let mut report = BenchReport { results: Vec::new(), unavailable: Vec::new() };
    for backend in plan.selection.requested_backends() {
        let levels: Vec<Option<SimdLevel>> = if backend == Backend::Cpu && plan.every_simd_path {
            SimdLevel::available().into_iter().map(Some).collect()
        } else {
            vec![plan.selection.simd]
        };
        for simd in levels {
            let selection = DeviceSelection { simd, ..plan.selection.clone() };
            let specs = match backend_specs(backend, &selection, &[]) {
                Ok(specs) => specs,
                // A GPU backend this machine cannot run (a CPU error is always the input's).
                Err(SelectionError::Device(err)) if backend != Backend::Cpu && !matches!(err, DeviceError::Selection(_)) => {
                    if !plan.skip_unavailable {
                        return Err(
                            SelectionError::NamedUnavailable { key: Key::Backends, ids: backend.to_string(), why: reason(&err) }.into()
                        );
                    }
                    info!(backend = %backend, "not measured: {}", reason(&err));
                    report.unavailable.push(Unmeasured { backend, reason: reason(&err) });
                    continue;
                }
                Err(err) => return Err(err.into()),
            };
            report.results.extend(measure(specs, plan.scheme, plan.duration)?);
        }
    }
    Ok(report)
}
