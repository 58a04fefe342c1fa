//! Why the daemon stopped: the error, with its data, and its [`StopReason`] (the binary maps
//! each reason to an exit code, documented in the README).

use crate::settings::Key;

/// Why the daemon stopped, as a class: what to do next (retry, fix input, change a limit, or
/// stop). The binary's exit-code table gives each its code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// Bad input: a setting, a wallet that cannot be loaded, a wrong password.
    Usage,
    /// The chain could not be reached (no light-client peers, endpoint unreachable).
    Unreachable,
    /// The runtime offers no proof-of-work registration (burn-only era, root network).
    NoPowRegistration,
    /// Proof-of-work registration is disabled on this subnet.
    PowDisabled,
    NoSuchSubnet,
    /// The hotkey belongs to another coldkey.
    ColdkeyMismatch,
    /// The chain's difficulty is above the user's limit (without waiting).
    TooDifficult,
    /// No route within the user's limits: PoW closed and the burn price above the cap (or the
    /// budget spent, or the balance short), without waiting.
    BurnLimit,
    /// Anything unexpected.
    Other,
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
    pub fn reason(&self) -> StopReason {
        match self {
            DaemonError::Usage(_) => StopReason::Usage,
            DaemonError::Unreachable(_) => StopReason::Unreachable,
            DaemonError::NoPowRegistration(_) => StopReason::NoPowRegistration,
            DaemonError::PowDisabled { .. } => StopReason::PowDisabled,
            DaemonError::NoSuchSubnet { .. } => StopReason::NoSuchSubnet,
            DaemonError::ColdkeyMismatch { .. } => StopReason::ColdkeyMismatch,
            DaemonError::TooDifficult { .. } => StopReason::TooDifficult,
            DaemonError::BurnAboveCap { .. } | DaemonError::BurnBudgetSpent { .. } | DaemonError::BurnBalance { .. } => {
                StopReason::BurnLimit
            }
            DaemonError::Other(_) => StopReason::Other,
        }
    }
}

impl From<crate::chain::ChainError> for DaemonError {
    /// A chain error that stops a command: the configuration's (a named network's genesis not
    /// served there: a usage error) or the chain's (unreachable).
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
