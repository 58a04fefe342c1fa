//! regsolver: proof-of-work registration for Bittensor's subtensor chain.
//!
//! Data flows one way: chain -> job -> devices -> candidates -> CPU verification -> submission.
//!
//! - [`pow`]: the specification (challenges, seals, targets, byte orders) and the per-job
//!   hot-loop description every backend consumes.
//! - [`solver`]: the [`solver::Device`] trait, the CPU SIMD backend, the CUDA and OpenCL
//!   backends (features `cuda`, `opencl`), worker pool, self-tests.
//! - [`kernels`]: the GPU kernel source, embedded, with its CUDA and OpenCL dialect headers.
//! - [`selection`]: a plain device selection, checked and turned into workers (the CPU
//!   fallback rule); [`devices`]: the device listing.
//! - [`engine`]: one search to a solution, one benchmark, on a selection (what commands call).
//! - [`chain`]: subxt connection (bundled light client or RPC), scheme and era detection, the
//!   state the runtime checks, registration extrinsics and their outcomes. Knows no devices.
//! - [`burn`]: the burn route's options, exact TAO amounts, the ledger of TAO spent, and the
//!   rule that decides whether a burn may be sent.
//! - [`wallet`]: bittensor keyfiles, the `$NACL` coldkey, passwords, sr25519 keypairs.
//! - [`daemon`]: the loop (blocks -> jobs -> solutions -> submissions -> exit codes), `status`.
//! - [`fleet`]: the coordinator/worker protocol that spreads one job over several machines.

pub mod burn;
pub mod chain;
pub mod config;
pub mod daemon;
pub mod devices;
pub mod engine;
pub mod fleet;
pub mod kernels;
pub mod pow;
pub mod selection;
pub mod solver;
mod sync;
pub mod telemetry;
pub mod wallet;
