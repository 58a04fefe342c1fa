//! The state the runtime checks before it accepts a PoW registration ([`RegistrationState`]),
//! read through the metadata at one block. Items an older runtime lacks read as `None`.

use subxt::ext::frame_decode::storage::{IntoDecodableValues, IntoEncodableValues};
use subxt::ext::scale_decode::DecodeAsType;
use subxt::utils::AccountId32;

use super::blocks::{AtBlock, BlockRef, CALL_LIMIT};
use super::error::ChainError;
use super::error::{rpc_error, within};
use super::scheme::PALLET;
use super::Chain;
use crate::pow::{Scheme, FAUCET_DIFFICULTY};

/// One subnet's registration state at one block. `None`: the runtime has no such storage item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubnetState {
    pub netuid: u16,
    /// `NetworksAdded[netuid]` (or `SubnetworkN[netuid] > 0` where only that exists).
    pub exists: bool,
    pub pow_registration_allowed: Option<bool>,
    /// The burn-registration flag (`NetworkRegistrationAllowed`).
    pub registration_allowed: Option<bool>,
    pub difficulty: Option<u64>,
    pub min_difficulty: Option<u64>,
    pub max_difficulty: Option<u64>,
    pub registrations_this_block: Option<u64>,
    pub max_registrations_per_block: Option<u64>,
    pub target_registrations_per_interval: Option<u64>,
    pub registrations_this_interval: Option<u64>,
    pub max_allowed_uids: Option<u64>,
    /// The price of a burn registration (`Burn`), in rao.
    pub burn_rao: Option<u64>,
}

impl SubnetState {
    /// The difficulty a seal must meet under `scheme`: docs/protocol.md's clamp for `pow_register`,
    /// the raw `Difficulty` for legacy `register`, the fixed faucet difficulty for `faucet`.
    pub fn difficulty_for(&self, scheme: Scheme) -> Option<u64> {
        match scheme {
            Scheme::PowRegister => self.difficulty.map(|raw| clamp_difficulty(raw, self.min_difficulty, self.max_difficulty)),
            Scheme::Legacy => self.difficulty,
            Scheme::Faucet => Some(FAUCET_DIFFICULTY),
        }
    }
}

#[cfg(test)]
impl SubnetState {
    /// A subnet that exists, open to proof of work at `difficulty` with room for registrations,
    /// no bounds on the difficulty and no burn price (tests' starting point).
    pub fn open_for_tests(netuid: u16, difficulty: u64) -> Self {
        SubnetState {
            netuid,
            exists: true,
            pow_registration_allowed: Some(true),
            registration_allowed: Some(true),
            difficulty: Some(difficulty),
            min_difficulty: None,
            max_difficulty: None,
            registrations_this_block: Some(0),
            max_registrations_per_block: Some(3),
            target_registrations_per_interval: Some(2),
            registrations_this_interval: Some(0),
            max_allowed_uids: Some(256),
            burn_rao: None,
        }
    }
}

/// `clamp(raw, max(1, min), max(that, max))`; a missing bound does not bind.
pub fn clamp_difficulty(raw: u64, min: Option<u64>, max: Option<u64>) -> u64 {
    let low = min.unwrap_or(0).max(1);
    let high = max.unwrap_or(u64::MAX).max(low);
    raw.clamp(low, high)
}

/// One hotkey's state at one block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HotkeyState {
    pub hotkey: [u8; 32],
    /// Its UID on the subnet (`Uids[netuid][hotkey]`), if registered.
    pub uid: Option<u16>,
    /// The coldkey owning it (`Owner[hotkey]`), if any.
    pub owner: Option<[u8; 32]>,
    /// `LastPowRegistrationBlock[hotkey]` where the runtime has it and it is set.
    pub last_pow_registration_block: Option<u64>,
}

/// What the runtime checks, for one subnet and some hotkeys, at one block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrationState {
    pub block: BlockRef,
    pub subnet: SubnetState,
    pub hotkeys: Vec<HotkeyState>,
}

impl Chain {
    /// Reads the subnet's and each hotkey's registration state at `block`.
    pub async fn registration_state(&self, block: &BlockRef, netuid: u16, hotkeys: &[[u8; 32]]) -> Result<RegistrationState, ChainError> {
        let at = self.at(block).await?;
        // Every read at once: one round trip's latency instead of one per item (this is on the
        // path from a new block to the devices' new job, and a light client's reads are slow).
        let hotkey_states = futures::future::try_join_all(hotkeys.iter().map(|hotkey| hotkey_state(&at, block.number, netuid, hotkey)));
        let (subnet, states) = futures::try_join!(subnet_state(&at, block.number, netuid), hotkey_states)?;
        Ok(RegistrationState { block: *block, subnet, hotkeys: states })
    }

    /// The hotkey's UID on the subnet at the best block, if registered.
    pub async fn uid(&self, netuid: u16, hotkey: &[u8; 32]) -> Result<Option<u16>, ChainError> {
        let block = self.best_block().await?;
        let at = self.at(&block).await?;
        read(&at, block.number, "Uids", (netuid, AccountId32(*hotkey))).await
    }

    /// The account's next nonce as the node sees it (its transaction pool included).
    pub async fn account_nonce(&self, account: &[u8; 32]) -> Result<u64, ChainError> {
        within(&self.endpoint_name(), "reading an account nonce", CALL_LIMIT, self.rpc.system_account_next_index(&AccountId32(*account)))
            .await
    }
}

async fn subnet_state(at: &AtBlock, number: u64, netuid: u16) -> Result<SubnetState, ChainError> {
    let key = (netuid,);
    let (
        added,
        subnetwork_n,
        pow_registration_allowed,
        registration_allowed,
        difficulty,
        min_difficulty,
        max_difficulty,
        registrations_this_block,
        max_registrations_per_block,
        target_registrations_per_interval,
        registrations_this_interval,
        max_allowed_uids,
        burn_rao,
    ) = futures::try_join!(
        read::<_, bool>(at, number, "NetworksAdded", key),
        read::<_, u64>(at, number, "SubnetworkN", key),
        read(at, number, "NetworkPowRegistrationAllowed", key),
        read(at, number, "NetworkRegistrationAllowed", key),
        read(at, number, "Difficulty", key),
        read(at, number, "MinDifficulty", key),
        read(at, number, "MaxDifficulty", key),
        read(at, number, "RegistrationsThisBlock", key),
        read(at, number, "MaxRegistrationsPerBlock", key),
        read(at, number, "TargetRegistrationsPerInterval", key),
        read(at, number, "RegistrationsThisInterval", key),
        read(at, number, "MaxAllowedUids", key),
        read(at, number, "Burn", key),
    )?;
    Ok(SubnetState {
        netuid,
        exists: added.unwrap_or_else(|| subnetwork_n.is_some_and(|n| n > 0)),
        pow_registration_allowed,
        registration_allowed,
        difficulty,
        min_difficulty,
        max_difficulty,
        registrations_this_block,
        max_registrations_per_block,
        target_registrations_per_interval,
        registrations_this_interval,
        max_allowed_uids,
        burn_rao,
    })
}

async fn hotkey_state(at: &AtBlock, number: u64, netuid: u16, hotkey: &[u8; 32]) -> Result<HotkeyState, ChainError> {
    let account = AccountId32(*hotkey);
    let (owner, uid, last_pow_registration_block) = futures::try_join!(
        read_set::<_, AccountId32>(at, number, "Owner", (account,)),
        read(at, number, "Uids", (netuid, account)),
        read_set(at, number, "LastPowRegistrationBlock", (account,)),
    )?;
    Ok(HotkeyState { hotkey: *hotkey, uid, owner: owner.map(|a| a.0), last_pow_registration_block })
}

fn has_item(at: &AtBlock, item: &str) -> bool {
    at.metadata_ref().pallet_by_name(PALLET).and_then(|p| p.storage()).and_then(|s| s.entry_by_name(item)).is_some()
}

/// `SubtensorModule.<item>[keys]` at the block: `None` when the runtime has no such item or the
/// key holds nothing and the item has no default; the stored value or its default otherwise.
pub(super) async fn read<K, V>(at: &AtBlock, number: u64, item: &'static str, keys: K) -> Result<Option<V>, ChainError>
where
    K: IntoEncodableValues + IntoDecodableValues,
    V: DecodeAsType,
{
    Ok(fetch::<K, V>(at, number, item, keys).await?.map(|(value, _)| value))
}

/// Like [`read`], but a value equal to the item's default (nothing stored) reads as `None`.
async fn read_set<K, V>(at: &AtBlock, number: u64, item: &'static str, keys: K) -> Result<Option<V>, ChainError>
where
    K: IntoEncodableValues + IntoDecodableValues,
    V: DecodeAsType,
{
    Ok(fetch::<K, V>(at, number, item, keys).await?.and_then(|(value, is_default)| (!is_default).then_some(value)))
}

async fn fetch<K, V>(at: &AtBlock, number: u64, item: &'static str, keys: K) -> Result<Option<(V, bool)>, ChainError>
where
    K: IntoEncodableValues + IntoDecodableValues,
    V: DecodeAsType,
{
    if !has_item(at, item) {
        return Ok(None);
    }
    let fail = |reason: String| ChainError::Storage { item, block: number, reason };
    let storage = at.storage();
    let entry = storage.entry(subxt::storage::dynamic::<K, V>(PALLET, item)).map_err(|e| fail(e.to_string()))?;
    let default = entry.default_value().map(|v| v.bytes().to_vec());
    let value = match tokio::time::timeout(CALL_LIMIT, entry.try_fetch(keys)).await {
        Err(_) => return Err(fail(format!("no answer within {} s", CALL_LIMIT.as_secs()))),
        Ok(Err(e)) => {
            return Err(match rpc_error("", "", &e) {
                disconnected @ ChainError::Disconnected { .. } => disconnected,
                _ => fail(super::error::error_chain(&e)),
            })
        }
        Ok(Ok(None)) => return Ok(None),
        Ok(Ok(Some(value))) => value,
    };
    let is_default = default.as_deref() == Some(value.bytes());
    let decoded = value.decode().map_err(|e| fail(e.to_string()))?;
    Ok(Some((decoded, is_default)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamp_follows_protocol() {
        assert_eq!(clamp_difficulty(0, None, None), 1);
        assert_eq!(clamp_difficulty(0, Some(0), Some(0)), 1);
        assert_eq!(clamp_difficulty(5, Some(10), Some(100)), 10);
        assert_eq!(clamp_difficulty(500, Some(10), Some(100)), 100);
        assert_eq!(clamp_difficulty(50, Some(10), Some(100)), 50);
        // A maximum below the minimum gives way to the minimum.
        assert_eq!(clamp_difficulty(500, Some(10), Some(3)), 10);
        assert_eq!(clamp_difficulty(u64::MAX, Some(10), None), u64::MAX);
    }

    #[test]
    fn legacy_uses_the_raw_difficulty() {
        let state = SubnetState {
            netuid: 1,
            exists: true,
            pow_registration_allowed: Some(true),
            registration_allowed: Some(true),
            difficulty: Some(5),
            min_difficulty: Some(10),
            max_difficulty: Some(100),
            registrations_this_block: Some(0),
            max_registrations_per_block: Some(1),
            target_registrations_per_interval: None,
            registrations_this_interval: None,
            max_allowed_uids: Some(256),
            burn_rao: Some(1),
        };
        assert_eq!(state.difficulty_for(Scheme::Legacy), Some(5));
        assert_eq!(state.difficulty_for(Scheme::PowRegister), Some(10));
        assert_eq!(state.difficulty_for(Scheme::Faucet), Some(FAUCET_DIFFICULTY));
    }
}
