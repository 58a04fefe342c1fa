//! `config check`: every key's effective value with its source, secrets redacted.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use super::schema::Config;
use super::sources::origin;
use super::LoadedConfig;
use crate::settings::KEYS;

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
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_credentials_paths_and_queries() {
        assert_eq!(redact_url("wss://user:pw@host.io:443/KEY?apikey=s3cret"), "wss://host.io:443/<redacted>");
        assert_eq!(redact_url("wss://node.example/ws?apikey=s3cret"), "wss://node.example/<redacted>");
        assert_eq!(redact_url("ws://127.0.0.1:9944"), "ws://127.0.0.1:9944");
        assert_eq!(redact_url("ws://127.0.0.1:9944/"), "ws://127.0.0.1:9944/");
    }
}
