//! Why the daemon stopped, and the exit code each reason maps to (documented in the README).

use crate::settings::Key;

/// Every command's exit codes (one table for the daemon, `status`, `faucet`, `solve`, `bench`,
/// `devices`). A code says what to do next: retry, fix input, or stop.
pub mod code {
    /// Every hotkey registered (or already was).
    pub const DONE: i32 = 0;
    /// Anything unexpected (a bug, every device failed).
    pub const OTHER: i32 = 1;
    /// Bad input: a flag, a config value, a wallet that cannot be loaded, a wrong password.
    pub const USAGE: i32 = 2;
    /// `solve --timeout` ran out.
    pub const TIMEOUT: i32 = 3;
    /// A device or backend named on the command line is unavailable on this machine.
    pub const DEVICE_UNAVAILABLE: i32 = 4;
    /// The chain could not be reached (no light-client peers, endpoint unreachable, wrong chain).
    pub const UNREACHABLE: i32 = 5;
    /// The runtime offers no proof-of-work registration (burn-only era, root network).
    pub const NO_POW_REGISTRATION: i32 = 10;
    /// Proof-of-work registration is disabled on this subnet.
    pub const POW_DISABLED: i32 = 11;
    /// The subnet does not exist.
    pub const NO_SUCH_SUBNET: i32 = 12;
    /// The hotkey belongs to another coldkey.
    pub const COLDKEY_MISMATCH: i32 = 13;
    /// The chain's difficulty is above `--max-difficulty` (without `--wait`).
    pub const TOO_DIFFICULT: i32 = 14;
    /// No route within the user's limits: PoW closed on the subnet and the burn price above
    /// `--burn-max` (or `--burn-budget` spent), without `--wait`.
    pub const BURN_LIMIT: i32 = 15;
}

/// Why the daemon stopped without registering.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Unreachable(String),
    #[error("no proof-of-work registration here: {0}")]
    NoPowRegistration(String),
    #[error("proof-of-work registration is disabled on subnet {netuid} (NetworkPowRegistrationAllowed is false); the subnet owner must enable it, or register by burn")]
    PowDisabled { netuid: u16 },
    #[error("subnet {netuid} does not exist on this chain")]
    NoSuchSubnet { netuid: u16 },
    #[error("hotkey {hotkey} is owned by another coldkey ({owner}); register it with that coldkey's wallet")]
    ColdkeyMismatch { hotkey: String, owner: String },
    #[error(
        "the subnet's difficulty {difficulty} is above {} {max}; not solving (add {} to wait until it falls)",
        Key::MaxDifficulty,
        Key::Wait
    )]
    TooDifficult { difficulty: u64, max: u64 },
    #[error(
        "PoW registration is closed on subnet {netuid} and the burn price {price_tao} TAO is above {} {max_tao} TAO; \
         nothing was sent (add {} to follow the chain until one opens)",
        Key::BurnMax,
        Key::Wait
    )]
    BurnAboveCap { netuid: u16, price_tao: String, max_tao: String },
    #[error(
        "PoW registration is closed on subnet {netuid} and {} {budget_tao} TAO is spent ({spent_tao} TAO in the ledger); \
         nothing was sent",
        Key::BurnBudget
    )]
    BurnBudgetSpent { netuid: u16, spent_tao: String, budget_tao: String },
    #[error("PoW registration is closed on subnet {netuid} and a burn cannot be paid: {why}; nothing was sent")]
    BurnBalance { netuid: u16, why: String },
    #[error("{0}")]
    Other(String),
}

impl DaemonError {
    pub fn exit_code(&self) -> i32 {
        match self {
            DaemonError::Usage(_) => code::USAGE,
            DaemonError::Unreachable(_) => code::UNREACHABLE,
            DaemonError::NoPowRegistration(_) => code::NO_POW_REGISTRATION,
            DaemonError::PowDisabled { .. } => code::POW_DISABLED,
            DaemonError::NoSuchSubnet { .. } => code::NO_SUCH_SUBNET,
            DaemonError::ColdkeyMismatch { .. } => code::COLDKEY_MISMATCH,
            DaemonError::TooDifficult { .. } => code::TOO_DIFFICULT,
            DaemonError::BurnAboveCap { .. } | DaemonError::BurnBudgetSpent { .. } | DaemonError::BurnBalance { .. } => code::BURN_LIMIT,
            DaemonError::Other(_) => code::OTHER,
        }
    }
}

impl From<crate::chain::ChainError> for DaemonError {
    /// A chain error that stops a command: the configuration's (a named network's genesis not
    /// served there: exit 2) or the chain's (exit 5).
    fn from(err: crate::chain::ChainError) -> Self {
        match err.is_configuration() {
            true => DaemonError::Usage(err.to_string()),
            false => DaemonError::Unreachable(err.to_string()),
        }
    }
}

impl From<crate::wallet::WalletError> for DaemonError {
    fn from(err: crate::wallet::WalletError) -> Self {
        DaemonError::Usage(err.to_string())
    }
}
