//! Daemon configuration: defaults < TOML file < environment < flags, layered with figment into
//! one validated [`Config`]; errors name the key, where it came from and the file's line;
//! [`explain()`] shows every effective value with its source, secrets redacted (`config check`).
//!
//! - `schema.rs`: [`Config`] and its sections, with their defaults.
//! - the key table ([`KEYS`]) and how a message names a setting ([`Key`]) live below every
//!   module, in [`crate::settings`], and are re-exported here.
//! - `sources.rs`: the layers (files, environment, flags) and where a value came from.
//! - `validation.rs`: what is wrong with the values, as [`ConfigIssue`]s.
//! - `explain.rs`: `config check`'s output, with redaction.
//! - `lenient.rs`: the serde helpers that let environment values arrive typed.

mod explain;
mod lenient;
mod schema;
mod sources;
mod validation;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::{Figment, Metadata};

pub use crate::chain::Network;
pub use crate::settings::{name_settings, Key, KeyInfo, ENV_PREFIX, KEYS};
pub use explain::{explain, explain_entries, explain_json, redact_url, values, Explained};
pub use schema::*;
pub use sources::{key_line, EnvOverrides, FlagOverrides, ValueSource};
use sources::{line_of, origin};
use validation::describe;
pub use validation::{ConfigError, ConfigIssue};

/// The system-wide configuration file, read when `--config` is not given and it exists.
pub const SYSTEM_CONFIG_PATH: &str = "/etc/regsolver/regsolver.toml";
/// The user's configuration file (under `$HOME`), read after the system one when it exists.
pub const USER_CONFIG_PATH: &str = ".config/regsolver/regsolver.toml";

/// The configuration with the layers it was made of (for [`explain()`]).
#[derive(Debug)]
pub struct LoadedConfig {
    pub config: Config,
    /// The files read, in order (later overrides earlier).
    pub files: Vec<PathBuf>,
    figment: Figment,
}

impl LoadedConfig {
    /// Whether a file, the environment or a flag set `key` (rather than leaving its default).
    pub fn is_set(&self, key: Key) -> bool {
        self.figment.find_metadata(key.as_str()).is_some()
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
            let (source, line) = locate(key.as_str(), None);
            ConfigIssue { key: key.as_str().to_string(), source, line, message }
        })
        .collect();
    if !issues.is_empty() {
        return Err(ConfigError::Invalid(issues));
    }
    Ok(LoadedConfig { config, files: files.to_vec(), figment })
}
