//! The wallet boundary's one error type. Messages name paths and what to do; they never carry
//! a secret, a password or a keyfile's content.

use std::fmt;
use std::path::PathBuf;

use crate::settings::Key;

/// How to point regsolver at another wallet; appended to "not found" messages.
struct WhereHint;

impl fmt::Display for WhereHint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (path, name) = (setting(Key::WalletPath, "DIR"), setting(Key::WalletName, "NAME"));
        write!(f, "point at another wallet directory with {path}, another wallet with {name}")
    }
}

/// A setting with a placeholder value and the bittensor variable that also sets it:
/// `--wallet.path DIR (or BT_WALLET_PATH)`.
fn setting(key: Key, value: &str) -> String {
    match key.info().bt_env {
        Some(var) => format!("{key} {value} (or {var})"),
        None => format!("{key} {value}"),
    }
}

/// Where a password came from, so a wrong one can be traced to the place that supplied it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordOrigin {
    /// The official tools' `BT_PW_…` variable (named here).
    Environment(String),
    /// `--coldkey-password-file PATH` (or a systemd credential).
    File(PathBuf),
    /// Typed at the terminal.
    Prompt,
}

impl fmt::Display for PasswordOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasswordOrigin::Environment(name) => write!(f, "environment variable {name}"),
            PasswordOrigin::File(path) => write!(f, "password file {}", path.display()),
            PasswordOrigin::Prompt => f.write_str("the terminal prompt"),
        }
    }
}

/// Everything that can go wrong opening a wallet or reading its keys.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    #[error("wallet `{name}` not found: {} does not exist{}; {WhereHint}", .path.display(), found_list("wallets there", .available))]
    MissingWallet { name: String, path: PathBuf, available: Vec<String> },

    #[error("{what} not found: {} does not exist; {WhereHint}", .path.display())]
    MissingFile { what: &'static str, path: PathBuf },

    #[error("hotkey `{name}` not found in wallet `{wallet}` ({} has no such keyfile){}; choose one with {}", .dir.display(), found_list("hotkeys there", .available), setting(Key::WalletHotkey, "NAME"))]
    UnknownHotkey { name: String, wallet: String, dir: PathBuf, available: Vec<String> },

    #[error("invalid {what} name `{name}`: it must be a plain file name (no `/`, not `.` or `..`, not empty)")]
    InvalidName { what: &'static str, name: String },

    #[error("cannot read {}: {reason}", .path.display())]
    Read { path: PathBuf, reason: String },

    #[error("cannot write {}: {reason}", .path.display())]
    Write { path: PathBuf, reason: String },

    #[error("refusing to overwrite {}: it already exists", .path.display())]
    AlreadyExists { path: PathBuf },

    #[error("malformed keyfile {}: {problem}", .path.display())]
    Malformed { path: PathBuf, problem: String },

    #[error("{} is encrypted with {scheme}, which regsolver does not read; re-encrypt it with the current bittensor wallet tools (they write `$NACL`), or regenerate it from its mnemonic", .path.display())]
    UnsupportedEncryption { path: PathBuf, scheme: &'static str },

    #[error("wrong password for {} (the password came from {origin})", .path.display())]
    WrongPassword { path: PathBuf, origin: PasswordOrigin },

    #[error("{} is encrypted and no password was given: set {env_var} as the bittensor wallet tools do, pass {} PATH (a systemd credential fits), or run on a terminal to be prompted", .path.display(), Key::ColdkeyPasswordFile)]
    PasswordNeeded { path: PathBuf, env_var: String },

    #[error("cannot read the password file {}: {reason}", .path.display())]
    PasswordFile { path: PathBuf, reason: String },

    #[error("environment variable {name} does not hold a password the bittensor wallet tools wrote: {problem}")]
    PasswordEnvironment { name: String, problem: String },

    #[error("cannot read a password from the terminal: {reason}")]
    Prompt { reason: String },

    #[error("the key in {} is {derived}, but {} says {recorded}: the files belong to different keys", .secret_path.display(), .public_path.display())]
    KeyMismatch { secret_path: PathBuf, public_path: PathBuf, derived: String, recorded: String },

    #[error("key derivation for {} failed: {reason}", .path.display())]
    Kdf { path: PathBuf, reason: String },
}

fn found_list(label: &str, names: &[String]) -> String {
    if names.is_empty() {
        format!(" ({label}: none)")
    } else {
        format!(" ({label}: {})", names.join(", "))
    }
}
