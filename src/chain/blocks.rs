//! Following the chain: [`BlockRef`], the best-block subscription ([`Chain::best_blocks`]) with
//! runtime-upgrade detection and a distinct end on disconnect, block hashes by number.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::stream::{BoxStream, StreamExt};
use subxt::client::OnlineClientAtBlock;
use subxt::config::{HashFor, Header};

use super::config::SubtensorConfig;
use super::error::ChainError;
use super::error::{rpc_error, within};
use super::scheme::RuntimeInfo;
use super::Chain;

/// Longest wait for one chain read (a live node answers in milliseconds; this only stops hangs).
pub const CALL_LIMIT: Duration = Duration::from_secs(60);
/// How many recent best blocks are remembered for [`Chain::block_hash`].
const RECENT_BLOCKS: usize = 256;

/// A block by number and hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlockRef {
    pub number: u64,
    pub hash: [u8; 32],
}

/// One new best block and the runtime in force there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BestBlock {
    pub block: BlockRef,
    pub runtime: RuntimeInfo,
    /// The spec version differs from the previous block of this stream (a runtime upgrade):
    /// choose the scheme again. False for the stream's first block; compare `runtime` yourself.
    pub runtime_changed: bool,
    /// When the node's notification of this block arrived (before its runtime was read).
    pub received: Instant,
}

/// Best blocks as they arrive. Ends after one `Err`: [`ChainError::Disconnected`] when the node
/// went away (the subscription ended), or the failure that stopped it; reconnect then.
pub type BestBlocks = BoxStream<'static, Result<BestBlock, ChainError>>;

/// A subxt client pinned to one block: storage, constants, metadata, transactions there.
pub type AtBlock = OnlineClientAtBlock<SubtensorConfig>;

/// The best blocks seen lately, by number (smoldot answers `chain_getBlockHash` only for 0 and best).
#[derive(Debug, Default)]
pub(super) struct RecentBlocks {
    by_number: BTreeMap<u64, [u8; 32]>,
    /// The client at the block last asked for: the stream and the daemon both read each new best
    /// block, and building a client at a block costs a runtime call (`Core_version`).
    latest_at: Option<([u8; 32], AtBlock)>,
}

impl RecentBlocks {
    pub(super) fn shared() -> Arc<Mutex<RecentBlocks>> {
        Arc::new(Mutex::new(RecentBlocks::default()))
    }

    fn insert(&mut self, block: BlockRef) {
        self.by_number.insert(block.number, block.hash);
        while self.by_number.len() > RECENT_BLOCKS {
            self.by_number.pop_first();
        }
    }
}

impl Chain {
    /// A subxt client at `block`, with the metadata of the runtime in force there.
    pub async fn at(&self, block: &BlockRef) -> Result<AtBlock, ChainError> {
        let cached =
            self.recent.lock().ok().and_then(|r| r.latest_at.as_ref().filter(|(hash, _)| *hash == block.hash).map(|(_, at)| at.clone()));
        if let Some(at) = cached {
            return Ok(at);
        }
        let hash = <HashFor<SubtensorConfig>>::from(block.hash);
        // The versions by the cheap RPC, so that subxt skips its `Core_version` runtime call; a
        // node (or light client) without the RPC leaves subxt to ask its own way.
        if let Ok(Ok(version)) = tokio::time::timeout(CALL_LIMIT, self.rpc.state_get_runtime_version(Some(hash))).await {
            self.versions.learn(block.number, version.spec_version, version.transaction_version);
        }
        let at = within(
            &self.endpoint_name(),
            "reading the runtime at a block",
            CALL_LIMIT,
            self.client.at_block_hash_and_number(hash, block.number),
        )
        .await?;
        if let Ok(mut recent) = self.recent.lock() {
            recent.latest_at = Some((block.hash, at.clone()));
        }
        Ok(at)
    }

    /// The runtime in force at `block`.
    pub async fn runtime_at(&self, block: &BlockRef) -> Result<RuntimeInfo, ChainError> {
        let at = self.at(block).await?;
        Ok(RuntimeInfo::from_metadata(at.metadata_ref(), at.spec_version(), at.transaction_version()))
    }

    /// The time between blocks at `block`: Aura's slot, twice `Timestamp.MinimumPeriod` (`None`
    /// where the runtime has no such constant).
    pub async fn block_time(&self, block: &BlockRef) -> Result<Option<Duration>, ChainError> {
        let at = self.at(block).await?;
        let period = at.constants().entry(subxt::dynamic::constant::<u64>("Timestamp", "MinimumPeriod"));
        Ok(period.ok().map(|ms| Duration::from_millis(ms.saturating_mul(2))))
    }

    /// The runtime in force at the current best block.
    pub async fn runtime(&self) -> Result<RuntimeInfo, ChainError> {
        self.runtime_at(&self.best_block().await?).await
    }

    /// The current best block.
    pub async fn best_block(&self) -> Result<BlockRef, ChainError> {
        let endpoint = self.endpoint_name();
        let doing = "reading the best block";
        let missing = || ChainError::Rpc { endpoint: endpoint.clone(), doing: doing.into(), reason: "the node returned none".into() };
        let hash = within(&endpoint, doing, CALL_LIMIT, self.rpc.chain_get_block_hash(None)).await?.ok_or_else(missing)?;
        let header = within(&endpoint, doing, CALL_LIMIT, self.rpc.chain_get_header(Some(hash))).await?.ok_or_else(missing)?;
        let (number, hash) = (header.number(), hash.0);
        let block = BlockRef { number, hash };
        self.remember(block);
        Ok(block)
    }

    /// The hash of block `number` on the best chain: from the best blocks seen lately, else from
    /// the node (`None` if unknown; the light client knows only block 0 and what it has seen).
    pub async fn block_hash(&self, number: u64) -> Result<Option<[u8; 32]>, ChainError> {
        if let Some(hash) = self.recent_hash(number) {
            return Ok(Some(hash));
        }
        let hash =
            within(&self.endpoint_name(), "reading a block hash", CALL_LIMIT, self.rpc.chain_get_block_hash(Some(number.into()))).await?;
        Ok(hash.map(|h| h.0))
    }

    /// Follows new best blocks by subscription (`chain_subscribeNewHeads`), each with the runtime
    /// in force there. See [`BestBlocks`] for how the stream ends.
    pub async fn best_blocks(&self) -> Result<BestBlocks, ChainError> {
        let endpoint = self.endpoint_name();
        let blocks = within(&endpoint, "subscribing to best blocks", CALL_LIMIT, self.client.stream_best_blocks()).await?;
        struct Follow {
            blocks: subxt::client::Blocks<SubtensorConfig>,
            chain: Chain,
            endpoint: String,
            last_spec_version: Option<u32>,
            ended: bool,
        }
        let state = Follow { blocks, chain: self.clone(), endpoint, last_spec_version: None, ended: false };
        let stream = futures::stream::unfold(state, |mut s| async move {
            if s.ended {
                return None;
            }
            let item = match s.blocks.next().await {
                None => Err(ChainError::Disconnected { endpoint: s.endpoint.clone() }),
                Some(Err(e)) => Err(rpc_error(&s.endpoint, "following best blocks", &e)),
                Some(Ok(block)) => {
                    let received = Instant::now();
                    let block = BlockRef { number: block.number(), hash: block.hash().0 };
                    s.chain.remember(block);
                    s.chain.runtime_at(&block).await.map(|runtime| {
                        let runtime_changed = s.last_spec_version.is_some_and(|v| v != runtime.spec_version);
                        if runtime_changed {
                            tracing::info!(block = block.number, spec_version = runtime.spec_version, "runtime upgraded");
                        }
                        s.last_spec_version = Some(runtime.spec_version);
                        BestBlock { block, runtime, runtime_changed, received }
                    })
                }
            };
            s.ended = item.is_err();
            Some((item, s))
        });
        Ok(stream.boxed())
    }

    fn remember(&self, block: BlockRef) {
        if let Ok(mut recent) = self.recent.lock() {
            recent.insert(block);
        }
    }

    fn recent_hash(&self, number: u64) -> Option<[u8; 32]> {
        self.recent.lock().ok().and_then(|recent| recent.by_number.get(&number).copied())
    }
}
