//! The exit codes, one table for every command (documented in the README; the systemd units'
//! `RestartPreventExitStatus=` lists those a restart cannot mend), and the code of each reason
//! the daemon stops for.

use regsolver::daemon::StopReason;

/// Every command's exit codes besides 0 (done: every hotkey registered, or already was); one
/// table for the daemon, `status`, `faucet`, `solve`, `bench`, `devices`. A code says what to
/// do next: retry, fix input, or stop.
pub mod code {
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

/// The code of a reason the daemon (or `status`, `faucet`) stopped for.
pub fn for_stop(reason: StopReason) -> i32 {
    match reason {
        StopReason::Usage => code::USAGE,
        StopReason::Unreachable => code::UNREACHABLE,
        StopReason::NoPowRegistration => code::NO_POW_REGISTRATION,
        StopReason::PowDisabled => code::POW_DISABLED,
        StopReason::NoSuchSubnet => code::NO_SUCH_SUBNET,
        StopReason::ColdkeyMismatch => code::COLDKEY_MISMATCH,
        StopReason::TooDifficult => code::TOO_DIFFICULT,
        StopReason::BurnLimit => code::BURN_LIMIT,
        StopReason::Other => code::OTHER,
    }
}

#[cfg(test)]
mod tests {
    use super::code::*;

    /// The units' `RestartPreventExitStatus=` is this table's: bad input and every refusal a
    /// restart cannot mend.
    #[test]
    fn the_units_prevent_a_restart_on_every_code_a_restart_cannot_mend() {
        let codes = [USAGE, NO_POW_REGISTRATION, POW_DISABLED, NO_SUCH_SUBNET, COLDKEY_MISMATCH, TOO_DIFFICULT, BURN_LIMIT];
        let line = format!("RestartPreventExitStatus={}", codes.map(|c| c.to_string()).join(" "));
        for unit in ["regsolver.service", "regsolver@.service"] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd").join(unit);
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(text.lines().any(|l| l.trim() == line), "{} lacks `{line}`", path.display());
        }
    }
}
