//! Bittensor wallets as the official tools write them: `<root>/<wallet>/coldkey`,
//! `coldkeypub.txt`, `hotkeys/<name>`, `hotkeys/<name>pub.txt`; keyfiles in the clear or `$NACL`,
//! and the sr25519 keypairs they hold.
//!
//! - [`keypair`]: the sr25519 keypair (zeroized on drop).
//! - [`keyfile`]: one file: reading, legacy-encryption detection, JSON fields, permissions.
//! - [`nacl`]: the `$NACL` encryption (Argon2i + XSalsa20-Poly1305).
//! - [`password`]: `BT_PW_…`, password files, the prompt.
//! - [`create`]: writing a wallet (tests, dev accounts).

pub mod create;
pub(crate) mod error;
pub(crate) mod keyfile;
pub mod keypair;
pub mod nacl;
pub mod password;

use std::path::{Path, PathBuf};

pub use create::create_wallet;
pub use error::{PasswordOrigin, WalletError};
pub use keyfile::LooseKeyfile;
pub use keypair::Keypair;
pub use password::{Password, PasswordSource};

use crate::pow::ss58::encode_ss58;
use crate::pow::AccountId;
use keyfile::Contents;

/// Replaces a leading `~` with `$HOME` (left as is when `HOME` is unset).
pub fn expand_home(path: &Path) -> PathBuf {
    expand_home_in(path, std::env::var_os("HOME").map(PathBuf::from).as_deref())
}

/// `path` with a leading `~` replaced by `home` (left as is without one).
pub fn expand_home_in(path: &Path, home: Option<&Path>) -> PathBuf {
    match (path.strip_prefix("~"), home) {
        (Ok(rest), Some(home)) => home.join(rest),
        _ => path.to_owned(),
    }
}

/// A wallet directory. Opening it reads no key; each key is read when asked for.
#[derive(Debug, Clone)]
pub struct Wallet {
    name: String,
    dir: PathBuf,
}

fn check_name(what: &'static str, name: &str) -> Result<(), WalletError> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(WalletError::InvalidName { what, name: name.to_owned() });
    }
    Ok(())
}

/// The plain files directly under `dir` that pass `keep`, sorted; empty when `dir` is absent.
fn list_names(dir: &Path, keep: impl Fn(&str, &std::fs::FileType) -> bool) -> Result<Vec<String>, WalletError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(WalletError::Read { path: dir.to_owned(), reason: e.to_string() }),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| WalletError::Read { path: dir.to_owned(), reason: e.to_string() })?;
        let (Ok(kind), Some(name)) = (entry.file_type(), entry.file_name().to_str().map(str::to_owned)) else { continue };
        if !name.starts_with('.') && keep(&name, &kind) {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

impl Wallet {
    /// Opens `<root>/<name>` (`~` in `root` expanded; relative roots made absolute, since the
    /// `BT_PW_…` variable name is derived from the absolute keyfile path).
    pub fn open(root: &Path, name: &str) -> Result<Wallet, WalletError> {
        check_name("wallet", name)?;
        let root = expand_home(root);
        let root = std::path::absolute(&root).map_err(|e| WalletError::Read { path: root.clone(), reason: e.to_string() })?;
        let dir = root.join(name);
        if !dir.is_dir() {
            let available = list_names(&root, |_, kind| kind.is_dir())?;
            return Err(WalletError::MissingWallet { name: name.to_owned(), path: dir, available });
        }
        Ok(Wallet { name: name.to_owned(), dir })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The wallet directory (absolute).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn coldkey_path(&self) -> PathBuf {
        self.dir.join("coldkey")
    }

    pub fn coldkeypub_path(&self) -> PathBuf {
        self.dir.join("coldkeypub.txt")
    }

    pub fn hotkeys_dir(&self) -> PathBuf {
        self.dir.join("hotkeys")
    }

    /// `hotkeys/<name>` (the name is checked: no path separators).
    pub fn hotkey_path(&self, name: &str) -> Result<PathBuf, WalletError> {
        check_name("hotkey", name)?;
        Ok(self.hotkeys_dir().join(name))
    }

    fn hotkeypub_path(&self, name: &str) -> Result<PathBuf, WalletError> {
        check_name("hotkey", name)?;
        Ok(self.hotkeys_dir().join(format!("{name}pub.txt")))
    }

    /// The coldkey's account id from `coldkeypub.txt`, or from the coldkey itself when that file
    /// is missing and the coldkey is in the clear. Needs no password.
    pub fn coldkey_public(&self) -> Result<AccountId, WalletError> {
        let pub_path = self.coldkeypub_path();
        match keyfile::read(&pub_path, "coldkeypub.txt") {
            Ok(Contents::Clear(json)) => keyfile::public_from_clear(&pub_path, &json),
            Ok(Contents::Nacl(_)) => {
                Err(WalletError::Malformed { path: pub_path, problem: "a public-key file should not be encrypted".into() })
            }
            Err(WalletError::MissingFile { .. }) => {
                let cold_path = self.coldkey_path();
                match keyfile::read(&cold_path, "coldkey")? {
                    Contents::Clear(json) => keyfile::public_from_clear(&cold_path, &json),
                    Contents::Nacl(_) => Err(WalletError::MissingFile {
                        what: "coldkeypub.txt (the coldkey is encrypted, so its public key cannot be read without it)",
                        path: pub_path,
                    }),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// The hotkeys this wallet holds keyfiles for (not the `*pub.txt` files), sorted.
    pub fn hotkey_names(&self) -> Result<Vec<String>, WalletError> {
        list_names(&self.hotkeys_dir(), |name, kind| kind.is_file() && !name.ends_with("pub.txt"))
    }

    fn unknown_hotkey(&self, name: &str) -> WalletError {
        WalletError::UnknownHotkey {
            name: name.to_owned(),
            wallet: self.name.clone(),
            dir: self.hotkeys_dir(),
            available: self.hotkey_names().unwrap_or_default(),
        }
    }

    /// Reads a secret keyfile (warning when others can read it) and opens it.
    fn load_keypair(&self, path: &Path, what: &'static str, password: &PasswordSource) -> Result<Keypair, WalletError> {
        let contents = keyfile::read(path, what)?;
        keyfile::check_permissions(path);
        match contents {
            Contents::Clear(json) => keyfile::keypair_from_clear(path, &json),
            Contents::Nacl(data) => {
                let password = password.resolve(path)?;
                let json = nacl::decrypt(&data, &password.bytes).map_err(|e| match e {
                    nacl::NaclError::WrongPassword => WalletError::WrongPassword { path: path.to_owned(), origin: password.origin.clone() },
                    nacl::NaclError::Truncated(len) => WalletError::Malformed {
                        path: path.to_owned(),
                        problem: format!("the `$NACL` data is cut short ({len} bytes; header, nonce and tag alone take 45)"),
                    },
                    nacl::NaclError::Kdf(reason) => WalletError::Kdf { path: path.to_owned(), reason },
                })?;
                keyfile::keypair_from_clear(path, &json)
            }
        }
    }

    /// The hotkey `name`. Hotkeys are normally in the clear; an encrypted one takes its password
    /// from `password` as the coldkey does.
    pub fn hotkey(&self, name: &str, password: &PasswordSource) -> Result<Keypair, WalletError> {
        let path = self.hotkey_path(name)?;
        self.load_keypair(&path, "hotkey", password).map_err(|e| match e {
            WalletError::MissingFile { .. } => self.unknown_hotkey(name),
            other => other,
        })
    }

    /// The hotkey's account id, without its secret: from the keyfile's public fields when it is
    /// in the clear, else from `hotkeys/<name>pub.txt`.
    pub fn hotkey_public(&self, name: &str) -> Result<AccountId, WalletError> {
        let path = self.hotkey_path(name)?;
        let pub_path = self.hotkeypub_path(name)?;
        let from_pub = || match keyfile::read(&pub_path, "hotkey public-key file")? {
            Contents::Clear(json) => keyfile::public_from_clear(&pub_path, &json),
            Contents::Nacl(_) => {
                Err(WalletError::Malformed { path: pub_path.clone(), problem: "a public-key file should not be encrypted".into() })
            }
        };
        match keyfile::read(&path, "hotkey") {
            Ok(Contents::Clear(json)) => keyfile::public_from_clear(&path, &json),
            Ok(Contents::Nacl(_)) => from_pub(),
            Err(WalletError::MissingFile { .. }) => from_pub().map_err(|e| match e {
                WalletError::MissingFile { .. } => self.unknown_hotkey(name),
                other => other,
            }),
            Err(e) => Err(e),
        }
    }

    /// The coldkey, decrypted with a password from `password` when it is `$NACL`. Checked
    /// against `coldkeypub.txt` when that file exists.
    pub fn coldkey(&self, password: &PasswordSource) -> Result<Keypair, WalletError> {
        let path = self.coldkey_path();
        let pair = self.load_keypair(&path, "coldkey", password)?;
        let pub_path = self.coldkeypub_path();
        if pub_path.exists() {
            let recorded = self.coldkey_public()?;
            if recorded != pair.public() {
                return Err(WalletError::KeyMismatch {
                    secret_path: path,
                    public_path: pub_path,
                    derived: encode_ss58(&pair.public()),
                    recorded: encode_ss58(&recorded),
                });
            }
        }
        Ok(pair)
    }

    /// The secret keyfiles (coldkey, hotkeys) other users can read, each also logged as a warning.
    pub fn loose_keyfiles(&self) -> Result<Vec<LooseKeyfile>, WalletError> {
        let mut paths = vec![self.coldkey_path()];
        for name in self.hotkey_names()? {
            paths.push(self.hotkey_path(&name)?);
        }
        Ok(paths.iter().filter_map(|path| keyfile::check_permissions(path)).collect())
    }
}
