//! Running unattended: log output (text or JSON), systemd notifications, Prometheus metrics with
//! `/healthz`.
//!
//! - [`notify`]: `READY=1`, `STATUS=`, `WATCHDOG=1`, `STOPPING=1` to systemd.
//! - [`metrics`]: the `regsolver_*` series and the HTTP endpoint serving them and `/healthz`.
//! - [`health`]: the loop's heartbeat and the last block, judged against staleness limits.
//! - [`sockets`]: the listeners' connection caps from the descriptor limit, accept failures.
//! - [`client_log`]: rate-limited log lines per cause, client text escaped and cut.

pub(crate) mod client_log;
pub mod health;
pub mod metrics;
pub mod notify;
pub mod sockets;

use std::io::IsTerminal;

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// The environment variable holding a tracing filter (`info`, `debug`, `regsolver=debug`).
pub const LOG_FILTER_ENV: &str = "REGSOLVER_LOG";

/// Why logging could not start.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    #[error("stderr is not open for writing ({0}); start regsolver with stderr on a terminal, file or the journal")]
    Stderr(String),
    #[error("{LOG_FILTER_ENV}: {0}")]
    Filter(String),
    #[error("logging was already set up")]
    AlreadySet,
}

/// How log lines are written to stderr.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Sets up logging to stderr for the whole process: `REGSOLVER_LOG` if set, else `debug` when
/// `verbose`, else `info`. Text lines carry fields as `device=cuda:0`; JSON lines are one object
/// each with the fields at the top level (`{"level":"WARN","device":"cuda:0","message":...}`).
///
/// Writing a log line never fails the process: a full disk or closed pipe loses the line
/// (tracing-subscriber's own error report is turned off here, because it goes through
/// `eprintln!`, which panics when stderr fails).
pub fn init_logging(format: LogFormat, verbose: bool) -> Result<(), LoggingError> {
    stderr_writable()?;
    let filter = log_filter(verbose)?;
    let ansi = std::io::stderr().is_terminal();
    let subscriber = subscriber(format, filter, ansi, std::io::stderr);
    tracing::subscriber::set_global_default(subscriber).map_err(|_| LoggingError::AlreadySet)?;
    Ok(())
}

/// jsonrpsee's server logs what fleet clients send (unparsable parameters verbatim, one line per
/// oversized answer); the coordinator logs what matters itself, rate-limited and escaped. Off
/// unless the filter names jsonrpsee.
const QUIET_TARGETS: [&str; 2] = ["jsonrpsee-server=off", "jsonrpsee-core=off"];

fn log_filter(verbose: bool) -> Result<EnvFilter, LoggingError> {
    let text = match std::env::var(LOG_FILTER_ENV) {
        Ok(text) if !text.trim().is_empty() => text,
        _ => (if verbose { "debug" } else { "info" }).to_string(),
    };
    let mut filter = EnvFilter::try_new(&text).map_err(|e| LoggingError::Filter(e.to_string()))?;
    if !text.contains("jsonrpsee") {
        for quiet in QUIET_TARGETS {
            filter = filter
                .add_directive(quiet.parse().map_err(|e: tracing_subscriber::filter::ParseError| LoggingError::Filter(e.to_string()))?);
        }
    }
    Ok(filter)
}

/// The subscriber `init_logging` installs, writing to `writer` (tests give a buffer).
pub fn subscriber<W>(format: LogFormat, filter: EnvFilter, ansi: bool, writer: W) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer).with_target(false).log_internal_errors(false);
    match format {
        LogFormat::Text => Box::new(builder.with_ansi(ansi).finish()),
        LogFormat::Json => Box::new(builder.json().flatten_event(true).with_current_span(true).with_span_list(false).finish()),
    }
}

fn stderr_writable() -> Result<(), LoggingError> {
    // SAFETY: fcntl(F_GETFL) only reads the descriptor's flags.
    let flags = unsafe { libc::fcntl(libc::STDERR_FILENO, libc::F_GETFL) };
    if flags < 0 {
        return Err(LoggingError::Stderr(std::io::Error::last_os_error().to_string()));
    }
    if flags & libc::O_ACCMODE == libc::O_RDONLY {
        return Err(LoggingError::Stderr("opened read-only".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn json_lines_carry_the_device_tag_as_a_field() {
        let buffer = Buffer::default();
        let sink = buffer.clone();
        let sub = subscriber(LogFormat::Json, EnvFilter::new("info"), false, move || sink.clone());
        tracing::subscriber::with_default(sub, || {
            tracing::warn!(device = "cuda:0", nonce = 7u64, "compute error");
            tracing::debug!(device = "cpu", "filtered out");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "{text}");
        let line: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(line["device"], "cuda:0");
        assert_eq!(line["message"], "compute error");
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["nonce"], 7);
    }

    #[test]
    fn text_lines_carry_the_device_tag() {
        let buffer = Buffer::default();
        let sink = buffer.clone();
        let sub = subscriber(LogFormat::Text, EnvFilter::new("info"), false, move || sink.clone());
        tracing::subscriber::with_default(sub, || tracing::info!(device = %"cl:0:1", "self-test passed"));
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("device=cl:0:1") && text.contains("self-test passed"), "{text}");
    }

    /// Runs in a child process with stderr on /dev/full (every write fails with ENOSPC).
    #[test]
    #[ignore = "child process of logging_to_a_full_disk_does_not_crash"]
    fn logging_child_on_full_stderr() {
        init_logging(LogFormat::Json, true).unwrap();
        for i in 0..100 {
            tracing::error!(device = "cpu", i, "a line nobody can store");
        }
        std::process::exit(42);
    }

    #[test]
    fn logging_to_a_full_disk_does_not_crash() {
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full");
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "telemetry::tests::logging_child_on_full_stderr", "--ignored", "--nocapture", "--test-threads=1"])
            .stdout(std::process::Stdio::null())
            .stderr(full)
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(42), "the child must reach its own exit, not panic: {status:?}");
    }

    #[test]
    fn closed_stderr_is_an_error_not_a_panic() {
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "telemetry::tests::logging_child_on_closed_stderr", "--ignored", "--test-threads=1"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .output()
            .unwrap();
        assert_eq!(status.status.code(), Some(43), "{status:?}");
    }

    #[test]
    #[ignore = "child process of closed_stderr_is_an_error_not_a_panic"]
    fn logging_child_on_closed_stderr() {
        // SAFETY: closing our own stderr descriptor in a child process made for this.
        unsafe { libc::close(libc::STDERR_FILENO) };
        let result = init_logging(LogFormat::Text, false);
        let code = if matches!(result, Err(LoggingError::Stderr(_))) { 43 } else { 1 };
        std::process::exit(code);
    }
}
