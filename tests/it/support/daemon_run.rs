//! Running the real `regsolver` binary against a chopsticks chain as a user would: the command
//! line every daemon test shares (a local chain at a URL, the test wallet, JSON events), runs to
//! their end, and refusals checked to have sent nothing. Built on [`super::process`] (the
//! process, its output and exit) and [`super::test_wallet`] (the wallet).

use std::path::Path;

use tokio::process::Command;

use super::chopsticks::{BlockMode, Chopsticks, Spec};
use super::process::{self, Finished};
use super::test_wallet::hotkey_public;

/// Low enough that two CPU threads find a seal in well under a second.
pub const EASY: u64 = 20_000;
/// No device finds a seal at this difficulty in a test's lifetime (chopsticks takes numbers up
/// to 2^53; 2^52 is years of work here).
pub const NEVER: u64 = 1 << 52;

/// `--network local --chain-endpoint URL --wallet.path ROOT --wallet.name w --json`: the chain and
/// wallet every daemon test names.
pub fn target_args(url: &str, root: &Path) -> Vec<String> {
    let root = root.display().to_string();
    ["--network", "local", "--chain-endpoint", url, "--wallet.path", &root, "--wallet.name", "w", "--json"].map(str::to_owned).to_vec()
}

/// `regsolver [SUBCOMMAND] TARGET-ARGS ARGS` (see [`process::regsolver`]), with `env` added last
/// (it may override what that sets).
pub fn command(subcommand: &[&str], url: &str, root: &Path, args: &[&str], env: &[(String, String)]) -> Command {
    let mut all: Vec<String> = subcommand.iter().map(|s| s.to_string()).collect();
    all.extend(target_args(url, root));
    all.extend(args.iter().map(|s| s.to_string()));
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    let mut command = process::regsolver(&all);
    command.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    command
}

/// Runs `regsolver SUBCOMMAND ... ARGS` to its end (bounded).
pub async fn regsolver_in(subcommand: &[&str], url: &str, root: &Path, args: &[&str], env: &[(String, String)]) -> Finished {
    process::run(command(subcommand, url, root, args, env)).await
}

/// The daemon (no subcommand) with two CPU threads, run to its end.
pub async fn regsolver(url: &str, root: &Path, args: &[&str]) -> Finished {
    let args: Vec<&str> = ["--threads", "2"].into_iter().chain(args.iter().copied()).collect();
    regsolver_in(&[], url, root, &args, &[]).await
}

pub async fn chain(spec: Spec, mode: BlockMode) -> Chopsticks {
    Chopsticks::start_with(spec, mode).await.unwrap_or_else(|e| panic!("{e}"))
}

/// The run's one `registered` event, for the test wallet's `h0` on subnet 1, checked against the
/// chain: the hotkey holds a UID there and the event names that UID.
pub async fn registered_h0(node: &Chopsticks, run: &Finished) -> serde_json::Value {
    let uid = node.registered_uid(1, hotkey_public(0)).await.unwrap().unwrap_or_else(|| panic!("not registered on chain\n{run}"));
    let registered = run.events("registered");
    assert_eq!(registered.len(), 1, "{run}");
    assert_eq!(registered[0]["uid"], uid, "the UID printed is the chain's\n{run}");
    registered[0].clone()
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
