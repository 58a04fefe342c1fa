//! Pure decisions of the loop: what one block means for one hotkey (mine, wait, done, stop), and
//! whether a seal is still inside the window the runtime accepts (docs/protocol.md).

use crate::chain::state::{HotkeyState, SubnetState};
use crate::pow::ss58::encode_ss58;
use crate::pow::{AccountId, Scheme};

use super::exit::DaemonError;

/// What to do with one hotkey at one best block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Search for a seal of the block at this (clamped) difficulty.
    Mine { difficulty: u64 },
    /// The hotkey already holds a UID on the subnet.
    Registered { uid: u16 },
    /// Registration is not possible at this block; try the next one.
    Wait(String),
}

/// Reads the runtime's own checks (docs/protocol.md: admission list for `pow_register`, dispatch
/// list for `register`) for one hotkey at the block both states were read at.
pub fn plan(
    scheme: Scheme,
    subnet: &SubnetState,
    hotkey: &HotkeyState,
    coldkey: &AccountId,
    block_number: u64,
) -> Result<Plan, DaemonError> {
    let netuid = subnet.netuid;
    if netuid == 0 {
        return Err(DaemonError::NoPowRegistration("subnet 0 is the root network, which has no proof-of-work registration".into()));
    }
    if !subnet.exists {
        return Err(DaemonError::NoSuchSubnet { netuid });
    }
    if let Some(uid) = hotkey.uid {
        return Ok(Plan::Registered { uid });
    }
    if subnet.pow_registration_allowed != Some(true) {
        return Err(DaemonError::PowDisabled { netuid });
    }
    if let Some(owner) = hotkey.owner {
        if owner != *coldkey {
            return Err(DaemonError::ColdkeyMismatch { hotkey: encode_ss58(&hotkey.hotkey), owner: encode_ss58(&owner) });
        }
    }
    if subnet.max_allowed_uids == Some(0) {
        return Ok(Plan::Wait("the subnet allows no UIDs (MaxAllowedUids is 0)".into()));
    }
    if let (Some(done), Some(max)) = (subnet.registrations_this_block, subnet.max_registrations_per_block) {
        if done >= max {
            return Ok(Plan::Wait("the subnet's registrations for this block are used up".into()));
        }
    }
    if let (Some(target), Some(done)) = (subnet.target_registrations_per_interval, subnet.registrations_this_interval) {
        // The legacy dispatch check: three times the interval's target at most.
        if scheme == Scheme::Legacy && done >= target.saturating_mul(3) {
            return Ok(Plan::Wait("the subnet's registrations for this interval are used up".into()));
        }
    }
    if scheme == Scheme::PowRegister && hotkey.last_pow_registration_block.is_some_and(|last| block_number <= last) {
        return Ok(Plan::Wait("this hotkey registered by proof of work at a later block".into()));
    }
    match subnet.difficulty_for(scheme) {
        Some(difficulty) => Ok(Plan::Mine { difficulty: difficulty.max(1) }),
        None => Err(DaemonError::NoPowRegistration("the runtime has no Difficulty storage".into())),
    }
}

/// Whether a seal for `work_block` may still be submitted while the best block is `best`.
/// `pow_register`: admitted while the best block is at most work_block + 4 (checked at pool
/// admission with now = best + 1, `now - work_block <= 5`). Legacy `register` and `faucet`:
/// the including block (best + 1 at the earliest) must be within two blocks of the work block.
pub fn in_window(scheme: Scheme, work_block: u64, best: u64) -> bool {
    let reach = match scheme {
        Scheme::PowRegister => 4,
        Scheme::Legacy | Scheme::Faucet => 1,
    };
    best >= work_block && best - work_block <= reach
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: AccountId = [1; 32];

    fn open_subnet() -> SubnetState {
        SubnetState { burn_rao: Some(1), ..SubnetState::open_for_tests(1, 1_000) }
    }

    fn free_hotkey() -> HotkeyState {
        HotkeyState { hotkey: [2; 32], uid: None, owner: None, last_pow_registration_block: None }
    }

    fn decide(scheme: Scheme, subnet: SubnetState, hotkey: HotkeyState, block: u64) -> Result<Plan, DaemonError> {
        plan(scheme, &subnet, &hotkey, &ME, block)
    }

    #[test]
    fn each_runtime_check_maps_to_its_plan() {
        let mine = Some(Plan::Mine { difficulty: 1_000 });
        assert_eq!(decide(Scheme::PowRegister, open_subnet(), free_hotkey(), 10).ok(), mine.clone());
        assert_eq!(
            decide(Scheme::Legacy, open_subnet(), HotkeyState { uid: Some(7), ..free_hotkey() }, 10).ok(),
            Some(Plan::Registered { uid: 7 })
        );
        let disabled = SubnetState { pow_registration_allowed: Some(false), ..open_subnet() };
        assert!(matches!(decide(Scheme::Legacy, disabled, free_hotkey(), 10), Err(DaemonError::PowDisabled { netuid: 1 })));
        let missing = SubnetState { exists: false, netuid: 5, ..open_subnet() };
        assert!(matches!(decide(Scheme::Legacy, missing, free_hotkey(), 10), Err(DaemonError::NoSuchSubnet { netuid: 5 })));
        let root = SubnetState { netuid: 0, ..open_subnet() };
        assert!(matches!(decide(Scheme::PowRegister, root, free_hotkey(), 10), Err(DaemonError::NoPowRegistration(_))));
        let full = SubnetState { registrations_this_block: Some(3), ..open_subnet() };
        assert!(matches!(decide(Scheme::PowRegister, full, free_hotkey(), 10), Ok(Plan::Wait(_))));
        let interval = SubnetState { registrations_this_interval: Some(6), ..open_subnet() };
        assert!(matches!(decide(Scheme::Legacy, interval.clone(), free_hotkey(), 10), Ok(Plan::Wait(_))));
        assert_eq!(decide(Scheme::PowRegister, interval, free_hotkey(), 10).ok(), mine.clone(), "pow_register has no interval check");
        let foreign = HotkeyState { owner: Some([9; 32]), ..free_hotkey() };
        assert!(matches!(decide(Scheme::PowRegister, open_subnet(), foreign, 10), Err(DaemonError::ColdkeyMismatch { .. })));
        let mine_owned = HotkeyState { owner: Some(ME), ..free_hotkey() };
        assert_eq!(decide(Scheme::PowRegister, open_subnet(), mine_owned, 10).ok(), mine.clone());
        let recent = HotkeyState { last_pow_registration_block: Some(10), ..free_hotkey() };
        assert!(matches!(decide(Scheme::PowRegister, open_subnet(), recent.clone(), 10), Ok(Plan::Wait(_))));
        assert_eq!(decide(Scheme::PowRegister, open_subnet(), recent, 11).ok(), mine);
        let clamped = SubnetState { difficulty: Some(5), min_difficulty: Some(100), ..open_subnet() };
        assert_eq!(decide(Scheme::PowRegister, clamped.clone(), free_hotkey(), 10).ok(), Some(Plan::Mine { difficulty: 100 }));
        assert_eq!(
            decide(Scheme::Legacy, clamped, free_hotkey(), 10).ok(),
            Some(Plan::Mine { difficulty: 5 }),
            "legacy reads the raw difficulty"
        );
    }

    #[test]
    fn windows_follow_each_schemes_rule() {
        for best in 100..=104 {
            assert!(in_window(Scheme::PowRegister, 100, best), "{best}");
        }
        assert!(!in_window(Scheme::PowRegister, 100, 105));
        assert!(in_window(Scheme::Legacy, 100, 100) && in_window(Scheme::Legacy, 100, 101));
        assert!(!in_window(Scheme::Legacy, 100, 102));
        assert!(!in_window(Scheme::Legacy, 100, 99), "a seal for a block not yet best is not sent");
    }
}
