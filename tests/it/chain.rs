//! The chain connection against the real subtensor runtimes (spec 218, big-endian era; spec 293,
//! little-endian era) under chopsticks: connect, genesis check, runtime and scheme, registration
//! state after `dev_setStorage`, best blocks after `dev_newBlock`, the end of the stream when the
//! node dies, and the unreachable-endpoint error.
//!
//! Chopsticks is started by the common harness ([`crate::support::chopsticks`]) on a free port
//! in manual block mode. A missing chopsticks fails the tests: they never skip.

use std::time::Duration;

use futures::StreamExt;
use regsolver::chain::{choose_scheme, connect, BestBlock, BestBlocks, ChainError, Endpoint, SchemeChoice};
use regsolver::pow::{ByteOrder, Scheme};
use serde_json::json;
use tokio::time::timeout;

use crate::support::chopsticks::{BlockMode, Chopsticks, Spec};
use crate::support::process::free_port;

/// Bound on every wait in these tests (chopsticks starts in ~4 s, builds a block in ~0.6 s).
const WAIT: Duration = Duration::from_secs(90);
const CONNECT_DEADLINE: Duration = Duration::from_secs(30);

/// Chopsticks with `spec` in manual block mode (blocks only on `dev_newBlock`).
async fn start(spec: Spec) -> Chopsticks {
    Chopsticks::start_with(spec, BlockMode::Manual).await.unwrap_or_else(|e| panic!("{e}"))
}

async fn new_block(node: &Chopsticks) {
    timeout(WAIT, node.new_block()).await.expect("in time").expect("dev_newBlock");
}

async fn set_storage(node: &Chopsticks, values: serde_json::Value) {
    timeout(WAIT, node.set_storage(values)).await.expect("in time").expect("dev_setStorage");
}

fn hex(bytes: &[u8]) -> String {
    format!("0x{}", ::hex::encode(bytes))
}

async fn connect_to(node: &Chopsticks) -> regsolver::chain::Chain {
    timeout(WAIT, connect(&Endpoint::Rpc(node.url()), None, CONNECT_DEADLINE)).await.expect("connect in time").expect("connect")
}

/// Connects, reads the runtime, chooses the scheme, and checks the genesis refusal.
async fn runtime_and_scheme(spec: Spec, byte_order: ByteOrder) {
    let node = start(spec).await;
    let chain = connect_to(&node).await;
    let runtime = chain.runtime().await.expect("runtime");
    assert_eq!(runtime.spec_version, spec.version());
    assert!(runtime.has_register && runtime.has_difficulty, "{runtime:?}");
    assert!(!runtime.has_pow_register, "{runtime:?}");
    assert_eq!(choose_scheme(&runtime, None), Ok(SchemeChoice { scheme: Scheme::Legacy, byte_order }));

    // The genesis check: the reported hash passes, any other is refused with both hashes named.
    let genesis = chain.genesis_hash();
    let endpoint = Endpoint::Rpc(node.url());
    let again = timeout(WAIT, connect(&endpoint, Some(genesis), CONNECT_DEADLINE)).await.expect("in time");
    assert_eq!(again.expect("same genesis accepted").genesis_hash(), genesis);
    let mut wrong = genesis;
    wrong[0] ^= 0xff;
    match timeout(WAIT, connect(&endpoint, Some(wrong), CONNECT_DEADLINE)).await.expect("in time") {
        Err(e @ ChainError::WrongGenesis { .. }) => {
            let message = e.to_string();
            assert!(message.contains(&hex(&wrong)) && message.contains(&hex(&genesis)) && message.contains(&node.url()), "{message}");
        }
        other => panic!("wrong genesis accepted: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spec_218_is_legacy_big_endian() {
    runtime_and_scheme(Spec::S218, ByteOrder::Big).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spec_293_is_legacy_little_endian() {
    runtime_and_scheme(Spec::S293, ByteOrder::Little).await;
}

/// Values set with `dev_setStorage` read back equal; absent keys read as absent.
async fn registration_state_reads_back(spec: Spec) {
    let node = start(spec).await;
    let chain = connect_to(&node).await;
    let (hotkey, coldkey, stranger) = ([0x11u8; 32], [0x22u8; 32], [0x33u8; 32]);
    // Each flag is set to the opposite of what the genesis holds, so a read of the default cannot pass.
    let before = chain.registration_state(&chain.best_block().await.expect("best block"), 1, &[]).await.expect("state before");
    let pow_allowed = !before.subnet.pow_registration_allowed.expect("runtime has NetworkPowRegistrationAllowed");
    let burn_allowed = !before.subnet.registration_allowed.expect("runtime has NetworkRegistrationAllowed");
    // Raw keys for the flags: chopsticks drops a `false` given by name (stores nothing, so the default reads).
    let at = chain.at(&before.block).await.expect("client at block");
    let flag_key = |item: &str| {
        let entry = at.storage().entry(subxt::storage::dynamic::<(u16,), bool>("SubtensorModule", item)).expect("flag in metadata");
        hex(&entry.fetch_key((1,)).expect("flag key"))
    };
    let flag = |on: bool| if on { "0x01" } else { "0x00" };
    set_storage(
        &node,
        json!([
            [flag_key("NetworkPowRegistrationAllowed"), flag(pow_allowed)],
            [flag_key("NetworkRegistrationAllowed"), flag(burn_allowed)],
        ]),
    )
    .await;
    set_storage(
        &node,
        json!({ "SubtensorModule": {
            "Difficulty": [[[1], 123_456_789]],
            "MinDifficulty": [[[1], 1_000]],
            "MaxDifficulty": [[[1], 100_000_000]],
            "RegistrationsThisBlock": [[[1], 2]],
            "MaxRegistrationsPerBlock": [[[1], 7]],
            "TargetRegistrationsPerInterval": [[[1], 9]],
            "RegistrationsThisInterval": [[[1], 3]],
            "MaxAllowedUids": [[[1], 200]],
            "Burn": [[[1], 555_000_000_000u64]],
            "Uids": [[[1, hex(&hotkey)], 5]],
            "Owner": [[[hex(&hotkey)], hex(&coldkey)]],
        }}),
    )
    .await;
    let block = chain.best_block().await.expect("best block");
    let state = chain.registration_state(&block, 1, &[hotkey, stranger]).await.expect("registration state");
    let subnet = &state.subnet;
    assert!(subnet.exists);
    assert_eq!(subnet.pow_registration_allowed, Some(pow_allowed));
    assert_eq!(subnet.registration_allowed, Some(burn_allowed));
    assert_eq!(subnet.difficulty, Some(123_456_789));
    assert_eq!(subnet.min_difficulty, Some(1_000));
    assert_eq!(subnet.max_difficulty, Some(100_000_000));
    assert_eq!(subnet.difficulty_for(Scheme::Legacy), Some(123_456_789));
    assert_eq!(subnet.difficulty_for(Scheme::PowRegister), Some(100_000_000));
    assert_eq!(subnet.registrations_this_block, Some(2));
    assert_eq!(subnet.max_registrations_per_block, Some(7));
    assert_eq!(subnet.target_registrations_per_interval, Some(9));
    assert_eq!(subnet.registrations_this_interval, Some(3));
    assert_eq!(subnet.max_allowed_uids, Some(200));
    assert_eq!(subnet.burn_rao, Some(555_000_000_000));

    let (registered, unknown) = (&state.hotkeys[0], &state.hotkeys[1]);
    assert_eq!((registered.hotkey, registered.uid, registered.owner), (hotkey, Some(5), Some(coldkey)));
    assert_eq!((unknown.hotkey, unknown.uid, unknown.owner), (stranger, None, None));
    // Neither test runtime has `LastPowRegistrationBlock` (a pow_register runtime's item): absent, not an error.
    assert_eq!(registered.last_pow_registration_block, None);
    assert_eq!(chain.uid(1, &hotkey).await.expect("uid"), Some(5));
    assert_eq!(chain.uid(1, &stranger).await.expect("uid"), None);

    let missing = chain.registration_state(&block, 999, &[]).await.expect("state of a missing subnet");
    assert!(!missing.subnet.exists);

    // A nonce from the node: an account that never sent anything starts at 0.
    assert_eq!(chain.account_nonce(&stranger).await.expect("nonce"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spec_218_registration_state_reads_back() {
    registration_state_reads_back(Spec::S218).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spec_293_registration_state_reads_back() {
    registration_state_reads_back(Spec::S293).await;
}

async fn next_best(blocks: &mut BestBlocks) -> Option<Result<BestBlock, ChainError>> {
    timeout(WAIT, blocks.next()).await.expect("a block in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn best_blocks_follow_new_blocks_and_end_when_the_node_dies() {
    let mut node = start(Spec::S218).await;
    let chain = connect_to(&node).await;
    let mut blocks = chain.best_blocks().await.expect("subscribe");
    let first = next_best(&mut blocks).await.expect("stream open").expect("first block");
    assert_eq!(first.runtime.spec_version, 218);
    assert!(!first.runtime_changed);
    let mut previous = first.block;
    for _ in 0..3 {
        new_block(&node).await;
        let best = next_best(&mut blocks).await.expect("stream open").expect("new block");
        assert_eq!(best.block.number, previous.number + 1, "{best:?} after {previous:?}");
        assert_ne!(best.block.hash, previous.hash);
        assert!(!best.runtime_changed);
        assert_eq!(chain.block_hash(best.block.number).await.expect("block hash"), Some(best.block.hash));
        previous = best.block;
    }
    assert_eq!(chain.best_block().await.expect("best"), previous);

    node.kill();
    match next_best(&mut blocks).await {
        Some(Err(ChainError::Disconnected { endpoint })) => assert_eq!(endpoint, node.url()),
        other => panic!("expected the disconnect, got {other:?}"),
    }
    assert!(next_best(&mut blocks).await.is_none(), "the stream ends after the disconnect");
    // Reads on the dead connection fail (no hang) and say the node went away.
    let after = timeout(WAIT, chain.best_block()).await.expect("fails in time");
    assert!(matches!(after, Err(ChainError::Disconnected { .. })), "{after:?}");
}

#[tokio::test]
async fn unreachable_endpoint_is_named_and_bounded() {
    // Nothing listens on a port that was free a moment ago.
    let url = format!("ws://127.0.0.1:{}", free_port());
    let result = timeout(WAIT, connect(&Endpoint::Rpc(url.clone()), None, Duration::from_secs(10))).await.expect("fails in time");
    match result {
        Err(e @ (ChainError::Unreachable { .. } | ChainError::Timeout { .. })) => assert!(e.to_string().contains(&url), "{e}"),
        other => panic!("expected an unreachable error, got {other:?}"),
    }
}
