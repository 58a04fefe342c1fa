//! The `regsolver` binary: parse arguments, set up logging, run a command, map errors to exit codes.

use std::io::IsTerminal;

use clap::Parser;

fn main() {
    let cli = regsolver::cli::Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("REGSOLVER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(if cli.verbose { "debug" } else { "info" }));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
    if let Err(err) = regsolver::commands::run(cli) {
        eprintln!("error: {err:#}");
        std::process::exit(regsolver::commands::exit_code(&err));
    }
}
