//! [`ChainError`]: everything that can go wrong reading and following the chain.

use std::error::Error as StdError;
use std::time::Duration;

use tokio::time::timeout;

use super::network::SpecError;
use crate::settings::Key;

/// A failure reading or following the chain. Every message names the endpoint or item involved.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("cannot reach the chain at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("no answer from {endpoint} within {seconds} s while {doing}")]
    Timeout { endpoint: String, doing: &'static str, seconds: u64 },
    #[error(
        "{endpoint} serves a chain with genesis {found}, not {network}'s {expected}: refusing to use it \
         (leave out {} to use the endpoint's own chain, or point {} at a {network} node)",
        Key::Network,
        Key::ChainEndpoint
    )]
    WrongGenesis { endpoint: String, network: &'static str, expected: String, found: String },
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("the light client cannot start the {network} chain: {reason}")]
    LightClientStart { network: &'static str, reason: String },
    #[error(
        "the light client found no peers for {network} in {seconds:.1} s (no network, or the bootnodes are \
         unreachable from here); use an RPC node instead: {} wss://HOST:PORT",
        Key::ChainEndpoint
    )]
    NoPeers { network: &'static str, seconds: f64 },
    #[error(
        "the light client's sync of {network} made no progress for {seconds} s ({peers} peers, best block {best}); \
         use an RPC node instead: {} wss://HOST:PORT",
        Key::ChainEndpoint
    )]
    SyncStalled { network: &'static str, seconds: u64, peers: usize, best: String },
    #[error("the connection to {endpoint} ended (the node went away); reconnect")]
    Disconnected { endpoint: String },
    #[error("{endpoint}: {doing} failed: {reason}")]
    Rpc { endpoint: String, doing: String, reason: String },
    /// [`super::connect::connect_within`] ran out of time: the last attempt's error, and the time
    /// really spent.
    #[error("{last} (gave up after {spent_s:.1} s and {attempts} attempt(s): {} {deadline_s} s)", Key::ConnectDeadline)]
    GaveUp { last: Box<ChainError>, spent_s: f64, attempts: u32, deadline_s: u64 },
    #[error("{endpoint}: block {number} is unknown")]
    UnknownBlock { endpoint: String, number: u64 },
    #[error("cannot read SubtensorModule.{item} at block {block}: {reason}")]
    Storage { item: &'static str, block: u64, reason: String },
}

impl ChainError {
    /// Whether the error is the configuration's (a named network's genesis not served there), not
    /// the chain's or the network's: retrying cannot mend it.
    pub fn is_configuration(&self) -> bool {
        match self {
            ChainError::WrongGenesis { .. } => true,
            ChainError::GaveUp { last, .. } => last.is_configuration(),
            _ => false,
        }
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
