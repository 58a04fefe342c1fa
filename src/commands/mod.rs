//! The commands, thin: parse flags into the library's types, call one library function, print.
//! `solve` (one offline search), `bench` (hashrate per device), `devices` (the listing).
//!
//! Exit codes: one table, [`exit::code`].

mod bench;
mod chain;
pub mod exit;
mod fleet;
mod lifecycle;
pub mod root;
mod signals;
mod solve;
mod subnets;

use crate::cli::{Cli, Command, ConfigArgs, ConfigCommand};
use exit::code;
use regsolver::solver::engine::EngineError;
use regsolver::solver::search_loop::SearchError;
use regsolver::solver::selection::SelectionError;

/// A command's failure, with its exit code.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Timeout(String),
    #[error("{0}")]
    DeviceUnavailable(String),
    #[error("{0}")]
    Failed(String),
    /// The daemon, `status` or `faucet` stopped for a chain reason, with its own exit code
    /// ([`exit::code`]).
    #[error("{message}")]
    Chain { code: i32, message: String },
}

impl CommandError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CommandError::Usage(_) => code::USAGE,
            CommandError::Timeout(_) => code::TIMEOUT,
            CommandError::DeviceUnavailable(_) => code::DEVICE_UNAVAILABLE,
            CommandError::Failed(_) => code::OTHER,
            CommandError::Chain { code, .. } => *code,
        }
    }

    /// The one JSON object a `--json` run prints on stdout when it fails.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({ "error": self.to_string(), "code": self.exit_code() })
    }
}

impl From<SelectionError> for CommandError {
    fn from(err: SelectionError) -> Self {
        match err {
            err if err.is_user_error() => CommandError::Usage(err.to_string()),
            err @ SelectionError::NamedUnavailable { .. } => CommandError::DeviceUnavailable(err.to_string()),
            err => CommandError::Failed(err.to_string()),
        }
    }
}

impl From<EngineError> for CommandError {
    fn from(err: EngineError) -> Self {
        match err {
            EngineError::Selection(err) => err.into(),
            EngineError::Search(err @ SearchError::Timeout(_)) => CommandError::Timeout(err.to_string()),
            err => CommandError::Failed(err.to_string()),
        }
    }
}

pub(crate) fn usage(text: impl Into<String>) -> CommandError {
    CommandError::Usage(text.into())
}

/// Runs the command. The chain commands set up logging once their configuration is loaded (it
/// may ask for JSON lines); the others log text.
pub fn run(cli: Cli) -> Result<(), CommandError> {
    let verbose = cli.verbose;
    let text_logs =
        || regsolver::telemetry::init_logging(regsolver::config::LogFormat::Text, verbose).map_err(|e| CommandError::Usage(e.to_string()));
    match cli.command {
        None => chain::daemon(cli.daemon, verbose),
        Some(Command::Status(args)) => chain::status(args, verbose),
        Some(Command::Subnets(args)) => subnets::run(args, verbose),
        Some(Command::Faucet(args)) => chain::faucet(args, verbose),
        Some(Command::Config(ConfigArgs { command: ConfigCommand::Check(args) })) => chain::config_check(args),
        Some(Command::Solve(args)) => {
            text_logs()?;
            solve::run(args)
        }
        Some(Command::Bench(args)) => {
            text_logs()?;
            bench::run(args)
        }
        Some(Command::Worker(args)) => {
            text_logs()?;
            fleet::worker(args)
        }
        Some(Command::Devices(args)) => {
            text_logs()?;
            let listing = regsolver::solver::listing::listing();
            if args.json {
                println!("{listing}");
            } else {
                print!("{}", regsolver::solver::listing::listing_text(&listing));
            }
            Ok(())
        }
    }
}
