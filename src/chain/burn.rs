//! Burn registration, chain side: the price (`Burn[netuid]`) and the coldkey's free balance at a
//! block, the fee of a signed extrinsic (`TransactionPaymentApi_query_info`), and the extrinsic
//! itself: `register_limit(netuid, hotkey, limit_price)` where the runtime has it (the chain
//! then refuses a price above the cap), else `burned_register(netuid, hotkey)`; both signed by
//! the coldkey, which pays. Whether to send at all is [`crate::burn::check`]'s decision.

use subxt::dynamic::Value;
use subxt::ext::codec::{Compact, Decode, Encode};
use subxt::ext::scale_value::{At, Composite};
use subxt::transactions::DynamicPayload;
use subxt::utils::AccountId32;
use subxt::Metadata;

use super::blocks::{BlockRef, CALL_LIMIT};
use super::error::within;
use super::error::ChainError;
use super::scheme::PALLET;
use super::signer::SignerRole;
use super::tx::{check_signer, checked_call, ArgKind, Signable, TxError};
use super::Chain;
use crate::pow::AccountId;
use crate::wallet::keypair::Keypair;

/// Which burn call a runtime offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BurnCall {
    /// `register_limit(netuid, hotkey, limit_price)`: the chain refuses a price above the limit.
    RegisterLimit,
    /// `burned_register(netuid, hotkey)`: pays whatever the price is when the block includes it.
    BurnedRegister,
}

impl BurnCall {
    /// `register_limit` where the metadata has it, else `burned_register`, else `None`.
    pub fn of(metadata: &Metadata) -> Option<BurnCall> {
        let pallet = metadata.pallet_by_name(PALLET)?;
        [BurnCall::RegisterLimit, BurnCall::BurnedRegister].into_iter().find(|call| pallet.call_variant_by_name(call.name()).is_some())
    }

    pub fn name(self) -> &'static str {
        match self {
            BurnCall::RegisterLimit => "register_limit",
            BurnCall::BurnedRegister => "burned_register",
        }
    }

    /// Whether the chain itself enforces the cap (otherwise only the price read before sending does).
    pub fn chain_enforces_cap(self) -> bool {
        self == BurnCall::RegisterLimit
    }
}

/// A burn registration of `hotkey` on `netuid`, paid by `coldkey`, at most `limit_rao`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BurnRegistration {
    pub netuid: u16,
    pub hotkey: AccountId,
    pub coldkey: AccountId,
    /// The cap: `register_limit`'s `limit_price`; with `burned_register`, checked before sending.
    pub limit_rao: u64,
}

impl BurnRegistration {
    /// The call for `metadata`, its arguments checked against the runtime's.
    pub fn call(&self, metadata: &Metadata) -> Result<(BurnCall, DynamicPayload<Composite<()>>), TxError> {
        let kind = BurnCall::of(metadata).ok_or(TxError::CallMissing { call: "burned_register", scheme: "burn" })?;
        let mut arguments =
            vec![("netuid", ArgKind::U16, Value::u128(self.netuid.into())), ("hotkey", ArgKind::Bytes32, Value::from_bytes(self.hotkey))];
        if kind == BurnCall::RegisterLimit {
            arguments.push(("limit_price", ArgKind::U64, Value::u128(self.limit_rao.into())));
        }
        Ok((kind, checked_call(metadata, kind.name(), "burn", arguments)?))
    }
}

impl Signable for BurnRegistration {
    /// The coldkey signs (it pays the price and the fee).
    fn payload(&self, metadata: &Metadata, _spec_version: u32, signer: &Keypair) -> Result<DynamicPayload<Composite<()>>, TxError> {
        let (kind, call) = self.call(metadata)?;
        check_signer(signer, self.coldkey, SignerRole::Coldkey, kind.name())?;
        Ok(call)
    }

    fn registers(&self) -> (u16, AccountId) {
        (self.netuid, self.hotkey)
    }
}

/// What a burn costs and what the coldkey holds, at one block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BurnQuote {
    pub block: BlockRef,
    /// `Burn[netuid]`, in RAO.
    pub price_rao: u64,
    /// The coldkey's free balance (`System.Account[coldkey].data.free`), in RAO.
    pub free_rao: u128,
}

impl Chain {
    /// The burn price on `netuid` and `coldkey`'s free balance at `block`.
    pub async fn burn_quote(&self, block: &BlockRef, netuid: u16, coldkey: &AccountId) -> Result<BurnQuote, ChainError> {
        let at = self.at(block).await?;
        let price = super::state::read::<_, u64>(&at, block.number, "Burn", (netuid,));
        let (price, free_rao) = futures::try_join!(price, self.free_balance(&at, coldkey))?;
        let price_rao =
            price.ok_or(ChainError::Storage { item: "Burn", block: block.number, reason: "this runtime has no burn price".into() })?;
        Ok(BurnQuote { block: *block, price_rao, free_rao })
    }

    async fn free_balance(&self, at: &super::AtBlock, account: &AccountId) -> Result<u128, ChainError> {
        let endpoint = self.endpoint_name();
        let doing = "reading System.Account";
        let storage = at.storage();
        let entry = storage.entry(subxt::storage::dynamic::<(AccountId32,), Value>("System", "Account")).map_err(|e| ChainError::Rpc {
            endpoint: endpoint.clone(),
            doing: doing.into(),
            reason: e.to_string(),
        })?;
        let value = within(&endpoint, doing, CALL_LIMIT, entry.fetch((AccountId32(*account),))).await?;
        let decoded = value.decode_as::<Value>().map_err(|e| ChainError::Rpc {
            endpoint: endpoint.clone(),
            doing: doing.into(),
            reason: e.to_string(),
        })?;
        decoded.at("data").at("free").and_then(|free| free.as_u128()).ok_or_else(|| ChainError::Rpc {
            endpoint,
            doing: doing.into(),
            reason: "the account's data has no `free` balance".into(),
        })
    }

    /// The fee the chain would charge for `extrinsic` (SCALE bytes with their length prefix) at
    /// `block`: `TransactionPaymentApi_query_info`'s `partial_fee`, in RAO (tip 0).
    pub async fn fee_rao(&self, block: &BlockRef, extrinsic: &[u8]) -> Result<u128, ChainError> {
        let at = self.at(block).await?;
        let length = u32::try_from(extrinsic.len()).unwrap_or(u32::MAX);
        let mut arguments = extrinsic.to_vec();
        length.encode_to(&mut arguments);
        let endpoint = self.endpoint_name();
        let doing = "asking TransactionPaymentApi_query_info for the fee";
        let api = at.runtime_apis();
        let answer = within(&endpoint, doing, CALL_LIMIT, api.call_raw("TransactionPaymentApi_query_info", Some(&arguments))).await?;
        partial_fee(&answer).ok_or_else(|| ChainError::Rpc {
            endpoint,
            doing: doing.into(),
            reason: format!("cannot decode the answer {}", crate::chain::network::hex_0x(&answer)),
        })
    }
}

/// `RuntimeDispatchInfo { weight: { ref_time: Compact<u64>, proof_size: Compact<u64> }, class:
/// u8, partial_fee: Balance }`: the fee, whether `Balance` is a u64 (subtensor) or a u128.
fn partial_fee(mut answer: &[u8]) -> Option<u128> {
    Compact::<u64>::decode(&mut answer).ok()?;
    Compact::<u64>::decode(&mut answer).ok()?;
    u8::decode(&mut answer).ok()?;
    match answer.len() {
        8 => u64::decode(&mut answer).ok().map(u128::from),
        16 => u128::decode(&mut answer).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fee_is_read_from_a_dispatch_info_with_a_u64_or_u128_balance() {
        let mut info = (Compact(1_000_000u64), Compact(3_000u64), 0u8).encode();
        info.extend(125_000u64.encode());
        assert_eq!(partial_fee(&info), Some(125_000));
        let mut wide = (Compact(1u64), Compact(2u64), 1u8).encode();
        wide.extend(7u128.encode());
        assert_eq!(partial_fee(&wide), Some(7));
        assert_eq!(partial_fee(&info[..info.len() - 1]), None, "a truncated answer is refused");
        assert_eq!(partial_fee(&[]), None);
    }
}
