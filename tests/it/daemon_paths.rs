//! The daemon's other paths end to end, each with the real `regsolver` binary against a real
//! subtensor runtime under chopsticks: the coldkey password (wrong: refused, nothing sent;
//! right: the coldkey signs a faucet extrinsic the runtime includes), `--dry-run` (prints the
//! signed extrinsic, sends nothing), `status`, the pool's rejections of `pow_register` (through a proxy that shows the daemon a runtime with the
//! call and answers as a node's pool would), and a seal that went stale while it was found
//! (dropped, not sent). Every exit code and message is checked; where nothing may be sent, the
//! chain's blocks and pool are read to prove it.

use crate::support::{chopsticks, daemon_run, mainnet_metadata, process, proxy, test_wallet};

use std::path::Path;
use std::time::Duration;

use chopsticks::{BlockMode, Spec, FUND_RAO};
use daemon_run::{chain, command, regsolver, regsolver_in, EASY};
use process::{Finished, Running, LIMIT};
use serde_json::{json, Value};
use test_wallet::{coldkey_public, hotkey_public, password_env, wallet, PASSWORD};

/// The daemon's limit of failed submissions in a row (src/daemon/mod.rs `MAX_FAILED_SUBMISSIONS`).
const MAX_FAILED_SUBMISSIONS: usize = 5;

fn coldkey_file(root: &Path) -> std::path::PathBuf {
    root.join("w").join("coldkey")
}

// ---------------------------------------------------------------------------------------------
// The coldkey's password, through `faucet` (signed by the coldkey)
// ---------------------------------------------------------------------------------------------

async fn faucet_with_the_coldkey_password(spec: Spec) {
    let node = chain(spec, BlockMode::Instant).await;
    let dir = tempfile::tempdir().expect("temp dir");
    wallet(dir.path(), 1);
    node.fund(&[coldkey_public()], FUND_RAO).await.unwrap();
    let url = node.url();

    // Wrong, from the wallet tools' variable: refused before anything is signed.
    let best = node.best_number().await.unwrap();
    let wrong = password_env(&coldkey_file(dir.path()), "not the password");
    let run = regsolver_in(&["faucet"], &url, dir.path(), &["--threads", "2"], std::slice::from_ref(&wrong)).await;
    assert_eq!(run.code, 2, "a wrong password is bad input\n{run}");
    assert!(
        run.stderr.contains("wrong password for") && run.stderr.contains(&wrong.0),
        "the message names the keyfile and where the password came from\n{run}"
    );
    assert!(!run.says(&wrong.1), "the variable's value was printed\n{run}");
    let sent = node.sent_since(best).await.unwrap();
    assert!(sent.is_empty(), "something was sent with a wrong password: {sent:?}\n{run}");

    // Right, from a password file (a systemd credential) and from the variable: the coldkey is
    // decrypted and signs a faucet extrinsic that the runtime includes (its signature is valid).
    // These runtimes are built without `pow-faucet`: the call fails with FaucetDisabled, which
    // the daemon reports with exit 1; it does not send again.
    let file = dir.path().join("coldkey-password");
    std::fs::write(&file, format!("{PASSWORD}\n")).unwrap();
    let file = file.to_string_lossy().into_owned();
    let right = password_env(&coldkey_file(dir.path()), PASSWORD);
    for (args, env) in [(vec!["--threads", "2", "--coldkey-password-file", &file], vec![]), (vec!["--threads", "2"], vec![right])] {
        let best = node.best_number().await.unwrap();
        let run = regsolver_in(&["faucet"], &url, dir.path(), &args, &env).await;
        assert_eq!(run.code, 1, "{run}");
        assert!(run.stderr.contains("FaucetDisabled"), "{run}");
        assert_eq!(run.events("connected").first().map(|e| e["scheme"].clone()), Some(json!("faucet")), "{run}");
        let order = if spec == Spec::S218 { "be" } else { "le" };
        assert_eq!(run.events("connected").first().map(|e| e["byte_order"].clone()), Some(json!(order)), "the era's byte order\n{run}");
        assert_eq!(run.events("submitting").len(), 1, "{run}");
        let sent = node.sent_since(best).await.unwrap();
        // Signed (0x84), by the coldkey: MultiAddress::Id (0x00) then its 32 bytes.
        let by_coldkey = format!("8400{}", hex::encode(coldkey_public()));
        assert_eq!(sent.in_blocks.len(), 1, "{sent:?}\n{run}");
        assert!(sent.in_blocks[0].1.contains(&by_coldkey), "the faucet extrinsic is signed by the coldkey: {sent:?}\n{run}");
        assert!(sent.pending.is_empty(), "{sent:?}");
    }
}

#[tokio::test]
async fn coldkey_password_wrong_is_refused_and_right_signs_the_faucet_on_spec_293() {
    faucet_with_the_coldkey_password(Spec::S293).await;
}

#[tokio::test]
async fn coldkey_password_wrong_is_refused_and_right_signs_the_faucet_on_spec_218() {
    faucet_with_the_coldkey_password(Spec::S218).await;
}

// ---------------------------------------------------------------------------------------------
// --dry-run
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn dry_run_prints_the_signed_extrinsic_decoded_and_sends_nothing() {
    let node = chain(Spec::S293, BlockMode::Instant).await;
    let dir = tempfile::tempdir().expect("temp dir");
    wallet(dir.path(), 1);
    node.prepare_pow_subnet(1, EASY, &[hotkey_public(0)]).await.unwrap();
    let best = node.best_number().await.unwrap();
    let run = regsolver(&node.url(), dir.path(), &["--subnet", "1", "--wallet.hotkey", "h0", "--dry-run"]).await;
    assert_eq!(run.code, 0, "{run}");
    let solution = run.events("solution").into_iter().next().unwrap_or_else(|| panic!("no solution event\n{run}"));
    let dry: Vec<Value> = run.events("dry_run");
    assert_eq!(dry.len(), 1, "{run}");
    let extrinsic = dry[0]["extrinsic"].as_str().expect("extrinsic hex");
    assert!(extrinsic.starts_with("0x") && hex::decode(&extrinsic[2..]).is_ok_and(|b| b.len() > 100), "{run}");
    let decoded = &dry[0]["decoded"];
    assert_eq!(decoded["call"], "SubtensorModule.register", "{run}");
    let arguments = &decoded["arguments"];
    assert_eq!(arguments["netuid"], 1, "{run}");
    assert_eq!(arguments["hotkey"], format!("0x{}", hex::encode(hotkey_public(0))), "{run}");
    assert_eq!(arguments["coldkey"], format!("0x{}", hex::encode(coldkey_public())), "{run}");
    assert_eq!(arguments["block_number"], solution["block"], "the work block is the solution's\n{run}");
    assert_eq!(arguments["nonce"], solution["nonce"], "{run}");
    assert_eq!(arguments["work"], format!("0x{}", solution["seal"].as_str().unwrap_or_default()), "{run}");
    assert_eq!(
        decoded["signer"]["account"],
        format!("0x{}", hex::encode(hotkey_public(0))),
        "legacy register is signed by the hotkey\n{run}"
    );
    assert!(decoded["nonce"].is_u64() && decoded["era"]["period_blocks"].is_u64(), "the account nonce and a mortal era\n{run}");
    // Nothing reached the chain: no block, no pool entry, no UID.
    assert!(run.events("submitting").is_empty(), "{run}");
    let sent = node.sent_since(best).await.unwrap();
    assert!(sent.is_empty(), "a dry run sent something: {sent:?}\n{run}");
    assert_eq!(node.registered_uid(1, hotkey_public(0)).await.unwrap(), None, "{run}");
}

// ---------------------------------------------------------------------------------------------
// status
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn status_reports_the_runtime_the_subnet_and_each_hotkey_and_refuses_a_missing_subnet() {
    let node = chain(Spec::S293, BlockMode::Instant).await;
    let dir = tempfile::tempdir().expect("temp dir");
    wallet(dir.path(), 2);
    node.prepare_pow_subnet(1, EASY, &[hotkey_public(0), hotkey_public(1)]).await.unwrap();
    // h0 holds UID 5 on subnet 1 (as the runtime stores it); h1 holds none.
    node.set_storage(json!({"SubtensorModule": {"Uids": [[[1, format!("0x{}", hex::encode(hotkey_public(0)))], 5]]}})).await.unwrap();
    assert_eq!(node.registered_uid(1, hotkey_public(0)).await.unwrap(), Some(5));
    let best = node.best_number().await.unwrap();
    let args = ["--subnet", "1", "--wallet.hotkeys", "h0,h1", "--threads", "2", "--measure-seconds", "1"];
    let run = regsolver_in(&["status"], &node.url(), dir.path(), &args, &[]).await;
    assert_eq!(run.code, 0, "{run}");
    let report: Value = run.stdout.lines().find_map(|l| serde_json::from_str(l).ok()).unwrap_or_else(|| panic!("no JSON report\n{run}"));
    assert_eq!(report["spec_version"], 293, "{run}");
    assert_eq!(report["scheme"], "legacy", "{run}");
    assert_eq!(report["byte_order"], "little", "{run}");
    assert!(report["refusal"].is_null(), "{run}");
    assert_eq!(report["subnet_exists"], true, "{run}");
    assert_eq!(report["pow_registration_allowed"], true, "{run}");
    assert_eq!(report["difficulty_raw"], EASY, "{run}");
    assert_eq!(report["difficulty"], EASY, "{run}");
    assert_eq!(report["registrations_this_block"], 0, "{run}");
    assert_eq!(report["max_registrations_per_block"], chopsticks::POW_REGISTRATIONS_PER_BLOCK, "{run}");
    assert!(report["burn_tao"].as_f64().is_some_and(|t| t >= 0.0), "{run}");
    let hotkeys = report["hotkeys"].as_array().expect("hotkeys");
    assert_eq!(hotkeys.len(), 2, "{run}");
    assert_eq!((hotkeys[0]["name"].clone(), hotkeys[0]["uid"].clone()), (json!("h0"), json!(5)), "{run}");
    assert_eq!((hotkeys[1]["name"].clone(), hotkeys[1]["uid"].clone()), (json!("h1"), Value::Null), "{run}");
    assert_eq!(hotkeys[1]["ss58"], regsolver::pow::ss58::encode_ss58(&hotkey_public(1)), "{run}");
    assert!(report["seals_per_second"].as_f64().is_some_and(|r| r > 0.0), "{run}");
    let expected = report["expected_seconds_to_seal"].as_f64().expect("expected time to a seal");
    assert!(expected > 0.0, "{run}");
    assert!(report["block_seconds"].as_f64().is_some_and(|s| s > 0.0), "{run}");
    assert!(node.sent_since(best).await.unwrap().is_empty(), "status is read-only\n{run}");

    let run = regsolver_in(
        &["status"],
        &node.url(),
        dir.path(),
        &["--subnet", "77", "--wallet.hotkey", "h0", "--threads", "1", "--measure-seconds", "0.5"],
        &[],
    )
    .await;
    assert_missing_subnet_status(&run);
}

/// `status` on a subnet that does not exist says so and exits with the daemon's code for it (12).
fn assert_missing_subnet_status(run: &Finished) {
    assert_eq!(run.code, 12, "{run}");
    assert!(run.says("subnet 77 does not exist"), "{run}");
}

// ---------------------------------------------------------------------------------------------
// pow_register: the pool's rejections
// ---------------------------------------------------------------------------------------------

/// Spec 293's chain (manual blocks) behind a proxy that serves a runtime with `pow_register`
/// (spec 461's metadata with the call added: support/mainnet_metadata.rs) as spec 475 and
/// answers every submission with `Custom error: CODE`; the daemon runs with the coldkey's
/// password (it signs `pow_register`) while the test builds a block every second.
/// Returns the run and the submissions the proxy saw; nothing reaches the chain.
async fn pow_register_rejected_with(code: u8) -> (Finished, usize) {
    let node = chain(Spec::S293, BlockMode::Manual).await;
    let dir = tempfile::tempdir().expect("temp dir");
    wallet(dir.path(), 1);
    node.prepare_pow_subnet(1, EASY, &[hotkey_public(0)]).await.unwrap();
    let overrides = proxy::Overrides {
        metadata: Some(mainnet_metadata::derived_bytes()),
        spec_version: Some(mainnet_metadata::DERIVED_SPEC),
        reject_with: Some(format!("Custom error: {code}")),
        ..Default::default()
    };
    let proxy = proxy::Proxy::start(&node.url(), overrides).await;
    let best = node.best_number().await.unwrap();
    let password = password_env(&coldkey_file(dir.path()), PASSWORD);
    let daemon =
        Running::start(command(&[], &proxy.url, dir.path(), &["--subnet", "1", "--wallet.hotkey", "h0", "--threads", "2"], &[password]));
    // New blocks while the daemon runs (a rejection is retried on the next one), bounded.
    let blocks = async {
        for _ in 0..LIMIT.as_secs() {
            tokio::time::sleep(Duration::from_secs(1)).await;
            node.new_block().await.expect("dev_newBlock");
        }
    };
    let run = tokio::select! {
        run = daemon.finish() => run,
        _ = blocks => panic!("the daemon did not stop while the proxy rejected every submission"),
    };
    let sent = node.sent_since(best).await.unwrap();
    assert!(sent.is_empty(), "a submission got past the proxy: {sent:?}\n{run}");
    assert_eq!(node.registered_uid(1, hotkey_public(0)).await.unwrap(), None, "{run}");
    assert_eq!(run.events("connected").first().map(|e| e["scheme"].clone()), Some(json!("pow-register")), "{run}");
    // Each submission was a verified seal, signed by the coldkey.
    assert_eq!(run.events("submitting").len(), proxy.submissions(), "{run}");
    (run, proxy.submissions())
}

#[tokio::test]
async fn pow_register_rejected_as_subnet_missing_stops_with_exit_12() {
    let (run, submissions) = pow_register_rejected_with(3).await;
    assert_eq!(run.code, 12, "{run}");
    assert!(run.says("subnet 1 does not exist"), "{run}");
    assert_eq!(submissions, 1, "nothing more is sent after a lasting refusal\n{run}");
    assert!(run.events("outcome").iter().any(|e| e["outcome"].as_str().is_some_and(|o| o.contains("custom code 3"))), "{run}");
}

#[tokio::test]
async fn pow_register_rejected_as_coldkey_mismatch_stops_with_exit_13() {
    let (run, submissions) = pow_register_rejected_with(25).await;
    assert_eq!(run.code, 13, "{run}");
    assert!(run.says("owned by another coldkey"), "{run}");
    assert_eq!(submissions, 1, "nothing more is sent after a lasting refusal\n{run}");
}

#[tokio::test]
async fn pow_register_rejected_with_255_retries_on_new_blocks_then_stops_at_the_limit() {
    let (run, submissions) = pow_register_rejected_with(255).await;
    assert_eq!(run.code, 1, "{run}");
    assert!(run.says(&format!("{MAX_FAILED_SUBMISSIONS} submissions in a row did not register")), "{run}");
    assert!(run.says("custom code 255"), "{run}");
    assert_eq!(submissions, MAX_FAILED_SUBMISSIONS, "exactly the limit is sent, never more\n{run}");
    // Each retry mined a new block: the state was read again at each.
    let mut blocks: Vec<u64> = run.events("submitting").iter().filter_map(|e| e["block"].as_u64()).collect();
    blocks.dedup();
    assert_eq!(blocks.len(), MAX_FAILED_SUBMISSIONS, "one submission per work block\n{run}");
    assert!(blocks.windows(2).all(|w| w[0] < w[1]), "{run}");
}

// ---------------------------------------------------------------------------------------------
// A stale seal
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_seal_found_after_its_window_closed_is_dropped_not_sent() {
    // The daemon's block subscription lags: the proxy shows block H as the best while the chain
    // has built H+3. The daemon mines H (easy, so it finds a seal), asks the node for the best
    // block before submitting, learns H+3 (outside legacy's window: H+1 at most) and drops it.
    let node = chain(Spec::S293, BlockMode::Manual).await;
    let dir = tempfile::tempdir().expect("temp dir");
    wallet(dir.path(), 1);
    node.prepare_pow_subnet(1, EASY, &[hotkey_public(0)]).await.unwrap();
    let work_block = node.new_block().await.unwrap();
    let hash = node.block_hash(work_block).await.unwrap().expect("hash of the work block");
    let header = node.rpc("chain_getHeader", json!([hash])).await.unwrap();
    for _ in 0..3 {
        node.new_block().await.unwrap();
    }
    let best = node.best_number().await.unwrap();
    assert_eq!(best, work_block + 3);
    let proxy = proxy::Proxy::start(&node.url(), proxy::Overrides { pinned_head: Some(header), ..Default::default() }).await;
    let mut daemon =
        Running::start(command(&[], &proxy.url, dir.path(), &["--subnet", "1", "--wallet.hotkey", "h0", "--threads", "2"], &[]));
    let job = daemon.next_event("job").await;
    assert_eq!(job["block"], work_block, "the daemon mines the block its subscription calls best\n{}", daemon.stdout());
    let stale = daemon.next_event("stale").await;
    let run = daemon.kill().await;
    assert_eq!(stale["block"], work_block, "{run}");
    assert_eq!(stale["best"], best, "the window is judged at the node's real best block\n{run}");
    assert!(run.events("solution").is_empty(), "a stale seal is not announced as a solution to submit\n{run}");
    assert!(run.events("submitting").is_empty(), "{run}");
    assert_eq!(proxy.submissions(), 0, "a stale seal was submitted\n{run}");
    let sent = node.sent_since(work_block).await.unwrap();
    assert!(sent.is_empty(), "something was sent: {sent:?}\n{run}");
    assert_eq!(node.registered_uid(1, hotkey_public(0)).await.unwrap(), None);
}
