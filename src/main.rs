//! The `regsolver` binary: parse arguments, set up logging, run a command, map errors to exit
//! codes. Every error is one line on stderr; with `--json`, also one JSON object on stdout.

use std::io::IsTerminal;

use clap::Parser;
use regsolver::commands::CommandError;
use regsolver::daemon::code;

/// Reports a failure and exits with its code.
fn fail(err: &CommandError, json: bool) -> ! {
    eprintln!("error: {err}");
    if json {
        println!("{}", err.json());
    }
    std::process::exit(err.exit_code());
}

fn main() {
    let cli = match regsolver::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if err.exit_code() != code::USAGE || err.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            err.exit()
        }
        Err(err) => {
            // clap's first line says what is wrong; its usage block follows on `--help`.
            let rendered = err.render().to_string();
            let line = rendered.lines().next().unwrap_or("invalid arguments").trim_start_matches("error: ");
            let json = std::env::args().any(|a| a == "--json");
            fail(&CommandError::Usage(format!("{line} (see --help)")), json);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("REGSOLVER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(if cli.verbose { "debug" } else { "info" }));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
    let json = cli.json();
    if let Err(err) = regsolver::commands::run(cli) {
        fail(&err, json);
    }
}
