//! The daemon end to end: the `regsolver` binary, run as a user would, against real subtensor
//! runtimes under chopsticks (spec 293: little-endian legacy era; spec 218: big-endian era), with
//! wallet files written by the test. Every registration is read back from the chain itself;
//! every refusal is checked to have sent nothing.

use crate::support::{chopsticks, daemon_run, process, proxy, test_wallet};

use std::time::Duration;

use chopsticks::{BlockMode, Spec};
use daemon_run::{chain, command, refused, registered_h0, regsolver, EASY, NEVER};
use process::Running;
use test_wallet::{hotkey_public, wallet};

async fn registers_one_hotkey(spec: Spec) {
    let node = chain(spec, BlockMode::Instant).await;
    let dir = tempfile::tempdir().expect("temp dir");
    wallet(dir.path(), 1);
    node.prepare_pow_subnet(1, EASY, &[hotkey_public(0)]).await.expect("prepare subnet 1");
    assert_eq!(node.registered_uid(1, hotkey_public(0)).await.unwrap(), None);
    let run = regsolver(&node.url(), dir.path(), &["--subnet", "1", "--wallet.hotkey", "h0"]).await;
    assert_eq!(run.code, 0, "{run}");
    registered_h0(&node, &run).await;
    let connected = run.events("connected");
    let order = if spec == Spec::S218 { "be" } else { "le" };
    assert_eq!(connected[0]["byte_order"], order, "{run}");
    assert_eq!(connected[0]["scheme"], "legacy", "{run}");
}

#[tokio::test]
async fn registers_a_hotkey_on_the_little_endian_era_spec_293() {
    registers_one_hotkey(Spec::S293).await;
}

#[tokio::test]
async fn registers_a_hotkey_on_the_big_endian_era_spec_218() {
    registers_one_hotkey(Spec::S218).await;
}

#[tokio::test]
async fn registers_three_hotkeys_in_one_run_and_skips_them_the_next_time() {
    let node = chain(Spec::S293, BlockMode::Instant).await;
    let dir = tempfile::tempdir().expect("temp dir");
    wallet(dir.path(), 3);
    let keys: Vec<[u8; 32]> = (0..3).map(hotkey_public).collect();
    node.prepare_pow_subnet(1, EASY, &keys).await.expect("prepare subnet 1");
    let run = regsolver(&node.url(), dir.path(), &["--subnet", "1", "--wallet.hotkeys", "h0,h1,h2"]).await;
    assert_eq!(run.code, 0, "{run}");
    let mut uids = Vec::new();
    for key in &keys {
        uids.push(node.registered_uid(1, *key).await.unwrap().unwrap_or_else(|| panic!("a hotkey was not registered\n{run}")));
    }
    uids.sort_unstable();
    uids.dedup();
    assert_eq!(uids.len(), 3, "three distinct UIDs");
    // Again: every hotkey is already registered, nothing is sent.
    let best = node.best_number().await.unwrap();
    let again = regsolver(&node.url(), dir.path(), &["--subnet", "1", "--wallet.hotkeys", "all"]).await;
    assert_eq!(again.code, 0, "{again}");
    assert_eq!(again.events("already_registered").len(), 3, "{again}");
    assert!(node.sent_since(best).await.unwrap().is_empty(), "an extrinsic was sent for registered hotkeys");
}

#[tokio::test]
async fn refusals_send_nothing() {
    // Spec 218's subnet 1 has PoW registration disabled at genesis.
    let node = chain(Spec::S218, BlockMode::Instant).await;
    let dir = tempfile::tempdir().expect("temp dir");
    wallet(dir.path(), 1);
    node.fund(&[hotkey_public(0)], chopsticks::FUND_RAO).await.unwrap();
    refused(&node, dir.path(), &["--subnet", "1", "--wallet.hotkey", "h0"], 11, "disabled on subnet 1").await;
    refused(&node, dir.path(), &["--subnet", "77", "--wallet.hotkey", "h0"], 12, "subnet 77 does not exist").await;
    refused(&node, dir.path(), &["--subnet", "0", "--wallet.hotkey", "h0"], 10, "root").await;
    refused(&node, dir.path(), &["--subnet", "1", "--wallet.hotkey", "nope"], 2, "nope").await;
}

#[tokio::test]
async fn a_burn_only_runtime_is_refused_and_nothing_is_sent() {
    // Spec 293's own metadata and state, reported as spec 400: `register` is the burn
    // registration there and there is no `pow_register`.
    let node = chain(Spec::S293, BlockMode::Instant).await;
    let dir = tempfile::tempdir().expect("temp dir");
    wallet(dir.path(), 1);
    node.prepare_pow_subnet(1, EASY, &[hotkey_public(0)]).await.unwrap();
    let proxy = proxy::Proxy::start(&node.url(), proxy::Overrides { spec_version: Some(400), ..Default::default() }).await;
    let best = node.best_number().await.unwrap();
    let run = regsolver(&proxy.url, dir.path(), &["--subnet", "1", "--wallet.hotkey", "h0"]).await;
    assert_eq!(run.code, 10, "{run}");
    assert!(run.stderr.contains("400"), "the refusal names the spec version\n{run}");
    assert_eq!(proxy.submissions(), 0, "a submission reached the proxy");
    assert!(node.sent_since(best).await.unwrap().is_empty());
    assert_eq!(node.registered_uid(1, hotkey_public(0)).await.unwrap(), None);
}

#[tokio::test]
async fn reconnects_after_the_node_restarts_mid_search_and_still_registers() {
    let mut node = chain(Spec::S293, BlockMode::Instant).await;
    let dir = tempfile::tempdir().expect("temp dir");
    wallet(dir.path(), 1);
    // No device finds this in the test's lifetime: the daemon is mid-search when the node dies.
    node.prepare_pow_subnet(1, NEVER, &[hotkey_public(0)]).await.unwrap();
    let mut daemon =
        Running::start(command(&[], &node.url(), dir.path(), &["--wallet.hotkey", "h0", "--subnet", "1", "--threads", "1"], &[]));
    daemon.next_event("job").await;
    node.kill();
    tokio::time::sleep(Duration::from_secs(2)).await;
    node.restart().await.expect("restart chopsticks on the same port");
    node.prepare_pow_subnet(1, EASY, &[hotkey_public(0)]).await.unwrap();
    let run = daemon.finish().await;
    assert_eq!(run.code, 0, "{run}");
    assert!(node.registered_uid(1, hotkey_public(0)).await.unwrap().is_some(), "{run}");
}
