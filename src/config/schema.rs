//! What the daemon can be told: [`Config`] and its sections, with their defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::lenient::{display, lenient_string, lenient_string_opt, name, name_list, name_opt, string_list};
use crate::chain::Network;
use crate::fleet::{Limits, ServeConfig};
use crate::pow::ByteOrder;
use crate::solver::cpu::SimdLevel;
use crate::solver::Backend;
pub use crate::telemetry::LogFormat;

/// Where the bittensor tools keep wallets (`--wallet.path`'s default).
pub const DEFAULT_WALLET_PATH: &str = "~/.bittensor/wallets";

/// Everything the daemon can be told.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `finney`, `test`, `local` or a `ws://`/`wss://` URL.
    #[serde(serialize_with = "display", deserialize_with = "name")]
    pub network: Network,
    /// An RPC node to use instead of the network's default (bundled light client for finney/test).
    pub chain_endpoint: Option<String>,
    /// The subnet to register on (the daemon requires it; `config check` shows it unset).
    pub subnet: Option<u16>,
    pub wallet: WalletConfig,
    /// File holding the coldkey password (`$CREDENTIALS_DIRECTORY/coldkey-password` under systemd).
    pub coldkey_password_file: Option<PathBuf>,
    /// Byte order of legacy seals (`le`|`be`), for runtimes whose era is ambiguous.
    #[serde(deserialize_with = "name_opt")]
    pub seal_byte_order: Option<ByteOrder>,
    pub devices: DevicesConfig,
    pub metrics: MetricsConfig,
    pub log_format: LogFormat,
    pub retry: RetryConfig,
    /// Keep watching while registration is not possible instead of exiting.
    pub wait: bool,
    /// Never solve above this difficulty.
    pub max_difficulty: Option<u64>,
    /// Stay up after the last hotkey registered; re-register hotkeys that are deregistered.
    pub keep_going: bool,
    /// Register by burn when the price is at or below this many TAO (a string or an integer:
    /// exact; unset: never burn).
    #[serde(deserialize_with = "lenient_string_opt")]
    pub burn_max: Option<String>,
    /// With PoW open too, mine this long (`30m`, `2h`) for a seal before burning.
    #[serde(deserialize_with = "lenient_string_opt")]
    pub burn_after: Option<String>,
    /// The most TAO burned in total (prices and fees), over all hotkeys and restarts.
    #[serde(deserialize_with = "lenient_string_opt")]
    pub burn_budget: Option<String>,
    /// Do everything except submit.
    pub dry_run: bool,
    /// Run even as root.
    pub allow_root: bool,
    pub serve: CoordinatorConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            network: Network::Finney,
            chain_endpoint: None,
            subnet: None,
            wallet: WalletConfig::default(),
            coldkey_password_file: None,
            seal_byte_order: None,
            devices: DevicesConfig::default(),
            metrics: MetricsConfig::default(),
            log_format: LogFormat::Text,
            retry: RetryConfig::default(),
            wait: false,
            max_difficulty: None,
            keep_going: false,
            burn_max: None,
            burn_after: None,
            burn_budget: None,
            dry_run: false,
            allow_root: false,
            serve: CoordinatorConfig::default(),
        }
    }
}

/// The wallet: bittensor's layout under `path`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WalletConfig {
    #[serde(deserialize_with = "lenient_string")]
    pub name: String,
    /// The hotkey when `hotkeys` is empty.
    #[serde(deserialize_with = "lenient_string")]
    pub hotkey: String,
    /// Several hotkeys registered in turn (a list or `a,b,c`); `["all"]`: every hotkey in the wallet.
    #[serde(deserialize_with = "string_list")]
    pub hotkeys: Vec<String>,
    /// Wallets folder; a leading `~/` is the user's home.
    pub path: PathBuf,
}

impl Default for WalletConfig {
    fn default() -> Self {
        WalletConfig { name: "default".into(), hotkey: "default".into(), hotkeys: Vec::new(), path: PathBuf::from(DEFAULT_WALLET_PATH) }
    }
}

/// Which hotkeys the daemon registers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hotkeys {
    Named(Vec<String>),
    /// Every hotkey in the wallet.
    All,
}

impl WalletConfig {
    /// `hotkeys` if given, else the single `hotkey`.
    pub fn selection(&self) -> Hotkeys {
        match self.hotkeys.as_slice() {
            [] => Hotkeys::Named(vec![self.hotkey.clone()]),
            [all] if all == "all" => Hotkeys::All,
            names => Hotkeys::Named(names.to_vec()),
        }
    }

    /// `path` with a leading `~/` replaced by `home` (normally `$HOME`).
    pub fn path_expanded(&self, home: Option<&Path>) -> PathBuf {
        crate::wallet::expand_home_in(&self.path, home)
    }
}

/// Devices per backend (the same choices as the `solve` flags).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DevicesConfig {
    /// Backends to run (`cpu`, `cuda`, `opencl`). Empty: the CPU when no GPU is selected,
    /// otherwise the selected GPUs only. A `select` below adds its backend.
    #[serde(deserialize_with = "name_list")]
    pub backends: Vec<Backend>,
    pub cpu: CpuConfig,
    pub cuda: GpuConfig,
    pub opencl: GpuConfig,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CpuConfig {
    /// Worker threads (default: one per core).
    pub threads: Option<usize>,
    /// Force a SIMD path (default: the best this CPU runs).
    #[serde(deserialize_with = "name_opt")]
    pub simd: Option<SimdLevel>,
}

/// One GPU backend: which devices and the launch shape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GpuConfig {
    /// CUDA: `0`, `0,2` or `all`; OpenCL: `platform:device` pairs (`0:1,1:0`) or `all`.
    #[serde(deserialize_with = "lenient_string_opt")]
    pub select: Option<String>,
    /// GPU threads per launch (default: all the device holds at once).
    pub gpu_threads: Option<u32>,
    /// Nonces per GPU thread in a full batch.
    pub gpu_nonces_per_thread: u32,
}

impl Default for GpuConfig {
    fn default() -> Self {
        GpuConfig { select: None, gpu_threads: None, gpu_nonces_per_thread: 64 }
    }
}

/// The Prometheus endpoint and what `/healthz` calls stale.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Serve `/metrics` and `/healthz` here (default: not served).
    pub address: Option<SocketAddr>,
    /// `/healthz` answers 503 when the loop has not beaten for this long.
    pub heartbeat_stale_s: u64,
    /// `/healthz` answers 503 when no new block was seen for this long.
    pub block_stale_s: u64,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig { address: None, heartbeat_stale_s: 30, block_stale_s: 120 }
    }
}

/// The fleet coordinator (docs/fleet.md): off while `address` is unset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CoordinatorConfig {
    /// Hand jobs to `regsolver worker` rigs on this address.
    pub address: Option<SocketAddr>,
    /// The fleet's shared token (required on any address but loopback).
    pub token_file: Option<PathBuf>,
    /// TLS certificate chain and key (PEM), both or neither: workers then connect with wss://.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Search on this machine's devices too (false: only the workers search).
    pub local_devices: bool,
    /// `Origin` values (`scheme://host[:port]`) whose WebSocket upgrades are accepted; an
    /// upgrade with any other `Origin` (a web page's) is refused.
    pub allow_origins: Vec<String>,
}

impl CoordinatorConfig {
    /// The coordinator these settings start, or `None` while `address` is unset.
    pub fn fleet(&self) -> Option<ServeConfig> {
        Some(ServeConfig {
            addr: self.address?,
            token_file: self.token_file.clone(),
            tls: self.tls_cert.clone().zip(self.tls_key.clone()),
            allowed_origins: self.allow_origins.clone(),
            limits: Limits::default(),
        })
    }
}

impl Default for CoordinatorConfig {
    fn default() -> Self {
        CoordinatorConfig { address: None, token_file: None, tls_cert: None, tls_key: None, local_devices: true, allow_origins: Vec::new() }
    }
}

/// Connection retries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryConfig {
    /// Give up (exit non-zero) when no connection is made within this many seconds at start.
    pub connect_deadline_s: u64,
    /// Reconnection backoff doubles up to this many seconds.
    pub max_backoff_s: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig { connect_deadline_s: 120, max_backoff_s: 30 }
    }
}

/// What the command line set: the CLI fills the fields of the flags the user gave (a boolean
/// flag is `Some(true)` only when present), then passes this to [`load`], where it overrides
/// systemd's credential name for the coldkey password (`LoadCredential=coldkey-password:...`).
pub const COLDKEY_CREDENTIAL: &str = "coldkey-password";

impl Config {
    /// The coldkey password file: `coldkey_password_file` if set, else the systemd credential
    /// `$CREDENTIALS_DIRECTORY/coldkey-password` if it exists (pass
    /// `std::env::var_os("CREDENTIALS_DIRECTORY")`), else none (environment or prompt).
    pub fn coldkey_password_path(&self, credentials_directory: Option<&Path>) -> Option<PathBuf> {
        self.coldkey_password_file.clone().or_else(|| {
            let candidate = credentials_directory?.join(COLDKEY_CREDENTIAL);
            candidate.exists().then_some(candidate)
        })
    }

    /// The `/healthz` limits this configuration asks for.
    pub fn health_limits(&self) -> crate::telemetry::health::HealthLimits {
        crate::telemetry::health::HealthLimits {
            heartbeat_stale: std::time::Duration::from_secs(self.metrics.heartbeat_stale_s),
            block_stale: std::time::Duration::from_secs(self.metrics.block_stale_s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hotkey_selection() {
        let mut w = WalletConfig::default();
        assert_eq!(w.selection(), Hotkeys::Named(vec!["default".into()]));
        w.hotkeys = vec!["all".into()];
        assert_eq!(w.selection(), Hotkeys::All);
        assert_eq!(w.path_expanded(Some(Path::new("/home/u"))), PathBuf::from("/home/u/.bittensor/wallets"));
    }

    #[test]
    fn keys_cover_every_field_of_config() {
        fn leaves(prefix: &str, v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(map) => {
                    for (k, v) in map {
                        let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                        leaves(&key, v, out);
                    }
                }
                _ => out.push(prefix.to_string()),
            }
        }
        let mut fields = Vec::new();
        leaves("", &serde_json::to_value(Config::default()).unwrap(), &mut fields);
        let mut keys: Vec<String> = crate::settings::KEYS.iter().map(|k| k.key.to_string()).collect();
        fields.sort();
        keys.sort();
        assert_eq!(fields, keys);
    }
}
