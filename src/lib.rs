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
//! - [`config`]: the configuration file, environment and flags layered into one checked
//!   [`config::Config`]; [`telemetry`]: logging, metrics, `/healthz`, systemd notify.
//!
//! The public surface is these modules' re-exports and the submodules the binary uses; the
//! rest is `pub(crate)`. The `regsolver` binary (`src/main.rs`, `cli`, `commands`) is a thin
//! client of it.
//!
//! # The library
//!
//! The binary's commands are thin over these pieces, and a program of your own can use them the
//! same way. The whole loop (reconnects, seal windows, refusals, the burn route) is
//! [`daemon::run`]; underneath it, following a chain, driving a pool and signing a registration
//! look like this (finney through the bundled light client, every CPU core, nothing sent):
//!
//! ```no_run
//! use std::path::Path;
//! use std::time::Duration;
//!
//! use futures::StreamExt;
//! use regsolver::chain::{self, choose_scheme, tx, Network};
//! use regsolver::pow::{hotloop::HotLoop, Challenge, Target};
//! use regsolver::solver::pool::{Pool, Verdict};
//! use regsolver::solver::selection;
//! use regsolver::wallet::{PasswordSource, Wallet};
//!
//! # async fn register() -> Result<(), Box<dyn std::error::Error>> {
//! let netuid = 1;
//! // Follow the chain: its best block and the rules its runtime has there.
//! let network = Network::Finney;
//! let chain = chain::connect(&network.endpoint(None)?, network.expected_genesis(), Duration::from_secs(60)).await?;
//! let best = chain.best_blocks().await?.next().await.ok_or("the subscription ended")??;
//! let choice = choose_scheme(&best.runtime, None)?;
//!
//! // What the runtime will check for this wallet's hotkey at that block.
//! let wallet = Wallet::open(Path::new(regsolver::config::DEFAULT_WALLET_PATH), "default")?;
//! let (hotkey, coldkey) = (wallet.hotkey_public("default")?, wallet.coldkey_public()?);
//! let state = chain.registration_state(&best.block, netuid, &[hotkey]).await?;
//! let difficulty = state.subnet.difficulty_for(choice.scheme).ok_or("no proof of work here")?;
//!
//! // Drive a pool: every CPU core searches the block's challenge; what comes back was
//! // re-verified on the CPU.
//! let challenge = Challenge::for_scheme(choice.scheme, netuid, &best.block.hash, &hotkey, &coldkey)?;
//! let pool = Pool::start(selection::specs(&selection::DeviceSelection::default())?);
//! pool.set_job(HotLoop::new(challenge, Target::from_difficulty(difficulty)?, choice.byte_order), 0);
//! let mut verdicts = pool.verdicts();
//! let solution = loop {
//!     match verdicts.recv().await.ok_or("the pool stopped")? {
//!         Verdict::Solution(solution) => break solution,
//!         other => eprintln!("not a solution: {other:?}"),
//!     }
//! };
//! pool.shutdown();
//! pool.join(Duration::from_secs(2));
//!
//! // Sign the registration at the best block (tx::submit_signed would send it), with the key
//! // its scheme wants (`pow_register`: the coldkey; the legacy `register`: the hotkey).
//! let registration = tx::Registration {
//!     scheme: choice.scheme,
//!     netuid,
//!     work_block: best.block.number,
//!     nonce: solution.nonce,
//!     seal: solution.seal,
//!     hotkey,
//!     coldkey,
//! };
//! let password = PasswordSource::default();
//! let signer = match registration.signer_account() == coldkey {
//!     true => wallet.coldkey(&password)?,
//!     false => wallet.hotkey("default", &password)?,
//! };
//! let signed = tx::sign(chain.client(), best.block.hash, &registration, &signer).await?;
//! println!("{} bytes, extrinsic {}", signed.bytes.len(), chain::network::hex_0x(&signed.extrinsic_hash));
//! # Ok(())
//! # }
//! ```

pub mod burn;
pub mod chain;
pub mod config;
pub mod daemon;
pub mod fleet;
pub mod pow;
pub mod settings;
pub mod solver;
mod sync;
pub mod telemetry;
pub mod wallet;
