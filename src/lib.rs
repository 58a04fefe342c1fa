//! regsolver: proof-of-work registration solver for Bittensor's subtensor chain.
//!
//! Data flows one way: job -> devices -> candidates -> CPU verification -> solution.
//!
//! - [`pow`]: the specification (challenges, seals, targets, byte orders) and the per-job
//!   hot-loop description every backend consumes.
//! - [`solver`]: the [`solver::Device`] trait, the CPU SIMD backend, the CUDA and OpenCL
//!   backends (features `cuda`, `opencl`), worker pool, self-tests.
//! - [`kernels`]: the GPU kernel source, embedded, with its CUDA and OpenCL dialect headers.
//! - [`devices`]: turns command-line device selection into workers, and lists devices.
//! - [`cli`]: command-line definitions; [`commands`]: `solve`, `bench`, `devices`.

pub mod chain;
pub mod cli;
pub mod commands;
pub mod devices;
pub mod fleet;
pub mod kernels;
pub mod pow;
pub mod solver;
pub mod wallet;
