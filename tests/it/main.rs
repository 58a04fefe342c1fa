//! The integration tests: one test binary (`cargo test --test it`), one module per area, and the
//! helpers they share in [`support`]. The CUDA and OpenCL modules need their backend compiled in
//! (`cargo test --no-default-features` leaves them out).

mod support;

mod burn;
mod chain;
mod chopsticks;
mod cli;
mod config;
#[cfg(feature = "cuda")]
mod cuda;
#[cfg(feature = "cuda")]
mod cuda_on_host;
#[cfg(feature = "cuda")]
mod cuda_simulated;
mod daemon;
mod daemon_paths;
mod first_hour;
mod fleet;
mod fleet_e2e;
mod fleet_hostile;
mod lightclient;
mod metrics;
#[cfg(feature = "opencl")]
mod opencl;
mod ops;
mod subnets;
mod systemd;
mod tx;
mod vectors;
mod wallet;
