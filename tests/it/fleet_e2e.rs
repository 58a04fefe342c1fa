//! Fleets end to end: the `regsolver` binary as a coordinator (`--serve`, no local devices) and
//! as `regsolver worker` processes, against a real subtensor runtime (spec 293) under
//! chopsticks. Every registration is read back from the chain (Uids, the signed extrinsics in
//! the blocks); every solution's device shows it came from a worker; hostile clients meet the
//! real coordinator process, which must stay up and send nothing unverified. Also two
//! independent daemons sharing three hotkeys through the chain alone.

use crate::support::{self, chopsticks, daemon_run, hostile, process, test_wallet};

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chopsticks::{BlockMode, Chopsticks, Spec};
use daemon_run::{target_args, EASY, NEVER as HARD};
use futures::{SinkExt, StreamExt};
use jsonrpsee::core::client::Error as ClientError;
use jsonrpsee::ws_client::WsClientBuilder;
use process::{events, free_port, Running, LIMIT, STOP_LIMIT};
use regsolver::fleet::protocol::{codes, FleetApiClient};
use regsolver::fleet::PROTOCOL_VERSION;
use test_wallet::{hotkey_public, wallet};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const TOKEN: &str = "fleet-test-token-7f3a";

async fn chain() -> Chopsticks {
    daemon_run::chain(Spec::S293, BlockMode::Instant).await
}

/// A `regsolver` process of this test by its role (`coordinator`, `worker rig-a`), which must
/// never print the fleet token either.
fn spawn(label: &str, args: &[String]) -> Running {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Running::start(process::regsolver(&args)).labelled(label).keeping(TOKEN)
}

/// SIGKILL: the process dies at once, as on a crash or a power cut.
async fn crash(process: &mut Running) {
    process.signal(libc::SIGKILL);
    process.exit_code(STOP_LIMIT).await;
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

/// The daemon's flags for the test chain and wallet, JSON events on stdout.
fn daemon_args(node: &Chopsticks, root: &Path, hotkeys: &str) -> Vec<String> {
    let mut args = target_args(&node.url(), root);
    args.extend(strings(&["--wallet.hotkeys", hotkeys, "--subnet", "1", "--connect-timeout", "20"]));
    args
}

/// A coordinator: the daemon with `--serve` on `port` and no local device.
fn coordinator(node: &Chopsticks, root: &Path, hotkeys: &str, port: u16, extra: &[&str]) -> Running {
    let mut args = daemon_args(node, root, hotkeys);
    args.extend(strings(&["--serve", &format!("127.0.0.1:{port}"), "--no-local-devices"]));
    args.extend(strings(extra));
    spawn("coordinator", &args)
}

fn worker(url: &str, name: &str, extra: &[String]) -> Running {
    let mut args = strings(&["worker", "--connect", url, "--name", name]);
    args.extend(extra.iter().cloned());
    spawn(&format!("worker {name}"), &args)
}

fn token_file(dir: &Path) -> PathBuf {
    let path = dir.join("fleet.token");
    std::fs::write(&path, format!("{TOKEN}\n")).expect("write the token file");
    path
}

/// The device flags of the third worker: PoCL's OpenCL CPU device when an OpenCL runtime is
/// installed (required with REGSOLVER_REQUIRE_OPENCL=1), else the CPU with one thread, loudly.
fn opencl_or_cpu() -> Vec<String> {
    #[cfg(feature = "opencl")]
    if regsolver::solver::opencl::list().is_ok_and(|list| !list.is_empty()) {
        return strings(&["--opencl", "all"]);
    }
    support::skip_or_fail(
        "REGSOLVER_REQUIRE_OPENCL",
        "no OpenCL device (install pocl-opencl-icd): the third worker runs on the CPU instead",
    );
    strings(&["--threads", "1"])
}

/// Every hotkey's UID, read from the chain: all present and distinct.
async fn uids(node: &Chopsticks, count: u8, context: &str) -> Vec<u16> {
    let mut uids = Vec::new();
    for i in 0..count {
        let uid = node.registered_uid(1, hotkey_public(i)).await.unwrap();
        uids.push(uid.unwrap_or_else(|| panic!("hotkey h{i} is not registered on chain\n{context}")));
    }
    let mut distinct = uids.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), uids.len(), "UIDs are not distinct: {uids:?}\n{context}");
    uids
}

/// A throw-away CA and a server certificate for 127.0.0.1 and localhost it signed, as PEM files:
/// (ca.pem, cert.pem, key.pem).
fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "regsolver test CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let server_key = rcgen::KeyPair::generate().unwrap();
    let server =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap().signed_by(&server_key, &ca).unwrap();
    let paths = (dir.join("ca.pem"), dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&paths.0, ca.pem()).unwrap();
    std::fs::write(&paths.1, server.pem()).unwrap();
    std::fs::write(&paths.2, server_key.serialize_pem()).unwrap();
    (paths.0, paths.1, paths.2)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coordinator_over_tls_and_three_workers_register_three_hotkeys_each_once() {
    let node = chain().await;
    let dir = tempfile::tempdir().expect("temp dir");
    wallet(dir.path(), 3);
    let keys: Vec<[u8; 32]> = (0..3).map(hotkey_public).collect();
    node.prepare_pow_subnet(1, EASY, &keys).await.expect("prepare subnet 1");
    let start = node.best_number().await.unwrap();
    let (ca, cert, key) = certificates(dir.path());
    let token = token_file(dir.path());
    let port = free_port();
    let (cert, key, token, ca) =
        (cert.display().to_string(), key.display().to_string(), token.display().to_string(), ca.display().to_string());
    let mut coord = coordinator(&node, dir.path(), "h0,h1,h2", port, &["--token-file", &token, "--tls-cert", &cert, "--tls-key", &key]);
    coord.wait_for("the coordinator listening", |_, err| err.contains("fleet coordinator listening")).await;
    let url = format!("wss://127.0.0.1:{port}");
    let common = strings(&["--token-file", &token, "--ca", &ca]);
    let with = |devices: Vec<String>| [common.clone(), devices].concat();
    let mut workers = vec![
        worker(&url, "cpu-1", &with(strings(&["--threads", "1"]))),
        worker(&url, "cpu-2", &with(strings(&["--threads", "2"]))),
        worker(&url, "opencl", &with(opencl_or_cpu())),
    ];
    let code = coord.exit_code(LIMIT).await;
    let context = [coord.dump(), workers.iter().map(Running::dump).collect::<Vec<_>>().join("\n")].join("\n");
    assert_eq!(code, 0, "{context}");
    uids(&node, 3, &context).await;
    assert_eq!(coord.events("registered").len(), 3, "three registered in this run\n{context}");
    let solutions = coord.events("solution");
    assert!(!solutions.is_empty(), "{context}");
    for solution in &solutions {
        let device = solution["device"].as_str().unwrap_or_default();
        assert!(device.starts_with("fleet:"), "a solution not from a worker: {solution}\n{context}");
    }
    // Exactly three signed extrinsics reached the chain: one registration per hotkey.
    let sent = node.sent_since(start).await.unwrap();
    assert_eq!(sent.in_blocks.len(), 3, "{sent:?}\n{context}");
    assert!(sent.pending.is_empty(), "{sent:?}");
    for w in &mut workers {
        assert!(w.logged("following the coordinator") > 0, "{}", w.dump());
        assert!(w.logged("running job") > 0, "{}", w.dump());
        assert_eq!(w.interrupt().await, 0, "a worker stops cleanly on SIGINT\n{}", w.dump());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_follow_a_restarted_coordinator_and_carry_on_without_a_killed_one() {
    let node = chain().await;
    let dir = tempfile::tempdir().expect("temp dir");
    wallet(dir.path(), 1);
    node.prepare_pow_subnet(1, HARD, &[hotkey_public(0)]).await.expect("prepare subnet 1");
    let port = free_port();
    let url = format!("ws://127.0.0.1:{port}");
    let mut first = coordinator(&node, dir.path(), "h0", port, &[]);
    first.wait_for("the first job", |out, _| !events(out, "job").is_empty()).await;
    let mut doomed = worker(&url, "doomed", &strings(&["--threads", "1"]));
    let mut survivor = worker(&url, "survivor", &strings(&["--threads", "1"]));
    doomed.wait_for("the job", |_, err| err.contains("running job")).await;
    survivor.wait_for("the job", |_, err| err.contains("running job")).await;
    // Mid-search: one worker dies, then the coordinator.
    crash(&mut doomed).await;
    crash(&mut first).await;
    survivor.wait_for("noticing the coordinator is gone", |_, err| err.contains("lost the coordinator")).await;
    assert!(survivor.running(), "{}", survivor.dump());
    node.prepare_pow_subnet(1, EASY, &[hotkey_public(0)]).await.expect("make it solvable");
    let mut second = coordinator(&node, dir.path(), "h0", port, &[]);
    let code = second.exit_code(LIMIT).await;
    let context = [first.dump(), second.dump(), survivor.dump(), doomed.dump()].join("\n");
    assert_eq!(code, 0, "{context}");
    uids(&node, 1, &context).await;
    let solutions = second.events("solution");
    assert!(!solutions.is_empty() && solutions.iter().all(|s| s["device"] == "fleet:survivor"), "{context}");
    assert!(survivor.logged("following the coordinator") >= 2, "the survivor reconnected\n{context}");
    assert_eq!(survivor.interrupt().await, 0, "{}", survivor.dump());
}

/// The error of a call the coordinator refused.
/// A raw WebSocket to the coordinator.
type Raw = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next frame that is not the coordinator's keep-alive ping (or a pong).
async fn next_frame(raw: &mut Raw) -> Option<Result<Message, tokio_tungstenite::tungstenite::Error>> {
    loop {
        match raw.next().await {
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => return other,
        }
    }
}

fn call_code(err: ClientError) -> i32 {
    match err {
        ClientError::Call(call) => call.code(),
        other => panic!("expected a JSON-RPC error, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_clients_are_refused_or_counted_and_the_coordinator_stays_up_sending_nothing() {
    let node = chain().await;
    let dir = tempfile::tempdir().expect("temp dir");
    wallet(dir.path(), 1);
    node.prepare_pow_subnet(1, HARD, &[hotkey_public(0)]).await.expect("prepare subnet 1");
    let start = node.best_number().await.unwrap();
    let token = token_file(dir.path()).display().to_string();
    let port = free_port();
    let url = format!("ws://127.0.0.1:{port}");
    let mut coord = coordinator(&node, dir.path(), "h0", port, &["--token-file", &token]);
    coord.wait_for("the first job", |out, _| !events(out, "job").is_empty()).await;

    let client = |bearer: Option<&str>| {
        let mut headers = http::HeaderMap::new();
        if let Some(bearer) = bearer {
            headers.insert(http::header::AUTHORIZATION, format!("Bearer {bearer}").parse().unwrap());
        }
        WsClientBuilder::default().set_headers(headers).request_timeout(Duration::from_secs(20)).build(url.clone())
    };
    // Wrong and missing token: refused before the upgrade.
    for bearer in [Some("not-the-token"), None] {
        let err = client(bearer).await.expect_err("refused");
        assert!(err.to_string().contains("401"), "{err}");
    }
    // A worker process with the wrong token ends with a clear error.
    let wrong = dir.path().join("wrong.token");
    std::fs::write(&wrong, "wrong-token").unwrap();
    let mut refused = worker(&url, "wrong-token", &strings(&["--threads", "1", "--token-file", &wrong.display().to_string()]));
    assert_ne!(refused.exit_code(LIMIT).await, 0, "{}", refused.dump());
    assert!(refused.logged("refused the token") > 0, "{}", refused.dump());

    // Another protocol version: refused, both versions named.
    let other = client(Some(TOKEN)).await.expect("connect");
    let err = other.hello(PROTOCOL_VERSION + 1, "future".into(), vec![]).await.expect_err("refused");
    assert!(err.to_string().contains(&format!("version {}", PROTOCOL_VERSION + 1)), "{err}");
    assert_eq!(call_code(err), codes::VERSION_MISMATCH);

    // Malformed JSON: a parse error; an oversized message: the connection is closed.
    let mut request = url.as_str().into_client_request().unwrap();
    request.headers_mut().insert(http::header::AUTHORIZATION, format!("Bearer {TOKEN}").parse().unwrap());
    let (mut raw, _) = tokio_tungstenite::connect_async(request.clone()).await.expect("raw connect");
    raw.send(Message::text("{\"jsonrpc\": \"2.0\", \"method\": ")).await.unwrap();
    let reply = tokio::time::timeout(LIMIT, next_frame(&mut raw)).await.expect("a reply").expect("open").expect("a frame");
    let reply: serde_json::Value = serde_json::from_str(reply.to_text().unwrap()).expect("JSON");
    assert_eq!(reply["error"]["code"], -32700, "{reply}");
    let (mut raw, _) = tokio_tungstenite::connect_async(request).await.expect("raw connect");
    let huge = format!("{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"fleet_hello\",\"params\":[1,\"{}\",[]]}}", "x".repeat(1 << 20));
    let _ = raw.send(Message::text(huge)).await;
    // Refused unread: jsonrpsee answers "Request is too big" (-32007) or closes; never runs it.
    match tokio::time::timeout(LIMIT, next_frame(&mut raw)).await.expect("an answer to an oversized message") {
        None | Some(Err(_)) | Some(Ok(Message::Close(_))) => {}
        Some(Ok(frame)) => {
            let reply: serde_json::Value = serde_json::from_str(frame.to_text().unwrap_or_default()).expect("JSON");
            assert_eq!(reply["error"]["code"], -32007, "too big: {reply}");
        }
    }

    // A liar: every nonce it sends fails the coordinator's CPU check; counted, then disconnected.
    let liar = client(Some(TOKEN)).await.expect("connect");
    liar.hello(PROTOCOL_VERSION, "liar".into(), vec!["cpu".into()]).await.expect("hello");
    let mut jobs = liar.subscribe_jobs().await.expect("subscribe");
    let job = hostile::first_job(&mut jobs).await;
    let mut invalid = 0;
    let refusal = loop {
        let nonces: Vec<u64> = (0..4).map(|i| job.start_position.wrapping_add(invalid + i)).collect();
        match liar.submit_candidates(job.job_id, nonces).await {
            Ok(receipt) => {
                assert_eq!((receipt.forwarded, receipt.stale), (0, 0), "{receipt:?}");
                invalid += u64::from(receipt.invalid);
                assert!(invalid <= 64, "never disconnected");
            }
            Err(err) => break err,
        }
    };
    assert!(invalid > 0 && refusal.to_string().contains("failed verification"), "{refusal}");
    coord
        .wait_for("the liar logged with its address", |_, err| err.contains("disconnecting a worker past the compute-error threshold"))
        .await;

    // An honest worker still joins, and `status --fleet` lists it.
    let mut honest = worker(&url, "honest", &strings(&["--threads", "1", "--token-file", &token]));
    honest.wait_for("the job", |_, err| err.contains("running job")).await;
    let mut status_args = strings(&["status", "--network", "local", "--chain-endpoint", &node.url(), "--wallet.path"]);
    status_args.push(dir.path().display().to_string());
    status_args.extend(strings(&["--wallet.name", "w", "--wallet.hotkey", "h0", "--subnet", "1", "--threads", "1"]));
    status_args.extend(strings(&["--measure-seconds", "0.2", "--fleet", &url, "--fleet-token-file", &token]));
    let mut status = spawn("status", &status_args);
    assert_eq!(status.exit_code(LIMIT).await, 0, "{}", status.dump());
    let text = status.stdout();
    assert!(text.contains(&format!("fleet {url}: 1 worker")) && text.contains("honest"), "{}", status.dump());
    status_args.push("--json".into());
    let mut status = spawn("status --json", &status_args);
    assert_eq!(status.exit_code(LIMIT).await, 0, "{}", status.dump());
    let report: serde_json::Value = serde_json::from_str(status.stdout().lines().last().expect("a line")).expect("one JSON object");
    assert_eq!(report["fleet"][0]["name"], "honest", "{report}");
    // `--fleet` alone (no subnet): only the coordinator is asked; no wallet, chain or device.
    let mut fleet_only =
        spawn("status --fleet", &strings(&["status", "--wallet.path", "/nonexistent", "--fleet", &url, "--fleet-token-file", &token]));
    assert_eq!(fleet_only.exit_code(LIMIT).await, 0, "{}", fleet_only.dump());
    let text = fleet_only.stdout();
    assert!(
        text.contains(&format!("fleet {url}: 1 worker")) && text.contains("honest") && !text.contains("subnet"),
        "{}",
        fleet_only.dump()
    );

    assert!(coord.running(), "the coordinator survived every hostile client\n{}", coord.dump());
    let sent = node.sent_since(start).await.unwrap();
    assert!(sent.is_empty(), "the coordinator sent something: {sent:?}\n{}", coord.dump());
    assert_eq!(honest.interrupt().await, 0, "{}", honest.dump());
    assert_eq!(coord.interrupt().await, 0, "{}", coord.dump());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_independent_daemons_share_three_hotkeys_through_the_chain() {
    let node = chain().await;
    let dir = tempfile::tempdir().expect("temp dir");
    wallet(dir.path(), 3);
    let keys: Vec<[u8; 32]> = (0..3).map(hotkey_public).collect();
    node.prepare_pow_subnet(1, EASY, &keys).await.expect("prepare subnet 1");
    let rig = |label: &str| {
        let mut args = daemon_args(&node, dir.path(), "h0,h1,h2");
        args.extend(strings(&["--threads", "1"]));
        spawn(label, &args)
    };
    let (mut a, mut b) = (rig("rig a"), rig("rig b"));
    let (code_a, code_b) = (a.exit_code(LIMIT).await, b.exit_code(LIMIT).await);
    let context = [a.dump(), b.dump()].join("\n");
    assert_eq!((code_a, code_b), (0, 0), "{context}");
    uids(&node, 3, &context).await;
    let registered = a.events("registered").len() + b.events("registered").len();
    assert_eq!(registered, 3, "each hotkey registered exactly once between the two\n{context}");
}

#[tokio::test]
async fn the_worker_command_refuses_bad_input_and_retries_an_unreachable_coordinator() {
    let mut bad = worker("http://127.0.0.1:1", "bad", &strings(&["--threads", "1"]));
    assert_eq!(bad.exit_code(LIMIT).await, 2, "{}", bad.dump());
    assert!(bad.logged("ws:// or wss://") > 0, "{}", bad.dump());
    let dir = tempfile::tempdir().expect("temp dir");
    let (ca, _, _) = certificates(dir.path());
    let mut plain_ca = worker("ws://127.0.0.1:1", "ca", &strings(&["--threads", "1", "--ca", &ca.display().to_string()]));
    assert_eq!(plain_ca.exit_code(LIMIT).await, 2, "{}", plain_ca.dump());
    // Nothing listens on this port: the worker says so, retries with backoff, and stops on SIGINT.
    let port = free_port();
    let mut waiting = worker(&format!("ws://127.0.0.1:{port}"), "waiting", &strings(&["--threads", "1"]));
    waiting.wait_for("two attempts", |_, err| err.matches("cannot connect to coordinator").count() >= 2).await;
    assert!(waiting.logged("retrying in") >= 2, "{}", waiting.dump());
    assert_eq!(waiting.interrupt().await, 0, "{}", waiting.dump());
}

#[tokio::test]
async fn a_tls_coordinator_takes_only_wss_clients_that_trust_its_ca() {
    use regsolver::fleet::{tls, Coordinator, Limits, RemoteCandidate};
    let dir = tempfile::tempdir().expect("temp dir");
    let (ca, cert, key) = certificates(dir.path());
    let config = tls::server_config(&cert, &key).expect("the test certificate makes a server identity");
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel::<RemoteCandidate>();
    let addr = "127.0.0.1:0".parse().unwrap();
    let coordinator = Coordinator::serve_tls(addr, None, Some(config), Vec::new(), Limits::default(), Arc::new(tx)).await.expect("serve");
    let port = coordinator.local_addr().port();
    let timeout = Duration::from_secs(20);
    // Trusting the CA: served.
    let trusted = WsClientBuilder::default()
        .request_timeout(timeout)
        .with_custom_cert_store(tls::client_config(&ca).expect("CA"))
        .build(format!("wss://127.0.0.1:{port}"))
        .await
        .expect("wss with the CA");
    let welcome = trusted.hello(PROTOCOL_VERSION, "tls".into(), vec!["cpu".into()]).await.expect("hello over TLS");
    assert!(welcome.slice_index >= 1);
    // The system's roots do not hold the test CA; plain ws:// does not speak TLS.
    let untrusted = WsClientBuilder::default().connection_timeout(timeout).build(format!("wss://127.0.0.1:{port}")).await;
    assert!(untrusted.is_err(), "a certificate from an unknown CA was accepted");
    let plain = WsClientBuilder::default().connection_timeout(timeout).build(format!("ws://127.0.0.1:{port}")).await;
    assert!(plain.is_err(), "plain ws:// was served by a TLS coordinator");
    // Still serving after both refusals.
    assert_eq!(coordinator.workers().len(), 1);
    let rows: Vec<serde_json::Value> = serde_json::from_str(trusted.workers().await.expect("fleet_workers").get()).expect("a list");
    assert!(rows.iter().any(|w| w["name"] == "tls"));
    // A key that is not the certificate's is refused at start, naming the files.
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).expect("create a folder");
    let (_, _, other_key) = certificates(&other);
    let err = tls::server_config(&cert, &other_key).expect_err("mismatched key");
    assert!(err.to_string().contains("cert.pem"), "{err}");
    coordinator.shutdown().await;
}

#[tokio::test]
async fn coordinator_flags_are_checked_before_anything_starts() {
    let dir = tempfile::tempdir().expect("temp dir");
    wallet(dir.path(), 1);
    let token = token_file(dir.path()).display().to_string();
    let base = |extra: &[&str]| {
        let mut args = strings(&["--network", "local", "--chain-endpoint", "ws://127.0.0.1:1", "--wallet.path"]);
        args.push(dir.path().display().to_string());
        args.extend(strings(&["--wallet.name", "w", "--wallet.hotkey", "h0", "--subnet", "1", "--threads", "1"]));
        args.extend(strings(extra));
        args
    };
    let cases: [(&[&str], &str); 4] = [
        (
            &["--token-file", &token],
            "`serve.token_file`: is for a fleet coordinator: set serve.address (--serve [ADDR]) (from flag --token-file)",
        ),
        (&["--no-local-devices"], "`serve.local_devices`: is for a fleet coordinator"),
        (&["--serve", "--tls-cert", &token], "(--tls-cert, --tls-key) go together"),
        // Off loopback a token is required; refused before binding anything.
        (&["--serve", "0.0.0.0:7733"], "without a token"),
    ];
    for (extra, message) in cases {
        let mut run = spawn("coordinator flags", &base(extra));
        assert_eq!(run.exit_code(LIMIT).await, 2, "{extra:?}\n{}", run.dump());
        assert!(run.logged(message) > 0, "expected '{message}'\n{}", run.dump());
    }
}
