//! [`connect`]: one subxt client over the legacy JSON-RPC backend, fed by a WebSocket node or the
//! bundled smoldot light client; the genesis check; the light client's bounded wait for peers.
//!
//! Both paths use subxt's `LegacyBackend` (chopsticks 1.5.1 breaks the chainHead backend), so the
//! chopsticks tests exercise the light client's code path too. Every legacy method used here is
//! one smoldot answers: chain_getBlockHash (height 0 or best only), chain_getHeader,
//! chain_getFinalizedHead, chain_subscribeNewHeads, state_call, state_getStorage,
//! state_getMetadata, system_health, system_accountNextIndex, author_submitAndWatchExtrinsic.

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::Duration;

use subxt::backend::LegacyBackend;
use subxt::config::RpcConfigFor;
use subxt::lightclient::LightClient;
use subxt::rpcs::{LegacyRpcMethods, RpcClient};
use subxt::OnlineClient;
use tokio::time::{timeout, Instant};

use super::blocks::RecentBlocks;
use super::config::SubtensorConfig;
use super::error::ChainError;
use super::network::{hex_hash, BundledSpec, Endpoint};
use super::Chain;

/// The legacy JSON-RPC methods, for callers that need them directly (transaction submission).
pub type LegacyRpc = LegacyRpcMethods<RpcConfigFor<SubtensorConfig>>;

/// How often the light client's sync progress is polled and logged.
const SYNC_POLL: Duration = Duration::from_secs(3);
/// Longest single wait for one light-client health answer (offline, smoldot answers after ~30 s).
const HEALTH_WAIT: Duration = Duration::from_secs(5);

/// Connects to `endpoint` and checks its genesis against `expected_genesis`. `deadline` bounds the
/// RPC handshake, and for the light client the wait for a first peer and any stall of its sync
/// (no new peer or block for that long); nothing waits unbounded.
pub async fn connect(endpoint: &Endpoint, expected_genesis: Option<[u8; 32]>, deadline: Duration) -> Result<Chain, ChainError> {
    match endpoint {
        Endpoint::Rpc(url) => {
            let rpc_client = connect_rpc(url, deadline).await?;
            finish(endpoint, rpc_client, None, expected_genesis, deadline).await
        }
        Endpoint::LightClient(spec) => connect_light_client(*spec, &spec.json()?, expected_genesis, deadline).await,
    }
}

/// [`connect`] through the light client with `spec_json` in place of the bundled spec's JSON
/// (`spec` names the network): the same spec with other boot nodes, or none (tests).
pub async fn connect_light_client(
    spec: BundledSpec,
    spec_json: &str,
    expected_genesis: Option<[u8; 32]>,
    deadline: Duration,
) -> Result<Chain, ChainError> {
    tracing::info!(network = spec.name(), spec_bytes = spec_json.len(), "starting the light client");
    let (light_client, rpc) =
        LightClient::relay_chain(spec_json).map_err(|e| ChainError::LightClientStart { network: spec.name(), reason: e.to_string() })?;
    finish(&Endpoint::LightClient(spec), RpcClient::new(rpc), Some(light_client), expected_genesis, deadline).await
}

/// Checks the genesis, waits for the light client's sync, and builds the subxt client.
async fn finish(
    endpoint: &Endpoint,
    rpc_client: RpcClient,
    light_client: Option<LightClient>,
    expected_genesis: Option<[u8; 32]>,
    deadline: Duration,
) -> Result<Chain, ChainError> {
    let name = endpoint.to_string();
    let rpc = LegacyRpc::new(rpc_client.clone());
    let genesis = within(&name, "reading the genesis hash", deadline, rpc.genesis_hash()).await?.0;
    if let Some(expected) = expected_genesis {
        if genesis != expected {
            return Err(ChainError::WrongGenesis { endpoint: name, expected: hex_hash(&expected), found: hex_hash(&genesis) });
        }
    }
    if let Endpoint::LightClient(spec) = endpoint {
        wait_for_sync(&rpc, *spec, deadline).await?;
    }
    let backend = Arc::new(LegacyBackend::<SubtensorConfig>::builder().build(rpc_client));
    let config = SubtensorConfig::new();
    let versions = config.known_versions().clone();
    let client = within(&name, "starting the client", deadline, OnlineClient::from_backend_with_config(config, backend)).await?;
    tracing::info!(endpoint = %name, genesis = %hex_hash(&genesis), "connected");
    Ok(Chain { client, rpc, endpoint: endpoint.clone(), genesis, recent: RecentBlocks::shared(), versions, _light_client: light_client })
}

async fn connect_rpc(url: &str, deadline: Duration) -> Result<RpcClient, ChainError> {
    match timeout(deadline, RpcClient::from_insecure_url(url)).await {
        Err(_) => Err(ChainError::Timeout { endpoint: url.to_string(), doing: "opening the WebSocket", seconds: deadline.as_secs() }),
        Ok(Err(e)) => Err(ChainError::Unreachable { url: url.to_string(), reason: error_chain(&e) }),
        Ok(Ok(client)) => Ok(client),
    }
}

/// Waits until smoldot has peers and reports itself near the head, logging progress. Fails with
/// `NoPeers` when no peer shows up within `deadline`, with `SyncStalled` when neither the peer
/// count nor the best block moves for `deadline` afterwards.
async fn wait_for_sync(rpc: &LegacyRpc, spec: BundledSpec, deadline: Duration) -> Result<(), ChainError> {
    let network = spec.name();
    let started = Instant::now();
    let mut last_progress = started;
    let (mut peers, mut best): (usize, Option<u64>) = (0, None);
    loop {
        let health = timeout(HEALTH_WAIT, rpc.system_health()).await;
        if let Ok(Err(e)) = &health {
            return Err(ChainError::Rpc {
                endpoint: format!("light client ({network})"),
                doing: "system_health".into(),
                reason: error_chain(e),
            });
        }
        let new_best = match timeout(HEALTH_WAIT.min(SYNC_POLL), rpc.chain_get_header(None)).await {
            Ok(Ok(Some(header))) => Some(subxt::config::Header::number(&header)),
            _ => best,
        };
        if let Ok(Ok(h)) = &health {
            if h.peers != peers || new_best > best {
                last_progress = Instant::now();
            }
            peers = h.peers;
            best = new_best;
            let best_text = best.map_or_else(|| "unknown (warping)".to_string(), |n| format!("#{n}"));
            tracing::info!(network, peers, best = %best_text, syncing = h.is_syncing, "light client sync");
            if peers > 0 && !h.is_syncing {
                return Ok(());
            }
        }
        let now = Instant::now();
        if peers == 0 && now.duration_since(started) >= deadline {
            return Err(ChainError::NoPeers { network, seconds: deadline.as_secs() });
        }
        if peers > 0 && now.duration_since(last_progress) >= deadline {
            let best = best.map_or_else(|| "unknown".to_string(), |n| format!("#{n}"));
            return Err(ChainError::SyncStalled { network, seconds: deadline.as_secs(), peers, best });
        }
        let limit = if peers == 0 { started + deadline } else { last_progress + deadline };
        tokio::time::sleep_until((now + SYNC_POLL).min(limit)).await;
    }
}

/// Runs `fut` under `deadline`, naming the endpoint and the step on failure.
pub(super) async fn within<T, E: StdError + 'static>(
    endpoint: &str,
    doing: &'static str,
    deadline: Duration,
    fut: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, ChainError> {
    match timeout(deadline, fut).await {
        Err(_) => Err(ChainError::Timeout { endpoint: endpoint.to_string(), doing, seconds: deadline.as_secs() }),
        Ok(result) => result.map_err(|e| rpc_error(endpoint, doing, &e)),
    }
}

/// Maps a subxt/RPC failure: a closed connection becomes [`ChainError::Disconnected`].
pub(super) fn rpc_error(endpoint: &str, doing: &str, err: &(dyn StdError + 'static)) -> ChainError {
    if is_disconnect(err) {
        ChainError::Disconnected { endpoint: endpoint.to_string() }
    } else {
        ChainError::Rpc { endpoint: endpoint.to_string(), doing: doing.to_string(), reason: error_chain(err) }
    }
}

/// Whether the error (or one it wraps) is jsonrpsee's "background task closed; restart required".
pub(super) fn is_disconnect(err: &(dyn StdError + 'static)) -> bool {
    use subxt::ext::jsonrpsee::core::ClientError;
    let restart = |e: &(dyn StdError + 'static)| matches!(e.downcast_ref::<ClientError>(), Some(ClientError::RestartNeeded(_)));
    let mut next = Some(err);
    while let Some(e) = next {
        if restart(e) {
            return true;
        }
        if let Some(subxt::rpcs::Error::Client(inner)) = e.downcast_ref::<subxt::rpcs::Error>() {
            if restart(inner.as_ref()) {
                return true;
            }
        }
        next = e.source();
    }
    // Some subxt errors carry the cause only in their message.
    err.to_string().contains("restart required")
}

/// The error and its sources, `: `-joined, without repeats (subxt nests messages deeply).
pub(super) fn error_chain(err: &(dyn StdError + 'static)) -> String {
    let mut text = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        next = e.source();
    }
    text
}
