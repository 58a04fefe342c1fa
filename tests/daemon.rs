//! The daemon end to end: the `regsolver` binary, run as a user would, against real subtensor
//! runtimes under chopsticks (spec 293: little-endian legacy era; spec 218: big-endian era), with
//! wallet files written by the test. Every registration is read back from the chain itself;
//! every refusal is checked to have sent nothing.

#[path = "common/chopsticks.rs"]
mod chopsticks;
#[path = "support/proxy.rs"]
mod proxy;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use chopsticks::{BlockMode, Chopsticks, Spec};
use regsolver::wallet::{create_wallet, Keypair};

const PASSWORD: &str = "correct horse battery staple";
const COLDKEY_SEED: [u8; 32] = [0x11; 32];
/// Low enough that two CPU threads find a seal in well under a second.
const EASY: u64 = 20_000;
/// How long one daemon run may take before the test fails (never hangs).
const RUN_LIMIT: Duration = Duration::from_secs(180);

fn hotkey_seed(i: u8) -> [u8; 32] {
    [0x40 + i; 32]
}

fn hotkey_public(i: u8) -> [u8; 32] {
    Keypair::from_seed(&hotkey_seed(i)).expect("seed").public()
}

/// A wallet `w` under `root` with an encrypted coldkey and hotkeys `h0..hN`.
fn wallet(root: &Path, hotkeys: u8) {
    let seeds: Vec<(String, [u8; 32])> = (0..hotkeys).map(|i| (format!("h{i}"), hotkey_seed(i))).collect();
    let named: Vec<(&str, [u8; 32])> = seeds.iter().map(|(n, s)| (n.as_str(), *s)).collect();
    create_wallet(root, "w", &COLDKEY_SEED, Some(PASSWORD), &named).expect("write the test wallet");
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `regsolver ARGS` against `url` with the test wallet, two CPU threads, JSON events.
async fn regsolver(url: &str, root: &Path, args: &[&str]) -> Run {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_regsolver"));
    command
        .args(["--network", "local", "--chain-endpoint", url, "--wallet.path"])
        .arg(root)
        .args(["--wallet.name", "w", "--threads", "2", "--json", "--connect-timeout", "20"])
        .args(args)
        .env("REGSOLVER_LOG", "info")
        // The tests run as root in CI containers (tests/cli.rs checks the refusal).
        .env("REGSOLVER_ALLOW_ROOT", "true")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = command.spawn().expect("start regsolver");
    let output = tokio::time::timeout(RUN_LIMIT, child.wait_with_output()).await.expect("regsolver did not finish in time").expect("regsolver output");
    let run = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert!(!run.stderr.contains("panicked"), "regsolver panicked:\n{}", run.stderr);
    assert!(!run.stderr.contains(PASSWORD) && !run.stdout.contains(PASSWORD), "the password was printed");
    run
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}\n--- stdout ---\n{}\n--- stderr ---\n{}", self.code, self.stdout, self.stderr)
    }
}

/// The JSON events of a run with `"event": kind`.
fn events<'a>(run: &'a Run, kind: &'a str) -> impl Iterator<Item = serde_json::Value> + 'a {
    run.stdout.lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()).filter(move |e| e["event"] == kind)
}

async fn chain(spec: Spec, mode: BlockMode) -> Chopsticks {
    Chopsticks::start_with(spec, mode).await.unwrap_or_else(|e| panic!("{e}"))
}

async fn registers_one_hotkey(spec: Spec) {
    let node = chain(spec, BlockMode::Instant).await;
    let dir = tempfile::tempdir().expect("temp dir");
    wallet(dir.path(), 1);
    node.prepare_pow_subnet(1, EASY, &[hotkey_public(0)]).await.expect("prepare subnet 1");
    assert_eq!(node.registered_uid(1, hotkey_public(0)).await.unwrap(), None);
    let run = regsolver(&node.url(), dir.path(), &["--subnet", "1", "--wallet.hotkey", "h0"]).await;
    assert_eq!(run.code, 0, "{run}");
    let uid = node.registered_uid(1, hotkey_public(0)).await.unwrap().unwrap_or_else(|| panic!("not registered on chain\n{run}"));
    let registered: Vec<_> = events(&run, "registered").collect();
    assert_eq!(registered.len(), 1, "{run}");
    assert_eq!(registered[0]["uid"], uid, "the UID printed is the chain's");
    let connected: Vec<_> = events(&run, "connected").collect();
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
    assert_eq!(events(&again, "already_registered").count(), 3, "{again}");
    assert!(node.sent_since(best).await.unwrap().is_empty(), "an extrinsic was sent for registered hotkeys");
}

/// A refusal: the exit code, a message naming the reason, and nothing sent.
async fn refused(node: &Chopsticks, dir: &Path, args: &[&str], code: i32, message: &str) {
    let best = node.best_number().await.unwrap();
    let run = regsolver(&node.url(), dir, args).await;
    assert_eq!(run.code, code, "{run}");
    assert!(run.stderr.contains(message) || run.stdout.contains(message), "expected '{message}' in\n{run}");
    let sent = node.sent_since(best).await.unwrap();
    assert!(sent.is_empty(), "something was sent: {sent:?}\n{run}");
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
    // (chopsticks takes numbers up to 2^53; 2^52 is years of work here.)
    node.prepare_pow_subnet(1, 1 << 52, &[hotkey_public(0)]).await.unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_regsolver"))
        .args(["--network", "local", "--chain-endpoint", &node.url(), "--wallet.path"])
        .arg(dir.path())
        .args(["--wallet.name", "w", "--wallet.hotkey", "h0", "--subnet", "1", "--threads", "1", "--json"])
        .env("REGSOLVER_ALLOW_ROOT", "true")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start regsolver");
    let mut stdout = tokio::io::BufReader::new(child.stdout.take().expect("stdout"));
    wait_for_event(&mut stdout, "job").await;
    node.kill();
    tokio::time::sleep(Duration::from_secs(2)).await;
    node.restart().await.expect("restart chopsticks on the same port");
    node.prepare_pow_subnet(1, EASY, &[hotkey_public(0)]).await.unwrap();
    let status = tokio::time::timeout(RUN_LIMIT, child.wait()).await.expect("regsolver did not finish").expect("exit status");
    let mut rest = String::new();
    let _ = tokio::io::AsyncReadExt::read_to_string(&mut stdout, &mut rest).await;
    assert_eq!(status.code(), Some(0), "{rest}");
    assert!(node.registered_uid(1, hotkey_public(0)).await.unwrap().is_some(), "{rest}");
}

async fn wait_for_event(stdout: &mut tokio::io::BufReader<tokio::process::ChildStdout>, kind: &str) {
    use tokio::io::AsyncBufReadExt;
    let wait = async {
        let mut line = String::new();
        loop {
            line.clear();
            if stdout.read_line(&mut line).await.unwrap_or(0) == 0 {
                panic!("regsolver exited before a '{kind}' event");
            }
            if serde_json::from_str::<serde_json::Value>(&line).is_ok_and(|e| e["event"] == kind) {
                return;
            }
        }
    };
    tokio::time::timeout(RUN_LIMIT, wait).await.expect("no event in time");
}
