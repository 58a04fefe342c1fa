//! Running the real `regsolver` binary against a chopsticks chain as a user would: the test
//! wallet (a `$NACL` coldkey and clear hotkeys written by the test), the command line, bounded
//! waits for its exit or for one of its JSON events, and the checks every run gets (no panic,
//! no password printed). Shared by tests/daemon.rs and tests/daemon_paths.rs; include it with
//! `#[path = "support/daemon_run.rs"] mod daemon_run;` after `mod chopsticks;`.
#![allow(dead_code)]

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use regsolver::wallet::{create_wallet, Keypair};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

use crate::chopsticks::{BlockMode, Chopsticks, Spec};

pub const PASSWORD: &str = "correct horse battery staple";
pub const COLDKEY_SEED: [u8; 32] = [0x11; 32];
/// Low enough that two CPU threads find a seal in well under a second.
pub const EASY: u64 = 20_000;
/// No device finds a seal at this difficulty in a test's lifetime (chopsticks takes numbers up
/// to 2^53; 2^52 is years of work here).
pub const NEVER: u64 = 1 << 52;
/// How long one daemon run may take before the test fails (never hangs).
pub const RUN_LIMIT: Duration = Duration::from_secs(180);

pub fn hotkey_seed(i: u8) -> [u8; 32] {
    [0x40 + i; 32]
}

pub fn hotkey_public(i: u8) -> [u8; 32] {
    Keypair::from_seed(&hotkey_seed(i)).expect("seed").public()
}

pub fn coldkey_public() -> [u8; 32] {
    Keypair::from_seed(&COLDKEY_SEED).expect("seed").public()
}

/// A wallet `w` under `root` with an encrypted coldkey (password [`PASSWORD`]) and hotkeys `h0..hN`.
pub fn wallet(root: &Path, hotkeys: u8) {
    let seeds: Vec<(String, [u8; 32])> = (0..hotkeys).map(|i| (format!("h{i}"), hotkey_seed(i))).collect();
    let named: Vec<(&str, [u8; 32])> = seeds.iter().map(|(n, s)| (n.as_str(), *s)).collect();
    create_wallet(root, "w", &COLDKEY_SEED, Some(PASSWORD), &named).expect("write the test wallet");
}

/// The `BT_PW_…` variable (name, value) that gives `password` for `keyfile`, encoded as the
/// bittensor wallet tools encode it: base64 of the password XORed with the name repeated.
pub fn password_env(keyfile: &Path, password: &str) -> (String, String) {
    use base64::Engine;
    let name = regsolver::wallet::password::env_var_name(keyfile);
    let xored: Vec<u8> = password.bytes().zip(name.bytes().cycle()).map(|(p, k)| p ^ k).collect();
    (name, base64::engine::general_purpose::STANDARD.encode(xored))
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}\n--- stdout ---\n{}\n--- stderr ---\n{}", self.code, self.stdout, self.stderr)
    }
}

impl Run {
    /// Whether stdout or stderr says `text`.
    pub fn says(&self, text: &str) -> bool {
        self.stdout.contains(text) || self.stderr.contains(text)
    }
}

/// `regsolver [SUBCOMMAND] --network local --chain-endpoint URL --wallet.path ROOT --wallet.name w
/// --json --connect-timeout 20 ARGS`, with `env` added, stdin closed, output piped.
pub fn command(subcommand: &[&str], url: &str, root: &Path, args: &[&str], env: &[(String, String)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_regsolver"));
    command
        .args(subcommand)
        .args(["--network", "local", "--chain-endpoint", url, "--wallet.path"])
        .arg(root)
        .args(["--wallet.name", "w", "--json", "--connect-timeout", "20"])
        .args(args)
        // The tests run as root in CI containers (tests/cli.rs checks the refusal); `env` may
        // say otherwise.
        .env("REGSOLVER_ALLOW_ROOT", "true")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("REGSOLVER_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Runs `regsolver SUBCOMMAND ... ARGS` to its end (at most [`RUN_LIMIT`]).
pub async fn regsolver_in(subcommand: &[&str], url: &str, root: &Path, args: &[&str], env: &[(String, String)]) -> Run {
    let child = command(subcommand, url, root, args, env).spawn().expect("start regsolver");
    let output = tokio::time::timeout(RUN_LIMIT, child.wait_with_output()).await.expect("regsolver did not finish in time").expect("regsolver output");
    checked(Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// The daemon (no subcommand) with two CPU threads.
pub async fn regsolver(url: &str, root: &Path, args: &[&str]) -> Run {
    let args: Vec<&str> = ["--threads", "2"].into_iter().chain(args.iter().copied()).collect();
    regsolver_in(&[], url, root, &args, &[]).await
}

/// What every run must satisfy, whatever it was for.
pub fn checked(run: Run) -> Run {
    assert!(!run.stderr.contains("panicked"), "regsolver panicked:\n{run}");
    assert!(!run.stderr.contains(PASSWORD) && !run.stdout.contains(PASSWORD), "the password was printed");
    run
}

/// The JSON events of a run with `"event": kind`.
pub fn events<'a>(run: &'a Run, kind: &'a str) -> impl Iterator<Item = serde_json::Value> + 'a {
    json_events(&run.stdout, kind)
}

/// The JSON events with `"event": kind` in some output.
pub fn json_events<'a>(stdout: &'a str, kind: &'a str) -> impl Iterator<Item = serde_json::Value> + 'a {
    stdout.lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()).filter(move |e| e["event"] == kind)
}

pub async fn chain(spec: Spec, mode: BlockMode) -> Chopsticks {
    Chopsticks::start_with(spec, mode).await.unwrap_or_else(|e| panic!("{e}"))
}

/// A refusal: the exit code, a message naming the reason, and nothing sent.
pub async fn refused(node: &Chopsticks, dir: &Path, args: &[&str], code: i32, message: &str) {
    let best = node.best_number().await.unwrap();
    let run = regsolver(&node.url(), dir, args).await;
    assert_eq!(run.code, code, "{run}");
    assert!(run.says(message), "expected '{message}' in\n{run}");
    let sent = node.sent_since(best).await.unwrap();
    assert!(sent.is_empty(), "something was sent: {sent:?}\n{run}");
}

/// A daemon running in the background, read event by event.
pub struct Running {
    pub child: Child,
    stdout: BufReader<ChildStdout>,
    /// Read all along, so that a chatty log never fills the pipe and stalls the daemon.
    stderr: tokio::task::JoinHandle<String>,
    /// Every stdout line read so far.
    pub seen: String,
}

impl Running {
    pub fn spawn(mut command: Command) -> Running {
        let mut child = command.spawn().expect("start regsolver");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut pipe = child.stderr.take().expect("stderr");
        let stderr = tokio::spawn(async move {
            let mut text = String::new();
            let _ = tokio::io::AsyncReadExt::read_to_string(&mut pipe, &mut text).await;
            text
        });
        Running { child, stdout, stderr, seen: String::new() }
    }

    /// The next JSON event with `"event": kind` (within `limit`); panics with everything seen
    /// if the process exits or the time runs out first.
    pub async fn wait_for(&mut self, kind: &str, limit: Duration) -> serde_json::Value {
        let (stdout, seen) = (&mut self.stdout, &mut self.seen);
        let wait = async {
            let mut line = String::new();
            loop {
                line.clear();
                if stdout.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return None;
                }
                seen.push_str(&line);
                if let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) {
                    if event["event"] == kind {
                        return Some(event);
                    }
                }
            }
        };
        match tokio::time::timeout(limit, wait).await {
            Ok(Some(event)) => event,
            Ok(None) => panic!("regsolver exited before a '{kind}' event:\n{}", self.seen),
            Err(_) => panic!("no '{kind}' event within {} s:\n{}", limit.as_secs(), self.seen),
        }
    }

    /// Waits for the exit (at most [`RUN_LIMIT`]) and returns the whole run.
    pub async fn finish(mut self) -> Run {
        use tokio::io::AsyncReadExt;
        let mut rest = String::new();
        let read = async {
            let _ = self.stdout.read_to_string(&mut rest).await;
            let stderr = (&mut self.stderr).await.unwrap_or_default();
            (self.child.wait().await, stderr)
        };
        let (status, stderr) = tokio::time::timeout(RUN_LIMIT, read).await.expect("regsolver did not finish in time");
        let status = status.expect("exit status");
        checked(Run { code: status.code().unwrap_or(-1), stdout: self.seen + &rest, stderr })
    }

    /// Kills it (it was started by this test) and returns what it printed.
    pub async fn kill(mut self) -> Run {
        let _ = self.child.start_kill();
        self.finish().await
    }
}
