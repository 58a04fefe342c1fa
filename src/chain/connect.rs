//! [`connect`]: one subxt client over the legacy JSON-RPC backend, fed by a WebSocket node or the
//! bundled smoldot light client; the genesis check; the light client's bounded wait for peers.
//!
//! Both paths use subxt's `LegacyBackend` (chopsticks 1.5.1 breaks the chainHead backend), so the
//! chopsticks tests exercise the light client's code path too. Every legacy method used here is
//! one smoldot answers: chain_getBlockHash (height 0 or best only), chain_getHeader,
//! chain_getFinalizedHead, chain_subscribeNewHeads, state_call, state_getStorage,
//! state_getMetadata, system_health, system_accountNextIndex, author_submitAndWatchExtrinsic.

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
use super::error::{error_chain, within, ChainError};
use super::network::{hex_0x, BundledSpec, Endpoint};
use super::Chain;

/// The legacy JSON-RPC methods, for callers that need them directly (transaction submission).
pub type LegacyRpc = LegacyRpcMethods<RpcConfigFor<SubtensorConfig>>;

/// How often the light client's sync progress is polled and logged.
const SYNC_POLL: Duration = Duration::from_secs(3);
/// How long past the deadline an attempt may take to say why it failed (the light client's
/// `NoPeers` comes at the deadline) before it is cut off.
const CUT_OFF_GRACE: Duration = Duration::from_millis(500);
/// Longest single wait for one light-client health answer (offline, smoldot answers after ~30 s).
const HEALTH_WAIT: Duration = Duration::from_secs(5);

/// Connects to `endpoint` and checks its genesis against `expected_genesis`, once. Everything it
/// waits for (the RPC handshake; for the light client its first peer and its sync) ends by
/// `deadline` from now; nothing waits unbounded.
pub async fn connect(endpoint: &Endpoint, expected_genesis: Option<[u8; 32]>, deadline: Duration) -> Result<Chain, ChainError> {
    let until = Instant::now() + deadline;
    match endpoint {
        Endpoint::Rpc(url) => {
            let rpc_client = connect_rpc(url, deadline).await?;
            finish(endpoint, rpc_client, None, expected_genesis, until).await
        }
        Endpoint::LightClient(spec) => connect_light_client(*spec, &spec.json()?, expected_genesis, deadline).await,
    }
}

/// [`connect`] again and again until it succeeds or `deadline` from now has passed (the last
/// attempt is cut off there, give or take [`CUT_OFF_GRACE`]), pausing with `pause` between
/// attempts (1 s, doubling up to `max_backoff`; never past the deadline). A configuration error
/// (a named network's genesis not served there) is returned at once. Gives up with [`ChainError::GaveUp`], which carries
/// the last attempt's error and the time really spent.
pub async fn connect_within<P: std::future::Future<Output = ()>>(
    endpoint: &Endpoint,
    expected_genesis: Option<[u8; 32]>,
    deadline: Duration,
    max_backoff: Duration,
    mut pause: impl FnMut(Duration) -> P,
) -> Result<Chain, ChainError> {
    let started = Instant::now();
    let until = started + deadline;
    let mut backoff = Duration::from_secs(1);
    let mut attempts = 0;
    let mut last = None;
    while Instant::now() < until {
        attempts += 1;
        let remaining = until.saturating_duration_since(Instant::now());
        let err = match timeout(remaining + CUT_OFF_GRACE, connect(endpoint, expected_genesis, remaining)).await {
            Ok(Ok(chain)) => return Ok(chain),
            Ok(Err(err)) if err.is_configuration() => return Err(err),
            Ok(Err(err)) => err,
            // Cut off at the deadline: the previous attempt's error says more, if there was one.
            Err(_) => last.take().unwrap_or(ChainError::Timeout {
                endpoint: endpoint.to_string(),
                doing: "connecting",
                seconds: deadline.as_secs(),
            }),
        };
        let wait = backoff.min(until.saturating_duration_since(Instant::now()));
        if !wait.is_zero() {
            tracing::warn!("{err}; retrying in {:.1} s (giving up {} s after the first attempt)", wait.as_secs_f64(), deadline.as_secs());
            pause(wait).await;
        }
        last = Some(err);
        backoff = (backoff * 2).min(max_backoff);
    }
    let last = last.unwrap_or(ChainError::Timeout { endpoint: endpoint.to_string(), doing: "connecting", seconds: deadline.as_secs() });
    Err(ChainError::GaveUp { last: Box::new(last), spent_s: started.elapsed().as_secs_f64(), attempts, deadline_s: deadline.as_secs() })
}

/// [`connect`] through the light client with `spec_json` in place of the bundled spec's JSON
/// (`spec` names the network): the same spec with other boot nodes, or none (tests).
pub async fn connect_light_client(
    spec: BundledSpec,
    spec_json: &str,
    expected_genesis: Option<[u8; 32]>,
    deadline: Duration,
) -> Result<Chain, ChainError> {
    let until = Instant::now() + deadline;
    tracing::info!(network = spec.name(), spec_bytes = spec_json.len(), "starting the light client");
    let (light_client, rpc) =
        LightClient::relay_chain(spec_json).map_err(|e| ChainError::LightClientStart { network: spec.name(), reason: e.to_string() })?;
    finish(&Endpoint::LightClient(spec), RpcClient::new(rpc), Some(light_client), expected_genesis, until).await
}

/// Checks the genesis, waits for the light client's sync, and builds the subxt client, all by
/// `until`.
async fn finish(
    endpoint: &Endpoint,
    rpc_client: RpcClient,
    light_client: Option<LightClient>,
    expected_genesis: Option<[u8; 32]>,
    until: Instant,
) -> Result<Chain, ChainError> {
    let name = endpoint.to_string();
    let left = || until.saturating_duration_since(Instant::now());
    let rpc = LegacyRpc::new(rpc_client.clone());
    let genesis = within(&name, "reading the genesis hash", left(), rpc.genesis_hash()).await?.0;
    if let Some(expected) = expected_genesis {
        if genesis != expected {
            let network = super::network::chain_name(&expected);
            return Err(ChainError::WrongGenesis { endpoint: name, network, expected: hex_0x(&expected), found: hex_0x(&genesis) });
        }
    }
    if let Endpoint::LightClient(spec) = endpoint {
        wait_for_sync(&rpc, *spec, until).await?;
    }
    let backend = Arc::new(LegacyBackend::<SubtensorConfig>::builder().build(rpc_client));
    let config = SubtensorConfig::new();
    let versions = config.known_versions().clone();
    let client = within(&name, "starting the client", left(), OnlineClient::from_backend_with_config(config, backend)).await?;
    tracing::info!(endpoint = %name, genesis = %hex_0x(&genesis), "connected");
    Ok(Chain { client, rpc, endpoint: endpoint.clone(), genesis, recent: RecentBlocks::shared(), versions, _light_client: light_client })
}

async fn connect_rpc(url: &str, deadline: Duration) -> Result<RpcClient, ChainError> {
    match timeout(deadline, RpcClient::from_insecure_url(url)).await {
        Err(_) => Err(ChainError::Timeout { endpoint: url.to_string(), doing: "opening the WebSocket", seconds: deadline.as_secs() }),
        Ok(Err(e)) => Err(ChainError::Unreachable { url: url.to_string(), reason: error_chain(innermost(&e)) }),
        Ok(Ok(client)) => Ok(client),
    }
}

/// The innermost of subxt's nested `Error::Client`s: `from_insecure_url` wraps its own client
/// error in another, whose message would say `RPC error: client error: ` twice.
fn innermost(err: &subxt::rpcs::Error) -> &subxt::rpcs::Error {
    match err {
        subxt::rpcs::Error::Client(inner) => inner.downcast_ref::<subxt::rpcs::Error>().map_or(err, innermost),
        _ => err,
    }
}

/// Waits until smoldot has peers and reports itself near the head, logging progress. Fails with
/// `NoPeers` when no peer shows up by `until`, with `SyncStalled` when neither the peer count nor
/// the best block moves for as long as it had to find the first peer.
async fn wait_for_sync(rpc: &LegacyRpc, spec: BundledSpec, until: Instant) -> Result<(), ChainError> {
    let network = spec.name();
    let started = Instant::now();
    let deadline = until.saturating_duration_since(started);
    let mut last_progress = started;
    let (mut peers, mut best): (usize, Option<u64>) = (0, None);
    // Each request is awaited across rounds until smoldot answers, never dropped: an abandoned
    // request's late answer finds no receiver, which subxt's light client logs as
    // `WARN Cannot send method response to id=N` (offline, smoldot answers health after ~30 s).
    let mut health_call = Box::pin(rpc.system_health());
    let mut header_call = Box::pin(rpc.chain_get_header(None));
    loop {
        let limit = if peers == 0 { until } else { last_progress + deadline };
        let left = || limit.saturating_duration_since(Instant::now());
        let health = timeout(HEALTH_WAIT.min(left()), &mut health_call).await;
        if health.is_ok() {
            health_call = Box::pin(rpc.system_health());
        }
        if let Ok(Err(e)) = &health {
            return Err(ChainError::Rpc {
                endpoint: format!("light client ({network})"),
                doing: "system_health".into(),
                reason: error_chain(e),
            });
        }
        let header = timeout(HEALTH_WAIT.min(SYNC_POLL).min(left()), &mut header_call).await;
        if header.is_ok() {
            header_call = Box::pin(rpc.chain_get_header(None));
        }
        let new_best = match header {
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
        if peers == 0 && now >= until {
            return Err(ChainError::NoPeers { network, seconds: now.duration_since(started).as_secs_f64() });
        }
        if peers > 0 && now.duration_since(last_progress) >= deadline {
            let best = best.map_or_else(|| "unknown".to_string(), |n| format!("#{n}"));
            return Err(ChainError::SyncStalled { network, seconds: deadline.as_secs(), peers, best });
        }
        let limit = if peers == 0 { until } else { last_progress + deadline };
        tokio::time::sleep_until((now + SYNC_POLL).min(limit)).await;
    }
}
