//! Which SIMD path the CPU backend runs: every path this CPU supports is measured briefly on one
//! thread and the fastest wins, because the widest path is not always the fastest (a path that
//! mixes instruction sets can collapse on some cores).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tracing::info;

use super::features::Features;
use super::SimdLevel;
use crate::pow::hotloop::HotLoop;
use crate::pow::{ByteOrder, Challenge, Target};

/// Time each path is measured for at backend start: five paths take a quarter of a second.
pub const START_MEASURE_PER_PATH: Duration = Duration::from_millis(50);

/// Rounds each path's measuring time is split into, interleaved across the paths; a path's
/// figure is its best round, so a burst of load from elsewhere hurts one round, not the choice.
const ROUNDS: u32 = 5;

/// Positions per timed search call: well under a millisecond on the slowest path.
const SLICE_POSITIONS: u32 = 1024;

/// Measures every path in `levels` for about `per_path` each (one thread of its own, with a
/// device's stack, the pow-register layout, a target nothing meets) and returns each with its
/// rate in seals per second.
fn measure(levels: &[SimdLevel], per_path: Duration) -> Vec<(SimdLevel, f64)> {
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new().name("simd-measure".into()).stack_size(crate::solver::SEARCH_STACK_BYTES);
        thread.spawn_scoped(scope, || measure_here(levels, per_path)).ok().and_then(|t| t.join().ok())
    })
    .unwrap_or_else(|| measure_here(levels, per_path))
}

fn measure_here(levels: &[SimdLevel], per_path: Duration) -> Vec<(SimdLevel, f64)> {
    // Difficulty u64::MAX: the target's top limb is 0, so no candidates to collect.
    let target = Target::from_difficulty(u64::MAX).expect("non-zero difficulty");
    let challenge = Challenge::pow_register(1, &[0x5a; 32], &[0x6b; 32], &[0x7c; 32]).expect("netuid 1");
    let hot = HotLoop::new(challenge, target, ByteOrder::Little);
    let (unit, _) = hot.unit_at(0);
    let round = per_path / ROUNDS;
    let mut best = vec![0.0f64; levels.len()];
    let mut out = Vec::new();
    let mut first = 0u32;
    for _ in 0..ROUNDS {
        for (level, best) in levels.iter().zip(&mut best) {
            let started = Instant::now();
            let mut positions = 0u64;
            while started.elapsed() < round || positions == 0 {
                out.clear();
                level.search_run(&hot, &unit, first, SLICE_POSITIONS, &mut out);
                first = first.wrapping_add(SLICE_POSITIONS) % (1 << 23);
                positions += u64::from(SLICE_POSITIONS);
            }
            let rate = positions as f64 / started.elapsed().as_secs_f64();
            *best = best.max(rate);
        }
    }
    levels.iter().copied().zip(best).collect()
}

/// Every path this CPU supports ([`SimdLevel::available`]) with its rate in seals per second,
/// slowest path first, measured for about `per_path` each.
pub fn measure_paths(per_path: Duration) -> Vec<(SimdLevel, f64)> {
    measure(&SimdLevel::available(), per_path)
}

/// The fastest of `measured`; `scalar` for an empty list.
pub fn fastest(measured: &[(SimdLevel, f64)]) -> SimdLevel {
    measured.iter().max_by(|a, b| a.1.total_cmp(&b.1)).map_or(SimdLevel::Scalar, |&(level, _)| level)
}

/// "avx512 14.42 M/s, avx2 3.76 M/s, …", fastest first.
pub fn describe(measured: &[(SimdLevel, f64)]) -> String {
    let mut sorted = measured.to_vec();
    sorted.sort_by(|a, b| b.1.total_cmp(&a.1));
    sorted.iter().map(|(level, rate)| format!("{} {:.2} M/s", level.name(), rate / 1e6)).collect::<Vec<_>>().join(", ")
}

/// The path the CPU backend runs unless `--simd` forces one: measured once per process at
/// first use (about [`START_MEASURE_PER_PATH`] per path) and logged with every path's figure.
pub fn measured_best() -> SimdLevel {
    static CHOSEN: OnceLock<SimdLevel> = OnceLock::new();
    *CHOSEN.get_or_init(|| {
        let measured = measure_paths(START_MEASURE_PER_PATH);
        let chosen = fastest(&measured);
        info!(device = "cpu", chosen = chosen.name(), "SIMD paths measured on one thread: {}", describe(&measured));
        chosen
    })
}

/// `requested` if `features` run it, else an error naming the paths they do run.
pub fn check(requested: SimdLevel, features: Features) -> Result<SimdLevel, String> {
    if features.run(requested) {
        return Ok(requested);
    }
    Err(format!(
        "this CPU does not support the {} path (available: {})",
        requested.name(),
        SimdLevel::available_with(features).iter().map(|l| l.name()).collect::<Vec<_>>().join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_available_path_is_measured_and_the_choice_is_one_of_them() {
        let measured = measure_paths(Duration::from_millis(5));
        let levels: Vec<SimdLevel> = measured.iter().map(|&(level, _)| level).collect();
        assert_eq!(levels, SimdLevel::available());
        assert!(measured.iter().all(|&(_, rate)| rate.is_finite() && rate > 0.0), "{measured:?}");
        assert!(levels.contains(&fastest(&measured)));
        let chosen = SimdLevel::choose(None).unwrap();
        assert!(levels.contains(&chosen), "{chosen:?} not in {levels:?}");
        assert_eq!(SimdLevel::best(), chosen);
    }

    #[test]
    fn the_fastest_figure_wins_whatever_its_width() {
        let measured = [(SimdLevel::Scalar, 1.5e6), (SimdLevel::Avx2, 3.7e6), (SimdLevel::Avx2ShaNi, 0.13e6), (SimdLevel::Avx512, 2.0e6)];
        assert_eq!(fastest(&measured), SimdLevel::Avx2);
        assert_eq!(fastest(&[]), SimdLevel::Scalar);
        assert_eq!(describe(&measured[..2]), "avx2 3.70 M/s, scalar 1.50 M/s");
    }
}
