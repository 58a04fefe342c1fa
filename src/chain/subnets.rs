//! Every subnet at one block ([`SubnetRow`], read by [`Chain::subnets`]): each storage item the
//! table shows is read for all subnets at once by iterating its map (subxt's storage iteration:
//! a few paged key/value queries per item, all items at the same time), not one round trip per
//! subnet per item. Items a runtime lacks read as `None`.

use std::collections::BTreeMap;

use subxt::dynamic::Value;
use subxt::ext::frame_decode::storage::{IntoDecodableValues, IntoEncodableValues};
use subxt::ext::scale_decode::DecodeAsType;
use subxt::ext::scale_value::{At, ValueDef};
use subxt::utils::AccountId32;

use super::blocks::{AtBlock, BlockRef, CALL_LIMIT};
use super::error::ChainError;
use super::scheme::PALLET;
use super::state::clamp_difficulty;
use super::Chain;
use crate::pow::AccountId;

/// One subnet at one block. `None`: the runtime has no such storage item.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SubnetRow {
    pub netuid: u16,
    /// The subnet's identity name (`SubnetIdentitiesV3`, `V2` or the first version), if set.
    pub name: Option<String>,
    /// `NetworkPowRegistrationAllowed`.
    pub pow_registration_allowed: Option<bool>,
    /// `NetworkRegistrationAllowed` (the burn route).
    pub burn_registration_allowed: Option<bool>,
    pub difficulty_raw: Option<u64>,
    /// `clamp(Difficulty, max(1, MinDifficulty), max(that, MaxDifficulty))` (docs/protocol.md).
    pub difficulty_clamped: Option<u64>,
    /// `Burn`, in RAO.
    pub burn_rao: Option<u64>,
    pub registrations_this_block: Option<u64>,
    pub max_registrations_per_block: Option<u64>,
    pub registrations_this_interval: Option<u64>,
    pub target_registrations_per_interval: Option<u64>,
    /// Blocks until difficulty and burn are next adjusted (`LastAdjustmentBlock + AdjustmentInterval - block`).
    pub blocks_to_adjustment: Option<u64>,
    /// UIDs in use (`SubnetworkN`) and the most there may be (`MaxAllowedUids`).
    pub uids: Option<u64>,
    pub max_uids: Option<u64>,
    /// The given hotkeys that hold a UID here, with it (reported by name by the command).
    #[serde(skip)]
    pub hotkeys: Vec<(AccountId, u16)>,
}

/// One storage map read whole: the stored values by netuid, and the default for the rest.
struct Column<V> {
    values: BTreeMap<u16, V>,
    default: Option<V>,
}

impl<V: Clone> Column<V> {
    fn get(column: &Option<Column<V>>, netuid: u16) -> Option<V> {
        let column = column.as_ref()?;
        column.values.get(&netuid).cloned().or_else(|| column.default.clone())
    }
}

impl Chain {
    /// Every subnet (`NetworksAdded`) at `block`, in netuid order, with which of `hotkeys` hold a UID.
    pub async fn subnets(&self, block: &BlockRef, hotkeys: &[AccountId]) -> Result<Vec<SubnetRow>, ChainError> {
        let at = self.at(block).await?;
        let n = block.number;
        let (
            added,
            count,
            pow,
            burn_allowed,
            difficulty,
            min_difficulty,
            max_difficulty,
            burn,
            this_block,
            per_block,
            this_interval,
            target,
            last_adjustment,
            interval,
            max_uids,
            names,
            members,
        ) = futures::try_join!(
            column::<bool>(&at, n, "NetworksAdded"),
            column::<u64>(&at, n, "SubnetworkN"),
            column::<bool>(&at, n, "NetworkPowRegistrationAllowed"),
            column::<bool>(&at, n, "NetworkRegistrationAllowed"),
            column::<u64>(&at, n, "Difficulty"),
            column::<u64>(&at, n, "MinDifficulty"),
            column::<u64>(&at, n, "MaxDifficulty"),
            column::<u64>(&at, n, "Burn"),
            column::<u64>(&at, n, "RegistrationsThisBlock"),
            column::<u64>(&at, n, "MaxRegistrationsPerBlock"),
            column::<u64>(&at, n, "RegistrationsThisInterval"),
            column::<u64>(&at, n, "TargetRegistrationsPerInterval"),
            column::<u64>(&at, n, "LastAdjustmentBlock"),
            column::<u64>(&at, n, "AdjustmentInterval"),
            column::<u64>(&at, n, "MaxAllowedUids"),
            names(&at, n),
            memberships(&at, n, hotkeys),
        )?;
        // The subnets: NetworksAdded where the runtime has it, else those with neurons.
        let netuids: Vec<u16> = match (&added, &count) {
            (Some(added), _) => added.values.iter().filter(|(_, on)| **on).map(|(netuid, _)| *netuid).collect(),
            (None, Some(count)) => count.values.iter().filter(|(_, n)| **n > 0).map(|(netuid, _)| *netuid).collect(),
            (None, None) => Vec::new(),
        };
        let rows = netuids.into_iter().map(|netuid| {
            let get = |c: &Option<Column<u64>>| Column::get(c, netuid);
            let raw = get(&difficulty);
            let next_adjustment = get(&last_adjustment).zip(get(&interval).filter(|i| *i > 0)).map(|(last, i)| last.saturating_add(i));
            SubnetRow {
                netuid,
                name: names.get(&netuid).cloned(),
                pow_registration_allowed: Column::get(&pow, netuid),
                burn_registration_allowed: Column::get(&burn_allowed, netuid),
                difficulty_raw: raw,
                difficulty_clamped: raw.map(|raw| clamp_difficulty(raw, get(&min_difficulty), get(&max_difficulty))),
                burn_rao: get(&burn),
                registrations_this_block: get(&this_block),
                max_registrations_per_block: get(&per_block),
                registrations_this_interval: get(&this_interval),
                target_registrations_per_interval: get(&target),
                blocks_to_adjustment: next_adjustment.map(|next| next.saturating_sub(n)),
                uids: get(&count),
                max_uids: get(&max_uids),
                hotkeys: members.iter().filter(|(m, _, _)| *m == netuid).map(|(_, hotkey, uid)| (*hotkey, *uid)).collect(),
            }
        });
        Ok(rows.collect())
    }
}

fn storage_error(item: &'static str, block: u64) -> impl Fn(String) -> ChainError {
    move |reason| ChainError::Storage { item, block, reason }
}

/// Every entry of the map `SubtensorModule.<item>` with key `K`, under `prefix`, as (key, value).
async fn entries<K, V, P>(at: &AtBlock, number: u64, item: &'static str, prefix: P) -> Result<Option<(Vec<(K, V)>, Option<V>)>, ChainError>
where
    K: IntoEncodableValues + IntoDecodableValues,
    V: DecodeAsType,
    P: subxt::storage::PrefixOf<K>,
{
    if at.metadata_ref().pallet_by_name(PALLET).and_then(|p| p.storage()).and_then(|s| s.entry_by_name(item)).is_none() {
        return Ok(None);
    }
    let fail = storage_error(item, number);
    let storage = at.storage();
    let entry = storage.entry(subxt::storage::dynamic::<K, V>(PALLET, item)).map_err(|e| fail(e.to_string()))?;
    let default = entry.default_value().map(|v| v.decode_as::<V>()).transpose().map_err(|e| fail(e.to_string()))?;
    let read_all = async {
        let mut stream = entry.iter(prefix).await.map_err(|e| fail(e.to_string()))?;
        let mut out = Vec::new();
        while let Some(kv) = stream.next().await {
            let kv = kv.map_err(|e| fail(super::error::error_chain(&e)))?;
            let key = kv.key().and_then(|k| k.decode()).map_err(|e| fail(e.to_string()))?;
            out.push((key, kv.value().decode_as::<V>().map_err(|e| fail(e.to_string()))?));
        }
        Ok::<_, ChainError>(out)
    };
    let values =
        tokio::time::timeout(CALL_LIMIT, read_all).await.map_err(|_| fail(format!("no answer within {} s", CALL_LIMIT.as_secs())))??;
    Ok(Some((values, default)))
}

/// A map keyed by netuid, read whole.
async fn column<V: DecodeAsType>(at: &AtBlock, number: u64, item: &'static str) -> Result<Option<Column<V>>, ChainError> {
    let read = entries::<(u16,), V, ()>(at, number, item, ()).await?;
    Ok(read.map(|(values, default)| Column { values: values.into_iter().map(|((netuid,), v)| (netuid, v)).collect(), default }))
}

/// Subnet names from the newest identity map the runtime has.
async fn names(at: &AtBlock, number: u64) -> Result<BTreeMap<u16, String>, ChainError> {
    for item in ["SubnetIdentitiesV3", "SubnetIdentitiesV2", "SubnetIdentities"] {
        if let Some(identities) = column::<Value>(at, number, item).await? {
            return Ok(identities.values.into_iter().filter_map(|(netuid, identity)| Some((netuid, subnet_name(&identity)?))).collect());
        }
    }
    Ok(BTreeMap::new())
}

/// The identity's `subnet_name` bytes as text; `None` when empty or not UTF-8.
fn subnet_name(identity: &Value) -> Option<String> {
    let ValueDef::Composite(bytes) = &identity.at("subnet_name")?.value else { return None };
    let bytes: Option<Vec<u8>> = bytes.values().map(|b| b.as_u128().and_then(|b| u8::try_from(b).ok())).collect();
    String::from_utf8(bytes?).ok().map(|name| name.trim().to_string()).filter(|name| !name.is_empty())
}

/// (netuid, hotkey, uid) for every subnet each hotkey is a member of (`IsNetworkMember`, read per
/// hotkey; then `Uids` for each membership).
async fn memberships(at: &AtBlock, number: u64, hotkeys: &[AccountId]) -> Result<Vec<(u16, AccountId, u16)>, ChainError> {
    let per_hotkey = hotkeys.iter().map(|hotkey| async move {
        let read = entries::<(AccountId32, u16), bool, _>(at, number, "IsNetworkMember", (AccountId32(*hotkey),)).await?;
        let netuids: Vec<u16> =
            read.map(|(v, _)| v.into_iter().filter(|(_, member)| *member).map(|((_, netuid), _)| netuid).collect()).unwrap_or_default();
        let uids = futures::future::try_join_all(
            netuids.iter().map(|netuid| super::state::read::<_, u16>(at, number, "Uids", (*netuid, AccountId32(*hotkey)))),
        )
        .await?;
        Ok::<_, ChainError>(netuids.into_iter().zip(uids).filter_map(|(netuid, uid)| Some((netuid, *hotkey, uid?))).collect::<Vec<_>>())
    });
    Ok(futures::future::try_join_all(per_hotkey).await?.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_is_the_identitys_subnet_name_bytes() {
        let identity = Value::named_composite([("subnet_name", Value::from_bytes(b"apex ")), ("github_repo", Value::from_bytes(b"x"))]);
        assert_eq!(subnet_name(&identity), Some("apex".to_string()));
        let empty = Value::named_composite([("subnet_name", Value::from_bytes(b""))]);
        assert_eq!(subnet_name(&empty), None);
        assert_eq!(subnet_name(&Value::named_composite([("other", Value::u128(1))])), None);
    }
}
