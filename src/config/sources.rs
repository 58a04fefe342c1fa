//! The layers: TOML files, the environment (`REGSOLVER_*`, `BT_WALLET_*`) and the command line's
//! flags as figment providers, and where a value came from (its layer, its file's line).
// figment's Provider API returns figment::Error (208 bytes) by value; the helpers feeding it do too.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::Serialize;

use crate::settings::{Key, KEYS};

/// What the command line set: the CLI fills the fields of the flags the user gave (a boolean
/// flag is `Some(true)` only when present), then passes this to [`super::load`], where it overrides
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
    /// messages name what the user typed (the others, as [`Key`] names them).
    pub spelled: Vec<(Key, String)>,
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
            let typed = spelled.iter().find(|(k, _)| k.as_str() == key).map(|(_, flag)| flag.clone());
            typed.or_else(|| Key::find(&key).map(|k| k.to_string())).unwrap_or(key)
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
/// Where `key`'s value came from, and its line if from a file.
pub(super) fn origin(
    figment: &Figment,
    texts: &BTreeMap<PathBuf, String>,
    key: &str,
    fallback: Option<&Metadata>,
) -> (ValueSource, Option<usize>) {
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

pub(super) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_line_finds_nested_and_dotted_keys() {
        let text = "subnet = 1\n\n[devices.cuda]\nselect = \"0\"\n[wallet]\nname = \"x\"\n";
        assert_eq!(key_line(text, &["subnet"]), Some(1));
        assert_eq!(key_line(text, &["devices", "cuda", "select"]), Some(4));
        assert_eq!(key_line(text, &["wallet", "name"]), Some(6));
        assert_eq!(key_line(text, &["wallet", "path"]), None);
    }
}
