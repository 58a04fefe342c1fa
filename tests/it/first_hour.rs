//! A newcomer's first hour (issue 18), against the real binary: the root rule (container or host,
//! daemon and `worker`), the missing-wallet message, `--subnet 0` refused before connecting, the
//! alias named as typed, the connect deadline kept on the RPC and light-client paths with the time
//! spent stated; and on a real runtime under chopsticks, an endpoint alone meaning its own chain,
//! a named network's mismatch as exit 2, and the README's local-chain commands run as written
//! (the real `scripts/localnet`, the real binary) up to a registered UID.

use crate::support::{self, chopsticks, daemon_run, process, test_wallet};

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chopsticks::Spec;
use daemon_run::EASY;
use process::{free_port, regsolver, run, Finished, Running};
use test_wallet::{hotkey_public, wallet};
use tokio::process::Command;

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() }
}

/// An endpoint nothing listens on.
fn unreachable_url() -> String {
    format!("ws://127.0.0.1:{}", free_port())
}

/// The daemon with the test wallet at `root` and `args`, root allowed only as the test says.
fn daemon(root: &Path, args: &[&str], container: Option<&str>) -> Command {
    let root = root.display().to_string();
    let mut all = vec!["--wallet.path", &root, "--wallet.name", "w", "--wallet.hotkey", "h0", "--threads", "1"];
    all.extend_from_slice(args);
    let mut command = regsolver(&all);
    command.env_remove("REGSOLVER_ALLOW_ROOT");
    match container {
        Some(value) => command.env("REGSOLVER_CONTAINER", value),
        None => command.env_remove("REGSOLVER_CONTAINER"),
    };
    command
}

/// The `gave up after S s` figure of a connect-deadline message.
fn spent_seconds(out: &Finished) -> f64 {
    let text = out.stderr.split("gave up after ").nth(1).unwrap_or_else(|| panic!("no time spent stated\n{out}"));
    text.split(' ').next().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("unreadable time spent\n{out}"))
}

#[tokio::test]
async fn root_is_allowed_in_a_container_with_one_line_and_refused_on_a_host() {
    if euid() != 0 {
        return support::skip_or_fail("REGSOLVER_REQUIRE_ROOT", "not running as root: the root rule cannot be exercised");
    }
    let dir = temp();
    wallet(dir.path(), 1);
    let url = unreachable_url();
    let args = ["--subnet", "1", "--chain-endpoint", &url, "--connect-deadline", "1"];
    let host = run(daemon(dir.path(), &args, Some("0"))).await;
    assert_eq!(host.code, 2, "{host}");
    assert!(host.says("refusing to run as root on a host") && host.says("--allow-root"), "{host}");
    let container = run(daemon(dir.path(), &args, Some("1"))).await;
    assert_eq!(container.code, 5, "ran to the unreachable endpoint\n{container}");
    assert_eq!(container.stderr.matches("running as root inside a container").count(), 1, "{container}");
    // This machine's own marks, whatever they are: a container is said with its reason.
    let detected = run(daemon(dir.path(), &args, None)).await;
    let marked = Path::new("/.dockerenv").exists() || Path::new("/run/.containerenv").exists();
    if marked {
        assert_eq!(detected.code, 5, "{detected}");
        assert!(detected.says("inside a container (/.dockerenv exists)") || detected.says("(/run/.containerenv exists)"), "{detected}");
    }
    let mut allowed = args.to_vec();
    allowed.push("--allow-root");
    let flagged = run(daemon(dir.path(), &allowed, Some("0"))).await;
    assert_eq!(flagged.code, 5, "{flagged}");
    assert_eq!(flagged.stderr.matches("running as root: --allow-root").count(), 1, "{flagged}");
}

#[tokio::test]
async fn worker_takes_allow_root_under_the_same_rule() {
    if euid() != 0 {
        return support::skip_or_fail("REGSOLVER_REQUIRE_ROOT", "not running as root: the root rule cannot be exercised");
    }
    let url = unreachable_url();
    let worker = |extra: &[&str], container: &str| {
        let mut args = vec!["worker", "--connect", &url, "--threads", "1"];
        args.extend_from_slice(extra);
        let mut command = regsolver(&args);
        command.env_remove("REGSOLVER_ALLOW_ROOT").env("REGSOLVER_CONTAINER", container);
        command
    };
    let host = run(worker(&[], "0")).await;
    assert_eq!(host.code, 2, "{host}");
    assert!(host.says("refusing to run as root on a host"), "{host}");
    // The daemon's variable works for the worker too: one rule.
    let mut by_env = worker(&[], "0");
    by_env.env("REGSOLVER_ALLOW_ROOT", "true");
    let mut running = Running::start(by_env);
    running.wait_for("the --allow-root note", |_, err| err.contains("running as root: --allow-root")).await;
    running.interrupt().await;
    for (extra, said) in [(&["--allow-root"][..], "running as root: --allow-root"), (&[][..], "running as root inside a container")] {
        let mut running = Running::start(worker(extra, if extra.is_empty() { "1" } else { "0" }));
        running.wait_for(said, |_, err| err.contains(said)).await;
        if running.running() {
            running.interrupt().await;
        }
    }
}

#[tokio::test]
async fn a_missing_wallet_names_the_btcli_command_for_the_names_looked_for() {
    let home = temp();
    let url = unreachable_url();
    let mut command = regsolver(&["--subnet", "1", "--chain-endpoint", &url]);
    command.env("HOME", home.path()).env_remove("BT_WALLET_PATH").env_remove("BT_WALLET_NAME").env_remove("BT_WALLET_HOTKEY");
    let out = run(command).await;
    assert_eq!(out.code, 2, "{out}");
    assert!(out.says("btcli wallet create --wallet.name default --wallet.hotkey default"), "{out}");
    let path = home.path().display().to_string();
    let out = run(regsolver(&[
        "--subnet",
        "1",
        "--chain-endpoint",
        &url,
        "--wallet.path",
        &path,
        "--wallet.name",
        "miner",
        "--wallet.hotkey",
        "h7",
    ]))
    .await;
    assert_eq!(out.code, 2, "{out}");
    assert!(out.says(&format!("btcli wallet create --wallet.name miner --wallet.path {path} --wallet.hotkey h7")), "{out}");
    wallet(home.path(), 1);
    let out =
        run(regsolver(&["--subnet", "1", "--chain-endpoint", &url, "--wallet.path", &path, "--wallet.name", "w", "--wallet.hotkey", "h9"]))
            .await;
    assert_eq!(out.code, 2, "{out}");
    assert!(out.says(&format!("btcli wallet new_hotkey --wallet.name w --wallet.path {path} --wallet.hotkey h9")), "{out}");
}

#[tokio::test]
async fn the_root_subnet_is_refused_before_connecting() {
    // finney through the light client, a minute to connect: refused at once, nothing started.
    let started = Instant::now();
    let out = run(regsolver(&["--subnet", "0", "--connect-deadline", "60"])).await;
    println!("--subnet 0 refused after {:.2} s", started.elapsed().as_secs_f64());
    assert_eq!(out.code, 10, "{out}");
    assert!(out.says("subnet 0 is the root network") && out.says("--subnet N"), "{out}");
    assert!(!out.says("light client"), "it started connecting\n{out}");
}

#[tokio::test]
async fn a_bad_network_names_the_spelling_typed() {
    for flag in ["--subtensor.network", "--network"] {
        let out = run(regsolver(&["--subnet", "1", flag, "nosuch"])).await;
        assert_eq!(out.code, 2, "{out}");
        assert!(out.says(&format!("(from flag {flag})")) && out.says("nosuch"), "{out}");
    }
    let out = run(regsolver(&["--subnet", "1", "--subtensor.network=nosuch"])).await;
    assert!(out.says("(from flag --subtensor.network)"), "{out}");
}

#[tokio::test]
async fn the_connect_deadline_is_kept_over_rpc_and_says_the_time_spent() {
    let dir = temp();
    wallet(dir.path(), 1);
    let url = unreachable_url();
    let started = Instant::now();
    let out = run(daemon(dir.path(), &["--subnet", "1", "--chain-endpoint", &url, "--connect-deadline", "5", "--allow-root"], None)).await;
    let wall = started.elapsed().as_secs_f64();
    let spent = spent_seconds(&out);
    println!("RPC --connect-deadline 5: gave up after {spent:.1} s by its own count, the process ran {wall:.1} s");
    assert_eq!(out.code, 5, "{out}");
    assert!((5.0..6.0).contains(&spent), "the deadline is 5 s, within a second\n{out}");
    assert!(!out.stderr.contains("RPC error: client error: RPC error"), "a doubled prefix\n{out}");
}

#[tokio::test]
async fn the_connect_deadline_is_kept_by_the_light_client_without_warnings() {
    // No internet here: the test network's light client finds no peers.
    let dir = temp();
    wallet(dir.path(), 1);
    let started = Instant::now();
    let out = run(daemon(dir.path(), &["--subnet", "1", "--network", "test", "--connect-deadline", "5", "--allow-root"], None)).await;
    let wall = started.elapsed().as_secs_f64();
    println!("light client --connect-deadline 5: exit {}, the process ran {wall:.1} s", out.code);
    if out.code != 5 {
        return support::skip_or_fail(
            "REGSOLVER_REQUIRE_OFFLINE",
            &format!("the light client reached the test network: not offline\n{out}"),
        );
    }
    let spent = spent_seconds(&out);
    println!("light client: gave up after {spent:.1} s by its own count");
    assert!((5.0..6.0).contains(&spent), "the deadline is 5 s, within a second\n{out}");
    assert!(out.says("no peers for test"), "{out}");
    assert!(!out.says("Cannot send method response"), "{out}");
}

/// A spec-293 chain with subnet 1 open at [`EASY`] and the test wallet's hotkey `h0` funded.
async fn open_chain(dir: &Path) -> chopsticks::Chopsticks {
    let node = daemon_run::chain(Spec::S293, chopsticks::BlockMode::Instant).await;
    node.prepare_pow_subnet(1, EASY, &[hotkey_public(0)]).await.expect("prepare subnet 1");
    wallet(dir, 1);
    node
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_alone_is_its_own_chain_and_a_named_mismatch_is_exit_2() {
    let dir = temp();
    let node = open_chain(dir.path()).await;
    let url = node.url();
    let alone = run(daemon(dir.path(), &["--subnet", "1", "--chain-endpoint", &url, "--json", "--dry-run", "--allow-root"], None)).await;
    assert_eq!(alone.code, 0, "{alone}");
    let connected = alone.events("connected");
    assert_eq!(connected.first().map(|e| e["network"].clone()), Some("custom".into()), "{alone}");
    let best = node.best_number().await.unwrap();
    let named = run(daemon(dir.path(), &["--subnet", "1", "--network", "finney", "--chain-endpoint", &url, "--allow-root"], None)).await;
    assert_eq!(named.code, 2, "{named}");
    assert!(named.says("not finney's") && named.says("leave out --network"), "{named}");
    assert!(!named.says("retrying"), "a configuration error is not retried\n{named}");
    assert!(node.sent_since(best).await.unwrap().is_empty(), "something was sent\n{named}");
}

/// The README's local-chain block: its lines, in order.
fn readme_localnet_block() -> Vec<String> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).expect("README.md");
    let after = readme.split("<!-- localnet:").nth(1).expect("the README's localnet block");
    let block = after.split("```sh\n").nth(1).and_then(|b| b.split("```").next()).expect("its sh code block");
    block.lines().map(str::to_owned).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_local_chain_registers_a_uid_as_written() {
    let lines = readme_localnet_block();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0], "btcli wallet create --wallet.name default --wallet.hotkey default");
    assert_eq!(lines[1], "scripts/localnet");
    let daemon_args = lines[2].strip_prefix("cargo run --release -- ").expect("the run command").replace("9944", "{PORT}");
    // btcli is not here: the same wallet, written by the crate's writer, in a fresh HOME.
    let home = temp();
    let wallets = home.path().join(".bittensor/wallets");
    regsolver::wallet::create_wallet(
        &wallets,
        "default",
        &test_wallet::COLDKEY_SEED,
        Some(test_wallet::PASSWORD),
        &[("default", test_wallet::hotkey_seed(0))],
    )
    .expect("write the wallet");
    // The script as the README runs it, on a free port (other tests run beside this one).
    let script: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join(&lines[1]);
    let mut command = Command::new(&script);
    command.arg("--port").arg("0").env("HOME", home.path()).env_remove("BT_WALLET_PATH").env_remove("BT_WALLET_NAME");
    command.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).kill_on_drop(true);
    let mut chain = Running::start(command).labelled("scripts/localnet");
    chain.wait_for("the register command", |out, _| out.contains("register with: regsolver ")).await;
    let printed = chain.stdout();
    assert!(printed.contains("localnet: funded hotkey default"), "{}", chain.dump());
    let said = printed.lines().find_map(|l| l.split("register with: regsolver ").nth(1)).expect("the command").to_owned();
    let port = said.rsplit(':').next().expect("a port").to_owned();
    assert_eq!(said, daemon_args.replace("{PORT}", &port), "the script and the README disagree");
    let args: Vec<&str> = said.split_whitespace().collect();
    let mut command = regsolver(&args);
    command.env("HOME", home.path()).env_remove("BT_WALLET_PATH").env_remove("BT_WALLET_NAME").env_remove("BT_WALLET_HOTKEY");
    let started = Instant::now();
    let out = run(command).await;
    println!("the README's run registered in {:.1} s", started.elapsed().as_secs_f64());
    assert_eq!(out.code, 0, "{out}\n{}", chain.dump());
    assert!(out.stdout.contains("default (") && out.stdout.contains("registered UID"), "{out}");
    // One block, named the same way: the seal's work block on the result line, the inclusion block
    // in the outcome.
    assert!(out.stdout.contains("with a seal on work block") && out.stderr.contains("outcome: registered: included in block"), "{out}");
    assert!(out.says("network=custom") || out.says("network=\"custom\""), "{out}");
    chain.signal(libc::SIGTERM);
    let code = chain.exit_code(Duration::from_secs(20)).await;
    assert_eq!(code, 0, "{}", chain.dump());
}
