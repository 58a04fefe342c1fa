//! The settings' vocabulary, below every other module: the key table ([`KEYS`]), every
//! configuration key ([`Key`]) with its dotted name and the variables that set it, and how the
//! library names a setting to the user. (The configuration itself, [`crate::config`], is built
//! on it; so are the messages of every module that names a setting.)
//!
//! # Naming a setting: the pattern for every library message
//! - A message that tells the user which setting to change names it by data, a [`Key`] (a field
//!   of the error variant when it varies, else a format argument), never by a flag's spelling:
//!   `#[error("the difficulty {difficulty} is above {} {max}", Key::MaxDifficulty)]`,
//!   `format!("{key} must be at least 1")`. The library's text says what is wrong with the values.
//! - [`Key`]'s `Display` words the setting as the front end names it. The binary owns those
//!   names (its flag table, `cli::flag`, sits beside the clap definitions) and installs them
//!   first thing in `main` with [`name_settings`]: the user reads `--max-difficulty`. Without
//!   them (a library user, a unit test) a setting reads as its key, `max_difficulty`.
//!   [`Key::as_str`] is always the key (`` `key`: `` prefixes, `config check`); [`Key::with_key`]
//!   gives both, `--burn-max (burn_max)`, for values that may come from a file or a flag.
//! - One table for the process rather than rewording at the binary's edge: library errors are
//!   flattened to text inside the library (`DaemonError::Usage(err.to_string())`), the daemon's
//!   log lines are written by the library, and the flag layer's provenance (`from flag
//!   --gpu-threads`, `sources.rs`) needs the same names; one table serves all three.
//! - A new setting: a [`Key`] variant, its [`KEYS`] row, an arm in `cli::flag` (the match is
//!   exhaustive; a test of the binary checks every name against clap's flags).

use std::sync::OnceLock;

/// Prefix of the environment variables that set configuration keys; `__` separates sections
/// (`REGSOLVER_WALLET__NAME`, `REGSOLVER_DEVICES__CUDA__SELECT`).
pub const ENV_PREFIX: &str = "REGSOLVER_";

/// A configuration key: a setting the user can change (file, environment or flag), in
/// [`KEYS`] order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    Network,
    ChainEndpoint,
    Subnet,
    WalletName,
    WalletHotkey,
    WalletHotkeys,
    WalletPath,
    ColdkeyPasswordFile,
    SealByteOrder,
    Backends,
    CpuThreads,
    CpuSimd,
    CudaSelect,
    CudaGpuThreads,
    CudaGpuNoncesPerThread,
    OpenclSelect,
    OpenclGpuThreads,
    OpenclGpuNoncesPerThread,
    MetricsAddress,
    HeartbeatStale,
    BlockStale,
    LogFormat,
    ConnectDeadline,
    MaxBackoff,
    Wait,
    MaxDifficulty,
    KeepGoing,
    BurnMax,
    BurnAfter,
    BurnBudget,
    DryRun,
    AllowRoot,
    ServeAddress,
    TokenFile,
    TlsCert,
    TlsKey,
    LocalDevices,
    AllowOrigins,
}

/// Every configuration key, with its dotted name and the bittensor environment variable that
/// also sets it (if any), in [`Key`] order. The single list the environment filter and
/// `config check` read; a test checks it against [`Config`](crate::config::Config)'s own fields.
pub const KEYS: &[KeyInfo] = &[
    KeyInfo::new(Key::Network, "network", None),
    KeyInfo::new(Key::ChainEndpoint, "chain_endpoint", None),
    KeyInfo::new(Key::Subnet, "subnet", None),
    KeyInfo::new(Key::WalletName, "wallet.name", Some("BT_WALLET_NAME")),
    KeyInfo::new(Key::WalletHotkey, "wallet.hotkey", Some("BT_WALLET_HOTKEY")),
    KeyInfo::new(Key::WalletHotkeys, "wallet.hotkeys", None),
    KeyInfo::new(Key::WalletPath, "wallet.path", Some("BT_WALLET_PATH")),
    KeyInfo::new(Key::ColdkeyPasswordFile, "coldkey_password_file", None),
    KeyInfo::new(Key::SealByteOrder, "seal_byte_order", None),
    KeyInfo::new(Key::Backends, "devices.backends", None),
    KeyInfo::new(Key::CpuThreads, "devices.cpu.threads", None),
    KeyInfo::new(Key::CpuSimd, "devices.cpu.simd", None),
    KeyInfo::new(Key::CudaSelect, "devices.cuda.select", None),
    KeyInfo::new(Key::CudaGpuThreads, "devices.cuda.gpu_threads", None),
    KeyInfo::new(Key::CudaGpuNoncesPerThread, "devices.cuda.gpu_nonces_per_thread", None),
    KeyInfo::new(Key::OpenclSelect, "devices.opencl.select", None),
    KeyInfo::new(Key::OpenclGpuThreads, "devices.opencl.gpu_threads", None),
    KeyInfo::new(Key::OpenclGpuNoncesPerThread, "devices.opencl.gpu_nonces_per_thread", None),
    KeyInfo::new(Key::MetricsAddress, "metrics.address", None),
    KeyInfo::new(Key::HeartbeatStale, "metrics.heartbeat_stale_s", None),
    KeyInfo::new(Key::BlockStale, "metrics.block_stale_s", None),
    KeyInfo::new(Key::LogFormat, "log_format", None),
    KeyInfo::new(Key::ConnectDeadline, "retry.connect_deadline_s", None),
    KeyInfo::new(Key::MaxBackoff, "retry.max_backoff_s", None),
    KeyInfo::new(Key::Wait, "wait", None),
    KeyInfo::new(Key::MaxDifficulty, "max_difficulty", None),
    KeyInfo::new(Key::KeepGoing, "keep_going", None),
    KeyInfo::new(Key::BurnMax, "burn_max", None),
    KeyInfo::new(Key::BurnAfter, "burn_after", None),
    KeyInfo::new(Key::BurnBudget, "burn_budget", None),
    KeyInfo::new(Key::DryRun, "dry_run", None),
    KeyInfo::new(Key::AllowRoot, "allow_root", None),
    KeyInfo::new(Key::ServeAddress, "serve.address", None),
    KeyInfo::new(Key::TokenFile, "serve.token_file", None),
    KeyInfo::new(Key::TlsCert, "serve.tls_cert", None),
    KeyInfo::new(Key::TlsKey, "serve.tls_key", None),
    KeyInfo::new(Key::LocalDevices, "serve.local_devices", None),
    KeyInfo::new(Key::AllowOrigins, "serve.allow_origins", None),
];

/// One configuration key: its dotted name and the bittensor variable that sets it.
#[derive(Clone, Copy, Debug)]
pub struct KeyInfo {
    pub id: Key,
    pub key: &'static str,
    pub bt_env: Option<&'static str>,
}

impl KeyInfo {
    const fn new(id: Key, key: &'static str, bt_env: Option<&'static str>) -> Self {
        KeyInfo { id, key, bt_env }
    }

    /// The `REGSOLVER_` variable for this key (`wallet.name` -> `REGSOLVER_WALLET__NAME`).
    pub fn env_var(&self) -> String {
        format!("{ENV_PREFIX}{}", self.key.replace('.', "__").to_ascii_uppercase())
    }
}

/// The front end's names for the settings ([`name_settings`]).
static NAMES: OnceLock<fn(Key) -> Option<&'static str>> = OnceLock::new();

/// Installs the front end's names for the settings (the binary: its flags), once per process
/// and before anything is said; a second call changes nothing.
pub fn name_settings(names: fn(Key) -> Option<&'static str>) {
    let _ = NAMES.set(names);
}

impl Key {
    /// This key's row of [`KEYS`].
    pub fn info(self) -> &'static KeyInfo {
        &KEYS[self as usize]
    }

    /// The dotted configuration key (`devices.cuda.gpu_threads`).
    pub fn as_str(self) -> &'static str {
        self.info().key
    }

    /// The key whose dotted name is `key`.
    pub fn find(key: &str) -> Option<Key> {
        KEYS.iter().find(|k| k.key == key).map(|k| k.id)
    }

    /// The front end's name, then the key in brackets (`--burn-max (burn_max)`); the key alone
    /// where the front end has no other name.
    pub fn with_key(self) -> String {
        match self.front_end_name() {
            Some(name) => format!("{name} ({})", self.as_str()),
            None => self.as_str().to_string(),
        }
    }

    /// The front end's own name for the setting (the binary's flag), when it installed one that
    /// differs from the key.
    pub fn front_end_name(self) -> Option<&'static str> {
        NAMES.get().and_then(|names| names(self)).filter(|name| *name != self.as_str())
    }
}

impl std::fmt::Display for Key {
    /// The setting as the user changes it: the front end's name (the binary's flag) if it has
    /// one, else the configuration key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.front_end_name().unwrap_or(self.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_in_key_order() {
        for (i, info) in KEYS.iter().enumerate() {
            assert_eq!(info.id as usize, i, "{}", info.key);
            assert_eq!(Key::find(info.key), Some(info.id));
        }
    }

    #[test]
    fn env_var_names_use_double_underscore_between_sections() {
        assert_eq!(Key::CudaGpuThreads.info().env_var(), "REGSOLVER_DEVICES__CUDA__GPU_THREADS");
        assert_eq!(Key::ChainEndpoint.info().env_var(), "REGSOLVER_CHAIN_ENDPOINT");
    }
}
