//! Running unattended (issue 8), end to end: the real `regsolver` binary against a real subtensor
//! runtime under chopsticks (spec 293), scraped on its real `/metrics` and `/healthz`, heard on a
//! systemd notify socket the test binds itself, signalled, given config files, bad keyfiles and
//! password files, a simulated CUDA driver whose second GPU fails mid-run, a full disk for its
//! logs; everything a full faucet + registration run printed is searched for the wallet's secrets.
//! Every registration is read back from the chain; every refusal is checked to have sent nothing.

use crate::support::{chopsticks, daemon_run, process, proxy, test_wallet};

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chopsticks::{BlockMode, Chopsticks, Spec};
use daemon_run::{command, registered_h0, EASY, NEVER};
use process::{events, free_port, get, regsolver, run, sample, Running, LIMIT};
use serde_json::{json, Value};
use test_wallet::{hotkey_public, wallet};

/// The daemon on the chain at `url` with wallet `w` under `root`, JSON events, and `extra`.
fn daemon(url: &str, root: &Path, extra: &[&str]) -> tokio::process::Command {
    command(&[], url, root, extra, &[])
}

/// A URL where nothing listens.
fn unreachable_url() -> String {
    format!("ws://127.0.0.1:{}", free_port())
}

async fn chain() -> Chopsticks {
    daemon_run::chain(Spec::S293, BlockMode::Instant).await
}

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

/// Scrapes `/metrics` until `ready(scrape)` (bounded); returns that scrape.
async fn scrape_until(addr: &str, what: &str, ready: impl Fn(&str) -> bool) -> String {
    let started = tokio::time::Instant::now();
    let mut last = String::new();
    while started.elapsed() < LIMIT {
        if let Some((200, body)) = get(addr, "/metrics").await {
            if ready(&body) {
                return body;
            }
            last = body;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("/metrics never showed {what}; last scrape:\n{last}");
}

// ---- 1. endpoint unreachable at start ----

#[tokio::test]
async fn an_unreachable_endpoint_is_retried_with_healthz_503_then_exits_5() {
    let dir = temp();
    wallet(dir.path(), 1);
    let metrics = format!("127.0.0.1:{}", free_port());
    let mut d = Running::start(daemon(
        &unreachable_url(),
        dir.path(),
        &["--subnet", "1", "--wallet.hotkey", "h0", "--threads", "1", "--connect-deadline", "6", "--metrics", &metrics],
    ));
    d.wait_for("a message that it retries", |_, err| err.contains("cannot reach the chain") && err.contains("retrying in")).await;
    let health = get(&metrics, "/healthz").await;
    let run = d.finish().await;
    let (code, body) = health.unwrap_or_else(|| panic!("/healthz did not answer while retrying\n{run}"));
    assert_eq!(code, 503, "/healthz while the chain is unreachable: {body}");
    assert_eq!(run.code, 5, "{run}");
    assert!(run.stderr.contains("--connect-deadline"), "the exit names the deadline\n{run}");
    assert!(run.stderr.matches("retrying in").count() >= 2, "it retried more than once within 6 s\n{run}");
}

// ---- 1b. the chain restarted from a different genesis ----

#[tokio::test]
async fn a_chain_restarted_from_another_genesis_is_detected_and_registered_on_afresh() {
    // The daemon first follows the chain behind a proxy that reports another genesis (the "old"
    // chain); the node then dies and comes back from genesis, and the proxy reports its real
    // genesis. The hotkey signs its registration over the genesis hash (CheckGenesis), so it is
    // only valid if the daemon re-read the genesis with everything else. The proxy turns the
    // daemon away until the new chain is prepared, so it never reads a half-made one.
    let mut node = chain().await;
    let dir = temp();
    wallet(dir.path(), 1);
    node.prepare_pow_subnet(1, NEVER, &[hotkey_public(0)]).await.unwrap();
    let old_genesis = hex0x(&[0x11; 32]);
    let overrides = proxy::Overrides { genesis: Arc::new(Mutex::new(Some(old_genesis.clone()))), ..Default::default() };
    let proxy = proxy::Proxy::start(&node.url(), overrides.clone()).await;
    let args = ["--subnet", "1", "--wallet.hotkey", "h0", "--threads", "1", "--max-backoff", "2"];
    let mut d = Running::start(daemon(&proxy.url, dir.path(), &args));
    d.wait_for("a job on the old chain", |out, _| !events(out, "job").is_empty()).await;
    d.wait_for("the connection to the old genesis logged", |_, err| err.contains(&old_genesis)).await;

    overrides.refuse.store(true, std::sync::atomic::Ordering::SeqCst);
    node.kill();
    tokio::time::sleep(Duration::from_secs(2)).await;
    node.restart().await.expect("restart chopsticks on the same port");
    let best = node.best_number().await.unwrap();
    node.prepare_pow_subnet(1, EASY, &[hotkey_public(0)]).await.unwrap();
    let real_genesis = node.block_hash(0).await.unwrap().expect("the genesis hash");
    assert_ne!(real_genesis, old_genesis);
    *overrides.genesis.lock().unwrap() = None;
    overrides.refuse.store(false, std::sync::atomic::Ordering::SeqCst);
    let run = d.finish().await;
    assert_eq!(run.code, 0, "{run}");
    let warning = run.stderr.lines().find(|l| l.contains("has a new genesis")).unwrap_or_else(|| panic!("no new-genesis warning\n{run}"));
    assert!(warning.contains(&old_genesis) && warning.contains(&real_genesis), "the warning names both genesis hashes: {warning}");
    let uid = node.registered_uid(1, hotkey_public(0)).await.unwrap().unwrap_or_else(|| panic!("not registered on the new chain\n{run}"));
    assert_eq!(run.events("registered")[0]["uid"], uid, "{run}");
    let jobs = run.events("job");
    assert!(jobs.first().is_some_and(|j| j["difficulty"] == NEVER) && jobs.last().is_some_and(|j| j["difficulty"] == EASY), "{run}");
    // Exactly one extrinsic ever left the daemon: the registration the new chain included.
    assert_eq!(proxy.submissions(), 1, "{run}");
    let sent = node.sent_since(best).await.unwrap();
    assert_eq!(sent.in_blocks.len(), 1, "{sent:?}");
    assert!(sent.pending.is_empty(), "{sent:?}");
}

// ---- 2 + 3. systemd notify protocol and the metrics of a running daemon ----

/// Datagrams received on a notify socket, in order of arrival.
fn listen(socket: tokio::net::UnixDatagram) -> Arc<Mutex<Vec<String>>> {
    let received = Arc::new(Mutex::new(Vec::new()));
    let into = received.clone();
    tokio::spawn(async move {
        let mut buffer = vec![0u8; 65536];
        while let Ok(n) = socket.recv(&mut buffer).await {
            let text = String::from_utf8_lossy(&buffer[..n]).into_owned();
            if let Ok(mut all) = into.lock() {
                all.extend(text.lines().map(str::to_owned));
            }
        }
    });
    received
}

fn first(messages: &[String], prefix: &str) -> Option<usize> {
    messages.iter().position(|m| m.starts_with(prefix))
}

#[tokio::test]
async fn a_mining_daemon_notifies_systemd_serves_metrics_and_stops_on_sigterm() {
    let node = chain().await;
    let dir = temp();
    wallet(dir.path(), 1);
    node.prepare_pow_subnet(1, NEVER, &[hotkey_public(0)]).await.unwrap();
    let socket_path = dir.path().join("notify.sock");
    let received = listen(tokio::net::UnixDatagram::bind(&socket_path).expect("bind the notify socket"));
    let metrics = format!("127.0.0.1:{}", free_port());
    let mut command = daemon(&node.url(), dir.path(), &["--subnet", "1", "--wallet.hotkey", "h0", "--threads", "2", "--metrics", &metrics]);
    command.env("NOTIFY_SOCKET", &socket_path).env("WATCHDOG_USEC", "4000000");
    let mut d = Running::start(command);
    let messages = || received.lock().map(|m| m.clone()).unwrap_or_default();

    // READY=1 once the chain is followed and the devices passed their self-tests, then STATUS=,
    // then WATCHDOG=1 from the loop (in that order of first appearance).
    let started = tokio::time::Instant::now();
    loop {
        let all = messages();
        if let (Some(ready), Some(status), Some(watchdog)) = (first(&all, "READY=1"), first(&all, "STATUS="), first(&all, "WATCHDOG=1")) {
            assert!(ready < status && status < watchdog, "out of order: {all:?}");
            break;
        }
        assert!(d.running(), "regsolver exited; notifications {all:?}\n{}", d.stderr());
        assert!(started.elapsed() < LIMIT, "no READY=1 followed by STATUS= and WATCHDOG=1: {all:?}\n{}", d.stderr());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(events(&d.stdout(), "job").len() == 1, "READY=1 came with the job on the devices\n{}", d.stdout());

    // The real endpoint: per-device hashrate windows, seals tried, block, connection, difficulty.
    // Two CPU threads are two devices, cpu:0 and cpu:1.
    let hashing =
        |s: &str| ["cpu:0", "cpu:1"].iter().all(|d| sample(s, "regsolver_seals_tried_total", &[("device", d)]).is_some_and(|n| n > 0.0));
    let scrape = scrape_until(&metrics, "seals tried on both cpu devices", hashing).await;
    for device in ["cpu:0", "cpu:1"] {
        for window in ["10s", "60s", "15m"] {
            let rate = sample(&scrape, "regsolver_hashrate_hashes_per_second", &[("device", device), ("window", window)]);
            assert!(rate.is_some_and(|r| r >= 0.0), "no {window} hashrate for {device}:\n{scrape}");
        }
    }
    let scrape = scrape_until(&metrics, "a 10 s hashrate above 0", |s| {
        sample(s, "regsolver_hashrate_hashes_per_second", &[("device", "cpu:0"), ("window", "10s")]).is_some_and(|r| r > 0.0)
    })
    .await;
    let block = node.best_number().await.unwrap() as f64;
    assert_eq!(sample(&scrape, "regsolver_block_number", &[]), Some(block), "{scrape}");
    assert!(block > 0.0);
    assert_eq!(sample(&scrape, "regsolver_chain_connected", &[]), Some(1.0), "{scrape}");
    assert_eq!(sample(&scrape, "regsolver_difficulty", &[]), Some(NEVER as f64), "{scrape}");
    assert_eq!(sample(&scrape, "regsolver_device_up", &[("device", "cpu:0")]), Some(1.0), "{scrape}");
    let (code, body) = get(&metrics, "/healthz").await.expect("/healthz answers");
    assert_eq!(code, 200, "/healthz while following: {body}");

    // The loop keeps beating the watchdog.
    let started = tokio::time::Instant::now();
    while messages().iter().filter(|m| *m == "WATCHDOG=1").count() < 3 {
        assert!(started.elapsed() < LIMIT, "the watchdog stopped: {:?}", messages());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A STATUS= line after READY names the block followed.
    let all = messages();
    let ready = first(&all, "READY=1").unwrap_or_default();
    assert!(all[ready..].iter().any(|m| m.starts_with("STATUS=") && m.contains(&format!("block {block}"))), "{all:?}");

    d.signal(libc::SIGTERM);
    let run = d.finish().await;
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stderr.contains("SIGTERM"), "{run}");
    assert!(!run.stderr.contains("not stopped after"), "the loop was awaited, not cut by the backstop: {run}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let all = messages();
    let stopping = first(&all, "STOPPING=1").unwrap_or_else(|| panic!("no STOPPING=1: {all:?}"));
    assert!(stopping > ready, "STOPPING=1 after READY=1: {all:?}");
    assert!(!all[stopping..].iter().any(|m| m.starts_with("READY=1")), "{all:?}");
    assert!(node.sent_since(block as u64 - 1).await.unwrap().is_empty(), "nothing was sent at difficulty 2^52");
}

// ---- 4. --wait while PoW is disabled ----

#[tokio::test]
async fn wait_idles_while_pow_is_disabled_and_registers_once_it_is_enabled() {
    // (Without --wait the same is exit 11: tests/it/daemon.rs refusals_send_nothing.)
    let node = chain().await;
    let dir = temp();
    wallet(dir.path(), 1);
    node.prepare_pow_subnet(1, EASY, &[hotkey_public(0)]).await.unwrap();
    // Stored raw (SCALE false), and read back.
    let key = node.storage_key("SubtensorModule", "NetworkPowRegistrationAllowed", (1u16,)).await.unwrap();
    node.set_storage(json!([[hex0x(&key), "0x00"]])).await.unwrap();
    assert_eq!(node.storage(&key).await.unwrap(), Some(vec![0]), "PoW registration is disabled on subnet 1");
    let best = node.best_number().await.unwrap();
    let mut d = Running::start(daemon(&node.url(), dir.path(), &["--subnet", "1", "--wallet.hotkey", "h0", "--threads", "2", "--wait"]));
    d.wait_for("the idle message", |_, err| err.contains("not mining this block") && err.contains("disabled")).await;
    // A new block while disabled: still idle.
    node.new_block().await.unwrap();
    d.wait_for("a second idle block", |_, err| err.matches("not mining this block").count() >= 2).await;
    assert!(d.running());
    assert!(events(&d.stdout(), "job").is_empty(), "a job while PoW is disabled\n{}", d.stdout());
    let sent = node.sent_since(best).await.unwrap();
    assert!(sent.is_empty(), "sent while disabled: {sent:?}");

    node.set_storage(json!([[hex0x(&key), "0x01"]])).await.unwrap();
    node.new_block().await.unwrap();
    let run = d.finish().await;
    assert_eq!(run.code, 0, "{run}");
    registered_h0(&node, &run).await;
}

// ---- 5. --max-difficulty ----

#[tokio::test]
async fn max_difficulty_refuses_above_it_and_with_wait_registers_once_it_falls() {
    let node = chain().await;
    let dir = temp();
    wallet(dir.path(), 1);
    node.prepare_pow_subnet(1, 5_000_000, &[hotkey_public(0)]).await.unwrap();
    let best = node.best_number().await.unwrap();
    let args = ["--subnet", "1", "--wallet.hotkey", "h0", "--threads", "2", "--max-difficulty", "100000"];
    let refused = run(daemon(&node.url(), dir.path(), &args)).await;
    assert_eq!(refused.code, 14, "{refused}");
    assert!(refused.stderr.contains("above --max-difficulty 100000") && refused.stderr.contains("5000000"), "{refused}");
    assert!(refused.events("job").is_empty(), "{refused}");
    assert!(node.sent_since(best).await.unwrap().is_empty(), "something was sent above --max-difficulty");

    let mut waiting = args.to_vec();
    waiting.push("--wait");
    let mut d = Running::start(daemon(&node.url(), dir.path(), &waiting));
    d.wait_for("the wait message", |_, err| err.contains("above --max-difficulty; waiting")).await;
    assert!(events(&d.stdout(), "job").is_empty(), "solving above --max-difficulty\n{}", d.stdout());
    assert!(node.sent_since(best).await.unwrap().is_empty());
    node.prepare_pow_subnet(1, EASY, &[hotkey_public(0)]).await.unwrap();
    node.new_block().await.unwrap();
    let run = d.finish().await;
    assert_eq!(run.code, 0, "{run}");
    let jobs = run.events("job");
    assert!(!jobs.is_empty() && jobs.iter().all(|j| j["difficulty"] == EASY), "only the lowered difficulty is solved\n{run}");
    assert!(node.registered_uid(1, hotkey_public(0)).await.unwrap().is_some(), "{run}");
}

// ---- 6. --keep-going ----

#[tokio::test]
async fn keep_going_registers_a_deregistered_hotkey_again_and_stops_on_sigterm() {
    let node = chain().await;
    let dir = temp();
    wallet(dir.path(), 1);
    let hotkey = hotkey_public(0);
    node.prepare_pow_subnet(1, EASY, &[hotkey]).await.unwrap();
    let mut d =
        Running::start(daemon(&node.url(), dir.path(), &["--subnet", "1", "--wallet.hotkey", "h0", "--threads", "2", "--keep-going"]));
    d.wait_for("the watching message", |_, err| err.contains("watching for deregistrations")).await;
    let uid = node.registered_uid(1, hotkey).await.unwrap().expect("registered the first time");
    assert_eq!(events(&d.stdout(), "registered").len(), 1, "{}", d.stdout());

    // Deregistered on chain (as pruning does): the daemon's Uids entry and the runtime's
    // Keys / IsNetworkMember entries are deleted (chopsticks deletes a key given null).
    node.set_storage(json!({"SubtensorModule": {
        "Uids": [[[1, hex0x(&hotkey)], null]],
        "Keys": [[[1, uid], null]],
        "IsNetworkMember": [[[hex0x(&hotkey), 1], null]],
    }}))
    .await
    .unwrap();
    assert_eq!(node.registered_uid(1, hotkey).await.unwrap(), None);
    node.new_block().await.unwrap();
    d.wait_for("a second registration", |out, _| events(out, "registered").len() >= 2).await;
    assert!(d.stderr().contains("no longer holds a UID"), "{}", d.stderr());
    let again = node.registered_uid(1, hotkey).await.unwrap();
    assert!(again.is_some(), "registered again on chain");
    d.wait_for("watching again", |_, err| err.matches("watching for deregistrations").count() >= 2).await;
    assert!(d.running(), "it stays up after the second registration");
    d.signal(libc::SIGTERM);
    let run = d.finish().await;
    assert_eq!(run.code, 0, "{run}");
}

// ---- 7. SIGHUP ----

fn config_text(root: &Path, url: &str, extra: &str) -> String {
    format!(
        "network = \"local\"\nchain_endpoint = \"{url}\"\nsubnet = 1\n{extra}\n[wallet]\nname = \"w\"\nhotkey = \"h0\"\npath = \"{}\"\n\n[devices.cpu]\nthreads = 1\n\n[retry]\nconnect_deadline_s = 600\n",
        root.display()
    )
}

#[tokio::test]
async fn sighup_reports_unchanged_changed_and_broken_configs_and_keeps_running() {
    let dir = temp();
    wallet(dir.path(), 1);
    let url = unreachable_url();
    let file = dir.path().join("regsolver.toml");
    std::fs::write(&file, config_text(dir.path(), &url, "")).unwrap();
    let config = file.display().to_string();
    let mut d = Running::start(regsolver(&["--config", &config]));
    d.wait_for("the daemon running (retrying)", |_, err| err.contains("retrying in")).await;

    d.signal(libc::SIGHUP);
    d.wait_for("'unchanged'", |_, err| err.contains("SIGHUP: the configuration is unchanged")).await;
    assert!(d.running(), "{}", d.stderr());

    std::fs::write(&file, config_text(dir.path(), &url, "max_difficulty = 5000")).unwrap();
    d.signal(libc::SIGHUP);
    d.wait_for("the changed key", |_, err| err.contains("SIGHUP: the configuration changed (max_difficulty)")).await;
    assert!(d.running(), "{}", d.stderr());

    std::fs::write(&file, config_text(dir.path(), &url, "max_difficulty = \"lots\"")).unwrap();
    d.signal(libc::SIGHUP);
    d.wait_for("'no longer loads'", |_, err| err.contains("SIGHUP: the configuration no longer loads")).await;
    let stderr = d.stderr();
    let complaint = &stderr[stderr.find("no longer loads").unwrap_or_default()..];
    assert!(complaint.contains("max_difficulty") && complaint.contains(&config) && complaint.contains("line 4"), "{complaint}");
    assert!(d.running(), "{stderr}");

    d.signal(libc::SIGTERM);
    let run = d.finish().await;
    assert_eq!(run.code, 0, "{run}");
}

// ---- 8. configuration, password files and keyfiles ----

#[tokio::test]
async fn config_check_shows_every_key_with_its_source_and_bad_input_exits_2() {
    let dir = temp();
    let file = dir.path().join("regsolver.toml");
    std::fs::write(&file, "subnet = 3\n\n[devices.cpu]\nthreads = 2\n").unwrap();
    let config = file.display().to_string();
    let mut command = regsolver(&[
        "config",
        "check",
        "--config",
        &config,
        "--chain-endpoint",
        "wss://rpc.example:443/v1/APIKEY123?apikey=SECRET456",
        "--max-difficulty",
        "7",
    ]);
    command.env("REGSOLVER_WALLET__NAME", "from-env");
    let out = run(command).await;
    assert_eq!(out.code, 0, "{out}");
    for key in regsolver::config::KEYS {
        let line = out
            .stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(key.key))
            .unwrap_or_else(|| panic!("{} missing\n{out}", key.key));
        assert!(line.contains(" = ") && line.contains("    # "), "{line}");
    }
    let line = |key: &str| out.stdout.lines().find(|l| l.split_whitespace().next() == Some(key)).unwrap_or_default().to_owned();
    assert!(line("chain_endpoint").ends_with("# flag --chain-endpoint"), "{out}");
    assert!(line("max_difficulty").ends_with("# flag --max-difficulty"), "{out}");
    assert!(line("wallet.name").contains("\"from-env\"") && line("wallet.name").ends_with("# env REGSOLVER_WALLET__NAME"), "{out}");
    assert!(line("subnet").ends_with(&format!("# file:{config}:1")), "{out}");
    assert!(line("devices.cpu.threads").ends_with(&format!("# file:{config}:4")), "{out}");
    assert!(line("network").ends_with("# default"), "{out}");
    assert!(line("chain_endpoint").contains("wss://rpc.example:443/<redacted>"), "{out}");
    assert!(!out.stdout.contains("APIKEY123") && !out.stdout.contains("SECRET456"), "the API key was printed\n{out}");

    // A malformed value: exit 2 naming the key, the file and the line.
    std::fs::write(&file, "subnet = 3\n\n[devices.cpu]\nthreads = \"many\"\n").unwrap();
    let bad = run(regsolver(&["config", "check", "--config", &config])).await;
    assert_eq!(bad.code, 2, "{bad}");
    assert!(bad.stderr.contains("devices.cpu.threads") && bad.stderr.contains(&config) && bad.stderr.contains("line 4"), "{bad}");
    // The daemon refuses the same file the same way, before anything else.
    let bad = run(regsolver(&["--config", &config])).await;
    assert_eq!(bad.code, 2, "{bad}");
    assert!(bad.stderr.contains("devices.cpu.threads") && bad.stderr.contains("line 4"), "{bad}");
}

#[tokio::test]
async fn unreadable_password_files_and_malformed_keyfiles_exit_2_before_connecting() {
    let dir = temp();
    wallet(dir.path(), 2);
    let url = unreachable_url();
    // The faucet needs the coldkey: a password file that is missing, or a folder, is refused at
    // once (exit 2 naming it), not after a connection.
    let missing = dir.path().join("no-such-password");
    let folder = dir.path().join("a-folder");
    std::fs::create_dir(&folder).unwrap();
    for password in [&missing, &folder] {
        let file = password.display().to_string();
        let out = run(command(
            &["faucet"],
            &url,
            dir.path(),
            &["--threads", "1", "--connect-deadline", "30", "--coldkey-password-file", &file],
            &[],
        ))
        .await;
        assert_eq!(out.code, 2, "{out}");
        assert!(out.stderr.contains(&file) && out.stderr.contains("password"), "{out}");
        assert!(!out.stderr.contains("retrying"), "it tried to connect first\n{out}");
    }
    // A hotkey keyfile that is not JSON.
    std::fs::write(dir.path().join("w").join("hotkeys").join("h1"), "{ not json").unwrap();
    let out =
        run(daemon(&url, dir.path(), &["--subnet", "1", "--wallet.hotkey", "h1", "--threads", "1", "--connect-deadline", "30"])).await;
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("h1") && !out.stderr.contains("retrying"), "{out}");
}

// ---- 9. a device failing mid-run (simulated CUDA driver) ----

#[cfg(feature = "cuda")]
#[tokio::test]
async fn a_gpu_failing_mid_run_is_disabled_alone_and_the_daemon_still_registers() {
    let Some(driver) = crate::support::simulated_driver() else { return };
    let node = chain().await;
    let dir = temp();
    wallet(dir.path(), 1);
    node.prepare_pow_subnet(1, NEVER, &[hotkey_public(0)]).await.unwrap();
    let metrics = format!("127.0.0.1:{}", free_port());
    let library_path = crate::support::library_path_with(driver);
    let mut command = daemon(&node.url(), dir.path(), &["--subnet", "1", "--wallet.hotkey", "h0", "--gpu", "all", "--metrics", &metrics]);
    // Two simulated GPUs; cuda:1 passes its self-test (9 launches), then its launches fail.
    command
        .env("LD_LIBRARY_PATH", library_path)
        .env("REGSOLVER_CACHE_DIR", dir.path().join("kernel-cache"))
        .env("REGSOLVER_SIM_FAIL", "1:9");
    let mut d = Running::start(command);
    d.wait_for("cuda:1 disabled", |_, err| err.lines().any(|l| l.contains("device disabled") && l.contains("cuda:1"))).await;
    let disabled = d.stderr().lines().find(|l| l.contains("device disabled")).unwrap_or_default().to_owned();
    assert!(disabled.contains("CUDA_ERROR_LAUNCH_FAILED"), "{disabled}");
    let seals = |s: &str| sample(s, "regsolver_seals_tried_total", &[("device", "cuda:0")]).unwrap_or(0.0);
    let scrape = scrape_until(&metrics, "cuda:1 down", |s| sample(s, "regsolver_device_up", &[("device", "cuda:1")]) == Some(0.0)).await;
    assert_eq!(sample(&scrape, "regsolver_device_up", &[("device", "cuda:0")]), Some(1.0), "{scrape}");
    let before = seals(&scrape);
    scrape_until(&metrics, "cuda:0 still hashing", |s| seals(s) > before).await;
    assert!(!d.stderr().lines().any(|l| l.contains("device disabled") && l.contains("cuda:0")), "{}", d.stderr());

    node.prepare_pow_subnet(1, EASY, &[hotkey_public(0)]).await.unwrap();
    node.new_block().await.unwrap();
    let run = d.finish().await;
    assert_eq!(run.code, 0, "{run}");
    assert!(node.registered_uid(1, hotkey_public(0)).await.unwrap().is_some(), "{run}");
    let solutions = run.events("solution");
    assert!(solutions.iter().all(|s| s["device"] == "cuda:0"), "{run}");
}

// ---- 10. a full disk for the logs ----

#[tokio::test]
async fn logs_on_a_full_disk_lose_the_words_not_the_exit_code() {
    let dir = temp();
    wallet(dir.path(), 1);
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").expect("open /dev/full");
    let mut command =
        daemon(&unreachable_url(), dir.path(), &["--subnet", "1", "--wallet.hotkey", "h0", "--threads", "1", "--connect-deadline", "3"]);
    command.stderr(std::process::Stdio::from(full));
    let out = run(command).await;
    assert_eq!(out.code, 5, "exit 5 (unreachable), not a panic (101) or an abort\n{out}");
    let error: Value = out.stdout.lines().rev().find_map(|l| serde_json::from_str(l).ok()).unwrap_or_else(|| panic!("{out}"));
    assert_eq!(error["code"], 5, "{out}");
}

// ---- 11. key hygiene ----

/// A copy of the wallet `tests/data/wallets/<name>` under `root` (secret files 0600).
fn copy_wallet(name: &str, root: &Path) {
    let from = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/wallets").join(name);
    let to = root.join(name);
    std::fs::create_dir_all(to.join("hotkeys")).unwrap();
    for file in ["coldkey", "coldkeypub.txt", "hotkeys/default", "hotkeys/defaultpub.txt"] {
        std::fs::copy(from.join(file), to.join(file)).unwrap();
        if !file.ends_with("pub.txt") {
            std::fs::set_permissions(to.join(file), std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        }
    }
}

/// Every secret a keyfile's JSON holds, as text that must never be printed (lower case: the
/// search is case-insensitive): hex with and without 0x, the mnemonic, and every run of three of
/// its words.
fn secrets_of(keyfile: &Value) -> Vec<String> {
    let mut secrets = Vec::new();
    for field in ["secretSeed", "privateKey"] {
        if let Some(hex) = keyfile[field].as_str() {
            let bare = hex.trim_start_matches("0x").to_ascii_lowercase();
            assert!(bare.len() >= 64, "{field} is not a secret's hex");
            secrets.push(format!("0x{bare}"));
            // The 64-byte private key's halves are secrets on their own.
            secrets.extend(bare.as_bytes().chunks(64).map(|c| String::from_utf8_lossy(c).into_owned()));
        }
    }
    if let Some(phrase) = keyfile["secretPhrase"].as_str() {
        let words: Vec<&str> = phrase.split_whitespace().collect();
        assert!(words.len() >= 12, "a mnemonic wallet");
        secrets.push(phrase.to_ascii_lowercase());
        secrets.extend(words.windows(3).map(|w| w.join(" ").to_ascii_lowercase()));
    }
    secrets
}

#[tokio::test]
async fn a_full_run_with_trace_logs_prints_no_secret() {
    let node = chain().await;
    let dir = temp();
    copy_wallet("mnemonic", dir.path());
    let expected: Value = serde_json::from_str(include_str!("../data/wallets/expected.json")).unwrap();
    let password = expected["mnemonic"]["coldkey_password"].as_str().unwrap();
    let password_file = dir.path().join("coldkey-password");
    std::fs::write(&password_file, format!("{password}\n")).unwrap();
    let wallet_dir = dir.path().join("mnemonic");
    let hotkey_file: Value = serde_json::from_slice(&std::fs::read(wallet_dir.join("hotkeys/default")).unwrap()).unwrap();
    let coldkey_clear = regsolver::wallet::nacl::decrypt(&std::fs::read(wallet_dir.join("coldkey")).unwrap(), password.as_bytes()).unwrap();
    let coldkey_file: Value = serde_json::from_slice(&coldkey_clear).unwrap();
    let mut secrets = secrets_of(&hotkey_file);
    secrets.extend(secrets_of(&coldkey_file));
    secrets.push(password.to_ascii_lowercase());

    let coldkey = regsolver::pow::ss58::parse_hex::<32>(expected["mnemonic"]["coldkey_public"].as_str().unwrap()).unwrap();
    let hotkey = regsolver::pow::ss58::parse_hex::<32>(expected["mnemonic"]["hotkey_public"].as_str().unwrap()).unwrap();
    node.prepare_pow_subnet(1, EASY, &[coldkey, hotkey]).await.unwrap();
    let root = dir.path().display().to_string();
    let pw = password_file.display().to_string();
    let common = ["--network", "local", "--chain-endpoint", &node.url(), "--wallet.path", &root, "--wallet.name", "mnemonic"];
    let traced = |args: Vec<&str>| {
        let mut command = regsolver(&args);
        command.env("REGSOLVER_LOG", "trace");
        command
    };
    let mut faucet = vec!["faucet"];
    faucet.extend(common);
    faucet.extend(["--coldkey-password-file", &pw, "--threads", "2", "--json", "--log-format", "json"]);
    // Spec 293 has the `faucet` call but was built without the pow-faucet feature: the run
    // decrypts the coldkey, solves, signs with it and submits; the runtime answers FaucetDisabled.
    let faucet = run(traced(faucet)).await;
    assert!(!faucet.events("submitting").is_empty() && !faucet.events("outcome").is_empty(), "the coldkey signed a submission\n{faucet}");
    assert!(faucet.code == 0 || (faucet.code == 1 && faucet.stderr.contains("FaucetDisabled")), "{faucet}");
    let mut register = common.to_vec();
    register.extend([
        "--subnet",
        "1",
        "--wallet.hotkey",
        "default",
        "--coldkey-password-file",
        &pw,
        "--threads",
        "2",
        "--json",
        "--log-format",
        "json",
    ]);
    let register = run(traced(register)).await;
    assert_eq!(register.code, 0, "{register}");
    assert!(node.registered_uid(1, hotkey).await.unwrap().is_some(), "{register}");

    for (name, out) in [("faucet", &faucet), ("registration", &register)] {
        // Every log line is JSON (the final `error:` line is main's, written after logging).
        let not_json: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with("error: ") && serde_json::from_str::<Value>(l).is_err())
            .collect();
        assert!(not_json.is_empty(), "{name}: log lines that are not JSON: {not_json:?}");
        assert!(out.stderr.contains("TRACE") || out.stderr.contains("DEBUG"), "{name}: trace logs were on");
        let printed = format!("{}\n{}", out.stdout, out.stderr).to_ascii_lowercase();
        for secret in &secrets {
            assert!(!printed.contains(secret.as_str()), "{name} printed a secret ({} chars)", secret.len());
        }
    }
}

// ---- 12. root ----

#[tokio::test]
async fn root_is_refused_without_allow_root() {
    let dir = temp();
    wallet(dir.path(), 1);
    let url = unreachable_url();
    let args = ["--subnet", "1", "--wallet.hotkey", "h0", "--threads", "1", "--connect-deadline", "2"];
    let mut command = daemon(&url, dir.path(), &args);
    // The host's rule (root inside a container is allowed: tests/it/first_hour.rs).
    command.env_remove("REGSOLVER_ALLOW_ROOT").env("REGSOLVER_CONTAINER", "0");
    let out = run(command).await;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        assert_eq!(out.code, 2, "{out}");
        assert!(out.stderr.contains("refusing to run as root") && out.stderr.contains("--allow-root"), "{out}");
        assert!(!out.stderr.contains("retrying"), "{out}");
        // --allow-root lets it run (to the unreachable endpoint: exit 5).
        let mut allowed = args.to_vec();
        allowed.push("--allow-root");
        let mut command = daemon(&url, dir.path(), &allowed);
        command.env_remove("REGSOLVER_ALLOW_ROOT").env("REGSOLVER_CONTAINER", "0");
        let out = run(command).await;
        assert_eq!(out.code, 5, "{out}");
    } else {
        assert_eq!(out.code, 5, "not refused: it ran to the unreachable endpoint\n{out}");
        assert!(!out.stderr.contains("refusing to run as root"), "{out}");
    }
}
