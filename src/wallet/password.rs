//! Where a keyfile's password comes from, in order: the official tools' `BT_PW_…` environment
//! variable, a password file (`--coldkey-password-file`, a systemd credential), an interactive
//! prompt when stdin is a terminal. Passwords live only in zeroizing buffers.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use base64::Engine;
use zeroize::Zeroizing;

use super::error::{PasswordOrigin, WalletError};

/// A password, wiped when dropped, with where it came from.
pub struct Password {
    pub(crate) bytes: Zeroizing<Vec<u8>>,
    pub origin: PasswordOrigin,
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Password(<redacted>, from {})", self.origin)
    }
}

/// How to obtain the password of an encrypted keyfile.
#[derive(Debug, Clone)]
pub struct PasswordSource {
    file: Option<PathBuf>,
    prompt: bool,
}

impl Default for PasswordSource {
    /// The environment, then a prompt when stdin is a terminal.
    fn default() -> Self {
        PasswordSource { file: None, prompt: true }
    }
}

/// The variable the official wallet tools read a keyfile's password from: `BT_PW_` + the path
/// with every `/` and `.` replaced by `_`, upper-cased.
pub fn env_var_name(keyfile: &Path) -> String {
    let path = keyfile.to_string_lossy().replace([std::path::MAIN_SEPARATOR, '.'], "_");
    format!("BT_PW_{}", path.to_uppercase())
}

/// Decodes a `BT_PW_…` value: base64 of the password XORed with the variable's name repeated.
pub fn decode_env_password(name: &str, value: &str) -> Result<Zeroizing<Vec<u8>>, WalletError> {
    let bad = |problem: &str| WalletError::PasswordEnvironment { name: name.to_owned(), problem: problem.to_owned() };
    let mut bytes =
        Zeroizing::new(base64::engine::general_purpose::STANDARD.decode(value.trim()).map_err(|_| bad("its value is not base64"))?);
    if bytes.is_empty() {
        return Err(bad("its value is empty"));
    }
    for (byte, key) in bytes.iter_mut().zip(name.bytes().cycle()) {
        *byte ^= key;
    }
    Ok(bytes)
}

impl PasswordSource {
    /// Also read the password from this file (one trailing newline is dropped).
    pub fn with_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.file = Some(path.into());
        self
    }

    /// Never prompt, even on a terminal (for daemons and tests).
    pub fn without_prompt(mut self) -> Self {
        self.prompt = false;
        self
    }

    /// The password for `keyfile` (an absolute path: the variable name is derived from it).
    pub fn resolve(&self, keyfile: &Path) -> Result<Password, WalletError> {
        let name = env_var_name(keyfile);
        if let Some(value) = std::env::var_os(&name) {
            let value = Zeroizing::new(
                value
                    .into_string()
                    .map_err(|_| WalletError::PasswordEnvironment { name: name.clone(), problem: "its value is not UTF-8".into() })?,
            );
            let bytes = decode_env_password(&name, &value)?;
            return Ok(Password { bytes, origin: PasswordOrigin::Environment(name) });
        }
        if let Some(path) = &self.file {
            return read_password_file(path);
        }
        if self.prompt && std::io::stdin().is_terminal() {
            let typed = Zeroizing::new(
                rpassword::prompt_password(format!("Password for {}: ", keyfile.display()))
                    .map_err(|e| WalletError::Prompt { reason: e.to_string() })?,
            );
            // The official tools trim what was typed, both when setting and when asking.
            let bytes = Zeroizing::new(typed.trim().as_bytes().to_vec());
            return Ok(Password { bytes, origin: PasswordOrigin::Prompt });
        }
        Err(WalletError::PasswordNeeded { path: keyfile.to_owned(), env_var: name })
    }
}

fn read_password_file(path: &Path) -> Result<Password, WalletError> {
    let mut bytes =
        Zeroizing::new(std::fs::read(path).map_err(|e| WalletError::PasswordFile { path: path.to_owned(), reason: e.to_string() })?);
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
    }
    if bytes.is_empty() {
        return Err(WalletError::PasswordFile { path: path.to_owned(), reason: "the file is empty".into() });
    }
    Ok(Password { bytes, origin: PasswordOrigin::File(path.to_owned()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_name_and_value_follow_the_wallet_tools() {
        let name = env_var_name(Path::new("/home/miner/.bittensor/wallets/vector/coldkey"));
        assert_eq!(name, "BT_PW__HOME_MINER__BITTENSOR_WALLETS_VECTOR_COLDKEY");
        let password = decode_env_password(&name, "MDE4IzgzKS09YDE6Pj1jNTMsLDUmJjA=").unwrap();
        assert_eq!(password.as_slice(), b"regsolver-test-password");
        assert!(matches!(decode_env_password(&name, "not base64!"), Err(WalletError::PasswordEnvironment { .. })));
    }
}
