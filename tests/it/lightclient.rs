//! The bundled light client: both embedded chain specs load into smoldot and report their
//! genesis hashes, and without peers `connect` gives up after its deadline with the no-peers
//! message instead of waiting forever. The no-peers tests remove the spec's boot nodes, so they
//! hold with or without a network.

use std::time::Duration;

use regsolver::chain::network::{FINNEY_GENESIS, TEST_GENESIS};
use regsolver::chain::{connect, connect_light_client, BundledSpec, ChainError, Endpoint};
use tokio::time::timeout;

/// Short, so the test is quick; the product uses a longer one.
const DEADLINE: Duration = Duration::from_secs(20);
/// Bound on the whole call: the deadline plus one health poll and start-up.
const OUTER: Duration = Duration::from_secs(120);

fn hex(hash: &[u8; 32]) -> String {
    format!("0x{}", hex::encode(hash))
}

/// The genesis check runs before any wait for peers: a wrong expected hash is refused at once,
/// and the message carries the hash smoldot computed from the embedded spec.
async fn reports_genesis(spec: BundledSpec, genesis: [u8; 32]) {
    assert_eq!(spec.genesis_hash(), genesis);
    let mut wrong = genesis;
    wrong[31] ^= 1;
    let result = timeout(OUTER, connect(&Endpoint::LightClient(spec), Some(wrong), DEADLINE)).await.expect("answers in time");
    match result {
        Err(ChainError::WrongGenesis { found, expected, endpoint, .. }) => {
            assert_eq!(found, hex(&genesis));
            assert_eq!(expected, hex(&wrong));
            assert!(endpoint.contains(spec.name()), "{endpoint}");
        }
        other => panic!("expected the genesis refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finney_spec_loads_with_its_genesis() {
    reports_genesis(BundledSpec::Finney, FINNEY_GENESIS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_spec_loads_with_its_genesis() {
    reports_genesis(BundledSpec::Test, TEST_GENESIS).await;
}

/// The bundled spec without boot nodes: smoldot can find no peer whatever the network.
fn isolated(spec: BundledSpec) -> String {
    let mut json: serde_json::Value = serde_json::from_str(&spec.json().expect("spec decompresses")).expect("spec is JSON");
    json["bootNodes"] = serde_json::json!([]);
    json.to_string()
}

async fn no_peers_is_a_bounded_error(spec: BundledSpec) {
    let json = isolated(spec);
    let result = timeout(OUTER, connect_light_client(spec, &json, Some(spec.genesis_hash()), DEADLINE)).await.expect("gives up in time");
    match result {
        Err(e @ ChainError::NoPeers { .. }) => {
            let message = e.to_string();
            assert!(message.contains("no peers") && message.contains("chain_endpoint") && message.contains(spec.name()), "{message}");
        }
        other => panic!("expected the no-peers error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_network_without_peers_fails_after_the_deadline() {
    no_peers_is_a_bounded_error(BundledSpec::Test).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finney_without_peers_fails_after_the_deadline() {
    no_peers_is_a_bounded_error(BundledSpec::Finney).await;
}
