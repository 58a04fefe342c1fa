//! subxt configuration for subtensor: Substrate's types, and the transaction extensions of every
//! runtime era regsolver signs for.
//!
//! subxt encodes the extensions a runtime's metadata lists, in the metadata's order: a known one
//! by its name below, an unknown one only if it carries no data (subtensor's
//! `SubtensorSignedExtension`, `SudoTransactionExtension`, `DrandPriority`, ... are skipped so).
//! Subtensor's own `CheckMortality`, `CheckNonce` and payment wrappers keep the standard names and
//! encodings: mainnet lists its payment extension as `ChargeTransactionPayment` (the type is
//! subtensor's wrapper; the bytes are the standard `Compact` tip).

use subxt::config::substrate::{SpecVersionForRange, SubstrateConfig};
use subxt::config::transaction_extensions::{
    ChargeTransactionPayment, ChargeTransactionPaymentParams, CheckGenesis, CheckMetadataHash, CheckMortality, CheckMortalityParams,
    CheckNonce, CheckNonceParams, CheckSpecVersion, CheckTxVersion, VerifySignature,
};
use subxt::config::{Config, HashFor};
use subxt::utils::{AccountId32, MultiAddress, MultiSignature, H256};
use subxt::ArcMetadata;

use crate::sync::lock;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The subxt `Config` regsolver talks to subtensor with. Clones share [`KnownVersions`].
#[derive(Debug, Clone, Default)]
pub struct SubtensorConfig(SubstrateConfig, KnownVersions);

/// Spec and transaction versions of recent blocks, learnt cheaply (`state_getRuntimeVersion`)
/// before subxt builds a client at the block, so that subxt does not ask with a runtime call
/// (`Core_version`, which a node runs in Wasm: ~550 ms a block under chopsticks).
#[derive(Debug, Clone, Default)]
pub struct KnownVersions(Arc<Mutex<BTreeMap<u64, (u32, u32)>>>);

/// How many blocks' versions are kept.
const KNOWN_VERSIONS: usize = 64;

impl KnownVersions {
    /// Block `number` runs spec `spec_version` with `transaction_version`.
    pub fn learn(&self, number: u64, spec_version: u32, transaction_version: u32) {
        let mut known = lock(&self.0);
        known.insert(number, (spec_version, transaction_version));
        while known.len() > KNOWN_VERSIONS {
            known.pop_first();
        }
    }

    fn get(&self, number: u64) -> Option<(u32, u32)> {
        lock(&self.0).get(&number).copied()
    }
}

/// Everything needed to sign for one runtime without a connection (`--dry-run`, tests).
#[derive(Debug, Clone)]
pub struct OfflineRuntime {
    pub metadata: ArcMetadata,
    pub genesis_hash: [u8; 32],
    pub spec_version: u32,
    pub transaction_version: u32,
}

impl SubtensorConfig {
    /// For a connection: genesis hash, versions and metadata are read from the chain.
    pub fn new() -> Self {
        SubtensorConfig(SubstrateConfig::new(), KnownVersions::default())
    }

    /// The versions this configuration (and every clone) tells subxt.
    pub fn known_versions(&self) -> &KnownVersions {
        &self.1
    }

    /// For offline signing: every block is taken to run `runtime`.
    pub fn offline(runtime: &OfflineRuntime) -> Self {
        let config = SubstrateConfig::builder()
            .set_genesis_hash(H256(runtime.genesis_hash))
            .set_metadata_for_spec_versions([(runtime.spec_version, runtime.metadata.clone())])
            .set_spec_version_for_block_ranges([SpecVersionForRange {
                block_range: 0..u64::MAX,
                spec_version: runtime.spec_version,
                transaction_version: runtime.transaction_version,
            }])
            .build();
        SubtensorConfig(config, KnownVersions::default())
    }
}

impl Config for SubtensorConfig {
    type AccountId = AccountId32;
    // Subtensor's address has no account index.
    type Address = MultiAddress<AccountId32, ()>;
    type Signature = MultiSignature;
    type Hasher = <SubstrateConfig as Config>::Hasher;
    type Header = <SubstrateConfig as Config>::Header;
    type TransactionExtensions = SubtensorExtensions;
    type AssetId = u32;

    fn genesis_hash(&self) -> Option<HashFor<Self>> {
        self.0.genesis_hash()
    }

    fn spec_and_transaction_version_for_block_number(&self, block_number: u64) -> Option<(u32, u32)> {
        self.1.get(block_number).or_else(|| self.0.spec_and_transaction_version_for_block_number(block_number))
    }

    fn metadata_for_spec_version(&self, spec_version: u32) -> Option<ArcMetadata> {
        self.0.metadata_for_spec_version(spec_version)
    }

    fn set_metadata_for_spec_version(&self, spec_version: u32, metadata: ArcMetadata) {
        self.0.set_metadata_for_spec_version(spec_version, metadata)
    }
}

/// The extensions regsolver can fill in, by metadata name. Names a runtime does not list are
/// never asked for; data-less names not listed here are skipped by subxt.
pub type SubtensorExtensions = (
    VerifySignature<SubtensorConfig>,
    CheckSpecVersion,
    CheckTxVersion,
    CheckNonce,
    CheckGenesis<SubtensorConfig>,
    CheckMortality<SubtensorConfig>,
    ChargeTransactionPayment,
    CheckMetadataHash,
);

/// The parameters of [`SubtensorExtensions`], in the same order.
pub type SubtensorParams = <SubtensorExtensions as subxt::config::TransactionExtensions<SubtensorConfig>>::Params;

/// A mortal era: valid from `birth_number` (whose hash is `birth_hash`) for `period_blocks`
/// (rounded up to a power of two between 4 and 65536 by the era encoding).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mortality {
    pub birth_number: u64,
    pub birth_hash: [u8; 32],
    pub period_blocks: u64,
}

/// Parameters for one signature: the account nonce, a mortal era, no tip, no metadata hash.
pub fn transaction_params(account_nonce: u64, mortality: Mortality) -> SubtensorParams {
    (
        (),
        (),
        (),
        CheckNonceParams::with_nonce(account_nonce),
        (),
        CheckMortalityParams::mortal_from_unchecked(mortality.period_blocks, mortality.birth_number, H256(mortality.birth_hash)),
        ChargeTransactionPaymentParams::no_tip(),
        (),
    )
}
