//! Seals per second on one core, per SIMD path and scheme layout (criterion).
//! `cargo bench --bench seals`; `regsolver bench` measures whole devices.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use regsolver::pow::hotloop::HotLoop;
use regsolver::pow::{ByteOrder, Challenge, Target};
use regsolver::solver::cpu::SimdLevel;

const BATCH: u32 = 4096;

fn seals(c: &mut Criterion) {
    let target = Target::from_difficulty(u64::MAX).expect("non-zero");
    let jobs = [
        (
            "pow-register",
            HotLoop::new(Challenge::pow_register(1, &[1; 32], &[2; 32], &[3; 32]).expect("netuid 1"), target, ByteOrder::Little),
        ),
        ("legacy", HotLoop::new(Challenge::legacy(&[1; 32], &[2; 32]), target, ByteOrder::Little)),
    ];
    let mut group = c.benchmark_group("seals");
    group.throughput(Throughput::Elements(u64::from(BATCH)));
    for (scheme, hot) in &jobs {
        let (unit, _) = hot.unit_at(0);
        for level in SimdLevel::available() {
            let mut out = Vec::new();
            group.bench_function(BenchmarkId::new(*scheme, level.name()), |b| {
                b.iter(|| {
                    out.clear();
                    level.search_run(hot, &unit, 0, BATCH, &mut out);
                    out.len()
                })
            });
        }
    }
    group.finish();
}

/// The reference (sha2 + sha3 crates, one nonce at a time), for comparison.
fn reference(c: &mut Criterion) {
    let challenge = Challenge::pow_register(1, &[1; 32], &[2; 32], &[3; 32]).expect("netuid 1");
    let mut group = c.benchmark_group("reference");
    group.throughput(Throughput::Elements(1));
    let mut nonce = 0u64;
    group.bench_function("pow-register", |b| {
        b.iter(|| {
            nonce += 1;
            challenge.seal(nonce)
        })
    });
    group.finish();
}

criterion_group!(benches, seals, reference);
criterion_main!(benches);
