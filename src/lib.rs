//! regsolver: proof-of-work registration solver for Bittensor's subtensor chain.
//!
//! Data flows one way: job -> devices -> candidates -> CPU verification -> solution.
//!
//! - [`pow`]: the specification (challenges, seals, targets, byte orders) and the per-job
//!   hot-loop description every backend consumes.
//! - [`solver`]: the [`solver::Device`] trait, the CPU SIMD backend, the CUDA and OpenCL
//!   backends (features `cuda`, `opencl`), worker pool, self-tests.
//! - [`kernels`]: the GPU kernel source, embedded, with its CUDA and OpenCL dialect headers.
//! - [`selection`]: a plain device selection, checked and turned into workers (the CPU
//!   fallback rule); [`devices`]: the device listing.
//! - [`engine`]: one search to a solution, one benchmark, on a selection (what commands call).
//! - [`fleet`]: the coordinator/worker protocol that spreads one job over several machines.
//! - [`cli`]: command-line definitions; [`commands`]: `solve`, `bench`, `devices`, exit codes.

pub mod chain;
pub mod cli;
pub mod commands;
pub mod devices;
pub mod engine;
pub mod fleet;
pub mod kernels;
pub mod pow;
pub mod selection;
pub mod solver;
pub mod wallet;
