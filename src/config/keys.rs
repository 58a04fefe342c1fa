//! The key table: every configuration key, its dotted name and the variables that set it.

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

pub(super) fn key_info(key: &str) -> Option<&'static KeyInfo> {
    KEYS.iter().find(|k| k.key == key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

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
}
