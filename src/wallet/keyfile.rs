//! One keyfile on disk: reading it (with the permission check), telling its encryption apart,
//! parsing its JSON into public fields and secrets without ever echoing content, and writing
//! one the way the official tools do (mode 0600).

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use zeroize::Zeroizing;

use super::error::WalletError;
use super::keypair::Keypair;
use super::nacl::NACL_HEADER;
use crate::pow::ss58::{decode_ss58, encode_ss58, parse_account, parse_hex, KeyError};
use crate::pow::AccountId;

/// A keyfile that users other than its owner can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LooseKeyfile {
    pub path: PathBuf,
    /// The file's permission bits (e.g. `0o644`).
    pub mode: u32,
}

/// Returns (and logs as a warning) a keyfile whose mode lets group or others read or write it.
pub fn check_permissions(path: &Path) -> Option<LooseKeyfile> {
    let mode = fs::metadata(path).ok()?.permissions().mode() & 0o777;
    if mode & 0o077 == 0 {
        return None;
    }
    tracing::warn!(
        path = %path.display(),
        mode = format_args!("{mode:o}"),
        "keyfile is accessible to other users; restrict it with `chmod 600 {}`",
        path.display()
    );
    Some(LooseKeyfile { path: path.to_owned(), mode })
}

/// What a keyfile's bytes are.
pub enum Contents {
    /// JSON in the clear (hotkeys, pub files, unencrypted coldkeys).
    Clear(Zeroizing<Vec<u8>>),
    /// `$NACL` (header included).
    Nacl(Vec<u8>),
}

/// Reads a keyfile, sorting out legacy encryption; `what` names it in "not found" errors.
pub fn read(path: &Path, what: &'static str) -> Result<Contents, WalletError> {
    let bytes = Zeroizing::new(fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => WalletError::MissingFile { what, path: path.to_owned() },
        _ => WalletError::Read { path: path.to_owned(), reason: e.to_string() },
    })?);
    if bytes.starts_with(NACL_HEADER) {
        return Ok(Contents::Nacl(bytes.to_vec()));
    }
    if bytes.starts_with(b"$ANSIBLE_VAULT") {
        return Err(WalletError::UnsupportedEncryption { path: path.to_owned(), scheme: "Ansible Vault (`$ANSIBLE_VAULT`)" });
    }
    if bytes.starts_with(b"gAAAAA") {
        return Err(WalletError::UnsupportedEncryption { path: path.to_owned(), scheme: "the legacy Fernet scheme (`gAAAAA…`)" });
    }
    Ok(Contents::Clear(bytes))
}

/// A string field that may hold a secret: wiped when dropped.
#[derive(Deserialize)]
#[serde(transparent)]
struct SecretText(String);

impl Drop for SecretText {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// The keyfile JSON fields regsolver reads. Unknown fields are ignored, as the official tools do.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Fields {
    account_id: Option<String>,
    public_key: Option<String>,
    ss58_address: Option<String>,
    secret_seed: Option<SecretText>,
    private_key: Option<SecretText>,
    secret_phrase: Option<SecretText>,
}

fn malformed(path: &Path, problem: impl Into<String>) -> WalletError {
    WalletError::Malformed { path: path.to_owned(), problem: problem.into() }
}

fn parse_fields(path: &Path, json: &[u8]) -> Result<Fields, WalletError> {
    serde_json::from_slice(json).map_err(|e| {
        // serde's own messages can quote a value (a secret); say only where and what kind.
        let kind = match e.classify() {
            serde_json::error::Category::Eof => "is cut short (truncated JSON)",
            serde_json::error::Category::Syntax => "is not valid JSON",
            serde_json::error::Category::Data => "has a field of the wrong type (keyfile fields are strings)",
            serde_json::error::Category::Io => "could not be read",
        };
        malformed(path, format!("the content {kind} at line {}, column {}", e.line(), e.column()))
    })
}

fn hex_problem(field: &str, bytes: usize, e: &KeyError) -> String {
    match e {
        KeyError::HexLength(digits) => format!("{field} should be {} hex digits (0x-prefixed), found {digits}", 2 * bytes),
        // The hex crate's message quotes the offending character: leave it out.
        _ => format!("{field} is not hexadecimal"),
    }
}

/// The account id a keyfile's public fields agree on, if it has any.
fn public_of(path: &Path, fields: &Fields) -> Result<Option<AccountId>, WalletError> {
    let mut found: Option<(&str, AccountId)> = None;
    let hex_fields = [("accountId", &fields.account_id), ("publicKey", &fields.public_key)];
    let mut candidates = Vec::new();
    for (name, value) in hex_fields {
        if let Some(text) = value {
            candidates.push((name, parse_hex::<32>(text).map_err(|e| malformed(path, hex_problem(name, 32, &e)))?));
        }
    }
    if let Some(text) = &fields.ss58_address {
        let key = decode_ss58(text).map_err(|e| malformed(path, format!("ss58Address is not a valid address: {e}")))?;
        candidates.push(("ss58Address", key));
    }
    for (name, key) in candidates {
        match found {
            Some((first, known)) if known != key => {
                return Err(malformed(path, format!("{first} and {name} name different keys")));
            }
            Some(_) => {}
            None => found = Some((name, key)),
        }
    }
    Ok(found.map(|(_, key)| key))
}

/// The public key a clear keyfile or a `*pub.txt` records. Very old `coldkeypub.txt` files hold
/// the bare SS58 address instead of JSON; both are read.
pub fn public_from_clear(path: &Path, json: &[u8]) -> Result<AccountId, WalletError> {
    let trimmed = json.trim_ascii();
    if !trimmed.starts_with(b"{") {
        let text = std::str::from_utf8(trimmed).map_err(|_| malformed(path, "neither JSON nor an SS58 address"))?;
        return parse_account(text).map_err(|e| malformed(path, format!("neither JSON nor an SS58 address ({e})")));
    }
    let fields = parse_fields(path, json)?;
    public_of(path, &fields)?.ok_or_else(|| malformed(path, "it has none of accountId, publicKey, ss58Address"))
}

/// The keypair a clear keyfile holds: from `secretSeed`, else the 64-byte `privateKey`. When the
/// file also records its public key, the two must agree.
pub fn keypair_from_clear(path: &Path, json: &[u8]) -> Result<Keypair, WalletError> {
    let fields = parse_fields(path, json)?;
    let pair = if let Some(seed) = &fields.secret_seed {
        let bytes = Zeroizing::new(parse_hex::<32>(&seed.0).map_err(|e| malformed(path, hex_problem("secretSeed", 32, &e)))?);
        Keypair::from_seed(bytes.as_ref()).map_err(|_| malformed(path, "secretSeed is not a valid sr25519 mini secret"))?
    } else if let Some(private) = &fields.private_key {
        let bytes = Zeroizing::new(parse_hex::<64>(&private.0).map_err(|e| malformed(path, hex_problem("privateKey", 64, &e)))?);
        Keypair::from_private_key(bytes.as_ref()).map_err(|_| malformed(path, "privateKey is not a valid 64-byte sr25519 secret"))?
    } else if fields.secret_phrase.is_some() {
        return Err(malformed(
            path,
            "it holds only secretPhrase (no secretSeed or privateKey); regenerate the keyfile from the mnemonic with the bittensor wallet tools",
        ));
    } else {
        return Err(malformed(path, "it holds no secret (no secretSeed or privateKey): is this a public-key file?"));
    };
    if let Some(recorded) = public_of(path, &fields)? {
        if recorded != pair.public() {
            return Err(WalletError::KeyMismatch {
                secret_path: path.to_owned(),
                public_path: path.to_owned(),
                derived: encode_ss58(&pair.public()),
                recorded: encode_ss58(&recorded),
            });
        }
    }
    Ok(pair)
}

/// The JSON the official tools write for a keypair (secret fields only when `with_secret`).
pub fn keyfile_json(pair: &Keypair, seed: Option<&[u8; 32]>, with_secret: bool) -> Zeroizing<String> {
    use std::fmt::Write as _;
    let public = hex::encode(pair.public());
    let mut json = Zeroizing::new(String::with_capacity(640));
    let _ = write!(json, "{{\"accountId\":\"0x{public}\",\"publicKey\":\"0x{public}\",");
    if with_secret {
        let private = pair.private_key_bytes();
        let private_hex = Zeroizing::new(hex::encode(private.as_ref()));
        let _ = write!(json, "\"privateKey\":\"0x{}\",", private_hex.as_str());
        if let Some(seed) = seed {
            let seed_hex = Zeroizing::new(hex::encode(seed));
            let _ = write!(json, "\"secretSeed\":\"0x{}\",", seed_hex.as_str());
        }
    }
    let _ = write!(json, "\"ss58Address\":\"{}\",\"cryptoType\":1}}", encode_ss58(&pair.public()));
    json
}

/// Writes a new keyfile with mode 0600; never replaces an existing file.
pub fn write_new(path: &Path, contents: &[u8]) -> Result<(), WalletError> {
    let mut file = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => WalletError::AlreadyExists { path: path.to_owned() },
        _ => WalletError::Write { path: path.to_owned(), reason: e.to_string() },
    })?;
    file.write_all(contents).and_then(|()| file.sync_all()).map_err(|e| WalletError::Write { path: path.to_owned(), reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(json: &str, name: &str) -> String {
        let value: serde_json::Value = serde_json::from_str(json).unwrap();
        value[name].as_str().unwrap().to_owned()
    }

    #[test]
    fn written_keyfiles_carry_the_official_private_key_form() {
        // The official tool wrote both secretSeed and privateKey here: what regsolver writes for
        // the same seed must be byte-identical in both fields, and the public fields too.
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/wallets/mnemonic/hotkeys/default");
        let official = std::fs::read_to_string(&path).unwrap();
        let pair = keypair_from_clear(&path, official.as_bytes()).unwrap();
        let seed = parse_hex::<32>(&field(&official, "secretSeed")).unwrap();
        let written = keyfile_json(&pair, Some(&seed), true);
        for name in ["privateKey", "secretSeed", "accountId", "publicKey", "ss58Address"] {
            assert_eq!(field(&written, name), field(&official, name), "{name}");
        }
        let public_only = keyfile_json(&pair, Some(&seed), false);
        assert!(!public_only.contains("privateKey") && !public_only.contains("secretSeed"));
        assert_eq!(public_from_clear(&path, public_only.as_bytes()).unwrap(), pair.public());
    }

    #[test]
    fn public_fields_that_disagree_are_malformed() {
        let path = Path::new("/x/coldkeypub.txt");
        let a = encode_ss58(&[1; 32]);
        let json = format!("{{\"accountId\":\"0x{}\",\"ss58Address\":\"{a}\"}}", hex::encode([2u8; 32]));
        let err = public_from_clear(path, json.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("accountId and ss58Address name different keys"), "{err}");
        // A bare SS58 line, as very old coldkeypub.txt files hold.
        assert_eq!(public_from_clear(path, format!("{a}\n").as_bytes()).unwrap(), [1; 32]);
    }
}
