//! regsolver: proof-of-work registration for Bittensor's subtensor chain.
//!
//! Data flows one way: chain -> job -> devices -> candidates -> CPU verification -> submission.
//!
//! - [`pow`]: the specification (challenges, seals, targets, byte orders) and the per-job
//!   hot-loop description every backend consumes.
//! - [`solver`]: the device side. Device selection (the CPU fallback rule) and the listing; the
//!   one-shot engine commands call (one search to a solution, one benchmark); the
//!   [`solver::Device`] trait and [`solver::WorkerSpec`] every backend provides: the CPU SIMD
//!   backend, the CUDA and OpenCL backends (features `cuda`, `opencl`) and their embedded
//!   kernel source; worker pool, self-tests.
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
pub mod fleet;
pub mod pow;
pub mod solver;
mod sync;
pub mod telemetry;
pub mod wallet;
