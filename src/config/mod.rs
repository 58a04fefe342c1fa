//! Daemon configuration: defaults < TOML file < environment < flags, layered with figment into
//! one validated [`Config`]; errors name the key, where it came from and the file's line;
//! [`explain`] shows every effective value with its source, secrets redacted (`config check`).
// figment's Provider API returns figment::Error (208 bytes) by value; the helpers feeding it do too.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::{Deserialize, Deserializer, Serialize};

pub use crate::chain::Network;
use crate::pow::ByteOrder;
use crate::solver::cpu::SimdLevel;
use crate::solver::Backend;

/// The system-wide configuration file, read when `--config` is not given and it exists.
pub const SYSTEM_CONFIG_PATH: &str = "/etc/regsolver/regsolver.toml";
/// The user's configuration file (under `$HOME`), read after the system one when it exists.
pub const USER_CONFIG_PATH: &str = ".config/regsolver/regsolver.toml";
/// Where the bittensor tools keep wallets (`--wallet.path`'s default).
pub const DEFAULT_WALLET_PATH: &str = "~/.bittensor/wallets";
/// Prefix of the environment variables that set configuration keys; `__` separates sections
/// (`REGSOLVER_WALLET__NAME`, `REGSOLVER_DEVICES__CUDA__SELECT`).
pub const ENV_PREFIX: &str = "REGSOLVER_";

/// Every configuration key, with the flag that sets it (if any) and the bittensor environment
/// variable that also sets it (if any). The single list the environment filter, flag names
/// and `config check` read; a test checks it against [`Config`]'s own fields.
pub const KEYS: &[KeyInfo] = &[
    KeyInfo::new("network", Some("--network"), None),
    KeyInfo::new("chain_endpoint", Some("--chain-endpoint"), None),
    KeyInfo::new("subnet", Some("--subnet"), None),
    KeyInfo::new("wallet.name", Some("--wallet.name"), Some("BT_WALLET_NAME")),
    KeyInfo::new("wallet.hotkey", Some("--wallet.hotkey"), Some("BT_WALLET_HOTKEY")),
    KeyInfo::new("wallet.hotkeys", Some("--wallet.hotkeys"), None),
    KeyInfo::new("wallet.path", Some("--wallet.path"), Some("BT_WALLET_PATH")),
    KeyInfo::new("coldkey_password_file", Some("--coldkey-password-file"), None),
    KeyInfo::new("seal_byte_order", Some("--seal-byte-order"), None),
    KeyInfo::new("devices.backends", Some("--backend"), None),
    KeyInfo::new("devices.cpu.threads", Some("--threads"), None),
    KeyInfo::new("devices.cpu.simd", Some("--simd"), None),
    KeyInfo::new("devices.cuda.select", Some("--gpu"), None),
    KeyInfo::new("devices.cuda.gpu_threads", Some("--gpu-threads"), None),
    KeyInfo::new("devices.cuda.gpu_nonces_per_thread", Some("--gpu-nonces-per-thread"), None),
    KeyInfo::new("devices.opencl.select", Some("--opencl"), None),
    KeyInfo::new("devices.opencl.gpu_threads", Some("--gpu-threads"), None),
    KeyInfo::new("devices.opencl.gpu_nonces_per_thread", Some("--gpu-nonces-per-thread"), None),
    KeyInfo::new("metrics.address", Some("--metrics"), None),
    KeyInfo::new("metrics.heartbeat_stale_s", None, None),
    KeyInfo::new("metrics.block_stale_s", None, None),
    KeyInfo::new("log_format", Some("--log-format"), None),
    KeyInfo::new("retry.connect_deadline_s", Some("--connect-deadline"), None),
    KeyInfo::new("retry.max_backoff_s", Some("--max-backoff"), None),
    KeyInfo::new("wait", Some("--wait"), None),
    KeyInfo::new("max_difficulty", Some("--max-difficulty"), None),
    KeyInfo::new("keep_going", Some("--keep-going"), None),
    KeyInfo::new("burn_max", Some("--burn-max"), None),
    KeyInfo::new("burn_after", Some("--burn-after"), None),
    KeyInfo::new("burn_budget", Some("--burn-budget"), None),
    KeyInfo::new("dry_run", Some("--dry-run"), None),
    KeyInfo::new("allow_root", Some("--allow-root"), None),
    KeyInfo::new("serve.address", Some("--serve"), None),
    KeyInfo::new("serve.token_file", Some("--token-file"), None),
    KeyInfo::new("serve.tls_cert", Some("--tls-cert"), None),
    KeyInfo::new("serve.tls_key", Some("--tls-key"), None),
    KeyInfo::new("serve.local_devices", Some("--no-local-devices"), None),
    KeyInfo::new("serve.allow_origins", Some("--fleet-allow-origin"), None),
];

/// One configuration key: its dotted name, the flag and the bittensor variable that set it.
#[derive(Clone, Copy, Debug)]
pub struct KeyInfo {
    pub key: &'static str,
    pub flag: Option<&'static str>,
    pub bt_env: Option<&'static str>,
}

impl KeyInfo {
    const fn new(key: &'static str, flag: Option<&'static str>, bt_env: Option<&'static str>) -> Self {
        KeyInfo { key, flag, bt_env }
    }

    /// The `REGSOLVER_` variable for this key (`wallet.name` -> `REGSOLVER_WALLET__NAME`).
    pub fn env_var(&self) -> String {
        format!("{ENV_PREFIX}{}", self.key.replace('.', "__").to_ascii_uppercase())
    }
}

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

fn is_ws_url(text: &str) -> bool {
    text.strip_prefix("ws://").or_else(|| text.strip_prefix("wss://")).is_some_and(|rest| !rest.is_empty())
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

/// How log lines are written to stderr.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
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

impl Default for CoordinatorConfig {
    fn default() -> Self {
        CoordinatorConfig { address: None, token_file: None, tls_cert: None, tls_key: None, local_devices: true, allow_origins: Vec::new() }
    }
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
/// every other source.
#[derive(Clone, Debug, Default)]
pub struct FlagOverrides {
    pub network: Option<String>,
    pub chain_endpoint: Option<String>,
    pub subnet: Option<u16>,
    pub wallet_name: Option<String>,
    pub wallet_hotkey: Option<String>,
    /// `a,b,c` or `all`.
    pub wallet_hotkeys: Option<String>,
    pub wallet_path: Option<PathBuf>,
    pub coldkey_password_file: Option<PathBuf>,
    pub seal_byte_order: Option<String>,
    /// `--backend` values (`cpu`, `cuda`, `opencl`).
    pub backends: Option<Vec<String>>,
    pub threads: Option<usize>,
    pub simd: Option<String>,
    pub gpu: Option<String>,
    pub opencl: Option<String>,
    /// Applies to both GPU backends.
    pub gpu_threads: Option<u32>,
    /// Applies to both GPU backends.
    pub gpu_nonces_per_thread: Option<u32>,
    pub metrics: Option<String>,
    pub log_format: Option<String>,
    pub connect_deadline_s: Option<u64>,
    pub max_backoff_s: Option<u64>,
    pub wait: Option<bool>,
    pub max_difficulty: Option<u64>,
    pub keep_going: Option<bool>,
    pub burn_max: Option<String>,
    pub burn_after: Option<String>,
    pub burn_budget: Option<String>,
    pub dry_run: Option<bool>,
    pub allow_root: Option<bool>,
    /// `--serve [ADDR]`.
    pub serve: Option<SocketAddr>,
    pub token_file: Option<PathBuf>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// `--no-local-devices` is `Some(false)`.
    pub local_devices: Option<bool>,
    /// Keys whose flag was typed in another spelling (`--subtensor.network`), with that spelling:
    /// messages name what the user typed.
    pub spelled: Vec<(&'static str, String)>,
    /// `--fleet-allow-origin`, repeated.
    pub allow_origins: Option<Vec<String>>,
}

const FLAGS_NAME: &str = "command-line flags";
const ENV_NAME: &str = "environment";

impl FlagOverrides {
    fn entries(&self) -> Result<Vec<(&'static str, Value)>, figment::Error> {
        fn put<T: Serialize>(out: &mut Vec<(&'static str, Value)>, key: &'static str, v: &Option<T>) -> Result<(), figment::Error> {
            if let Some(v) = v {
                out.push((key, Value::serialize(v)?));
            }
            Ok(())
        }
        let mut out = Vec::new();
        put(&mut out, "network", &self.network)?;
        put(&mut out, "chain_endpoint", &self.chain_endpoint)?;
        put(&mut out, "subnet", &self.subnet)?;
        put(&mut out, "wallet.name", &self.wallet_name)?;
        put(&mut out, "wallet.hotkey", &self.wallet_hotkey)?;
        put(&mut out, "wallet.hotkeys", &self.wallet_hotkeys)?;
        put(&mut out, "wallet.path", &self.wallet_path)?;
        put(&mut out, "coldkey_password_file", &self.coldkey_password_file)?;
        put(&mut out, "seal_byte_order", &self.seal_byte_order)?;
        put(&mut out, "devices.backends", &self.backends)?;
        put(&mut out, "devices.cpu.threads", &self.threads)?;
        put(&mut out, "devices.cpu.simd", &self.simd)?;
        put(&mut out, "devices.cuda.select", &self.gpu)?;
        put(&mut out, "devices.opencl.select", &self.opencl)?;
        put(&mut out, "devices.cuda.gpu_threads", &self.gpu_threads)?;
        put(&mut out, "devices.opencl.gpu_threads", &self.gpu_threads)?;
        put(&mut out, "devices.cuda.gpu_nonces_per_thread", &self.gpu_nonces_per_thread)?;
        put(&mut out, "devices.opencl.gpu_nonces_per_thread", &self.gpu_nonces_per_thread)?;
        put(&mut out, "metrics.address", &self.metrics)?;
        put(&mut out, "log_format", &self.log_format)?;
        put(&mut out, "retry.connect_deadline_s", &self.connect_deadline_s)?;
        put(&mut out, "retry.max_backoff_s", &self.max_backoff_s)?;
        put(&mut out, "wait", &self.wait)?;
        put(&mut out, "max_difficulty", &self.max_difficulty)?;
        put(&mut out, "keep_going", &self.keep_going)?;
        put(&mut out, "burn_max", &self.burn_max)?;
        put(&mut out, "burn_after", &self.burn_after)?;
        put(&mut out, "burn_budget", &self.burn_budget)?;
        put(&mut out, "dry_run", &self.dry_run)?;
        put(&mut out, "allow_root", &self.allow_root)?;
        put(&mut out, "serve.address", &self.serve)?;
        put(&mut out, "serve.token_file", &self.token_file)?;
        put(&mut out, "serve.tls_cert", &self.tls_cert)?;
        put(&mut out, "serve.tls_key", &self.tls_key)?;
        put(&mut out, "serve.local_devices", &self.local_devices)?;
        put(&mut out, "serve.allow_origins", &self.allow_origins)?;
        Ok(out)
    }
}

impl Provider for FlagOverrides {
    fn metadata(&self) -> Metadata {
        let spelled = self.spelled.clone();
        Metadata::named(FLAGS_NAME).interpolater(move |_: &Profile, keys: &[&str]| {
            let key = keys.join(".");
            let typed = spelled.iter().find(|(k, _)| *k == key).map(|(_, flag)| flag.clone());
            typed.or_else(|| key_info(&key).and_then(|k| k.flag).map(str::to_string)).unwrap_or(key)
        })
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        nest_all(self.entries()?)
    }
}

/// Configuration keys from environment variables: `REGSOLVER_<KEY>` (sections joined by `__`)
/// and bittensor's `BT_WALLET_NAME`, `BT_WALLET_HOTKEY`, `BT_WALLET_PATH`. Variables that name
/// no key (`REGSOLVER_LOG`, `REGSOLVER_CACHE_DIR`...) are left to whoever reads them.
#[derive(Clone, Debug)]
pub struct EnvOverrides {
    /// (key, variable, value); a `REGSOLVER_` variable comes after the `BT_` one and wins.
    entries: Vec<(&'static str, String, String)>,
}

impl EnvOverrides {
    /// From this process's environment.
    pub fn from_process() -> Self {
        Self::from_vars(std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))))
    }

    /// From a given set of variables (tests; the process environment is global).
    pub fn from_vars<I: IntoIterator<Item = (String, String)>>(vars: I) -> Self {
        let vars: BTreeMap<String, String> = vars.into_iter().collect();
        let mut entries = Vec::new();
        for info in KEYS {
            if let Some(value) = info.bt_env.and_then(|name| vars.get(name)) {
                entries.push((info.key, info.bt_env.unwrap_or_default().to_string(), value.clone()));
            }
        }
        for info in KEYS {
            let name = info.env_var();
            if let Some(value) = vars.get(&name) {
                entries.push((info.key, name, value.clone()));
            }
        }
        EnvOverrides { entries }
    }
}

impl Provider for EnvOverrides {
    fn metadata(&self) -> Metadata {
        let names: BTreeMap<&'static str, String> = self.entries.iter().map(|(k, n, _)| (*k, n.clone())).collect();
        Metadata::named(ENV_NAME).interpolater(move |_: &Profile, keys: &[&str]| {
            let key = keys.join(".");
            names.get(key.as_str()).cloned().unwrap_or(key)
        })
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let parsed =
            self.entries.iter().map(|(key, _, value)| (*key, value.parse::<Value>().unwrap_or_else(|never| match never {}))).collect();
        nest_all(parsed)
    }
}

fn nest_all(entries: Vec<(&'static str, Value)>) -> Result<Map<Profile, Dict>, figment::Error> {
    let mut dict = Dict::new();
    for (key, value) in entries {
        let nested = figment::util::nest(key, value).into_dict().ok_or_else(|| figment::Error::from(format!("{key}: not a key path")))?;
        dict = merge_dicts(dict, nested);
    }
    let mut map = Map::new();
    map.insert(Profile::Default, dict);
    Ok(map)
}

fn merge_dicts(mut into: Dict, from: Dict) -> Dict {
    for (k, v) in from {
        let merged = match (into.remove(&k), v) {
            (Some(Value::Dict(_, a)), Value::Dict(tag, b)) => Value::Dict(tag, merge_dicts(a, b)),
            (_, v) => v,
        };
        into.insert(k, merged);
    }
    into
}

fn key_info(key: &str) -> Option<&'static KeyInfo> {
    KEYS.iter().find(|k| k.key == key)
}

/// Where a value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValueSource {
    Default,
    File(PathBuf),
    Env(String),
    Flag(String),
}

impl std::fmt::Display for ValueSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ValueSource::Default => f.write_str("default"),
            ValueSource::File(path) => write!(f, "file:{}", path.display()),
            ValueSource::Env(var) => write!(f, "env {var}"),
            ValueSource::Flag(flag) => write!(f, "flag {flag}"),
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

/// The configuration with the layers it was made of (for [`explain`]).
#[derive(Debug)]
pub struct LoadedConfig {
    pub config: Config,
    /// The files read, in order (later overrides earlier).
    pub files: Vec<PathBuf>,
    figment: Figment,
}

impl LoadedConfig {
    /// Whether a file, the environment or a flag set `key` (rather than leaving its default).
    pub fn is_set(&self, key: &str) -> bool {
        self.figment.find_metadata(key).is_some()
    }
}

/// The files read when `--config` is absent: the system file, then the user's, each if present.
pub fn default_files(home: Option<&Path>) -> Vec<PathBuf> {
    let mut files = vec![PathBuf::from(SYSTEM_CONFIG_PATH)];
    if let Some(home) = home {
        files.push(home.join(USER_CONFIG_PATH));
    }
    files.into_iter().filter(|p| p.is_file()).collect()
}

/// Loads the daemon's configuration: `--config PATH` (must exist) or the default files, this
/// process's environment, then the flags.
pub fn load(config_path: Option<&Path>, flags: &FlagOverrides) -> Result<LoadedConfig, ConfigError> {
    let files = match config_path {
        Some(path) => vec![path.to_path_buf()],
        None => default_files(std::env::var_os("HOME").as_deref().map(Path::new)),
    };
    load_from(&files, EnvOverrides::from_process(), flags)
}

/// Loads from the given files (each must exist), environment and flags.
pub fn load_from(files: &[PathBuf], env: EnvOverrides, flags: &FlagOverrides) -> Result<LoadedConfig, ConfigError> {
    let mut figment = Figment::new();
    let mut texts = BTreeMap::new();
    for path in files {
        let text = std::fs::read_to_string(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => ConfigError::Missing(path.clone()),
            _ => ConfigError::Read { path: path.clone(), source },
        })?;
        // A file that does not parse is reported with toml's own line and column.
        if let Err(err) = toml::de::DeTable::parse(&text) {
            let line = err.span().map(|span| line_of(&text, span.start));
            return Err(ConfigError::Invalid(vec![ConfigIssue {
                key: String::new(),
                source: ValueSource::File(path.clone()),
                line,
                message: format!("not valid TOML: {}", err.message()),
            }]));
        }
        figment = figment.merge(figment::providers::Data::<figment::providers::Toml>::file_exact(path));
        texts.insert(path.clone(), text);
    }
    figment = figment.merge(env).merge(flags.clone());
    let locate = |key: &str, fallback: Option<&Metadata>| origin(&figment, &texts, key, fallback);
    let config: Config = figment.extract().map_err(|err| {
        ConfigError::Invalid(
            err.into_iter()
                .map(|e| {
                    let mut key = e.path.join(".");
                    // figment's path ends with the unknown field already; serde's own does not.
                    if let figment::error::Kind::UnknownField(field, _) = &e.kind {
                        if e.path.last() != Some(field) {
                            key = if key.is_empty() { field.clone() } else { format!("{key}.{field}") };
                        }
                    }
                    let (source, line) = locate(&key, e.metadata.as_ref());
                    ConfigIssue { key, source, line, message: describe(&e.kind) }
                })
                .collect(),
        )
    })?;
    let issues: Vec<ConfigIssue> = config
        .problems()
        .into_iter()
        .map(|(key, message)| {
            let (source, line) = locate(key, None);
            ConfigIssue { key: key.to_string(), source, line, message }
        })
        .collect();
    if !issues.is_empty() {
        return Err(ConfigError::Invalid(issues));
    }
    Ok(LoadedConfig { config, files: files.to_vec(), figment })
}

fn describe(kind: &figment::error::Kind) -> String {
    use figment::error::Kind;
    match kind {
        Kind::UnknownField(_, expected) => format!("unknown key (this section has: {})", expected.join(", ")),
        other => other.to_string(),
    }
}

/// Where `key`'s value came from, and its line if from a file.
fn origin(figment: &Figment, texts: &BTreeMap<PathBuf, String>, key: &str, fallback: Option<&Metadata>) -> (ValueSource, Option<usize>) {
    let Some(metadata) = figment.find_metadata(key).or(fallback) else {
        return (ValueSource::Default, None);
    };
    let path: Vec<&str> = key.split('.').collect();
    if let Some(file) = metadata.source.as_ref().and_then(|s| s.file_path()) {
        let line = texts.get(file).and_then(|text| key_line(text, &path));
        return (ValueSource::File(file.to_path_buf()), line);
    }
    let name = metadata.interpolate(&Profile::Default, &path);
    match metadata.name.as_ref() {
        FLAGS_NAME => (ValueSource::Flag(name), None),
        ENV_NAME => (ValueSource::Env(name), None),
        _ => (ValueSource::Default, None),
    }
}

/// The 1-based line of the dotted key in a TOML text (the deepest part of the path found).
pub fn key_line(text: &str, path: &[&str]) -> Option<usize> {
    let root = toml::de::DeTable::parse(text).ok()?;
    let mut table = root.get_ref();
    let mut found = None;
    for part in path {
        let (k, v) = table.iter().find(|(k, _)| k.get_ref() == part)?;
        found = Some(k.span().start);
        match v.get_ref() {
            toml::de::DeValue::Table(inner) => table = inner,
            _ => break,
        }
    }
    found.map(|offset| line_of(text, offset))
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

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

    /// Values that parse but make no sense, as (key, message).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(url) = &self.chain_endpoint {
            if !is_ws_url(url) {
                out.push(("chain_endpoint", format!("`{}` is not a ws:// or wss:// URL", redact_url(url))));
            }
        }
        for (key, name) in [("wallet.name", &self.wallet.name), ("wallet.hotkey", &self.wallet.hotkey)] {
            if let Some(why) = bad_wallet_name(name) {
                out.push((key, why));
            }
        }
        if self.wallet.hotkeys.len() > 1 && self.wallet.hotkeys.iter().any(|h| h == "all") {
            out.push(("wallet.hotkeys", "`all` cannot be combined with named hotkeys".into()));
        }
        if let Some(why) = self.wallet.hotkeys.iter().find_map(|h| bad_wallet_name(h)) {
            out.push(("wallet.hotkeys", why));
        }
        if self.devices.cpu.threads == Some(0) {
            out.push(("devices.cpu.threads", "must be at least 1 (leave it unset for one per core)".into()));
        }
        for (prefix, gpu) in [("devices.cuda", &self.devices.cuda), ("devices.opencl", &self.devices.opencl)] {
            if gpu.gpu_threads == Some(0) {
                out.push((
                    if prefix == "devices.cuda" { "devices.cuda.gpu_threads" } else { "devices.opencl.gpu_threads" },
                    "must be at least 1".into(),
                ));
            }
            if gpu.gpu_nonces_per_thread == 0 {
                out.push((
                    if prefix == "devices.cuda" { "devices.cuda.gpu_nonces_per_thread" } else { "devices.opencl.gpu_nonces_per_thread" },
                    "must be at least 1".into(),
                ));
            }
            if gpu.select.as_deref().is_some_and(|s| s.trim().is_empty()) {
                out.push((
                    if prefix == "devices.cuda" { "devices.cuda.select" } else { "devices.opencl.select" },
                    "empty selection".into(),
                ));
            }
        }
        let serve = &self.serve;
        if serve.tls_cert.is_some() != serve.tls_key.is_some() {
            let given = if serve.tls_cert.is_some() { "serve.tls_cert" } else { "serve.tls_key" };
            out.push((given, "serve.tls_cert and serve.tls_key (--tls-cert, --tls-key) go together: give both (PEM files)".into()));
        }
        if let Some(problem) = serve.allow_origins.iter().find_map(|o| origin_problem(o)) {
            out.push(("serve.allow_origins", problem));
        }
        if serve.address.is_none() {
            let given = [
                ("serve.token_file", serve.token_file.is_some()),
                ("serve.tls_cert", serve.tls_cert.is_some()),
                ("serve.tls_key", serve.tls_key.is_some()),
                ("serve.local_devices", !serve.local_devices),
                ("serve.allow_origins", !serve.allow_origins.is_empty()),
            ];
            for (key, _) in given.into_iter().filter(|(_, set)| *set) {
                out.push((key, "is for a fleet coordinator: set serve.address (--serve [ADDR])".into()));
            }
        }
        if self.max_difficulty == Some(0) {
            out.push(("max_difficulty", "must be at least 1".into()));
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
            ("retry.connect_deadline_s", self.retry.connect_deadline_s),
            ("retry.max_backoff_s", self.retry.max_backoff_s),
            ("metrics.heartbeat_stale_s", self.metrics.heartbeat_stale_s),
            ("metrics.block_stale_s", self.metrics.block_stale_s),
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

/// A URL with anything that may be a credential hidden: user info, path and query (RPC
/// providers put API keys in either). `wss://user:key@host/KEY?apikey=X` -> `wss://host/<redacted>`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<redacted>".into();
    };
    let (authority, tail) = match rest.find(['/', '?', '#']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let hidden = authority.contains('@') || !matches!(tail, "" | "/");
    if hidden {
        format!("{scheme}://{host}/<redacted>")
    } else {
        format!("{scheme}://{host}{tail}")
    }
}

/// Keys whose values may carry an inline secret, and how they are shown.
fn redact(key: &str, value: serde_json::Value) -> serde_json::Value {
    match (key, &value) {
        ("chain_endpoint" | "network", serde_json::Value::String(url)) if url.contains("://") => serde_json::Value::String(redact_url(url)),
        _ => value,
    }
}

/// One line of `config check`.
#[derive(Clone, Debug, Serialize)]
pub struct Explained {
    pub key: &'static str,
    /// `null` when unset.
    pub value: serde_json::Value,
    /// `default`, `file:PATH`, `env VAR` or `flag --name`.
    pub source: String,
    /// Line in the file, for values from a file.
    pub line: Option<usize>,
}

/// Every key's value, in [`KEYS`] order, secrets redacted.
pub fn values(config: &Config) -> Vec<(&'static str, serde_json::Value)> {
    let tree = serde_json::to_value(config).unwrap_or_default();
    KEYS.iter()
        .map(|info| {
            let value = info.key.split('.').try_fold(&tree, |node, part| node.get(part)).cloned().unwrap_or_default();
            (info.key, redact(info.key, value))
        })
        .collect()
}

/// Every key's effective value and source, in [`KEYS`] order, secrets redacted.
pub fn explain_entries(loaded: &LoadedConfig) -> Vec<Explained> {
    let texts: BTreeMap<PathBuf, String> =
        loaded.files.iter().filter_map(|p| Some((p.clone(), std::fs::read_to_string(p).ok()?))).collect();
    values(&loaded.config)
        .into_iter()
        .map(|(key, value)| {
            let (source, line) = origin(&loaded.figment, &texts, key, None);
            Explained { key, value, source: source.to_string(), line }
        })
        .collect()
}

/// `config check` as text: `key = value    # source`, one per line.
pub fn explain(loaded: &LoadedConfig) -> String {
    let entries = explain_entries(loaded);
    let width = entries.iter().map(|e| e.key.len()).max().unwrap_or(0);
    let mut out = String::new();
    if loaded.files.is_empty() {
        out.push_str("# no configuration file read\n");
    }
    for path in &loaded.files {
        out.push_str(&format!("# file: {}\n", path.display()));
    }
    for e in entries {
        let value = match &e.value {
            serde_json::Value::Null => "(unset)".to_string(),
            other => other.to_string(),
        };
        let at = e.line.map(|l| format!(":{l}")).unwrap_or_default();
        out.push_str(&format!("{:width$} = {value}    # {}{at}\n", e.key, e.source));
    }
    out
}

/// `config check --json`: `{"files": [...], "keys": [{key, value, source, line}]}`.
pub fn explain_json(loaded: &LoadedConfig) -> serde_json::Value {
    serde_json::json!({ "files": loaded.files, "keys": explain_entries(loaded) })
}

// ---- lenient deserializers: environment values like `0` or `true` arrive typed ----

struct LenientString;

impl serde::de::Visitor<'_> for LenientString {
    type Value = String;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }
}

fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    d.deserialize_any(LenientString)
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    Many(Vec<LenientItem>),
    One(LenientItem),
}

struct LenientItem(String);

impl<'de> Deserialize<'de> for LenientItem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        lenient_string(d).map(LenientItem)
    }
}

fn lenient_string_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    lenient_string(d).map(Some)
}

/// A list, or one string of comma-separated items.
fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::Many(items) => items.into_iter().map(|i| i.0.trim().to_string()).collect(),
        OneOrMany::One(item) => item.0.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
    })
}

/// A name from a closed set, through the type's own `FromStr` (its error lists the valid names).
fn parse_name<T: std::str::FromStr, E: serde::de::Error>(text: &str) -> Result<T, E>
where
    T::Err: std::fmt::Display,
{
    text.trim().parse().map_err(|e: T::Err| E::custom(e.to_string()))
}

fn name<'de, D: Deserializer<'de>, T: std::str::FromStr>(d: D) -> Result<T, D::Error>
where
    T::Err: std::fmt::Display,
{
    parse_name(&lenient_string(d)?)
}

fn display<S: serde::Serializer, T: std::fmt::Display>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

fn name_opt<'de, D: Deserializer<'de>, T: std::str::FromStr>(d: D) -> Result<Option<T>, D::Error>
where
    T::Err: std::fmt::Display,
{
    parse_name(&lenient_string(d)?).map(Some)
}

fn name_list<'de, D: Deserializer<'de>, T: std::str::FromStr>(d: D) -> Result<Vec<T>, D::Error>
where
    T::Err: std::fmt::Display,
{
    string_list(d)?.iter().map(|s| parse_name(s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_origins_are_origins_and_only_for_a_coordinator() {
        let mut config = Config::default();
        config.serve.allow_origins = vec!["https://dash.example:8443".into()];
        let problems = config.problems();
        assert!(problems.iter().any(|(k, m)| *k == "serve.allow_origins" && m.contains("serve.address")), "{problems:?}");
        config.serve.address = Some("127.0.0.1:7733".parse().unwrap());
        assert!(config.problems().is_empty(), "{:?}", config.problems());
        for bad in ["dash.example", "https://dash.example/", "https://", "ftp://x", "https://a b"] {
            config.serve.allow_origins = vec![bad.into()];
            let problems = config.problems();
            assert!(problems.iter().any(|(k, m)| *k == "serve.allow_origins" && m.contains("scheme://host")), "{bad}: {problems:?}");
        }
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
        let mut keys: Vec<String> = KEYS.iter().map(|k| k.key.to_string()).collect();
        fields.sort();
        keys.sort();
        assert_eq!(fields, keys);
    }

    #[test]
    fn env_var_names_use_double_underscore_between_sections() {
        assert_eq!(key_info("devices.cuda.gpu_threads").unwrap().env_var(), "REGSOLVER_DEVICES__CUDA__GPU_THREADS");
        assert_eq!(key_info("chain_endpoint").unwrap().env_var(), "REGSOLVER_CHAIN_ENDPOINT");
    }

    #[test]
    fn urls_lose_credentials_paths_and_queries() {
        assert_eq!(redact_url("wss://user:pw@host.io:443/KEY?apikey=s3cret"), "wss://host.io:443/<redacted>");
        assert_eq!(redact_url("wss://node.example/ws?apikey=s3cret"), "wss://node.example/<redacted>");
        assert_eq!(redact_url("ws://127.0.0.1:9944"), "ws://127.0.0.1:9944");
        assert_eq!(redact_url("ws://127.0.0.1:9944/"), "ws://127.0.0.1:9944/");
    }

    #[test]
    fn key_line_finds_nested_and_dotted_keys() {
        let text = "subnet = 1\n\n[devices.cuda]\nselect = \"0\"\n[wallet]\nname = \"x\"\n";
        assert_eq!(key_line(text, &["subnet"]), Some(1));
        assert_eq!(key_line(text, &["devices", "cuda", "select"]), Some(4));
        assert_eq!(key_line(text, &["wallet", "name"]), Some(6));
        assert_eq!(key_line(text, &["wallet", "path"]), None);
    }

    #[test]
    fn hotkey_selection() {
        let mut w = WalletConfig::default();
        assert_eq!(w.selection(), Hotkeys::Named(vec!["default".into()]));
        w.hotkeys = vec!["all".into()];
        assert_eq!(w.selection(), Hotkeys::All);
        assert_eq!(w.path_expanded(Some(Path::new("/home/u"))), PathBuf::from("/home/u/.bittensor/wallets"));
    }
}
