//! The registration loop: best blocks -> jobs -> verified solutions -> submissions -> outcomes.
//!
//! The rules live in [`session`], a state machine with no I/O (proven by the seeded simulation
//! in `sim`); [`shell`] runs it: one task follows the chain (tokio), the devices run on their own
//! threads inside the [`Pool`]. For every new best block the runtime's checks are read and the
//! job for the current hotkey is replaced at once. Every solution the pool hands over was
//! verified on the CPU; it is checked once more against a challenge rebuilt from the block and
//! keys, and submitted only while its work block is inside the runtime's window. Losing the
//! connection means: stop the devices, reconnect with backoff, re-read the runtime, resume on
//! the new head.

pub(crate) mod exit;
pub mod observe;
pub(crate) mod plan;
pub(crate) mod port;
pub mod report;
pub(crate) mod session;
pub(crate) mod shell;
#[cfg(test)]
mod sim;
pub mod status;

use std::sync::Arc;
use std::time::Duration;

/// The stop order [`run`] takes (re-exported: a caller needs no tokio-util of its own).
pub use tokio_util::sync::CancellationToken;

use crate::chain::Endpoint;
use crate::pow::ByteOrder;
use crate::solver::pool::Pool;
use crate::wallet::{PasswordSource, Wallet};

pub use exit::{DaemonError, StopReason};
use observe::Observer;
use port::DaemonHost;
use report::Reporter;
use session::{Registrant, Rules, Session};
use shell::Shell;

/// Everything the loop needs, already validated (from flags, environment or a file).
pub struct DaemonOptions {
    pub endpoint: Endpoint,
    /// The genesis a named network must have (`None` for a plain URL).
    pub expected_genesis: Option<[u8; 32]>,
    /// How long connecting may take before giving up (light-client peers, RPC handshake).
    pub connect_deadline: Duration,
    pub netuid: u16,
    /// Run scheme C (`faucet`, signed by the coldkey) instead of registering hotkeys.
    pub faucet: bool,
    pub wallet: Wallet,
    /// Hotkey names to register, in order.
    pub hotkeys: Vec<String>,
    pub password: PasswordSource,
    /// Legacy runtimes only: how seals are read (required for specs 278-282).
    pub byte_order: Option<ByteOrder>,
    /// Do everything but submit: print the extrinsic that would be sent.
    pub dry_run: bool,
    /// Keep watching while registration is not possible (PoW disabled, difficulty above
    /// `max_difficulty`) instead of stopping.
    pub wait: bool,
    /// Never solve above this difficulty.
    pub max_difficulty: Option<u64>,
    /// After the last hotkey, keep following and register again any hotkey that loses its UID.
    pub keep_going: bool,
    /// Longest pause between reconnection attempts.
    pub max_backoff: Duration,
    /// The burn route's limits (`--burn-max`, `--burn-after`, `--burn-budget`); `None`: never burn.
    pub burn: Option<crate::burn::BurnOptions>,
}

/// What happened to one hotkey (or the coldkey, for `faucet`).
#[derive(Clone, Debug, serde::Serialize)]
pub struct HotkeyResult {
    pub hotkey: String,
    pub ss58: String,
    pub uid: Option<u16>,
    /// Registered in this run (false: it already held a UID, or a dry run).
    pub registered_now: bool,
    /// How: by proof of work or by burn (none when it already held a UID).
    pub route: Option<session::Route>,
    /// The seal's work block, or the block a burn was signed at.
    pub block: Option<u64>,
    pub nonce: Option<u64>,
    /// What the burn cost (price and fee), in TAO.
    pub burned_tao: Option<String>,
    pub extrinsic: Option<String>,
}

/// Runs until every hotkey holds a UID (with `keep_going`, for ever), or a reason to stop, or
/// `stop` is cancelled (`None`: the loop ended at its next await, dropping its connection; an
/// extrinsic already sent may still land). The devices' job is cleared either way.
pub async fn run(
    opts: DaemonOptions,
    pool: Arc<Pool>,
    reporter: Reporter,
    observer: Arc<Observer>,
    stop: CancellationToken,
) -> Option<Result<Vec<HotkeyResult>, DaemonError>> {
    let result = tokio::select! {
        result = registrations(opts, pool.clone(), reporter, observer) => Some(result),
        () = stop.cancelled() => None,
    };
    pool.clear_job();
    result
}

async fn registrations(
    opts: DaemonOptions,
    pool: Arc<Pool>,
    reporter: Reporter,
    observer: Arc<Observer>,
) -> Result<Vec<HotkeyResult>, DaemonError> {
    let coldkey = opts.wallet.coldkey_public()?;
    let registrants = if opts.faucet {
        vec![Registrant { name: "coldkey".into(), key: coldkey }]
    } else {
        let keys = opts.hotkeys.iter().map(|name| Ok(Registrant { name: name.clone(), key: opts.wallet.hotkey_public(name)? }));
        keys.collect::<Result<Vec<_>, DaemonError>>()?
    };
    let rules = Rules {
        netuid: opts.netuid,
        faucet: opts.faucet,
        byte_order: opts.byte_order,
        dry_run: opts.dry_run,
        wait: opts.wait,
        max_difficulty: opts.max_difficulty,
        keep_going: opts.keep_going,
        burn: opts.burn.clone(),
    };
    let session = Session::new(rules, coldkey, registrants);
    let mut host = DaemonHost::new(pool.clone(), reporter, observer.clone(), opts.wallet.clone(), opts.password.clone(), coldkey);
    if let Some(burn) = &opts.burn {
        // Read before anything else: a damaged ledger stops the daemon rather than reset the sum.
        host = host.with_ledger(crate::burn::BurnLedger::open(&burn.ledger).map_err(|e| DaemonError::Usage(e.to_string()))?);
    }
    Shell::new(opts, observer, pool.verdicts()).run(session, host).await
}
