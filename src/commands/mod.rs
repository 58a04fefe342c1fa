//! The commands, thin: parse flags into the library's types, call one library function, print.
//! `solve` (one offline search), `bench` (hashrate per device), `devices` (the listing).
//!
//! Exit codes: 0 done; 1 the machine failed (every device failed, say); 2 bad input (like
//! clap's own usage errors); 3 `solve --timeout` ran out; 4 a device or backend named on the
//! command line is unavailable on this machine.

mod bench;
mod solve;

use crate::cli::{Cli, Command};
use crate::engine::EngineError;
use crate::selection::SelectionError;
use crate::solver::search_loop::SearchError;

/// Exit code: the machine failed.
pub const EXIT_FAILURE: i32 = 1;
/// Exit code: bad input.
pub const EXIT_USAGE: i32 = 2;
/// Exit code: `solve --timeout` ran out.
pub const EXIT_TIMEOUT: i32 = 3;
/// Exit code: a device or backend named on the command line is unavailable here.
pub const EXIT_DEVICE_UNAVAILABLE: i32 = 4;

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
}

impl CommandError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CommandError::Usage(_) => EXIT_USAGE,
            CommandError::Timeout(_) => EXIT_TIMEOUT,
            CommandError::DeviceUnavailable(_) => EXIT_DEVICE_UNAVAILABLE,
            CommandError::Failed(_) => EXIT_FAILURE,
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

/// Runs the command.
pub fn run(cli: Cli) -> Result<(), CommandError> {
    match cli.command {
        Command::Solve(args) => solve::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Devices(args) => {
            let listing = crate::devices::listing();
            if args.json {
                println!("{listing}");
            } else {
                print!("{}", crate::devices::listing_text(&listing));
            }
            Ok(())
        }
    }
}
