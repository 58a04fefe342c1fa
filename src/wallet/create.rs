//! Writing a wallet in the official layout from known seeds (tests, chopsticks' dev accounts):
//! the same JSON fields, the coldkey as `$NACL` when a password is given, every file mode 0600.

use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

use super::error::WalletError;
use super::keyfile::{keyfile_json, write_new};
use super::keypair::Keypair;
use super::{check_name, nacl};

fn make_dir(path: &Path) -> Result<(), WalletError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(|e| WalletError::Write { path: path.to_owned(), reason: e.to_string() })
}

fn keypair(seed: &[u8; 32], path: &Path) -> Result<Keypair, WalletError> {
    Keypair::from_seed(seed)
        .map_err(|_| WalletError::Malformed { path: path.to_owned(), problem: "the seed is not a valid sr25519 mini secret".into() })
}

/// Writes `<root>/<name>/` with a coldkey from `coldkey_seed` (encrypted as `$NACL` under
/// `password` when given: Argon2i over 512 MiB, a few seconds of CPU), `coldkeypub.txt`, and each
/// `(hotkey name, seed)` as `hotkeys/<name>` + `hotkeys/<name>pub.txt`. Refuses to overwrite
/// any existing file.
pub fn create_wallet(
    root: &Path,
    name: &str,
    coldkey_seed: &[u8; 32],
    password: Option<&str>,
    hotkeys: &[(&str, [u8; 32])],
) -> Result<(), WalletError> {
    check_name("wallet", name)?;
    for (hotkey, _) in hotkeys {
        check_name("hotkey", hotkey)?;
    }
    let dir = root.join(name);
    let hotkeys_dir = dir.join("hotkeys");
    make_dir(&hotkeys_dir)?;

    let cold_path = dir.join("coldkey");
    let cold = keypair(coldkey_seed, &cold_path)?;
    let secret_json = keyfile_json(&cold, Some(coldkey_seed), true);
    match password {
        Some(password) => {
            let sealed = nacl::encrypt(secret_json.as_bytes(), password.as_bytes())
                .map_err(|e| WalletError::Kdf { path: cold_path.clone(), reason: format!("{e:?}") })?;
            write_new(&cold_path, &sealed)?;
        }
        None => write_new(&cold_path, secret_json.as_bytes())?,
    }
    write_new(&dir.join("coldkeypub.txt"), keyfile_json(&cold, None, false).as_bytes())?;

    for (hotkey, seed) in hotkeys {
        let path = hotkeys_dir.join(hotkey);
        let pair = keypair(seed, &path)?;
        write_new(&path, keyfile_json(&pair, Some(seed), true).as_bytes())?;
        write_new(&hotkeys_dir.join(format!("{hotkey}pub.txt")), keyfile_json(&pair, None, false).as_bytes())?;
    }
    Ok(())
}
