//! The chain side: subxt connection (bundled light client or RPC), runtime era and scheme
//! detection, the state the runtime checks, transactions and their outcomes.
//!
//! Nothing here knows about devices. Everything goes through subxt's dynamic API and the
//! connected runtime's own metadata, so one binary drives every runtime era.
//!
//! - [`network`]: `--network` / `--chain-endpoint` -> [`Endpoint`]; the embedded chain specs.
//! - [`connect()`]: a [`Chain`] over RPC or the light client, genesis-checked, bounded in time.
//! - [`blocks`]: best blocks by subscription, runtime upgrades, block hashes.
//! - [`scheme`]: [`RuntimeInfo`] and [`choose_scheme`] (docs/protocol.md "Choosing the scheme").
//! - [`state`]: [`RegistrationState`], what the runtime checks, read at a block.
//! - [`tx`], [`signer`], [`outcome`]: registration extrinsics from the metadata, signed by a
//!   wallet keypair, submitted and watched to an [`outcome::Outcome`].
//! - [`subnets`]: every subnet at one block, each storage item read for all subnets at once.
//! - [`burn`]: the burn price, the coldkey's balance, the fee, and the burn registration extrinsic.

pub(crate) mod blocks;
pub mod burn;
pub mod config;
pub mod connect;
pub(crate) mod error;
pub mod network;
pub mod outcome;
pub mod scheme;
pub(crate) mod signer;
pub(crate) mod state;
pub mod subnets;
pub mod tx;

use std::sync::{Arc, Mutex};

pub use blocks::{AtBlock, BestBlock, BestBlocks, BlockRef};
pub use connect::{connect, connect_light_client, connect_within, LegacyRpc};
pub use error::ChainError;
pub use network::{BundledSpec, Endpoint, Network, NetworkParseError};
pub use scheme::{choose_scheme, Refusal, RuntimeInfo, SchemeChoice};
pub use state::{HotkeyState, RegistrationState, SubnetState};

use config::SubtensorConfig;

/// A connection to the chain: a subxt client over the legacy JSON-RPC backend. Cheap to clone
/// (all clones share the connection). Built by [`connect()`].
#[derive(Clone)]
pub struct Chain {
    client: subxt::OnlineClient<SubtensorConfig>,
    rpc: LegacyRpc,
    endpoint: Endpoint,
    genesis: [u8; 32],
    recent: Arc<Mutex<blocks::RecentBlocks>>,
    /// Shared with the client's configuration: versions learnt per block (see [`Chain::at`]).
    versions: config::KnownVersions,
    /// Keeps smoldot alive as long as any clone of the connection is.
    _light_client: Option<subxt::lightclient::LightClient>,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain").field("endpoint", &self.endpoint).field("genesis", &network::hex_0x(&self.genesis)).finish()
    }
}

impl Chain {
    /// The subxt client (dynamic calls, storage, events through the runtime's metadata).
    pub fn client(&self) -> &subxt::OnlineClient<SubtensorConfig> {
        &self.client
    }

    /// The legacy JSON-RPC methods on the same connection (`author_submitAndWatchExtrinsic`, ...).
    pub fn rpc(&self) -> &LegacyRpc {
        &self.rpc
    }

    /// Where this connection goes.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The genesis hash the endpoint reported (checked against the named network's at connect).
    pub fn genesis_hash(&self) -> [u8; 32] {
        self.genesis
    }

    /// The chain's name by its genesis: `finney`, `test` or `custom`.
    pub fn network_name(&self) -> &'static str {
        network::chain_name(&self.genesis)
    }

    fn endpoint_name(&self) -> String {
        self.endpoint.to_string()
    }
}
