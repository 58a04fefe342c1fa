//! The `regsolver` binary: parse arguments ([`cli`]), run a command ([`commands`]: the daemon,
//! `status`, `subnets`, `faucet`, `solve`, `bench`, `devices`, the fleet), map errors to exit
//! codes. Every error is one line on stderr; with `--json`, also one JSON object on stdout.

use std::io::Write;

use clap::Parser;
use commands::exit::code;
use commands::CommandError;

mod cli;
mod commands;

/// Reports a failure and exits with its code (a full disk or closed stream loses the words, not
/// the code).
fn fail(err: &CommandError, json: bool) -> ! {
    let _ = writeln!(std::io::stderr(), "error: {err}");
    if json {
        let _ = writeln!(std::io::stdout(), "{}", err.json());
    }
    std::process::exit(err.exit_code());
}

fn main() {
    // Every message names a setting by the flag that changes it.
    regsolver::config::name_settings(cli::flag);
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if err.exit_code() != code::USAGE || err.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            err.exit()
        }
        Err(err) => {
            // clap says what is wrong before its usage block (which `--help` shows): one line, or
            // a heading with the missing arguments below it.
            let rendered = err.render().to_string();
            let said: Vec<&str> = rendered.lines().map(str::trim).take_while(|l| !l.is_empty() && !l.starts_with("Usage:")).collect();
            let line = match said.join(" ") {
                text if text.is_empty() => "invalid arguments".to_string(),
                text => text.trim_start_matches("error: ").to_string(),
            };
            let json = std::env::args().any(|a| a == "--json");
            fail(&CommandError::Usage(format!("{line} (see --help)")), json);
        }
    };
    let json = cli.json();
    if let Err(err) = commands::run(cli) {
        fail(&err, json);
    }
}
