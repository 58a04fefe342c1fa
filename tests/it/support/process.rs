//! A `regsolver` process a test started: its stdout and stderr collected as they arrive, bounded
//! waits for what it prints (or its next JSON event), signals, and its exit, with the checks every
//! run gets (no panic, the test wallet's password never printed); plus plain HTTP GETs of its
//! metrics endpoint. Dropping it kills the process (only it: `kill_on_drop`).

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use super::test_wallet::PASSWORD;

/// How long any one wait on a process may take before the test fails (never hangs).
pub const LIMIT: Duration = Duration::from_secs(180);
/// How long a process may take to stop after SIGINT before the test fails.
pub const STOP_LIMIT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(200);

/// The binary the tests run: cargo's `regsolver`, or `$REGSOLVER_TEST_BINARY` when set (a copy
/// of this tree's build, where several worktrees share one CARGO_TARGET_DIR and each cargo run
/// relinks `target/debug/regsolver` to its own tree's build).
pub fn binary() -> std::ffi::OsString {
    std::env::var_os("REGSOLVER_TEST_BINARY").unwrap_or_else(|| env!("CARGO_BIN_EXE_regsolver").into())
}

/// `regsolver ARGS` as the tests run it: no stdin, piped output, allowed to run as root (the
/// tests run as root in CI containers), `info` logs unless the test says otherwise.
pub fn regsolver(args: &[&str]) -> Command {
    let mut command = Command::new(binary());
    command
        .args(args)
        .env("REGSOLVER_ALLOW_ROOT", "true")
        .env("REGSOLVER_LOG", "info")
        .env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC")
        .env_remove("WATCHDOG_PID")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Runs `command` (any program; stdout and stderr are piped here, stdin is left as set) to its
/// end, killing it and failing the test if it outlives `limit`: the bounded way a test without
/// a runtime runs a program. For the `regsolver` binary see [`output`].
pub fn output_within(mut command: std::process::Command, limit: Duration) -> std::process::Output {
    use std::io::Read;
    let what = format!("{:?}", command.get_program());
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap_or_else(|e| panic!("start {what}: {e}"));
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let deadline = std::time::Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap_or_else(|e| panic!("wait for {what}: {e}")) {
            break status;
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} ran longer than {} s (killed)", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    std::process::Output { status, stdout: stdout.join().expect("stdout"), stderr: stderr.join().expect("stderr") }
}

/// `regsolver ARGS` ([`regsolver`]'s setup, `env` added last) run to its end within [`LIMIT`],
/// from a test that does not await.
#[cfg(any(feature = "cuda", feature = "opencl"))]
pub fn output(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut command = regsolver(args);
    command.envs(env.iter().copied());
    output_within(command.into_std(), LIMIT)
}

/// A running process and what it printed so far.
pub struct Running {
    /// What the process is in the test (`regsolver`, `coordinator`, `worker rig-a`), in failures.
    label: String,
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
    /// How much of stdout [`Running::next_event`] has read.
    read_to: usize,
    /// Never to be printed: checked in everything printed at the exit.
    secrets: Vec<String>,
}

/// How a process ended and everything it printed.
pub struct Finished {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Display for Finished {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}\n--- stdout ---\n{}\n--- stderr ---\n{}", self.code, self.stdout, self.stderr)
    }
}

impl Finished {
    /// Whether stdout or stderr says `text`.
    pub fn says(&self, text: &str) -> bool {
        self.stdout.contains(text) || self.stderr.contains(text)
    }

    /// The JSON events on stdout with `"event": kind`.
    pub fn events(&self, kind: &str) -> Vec<serde_json::Value> {
        events(&self.stdout, kind)
    }
}

/// The JSON events in `stdout` with `"event": kind`.
pub fn events(stdout: &str, kind: &str) -> Vec<serde_json::Value> {
    stdout.lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()).filter(|e| e["event"] == kind).collect()
}

fn collect<R: tokio::io::AsyncRead + Unpin + Send + 'static>(mut stream: R, into: Arc<Mutex<String>>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut buffer = [0u8; 8192];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if let Ok(mut text) = into.lock() {
                        text.push_str(&String::from_utf8_lossy(&buffer[..n]));
                    }
                }
            }
        }
    })
}

impl Running {
    /// Starts `command` (stdout and stderr must be piped, or stderr redirected elsewhere).
    pub fn start(mut command: Command) -> Running {
        let mut child = command.spawn().expect("start regsolver");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(collect(out, stdout.clone()));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(collect(err, stderr.clone()));
        }
        Running { label: "regsolver".into(), child, stdout, stderr, readers, read_to: 0, secrets: vec![PASSWORD.into()] }
    }

    /// Names the process in failures.
    pub fn labelled(mut self, label: &str) -> Self {
        self.label = label.into();
        self
    }

    /// Adds a secret (besides the wallet password) that the process must never print.
    pub fn keeping(mut self, secret: &str) -> Self {
        self.secrets.push(secret.into());
        self
    }

    /// Everything printed so far, under the process's label.
    pub fn dump(&self) -> String {
        format!("--- {0} stdout ---\n{1}\n--- {0} stderr ---\n{2}", self.label, self.stdout(), self.stderr())
    }

    /// The JSON events printed so far with `"event": kind`.
    pub fn events(&self, kind: &str) -> Vec<serde_json::Value> {
        events(&self.stdout(), kind)
    }

    /// How many times stderr says `text`.
    pub fn logged(&self, text: &str) -> usize {
        self.stderr().matches(text).count()
    }

    pub fn stdout(&self) -> String {
        self.stdout.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits (bounded) until `seen(stdout, stderr)`; fails the test, showing the output, if the
    /// process exits first or the limit passes.
    pub async fn wait_for(&mut self, what: &str, mut seen: impl FnMut(&str, &str) -> bool) {
        let started = tokio::time::Instant::now();
        loop {
            if seen(&self.stdout(), &self.stderr()) {
                return;
            }
            if !self.running() {
                // Let the readers drain what the process wrote last.
                tokio::time::sleep(Duration::from_millis(500)).await;
                if seen(&self.stdout(), &self.stderr()) {
                    return;
                }
                panic!("{} exited ({:?}) before {what}\n{}", self.label, self.child.try_wait(), self.dump());
            }
            if started.elapsed() > LIMIT {
                panic!("no {what} from {} within {} s\n{}", self.label, LIMIT.as_secs(), self.dump());
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The next JSON event with `"event": kind` after the last one this returned (bounded); fails
    /// the test, showing the output, if the process exits first or the limit passes.
    pub async fn next_event(&mut self, kind: &str) -> serde_json::Value {
        let mut found = None;
        let read_to = self.read_to;
        self.wait_for(&format!("a '{kind}' event"), |out, _| {
            let mut at = read_to;
            for line in out.get(read_to..).unwrap_or_default().split_inclusive('\n').take_while(|l| l.ends_with('\n')) {
                at += line.len();
                if let Ok(event) = serde_json::from_str::<serde_json::Value>(line) {
                    if event["event"] == kind {
                        found = Some((event, at));
                        return true;
                    }
                }
            }
            false
        })
        .await;
        let (event, at) = found.expect("wait_for returned on a found event");
        self.read_to = at;
        event
    }

    /// Sends `signal` (libc::SIGTERM, SIGHUP...) to this process only.
    pub fn signal(&self, signal: i32) {
        let pid = self.child.id().expect("the process is running") as i32;
        // SAFETY: kill(2) on the pid of a child this test started and has not reaped.
        let sent = unsafe { libc::kill(pid, signal) };
        assert_eq!(sent, 0, "kill({pid}, {signal}): {}", std::io::Error::last_os_error());
    }

    /// Waits (within `limit`) for the exit and for the last of its output, checks what every run
    /// must satisfy (no panic, no secret printed), and returns the exit code (-1 for a signal).
    pub async fn exit_code(&mut self, limit: Duration) -> i32 {
        let status = match tokio::time::timeout(limit, self.child.wait()).await {
            Ok(status) => status.expect("wait for the process"),
            Err(_) => panic!("{} did not exit within {} s\n{}", self.label, limit.as_secs(), self.dump()),
        };
        for reader in std::mem::take(&mut self.readers) {
            let _ = tokio::time::timeout(Duration::from_secs(10), reader).await;
        }
        let (stdout, stderr) = (self.stdout(), self.stderr());
        assert!(!stderr.contains("panicked") && !stderr.contains("overflowed"), "{} panicked:\n{}", self.label, self.dump());
        for secret in &self.secrets {
            assert!(!stdout.contains(secret.as_str()) && !stderr.contains(secret.as_str()), "{} printed a secret", self.label);
        }
        status.code().unwrap_or(-1)
    }

    /// SIGINT, then the exit code: a stop must come within [`STOP_LIMIT`].
    pub async fn interrupt(&mut self) -> i32 {
        self.signal(libc::SIGINT);
        self.exit_code(STOP_LIMIT).await
    }

    /// Waits (bounded) for the exit; everything printed.
    pub async fn finish(mut self) -> Finished {
        let code = self.exit_code(LIMIT).await;
        Finished { code, stdout: self.stdout(), stderr: self.stderr() }
    }

    /// Kills it (this test started it) and returns what it printed.
    pub async fn kill(mut self) -> Finished {
        let _ = self.child.start_kill();
        self.finish().await
    }
}

/// Runs `command` to its end (bounded).
pub async fn run(command: Command) -> Finished {
    Running::start(command).finish().await
}

/// A loopback port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port").local_addr().expect("its address").port()
}

/// `GET path` from `addr` (`host:port`): status code and body; `None` when nothing answers
/// within 10 s.
pub async fn get(addr: &str, path: &str) -> Option<(u16, String)> {
    let request = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
        stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes()).await.ok()?;
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).await.ok()?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let code = text.split_whitespace().nth(1)?.parse().ok()?;
        let body = text.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default();
        Some((code, body))
    };
    tokio::time::timeout(Duration::from_secs(10), request).await.ok().flatten()
}

/// The value of the Prometheus sample `name{labels...}` in a scrape, if present.
pub fn sample(scrape: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape.lines().filter(|l| !l.starts_with('#')).find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (series_name, rest) = series.split_once('{').unwrap_or((series, ""));
        (series_name == name && labels.iter().all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))).then(|| value.parse().ok()).flatten()
    })
}
