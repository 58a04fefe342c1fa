//! The fleet in-process: a real coordinator on a free loopback port, real workers on real CPU
//! pools, and hostile clients (wrong token, other version, oversized, malformed, lying).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonrpsee::core::client::Error as ClientError;
use jsonrpsee::ws_client::{WsClient, WsClientBuilder};
use regsolver::fleet::protocol::{codes, FleetApiClient, SLICE_BITS};
use regsolver::fleet::{
    run_worker, Coordinator, DeviceRate, FleetError, FleetJob, Found, Limits, LocalPool, RemoteCandidate, Token, WorkerConfig,
    PROTOCOL_VERSION,
};
use regsolver::pow::hotloop::HotLoop;
use regsolver::pow::{ByteOrder, Challenge, Scheme, Target};
use regsolver::solver::cpu::{CpuDevice, SimdLevel};
use regsolver::solver::pool::{JobId, Pool, Verdict, VerdictReceiver};
use regsolver::solver::{Backend, WorkerSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// Every wait in these tests ends by this bound.
const BOUND: Duration = Duration::from_secs(60);

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn legacy_job(seed: u8, difficulty: u64) -> HotLoop {
    HotLoop::new(Challenge::legacy(&[seed; 32], &[seed ^ 0x5a; 32]), Target::from_difficulty(difficulty).unwrap(), ByteOrder::Little)
}

async fn coordinator(token: Option<Token>, limits: Limits) -> (Coordinator, mpsc::UnboundedReceiver<RemoteCandidate>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let coordinator = Coordinator::serve(loopback(), token, limits, Arc::new(tx)).await.unwrap();
    (coordinator, rx)
}

/// A real one-thread CPU pool, self-tested (so its device has its tag), and its verdict queue.
async fn cpu_pool() -> (Arc<Pool>, VerdictReceiver) {
    let pool = Pool::start(vec![WorkerSpec {
        backend: Backend::Cpu,
        name: "cpu".into(),
        build: Box::new(|| Ok(Box::new(CpuDevice::new(SimdLevel::best(), 0)) as _)),
    }]);
    until("the CPU self-test", || pool.all_settled()).await;
    let verdicts = pool.verdicts();
    (Arc::new(pool), verdicts)
}

fn config(coordinator: &Coordinator, token: Option<Token>, name: &str) -> WorkerConfig {
    let mut config = WorkerConfig::new(format!("ws://{}", coordinator.local_addr()), token, name);
    config.report_interval = Duration::from_millis(200);
    config.backoff_initial = Duration::from_millis(200);
    config.backoff_max = Duration::from_secs(2);
    config
}

async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + BOUND;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn next_candidate(rx: &mut mpsc::UnboundedReceiver<RemoteCandidate>) -> RemoteCandidate {
    tokio::time::timeout(BOUND, rx.recv()).await.expect("a candidate in time").expect("sink open")
}

async fn next_verdict(verdicts: &mut VerdictReceiver) -> Verdict {
    tokio::time::timeout(BOUND, verdicts.recv()).await.expect("a verdict in time").expect("the pool runs")
}

async fn raw_client(coordinator: &Coordinator, token: Option<&str>) -> Result<WsClient, ClientError> {
    let mut headers = http::HeaderMap::new();
    if let Some(token) = token {
        headers.insert(http::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
    }
    WsClientBuilder::default()
        .set_headers(headers)
        .max_request_size(16 << 20)
        .request_timeout(Duration::from_secs(10))
        .connection_timeout(Duration::from_secs(10))
        .build(format!("ws://{}", coordinator.local_addr()))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_solve_a_legacy_job_and_the_coordinator_receives_verified_solutions() {
    let (coordinator, mut candidates) = coordinator(None, Limits::default()).await;
    let mut workers = Vec::new();
    for name in ["rig-a", "rig-b", "rig-c"] {
        let (pool, found) = cpu_pool().await;
        workers.push(tokio::spawn(run_worker(config(&coordinator, None, name), pool, found)));
    }
    until("three workers", || coordinator.workers().len() == 3).await;
    let hot = legacy_job(1, 1 << 16);
    let base = 0x1234;
    coordinator.publish(FleetJob::new(7, Scheme::Legacy, &hot, base));

    let mut from: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    while from.len() < 3 {
        let candidate = next_candidate(&mut candidates).await;
        assert_eq!(candidate.job_id, 7);
        // The coordinator's own reference says yes, independently of anyone's pre-check.
        assert!(hot.verify(candidate.nonce).is_some(), "unverified nonce {} from {}", candidate.nonce, candidate.device);
        from.insert(candidate.device.clone(), candidate.nonce);
    }
    coordinator.idle();
    let infos = coordinator.workers();
    for info in &infos {
        // Each worker searched its own slice: position = base + slice << 56 (+ what it covered).
        let nonce = from[&format!("fleet:{}", info.name)];
        let position = hot.layout.position_of(nonce);
        assert_eq!(position.wrapping_sub(base) >> SLICE_BITS, u64::from(info.slice_index), "{} outside its slice", info.name);
        assert_eq!(info.devices, vec!["cpu:0".to_string()]);
        assert!(info.address.ip().is_loopback());
        assert_eq!(info.compute_errors, 0);
    }
    let slices: std::collections::HashSet<u32> = infos.iter().map(|i| i.slice_index).collect();
    assert_eq!(slices.len(), 3, "distinct slices");
    until("hashrate reports", || coordinator.workers().iter().all(|w| w.hashes_per_second() > 0.0)).await;
    for worker in workers {
        worker.abort();
    }
}

#[tokio::test]
async fn a_wrong_or_missing_token_is_refused_before_the_upgrade() {
    let token = Token::new("right-token").unwrap();
    let (coordinator, _candidates) = coordinator(Some(token), Limits::default()).await;
    for presented in [Some(Token::new("wrong-token").unwrap()), None] {
        let (pool, found) = RecordingPool::new();
        let outcome = tokio::time::timeout(BOUND, run_worker(config(&coordinator, presented, "intruder"), pool.clone(), found))
            .await
            .expect("bounded");
        assert!(matches!(outcome, Err(FleetError::Unauthorized { .. })), "{outcome:?}");
        assert!(pool.events().iter().all(|e| e == "clear"), "never given a job");
    }
    assert!(coordinator.workers().is_empty());
    let client = raw_client(&coordinator, Some("right-token")).await.expect("the right token connects");
    client.hello(PROTOCOL_VERSION, "ok".into(), vec![]).await.unwrap();
}

#[tokio::test]
async fn a_token_is_required_off_loopback() {
    let (tx, _rx) = mpsc::unbounded_channel::<RemoteCandidate>();
    let outcome = Coordinator::serve("0.0.0.0:0".parse().unwrap(), None, Limits::default(), Arc::new(tx)).await;
    let err = outcome.err().expect("refused");
    assert!(matches!(err, FleetError::TokenRequired { .. }));
    assert!(err.to_string().contains("serve.token_file"), "{err}");
}

#[tokio::test]
async fn another_protocol_version_is_refused_with_both_versions_named() {
    let (coordinator, _candidates) = coordinator(None, Limits::default()).await;
    let client = raw_client(&coordinator, None).await.unwrap();
    let other = PROTOCOL_VERSION + 41;
    match client.hello(other, "future".into(), vec![]).await {
        Err(ClientError::Call(err)) => {
            assert_eq!(err.code(), codes::VERSION_MISMATCH);
            assert!(err.message().contains(&format!("worker speaks version {other}")), "{}", err.message());
            assert!(err.message().contains(&format!("coordinator speaks version {PROTOCOL_VERSION}")), "{}", err.message());
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(coordinator.workers().is_empty());
    // Nothing else works before a successful hello.
    match client.submit_candidates(1, vec![1]).await {
        Err(ClientError::Call(err)) => assert_eq!(err.code(), codes::NO_HELLO),
        other => panic!("expected NO_HELLO, got {other:?}"),
    }
}

/// A WebSocket client by hand, for what no JSON-RPC client would send.
async fn raw_ws(addr: SocketAddr) -> tokio::net::TcpStream {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        assert_eq!(tokio::time::timeout(BOUND, stream.read(&mut byte)).await.unwrap().unwrap(), 1, "handshake cut short");
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&head));
    stream
}

/// Sends one masked frame (`opcode` 1 text, 2 binary).
async fn send_frame(stream: &mut tokio::net::TcpStream, opcode: u8, payload: &[u8]) {
    let mut frame = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => frame.push(0x80 | n as u8),
        n if n <= 0xffff => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    let mask = [1u8, 2, 3, 4];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    let _ = stream.write_all(&frame).await;
}

/// Reads one unmasked server frame's payload; `None` once the server closed.
async fn read_frame(stream: &mut tokio::net::TcpStream) -> Option<(u8, Vec<u8>)> {
    let read = async {
        let mut head = [0u8; 2];
        stream.read_exact(&mut head).await.ok()?;
        let len = match head[1] & 0x7f {
            126 => {
                let mut b = [0u8; 2];
                stream.read_exact(&mut b).await.ok()?;
                u64::from(u16::from_be_bytes(b))
            }
            127 => {
                let mut b = [0u8; 8];
                stream.read_exact(&mut b).await.ok()?;
                u64::from_be_bytes(b)
            }
            n => u64::from(n),
        };
        let mut payload = vec![0u8; usize::try_from(len).ok()?];
        stream.read_exact(&mut payload).await.ok()?;
        Some((head[0] & 0x0f, payload))
    };
    tokio::time::timeout(BOUND, read).await.expect("bounded read")
}

#[tokio::test]
async fn malformed_and_oversized_messages_are_refused_and_the_coordinator_carries_on() {
    let limits = Limits { max_message_bytes: 8 * 1024, ..Limits::default() };
    let (coordinator, _candidates) = coordinator(None, limits).await;

    let mut stream = raw_ws(coordinator.local_addr()).await;
    send_frame(&mut stream, 1, b"{\"jsonrpc\":\"2.0\",\"method\":\"fleet_hello\",\"id\":1,\"params\":[").await;
    let (opcode, reply) = read_frame(&mut stream).await.expect("an answer to malformed JSON");
    assert_eq!(opcode, 1);
    let reply: serde_json::Value = serde_json::from_slice(&reply).unwrap();
    assert_eq!(reply["error"]["code"], -32700, "parse error: {reply}");
    send_frame(&mut stream, 1, br#"{"jsonrpc":"2.0","method":"fleet_hello","id":2,"params":["one","two"]}"#).await;
    let (_, reply) = read_frame(&mut stream).await.expect("an answer to bad params");
    let reply: serde_json::Value = serde_json::from_slice(&reply).unwrap();
    assert_eq!(reply["error"]["code"], -32602, "invalid params: {reply}");

    // An oversized message closes that connection.
    let mut big = raw_ws(coordinator.local_addr()).await;
    let nonces = vec!["18446744073709551615"; 2000].join(",");
    let oversized = format!(r#"{{"jsonrpc":"2.0","method":"fleet_submitCandidates","id":3,"params":[1,[{nonces}]]}}"#);
    assert!(oversized.len() > 8 * 1024);
    send_frame(&mut big, 1, oversized.as_bytes()).await;
    // Refused unread: jsonrpsee answers "Request is too big" (or just closes), never runs it.
    match read_frame(&mut big).await {
        None | Some((8, _)) => {}
        Some((_, payload)) => {
            let reply: serde_json::Value = serde_json::from_slice(&payload).unwrap();
            assert_eq!(reply["error"]["code"], -32007, "too big: {reply}");
        }
    }

    // Through jsonrpsee's own client too.
    let client = raw_client(&coordinator, None).await.unwrap();
    client.hello(PROTOCOL_VERSION, "big".into(), vec![]).await.unwrap();
    assert!(client.submit_candidates(1, vec![u64::MAX; 4000]).await.is_err(), "oversized call refused");

    // The coordinator still serves.
    let fresh = raw_client(&coordinator, None).await.unwrap();
    let welcome = fresh.hello(PROTOCOL_VERSION, "after".into(), vec!["cpu".into()]).await.unwrap();
    assert!(welcome.slice_index >= 1);
    assert!(coordinator.workers().iter().any(|w| w.name == "after"));
    assert!(coordinator.workers().iter().all(|w| w.candidates_forwarded == 0));
}

#[tokio::test]
async fn a_worker_sending_invalid_nonces_is_counted_then_disconnected() {
    let limits = Limits { max_compute_errors: 8, ..Limits::default() };
    let (coordinator, mut candidates) = coordinator(None, limits).await;
    let hot = legacy_job(3, 1 << 40);
    coordinator.publish(FleetJob::new(11, Scheme::Legacy, &hot, 0));
    let client = raw_client(&coordinator, None).await.unwrap();
    client.hello(PROTOCOL_VERSION, "liar".into(), vec!["cuda:0".into()]).await.unwrap();
    let lies: Vec<u64> = (0..64u64).filter(|&n| hot.verify(n).is_none()).take(12).collect();

    // A job it never received is stale, not an error.
    let receipt = client.submit_candidates(999, vec![1, 2]).await.unwrap();
    assert_eq!((receipt.stale, receipt.invalid, receipt.forwarded), (2, 0, 0));
    let receipt = client.submit_candidates(11, lies[..4].to_vec()).await.unwrap();
    assert_eq!((receipt.invalid, receipt.forwarded), (4, 0));
    until("4 errors counted", || coordinator.workers().first().map(|w| w.compute_errors) == Some(4)).await;
    match client.submit_candidates(11, lies[4..].to_vec()).await {
        Err(ClientError::Call(err)) => assert_eq!(err.code(), codes::TOO_MANY_COMPUTE_ERRORS),
        // The connection may close before the answer arrives.
        Err(_) => {}
        Ok(receipt) => panic!("not disconnected: {receipt:?}"),
    }
    until("the liar's disconnection", || !client.is_connected()).await;
    assert!(coordinator.workers().is_empty());
    assert!(candidates.try_recv().is_err(), "no invalid nonce reached the daemon");
}

#[tokio::test]
async fn candidates_over_the_rate_limit_are_refused() {
    let limits = Limits { candidates_per_second: 1.0, candidate_burst: 4, ..Limits::default() };
    let (coordinator, _candidates) = coordinator(None, limits).await;
    let hot = legacy_job(4, 1);
    coordinator.publish(FleetJob::new(1, Scheme::Legacy, &hot, 0));
    let client = raw_client(&coordinator, None).await.unwrap();
    client.hello(PROTOCOL_VERSION, "eager".into(), vec![]).await.unwrap();
    assert_eq!(client.submit_candidates(1, vec![1, 2, 3, 4]).await.unwrap().forwarded, 4);
    match client.submit_candidates(1, vec![5, 6, 7, 8]).await {
        Err(ClientError::Call(err)) => assert_eq!(err.code(), codes::RATE_LIMITED),
        other => panic!("expected RATE_LIMITED, got {other:?}"),
    }
}

/// A local pool that records what the worker asks of it.
struct RecordingPool {
    events: Mutex<Vec<String>>,
    jobs: Mutex<Vec<(HotLoop, u64)>>,
}

impl RecordingPool {
    fn new() -> (Arc<RecordingPool>, mpsc::UnboundedReceiver<Found>) {
        let (_tx, rx) = mpsc::unbounded_channel();
        // The sender is dropped: this pool never finds anything, and the worker must not take
        // a closed candidate channel for the pool's end while it has never started.
        std::mem::forget(_tx);
        (Arc::new(RecordingPool { events: Mutex::new(Vec::new()), jobs: Mutex::new(Vec::new()) }), rx)
    }
    fn events(&self) -> Vec<String> {
        self.events.lock().unwrap().clone()
    }
}

impl LocalPool for RecordingPool {
    fn set_job(&self, hot: HotLoop, start_position: u64) -> u64 {
        let mut jobs = self.jobs.lock().unwrap();
        jobs.push((hot, start_position));
        self.events.lock().unwrap().push(format!("set {start_position:#x}"));
        jobs.len() as u64
    }
    fn clear_job(&self) {
        self.events.lock().unwrap().push("clear".into());
    }
    fn devices(&self) -> Vec<String> {
        vec!["cpu".into()]
    }
    fn rates(&self) -> Vec<DeviceRate> {
        vec![DeviceRate { device: "cpu".into(), hashes_per_second: 1.0e6 }]
    }
}

#[tokio::test]
async fn a_worker_follows_jobs_idles_without_one_and_while_disconnected() {
    let (coordinator, _candidates) = coordinator(None, Limits::default()).await;
    let addr = coordinator.local_addr();
    let (pool, found) = RecordingPool::new();
    let worker = tokio::spawn(run_worker(config(&coordinator, None, "follower"), pool.clone(), found));
    until("hello", || coordinator.workers().len() == 1).await;
    let slice = u64::from(coordinator.workers()[0].slice_index);
    until("the idle message", || pool.events().last().map(String::as_str) == Some("clear")).await;

    let hot = legacy_job(5, 1000);
    coordinator.publish(FleetJob::new(1, Scheme::Legacy, &hot, 10));
    let expected = format!("set {:#x}", 10 + (slice << SLICE_BITS));
    until("the job", || pool.events().last() == Some(&expected)).await;
    let (received, _) = pool.jobs.lock().unwrap().last().cloned().unwrap();
    assert_eq!((received.challenge, received.target, received.order), (hot.challenge.clone(), hot.target, hot.order));

    coordinator.idle();
    until("idle", || pool.events().last().map(String::as_str) == Some("clear")).await;
    coordinator.publish(FleetJob::new(2, Scheme::Legacy, &hot, 0));
    until("the second job", || pool.events().last().is_some_and(|e| e.starts_with("set"))).await;

    coordinator.shutdown().await;
    until("idle while disconnected", || pool.events().last().map(String::as_str) == Some("clear")).await;
    let (coordinator, _candidates) = {
        let (tx, rx) = mpsc::unbounded_channel();
        (Coordinator::serve(addr, None, Limits::default(), Arc::new(tx)).await.expect("the same port again"), rx)
    };
    until("the reconnection", || coordinator.workers().len() == 1).await;
    assert!(!worker.is_finished());
    worker.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_coordinator_gets_its_worker_back_and_the_next_job_solved() {
    let (first, mut candidates) = coordinator(None, Limits::default()).await;
    let addr = first.local_addr();
    let (pool, found) = cpu_pool().await;
    let worker = tokio::spawn(run_worker(config(&first, None, "steady"), pool.clone(), found));
    until("hello", || first.workers().len() == 1).await;
    let job1 = legacy_job(6, 1 << 14);
    first.publish(FleetJob::new(1, Scheme::Legacy, &job1, 0));
    let candidate = next_candidate(&mut candidates).await;
    assert!(job1.verify(candidate.nonce).is_some());
    first.shutdown().await;
    // Without a coordinator the worker empties the pool's job slot: its device waits, idle.
    until("an idle pool", || pool.snapshot().iter().all(|d| d.idle)).await;
    assert_eq!(pool.current_job(), None);

    let (tx, mut candidates) = mpsc::unbounded_channel();
    let second = Coordinator::serve(addr, None, Limits::default(), Arc::new(tx)).await.expect("the same port again");
    until("the reconnection", || second.workers().len() == 1).await;
    let job2 = legacy_job(7, 1 << 14);
    second.publish(FleetJob::new(2, Scheme::Legacy, &job2, 0));
    let candidate = next_candidate(&mut candidates).await;
    assert_eq!(candidate.job_id, 2);
    assert!(job2.verify(candidate.nonce).is_some());
    worker.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemons_pool_judges_remote_candidates_against_its_job_of_the_same_id() {
    // The daemon's pool (no local device: every verdict is a remote worker's) is the sink.
    let daemon = Pool::start(Vec::new());
    let mut verdicts = daemon.verdicts();
    let coordinator = Coordinator::serve(loopback(), None, Limits::default(), Arc::new(daemon.candidate_sender())).await.unwrap();
    let (pool, found) = cpu_pool().await;
    let worker = tokio::spawn(run_worker(config(&coordinator, None, "rig"), pool, found));
    until("hello", || coordinator.workers().len() == 1).await;

    let hot = legacy_job(8, 1 << 14);
    let id = daemon.set_job(hot.clone(), 0);
    coordinator.publish(FleetJob::new(id.0, Scheme::Legacy, &hot, 0));
    match next_verdict(&mut verdicts).await {
        Verdict::Solution(s) => {
            assert_eq!((s.job, s.device.as_str()), (id, "fleet:rig"));
            assert_eq!(Some(s.seal), hot.verify(s.nonce));
        }
        other => panic!("expected a solution, got {other:?}"),
    }

    // A fleet job the pool never set: its candidates pass the coordinator's check, but the
    // pool has no job of that id and calls them stale.
    let unknown = JobId(id.0 + 1000);
    coordinator.publish(FleetJob::new(unknown.0, Scheme::Legacy, &legacy_job(9, 1 << 14), 0));
    loop {
        let verdict = next_verdict(&mut verdicts).await;
        if verdict.job() == id {
            continue;
        }
        assert!(matches!(verdict, Verdict::Stale { job, .. } if job == unknown), "{verdict:?}");
        break;
    }
    assert!(daemon.verdict_counts()["fleet:rig"].solutions >= 1);
    worker.abort();
}
