//! Checks: values that parse but make no sense, and figment's own errors, as [`ConfigIssue`]s
//! naming the key, its source and its file's line.

use std::path::PathBuf;

use super::explain::redact_url;
use super::schema::Config;
use super::sources::ValueSource;
use crate::settings::Key;

fn is_ws_url(text: &str) -> bool {
    text.strip_prefix("ws://").or_else(|| text.strip_prefix("wss://")).is_some_and(|rest| !rest.is_empty())
}

/// Why `origin` is not an `Origin` header value (`scheme://host[:port]`, no path), if it is not.
fn origin_problem(origin: &str) -> Option<String> {
    let rest = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && host.bytes().all(|b| b.is_ascii_graphic() && b != b'/') => None,
        _ => {
            Some(format!("'{origin}' is not an origin: write it as the browser sends it, scheme://host[:port] (https://dash.example:8443)"))
        }
    }
}

/// One problem with one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigIssue {
    /// Dotted key (`devices.cuda.gpu_threads`), empty for a file that does not parse.
    pub key: String,
    pub source: ValueSource,
    /// 1-based line in the file, when the key came from a file.
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let key = if self.key.is_empty() { String::new() } else { format!("`{}`: ", self.key) };
        match (&self.source, self.line) {
            (ValueSource::File(path), Some(line)) => write!(f, "{key}{} (in {}, line {line})", self.message, path.display()),
            (ValueSource::File(path), None) => write!(f, "{key}{} (in {})", self.message, path.display()),
            (ValueSource::Default, _) => write!(f, "{key}{}", self.message),
            (source, _) => write!(f, "{key}{} (from {source})", self.message),
        }
    }
}

/// Why no configuration could be made. Exit code 2 (bad input) in the binary.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {}: not found", .0.display())]
    Missing(PathBuf),
    #[error("configuration file {}: {source}", .path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("invalid configuration:\n{}", .0.iter().map(|i| format!("  {i}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<ConfigIssue>),
}

pub(super) fn describe(kind: &figment::error::Kind) -> String {
    use figment::error::Kind;
    match kind {
        Kind::UnknownField(_, expected) => format!("unknown key (this section has: {})", expected.join(", ")),
        other => other.to_string(),
    }
}

impl Config {
    /// Values that parse but make no sense, as (key, message).
    pub fn problems(&self) -> Vec<(Key, String)> {
        let mut out = Vec::new();
        if let Some(url) = &self.chain_endpoint {
            if !is_ws_url(url) {
                out.push((Key::ChainEndpoint, format!("`{}` is not a ws:// or wss:// URL", redact_url(url))));
            }
        }
        for (key, name) in [(Key::WalletName, &self.wallet.name), (Key::WalletHotkey, &self.wallet.hotkey)] {
            if let Some(why) = bad_wallet_name(name) {
                out.push((key, why));
            }
        }
        if self.wallet.hotkeys.len() > 1 && self.wallet.hotkeys.iter().any(|h| h == "all") {
            out.push((Key::WalletHotkeys, "`all` cannot be combined with named hotkeys".into()));
        }
        if let Some(why) = self.wallet.hotkeys.iter().find_map(|h| bad_wallet_name(h)) {
            out.push((Key::WalletHotkeys, why));
        }
        if self.devices.cpu.threads == Some(0) {
            out.push((Key::CpuThreads, "must be at least 1 (leave it unset for one per core)".into()));
        }
        for (gpu, [threads, nonces, select]) in [
            (&self.devices.cuda, [Key::CudaGpuThreads, Key::CudaGpuNoncesPerThread, Key::CudaSelect]),
            (&self.devices.opencl, [Key::OpenclGpuThreads, Key::OpenclGpuNoncesPerThread, Key::OpenclSelect]),
        ] {
            if gpu.gpu_threads == Some(0) {
                out.push((threads, "must be at least 1".into()));
            }
            if gpu.gpu_nonces_per_thread == 0 {
                out.push((nonces, "must be at least 1".into()));
            }
            if gpu.select.as_deref().is_some_and(|s| s.trim().is_empty()) {
                out.push((select, "empty selection".into()));
            }
        }
        let serve = &self.serve;
        if serve.tls_cert.is_some() != serve.tls_key.is_some() {
            let given = if serve.tls_cert.is_some() { Key::TlsCert } else { Key::TlsKey };
            let (cert, key) = (Key::TlsCert, Key::TlsKey);
            let named = cert.front_end_name().zip(key.front_end_name()).map(|(c, k)| format!(" ({c}, {k})")).unwrap_or_default();
            out.push((given, format!("{} and {}{named} go together: give both (PEM files)", cert.as_str(), key.as_str())));
        }
        if let Some(problem) = serve.allow_origins.iter().find_map(|o| origin_problem(o)) {
            out.push((Key::AllowOrigins, problem));
        }
        if serve.address.is_none() {
            let given = [
                (Key::TokenFile, serve.token_file.is_some()),
                (Key::TlsCert, serve.tls_cert.is_some()),
                (Key::TlsKey, serve.tls_key.is_some()),
                (Key::LocalDevices, !serve.local_devices),
                (Key::AllowOrigins, !serve.allow_origins.is_empty()),
            ];
            let address = Key::ServeAddress;
            let named = address.front_end_name().map(|name| format!(" ({name} [ADDR])")).unwrap_or_default();
            for (key, _) in given.into_iter().filter(|(_, set)| *set) {
                out.push((key, format!("is for a fleet coordinator: set {}{named}", address.as_str())));
            }
        }
        if self.max_difficulty == Some(0) {
            out.push((Key::MaxDifficulty, "must be at least 1".into()));
        }
        // The ledger's place is the command's business; only the values are checked here.
        let burn = crate::burn::BurnOptions::parse(
            self.burn_max.as_deref(),
            self.burn_after.as_deref(),
            self.burn_budget.as_deref(),
            Some(PathBuf::new()),
        );
        if let Some((key, err)) = burn.err().and_then(|e| Some((e.key()?, e))) {
            out.push((key, err.to_string()));
        }
        for (key, value) in [
            (Key::ConnectDeadline, self.retry.connect_deadline_s),
            (Key::MaxBackoff, self.retry.max_backoff_s),
            (Key::HeartbeatStale, self.metrics.heartbeat_stale_s),
            (Key::BlockStale, self.metrics.block_stale_s),
        ] {
            if value == 0 {
                out.push((key, "must be at least 1 second".into()));
            }
        }
        out
    }
}

fn bad_wallet_name(name: &str) -> Option<String> {
    if name.is_empty() {
        Some("empty name".into())
    } else if name.contains('/') || name == "." || name == ".." {
        Some(format!("`{name}` is not a plain file name"))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_origins_are_origins_and_only_for_a_coordinator() {
        let mut config = Config::default();
        config.serve.allow_origins = vec!["https://dash.example:8443".into()];
        let problems = config.problems();
        assert!(problems.iter().any(|(k, m)| *k == Key::AllowOrigins && m.contains("serve.address")), "{problems:?}");
        config.serve.address = Some("127.0.0.1:7733".parse().unwrap());
        assert!(config.problems().is_empty(), "{:?}", config.problems());
        for bad in ["dash.example", "https://dash.example/", "https://", "ftp://x", "https://a b"] {
            config.serve.allow_origins = vec![bad.into()];
            let problems = config.problems();
            assert!(problems.iter().any(|(k, m)| *k == Key::AllowOrigins && m.contains("scheme://host")), "{bad}: {problems:?}");
        }
    }
}
