//! An attacker's tools against a real coordinator process, loopback only and every loop bounded:
//! the coordinator started under a lowered descriptor limit with its pid known (for its RSS and
//! CPU time from /proc), raw sockets that stay silent or send one request, raw WebSocket
//! upgrades with chosen headers, `/healthz` latency samples, and fake workers (jsonrpsee
//! clients) that say hello and report rates.
//! The binary is [`super::process::binary`]'s (`REGSOLVER_TEST_BINARY` names another).

use std::path::Path;
use std::time::{Duration, Instant};

use jsonrpsee::core::client::Subscription;
use jsonrpsee::ws_client::{WsClient, WsClientBuilder};
use regsolver::fleet::protocol::{FleetApiClient, FleetJob};
use regsolver::fleet::{DeviceRate, PROTOCOL_VERSION};

use super::process::LIMIT;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::Command;

/// How long any one attacker socket waits for the coordinator to answer or close it.
pub const SOCKET_LIMIT: Duration = Duration::from_secs(30);

/// `regsolver ARGS` (as [`regsolver`] sets it up) run through `sh`, which writes its pid to
/// `pid_file`, lowers the descriptor limit to `nofile` when given, and execs it (so the pid is
/// regsolver's).
pub fn limited(args: &[&str], nofile: Option<u64>, pid_file: &Path) -> Command {
    let command = super::process::regsolver(args);
    let script = match nofile {
        Some(n) => format!("echo $$ > '{}' && ulimit -n {n} && exec \"$0\" \"$@\"", pid_file.display()),
        None => format!("echo $$ > '{}' && exec \"$0\" \"$@\"", pid_file.display()),
    };
    let program = command.as_std().get_program().to_owned();
    let mut wrapped = Command::new("sh");
    wrapped.arg("-c").arg(script).arg(program);
    rebuilt(&command, wrapped)
}

/// `into` with `command`'s arguments (after `into`'s own) and environment, piped as the tests
/// pipe every process.
fn rebuilt(command: &Command, mut into: Command) -> Command {
    into.args(command.as_std().get_args());
    for (key, value) in command.as_std().get_envs() {
        match value {
            Some(value) => into.env(key, value),
            None => into.env_remove(key),
        };
    }
    into.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).kill_on_drop(true);
    into
}

/// The pid `limited` wrote (waits for the file, bounded).
pub async fn pid(pid_file: &Path) -> u32 {
    for _ in 0..100 {
        if let Some(pid) = std::fs::read_to_string(pid_file).ok().and_then(|t| t.trim().parse().ok()) {
            return pid;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no pid in {}", pid_file.display());
}

/// Resident memory of `pid`, in KiB (`VmRSS`).
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/PID/status");
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS");
    line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).expect("VmRSS in kB")
}

/// CPU time `pid` used so far (user + system), in seconds.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/PID/stat");
    // The fields after the command name (which may hold spaces) start at its closing ')'.
    let fields: Vec<&str> = stat.rsplit_once(')').expect("comm").1.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    // SAFETY: sysconf only reads a system constant.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    ticks as f64 / per_second
}

/// Open descriptors of `pid`.
pub fn open_descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0)
}

/// A WebSocket upgrade request for `addr` with extra header lines (`Authorization: ...`).
pub fn upgrade_request(addr: &str, headers: &[String]) -> String {
    let mut request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    );
    for header in headers {
        request.push_str(header);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    request
}

/// The status code at the start of an HTTP answer.
pub fn status_code(answer: &[u8]) -> Option<u16> {
    String::from_utf8_lossy(answer).split_whitespace().nth(1)?.parse().ok()
}

/// Sends `request` on a new connection to `addr` and reads until the coordinator closes it (or
/// [`SOCKET_LIMIT`]): what it answered, and whether it closed the connection.
pub async fn send_and_read(addr: &str, request: &[u8]) -> (Vec<u8>, bool) {
    let Ok(mut stream) = TcpStream::connect(addr).await else { return (Vec::new(), true) };
    if stream.write_all(request).await.is_err() {
        return (Vec::new(), true);
    }
    read_until_closed(&mut stream, SOCKET_LIMIT).await
}

/// Reads until EOF, an error (both: closed) or `limit` (still open).
pub async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (answer, true),
            Ok(Ok(n)) => answer.extend_from_slice(&buffer[..n]),
            Err(_) => return (answer, false),
        }
    }
}

/// Opens up to `count` connections to `addr` that send nothing (stops at the first refusal).
pub async fn silent_sockets(addr: &str, count: usize) -> Vec<TcpStream> {
    let mut sockets = Vec::with_capacity(count);
    for _ in 0..count {
        match tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => sockets.push(stream),
            _ => break,
        }
    }
    sockets
}

/// How many of `sockets` the other side has closed within `limit` (all watched at once).
pub async fn closed_within(sockets: Vec<TcpStream>, limit: Duration) -> usize {
    let watches = sockets.into_iter().map(|mut s| async move { read_until_closed(&mut s, limit).await.1 });
    futures::future::join_all(watches).await.into_iter().filter(|closed| *closed).count()
}

/// `GET /healthz` on `addr`, timed: its status (None: no answer within 10 s) and how long it took.
pub async fn healthz(addr: &str) -> (Option<u16>, Duration) {
    let started = Instant::now();
    let answer = super::process::get(addr, "/healthz").await.map(|(code, _)| code);
    (answer, started.elapsed())
}

/// The first job `jobs` delivers (`null`, no job yet, is passed over); fails the test if none
/// comes within [`LIMIT`].
pub async fn first_job(jobs: &mut Subscription<Option<FleetJob>>) -> FleetJob {
    loop {
        match tokio::time::timeout(LIMIT, jobs.next()).await.expect("a job in time") {
            Some(Ok(Some(job))) => return job,
            Some(Ok(None)) => continue,
            other => panic!("no job: {other:?}"),
        }
    }
}

/// A jsonrpsee client to `url` with `token` (if any) and no `Origin`, as a worker connects.
pub async fn client(url: &str, token: Option<&str>) -> Result<WsClient, jsonrpsee::core::client::Error> {
    let mut headers = http::HeaderMap::new();
    if let Some(token) = token {
        headers.insert(http::header::AUTHORIZATION, format!("Bearer {token}").parse().expect("header"));
    }
    WsClientBuilder::default().set_headers(headers).request_timeout(Duration::from_secs(60)).max_response_size(16 << 20).build(url).await
}

/// A fake worker: hello as `name` announcing `devices`, then one report of `rates`.
pub async fn fake_worker(url: &str, token: Option<&str>, name: &str, devices: &[String], rates: &[f64]) -> WsClient {
    let client = client(url, token).await.expect("connect");
    client.hello(PROTOCOL_VERSION, name.into(), devices.to_vec()).await.expect("hello");
    let report: Vec<DeviceRate> =
        devices.iter().zip(rates).map(|(device, rate)| DeviceRate { device: device.clone(), hashes_per_second: *rate }).collect();
    client.report_hashrate(report).await.expect("report");
    client
}
