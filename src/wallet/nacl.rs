//! The `$NACL` keyfile encryption the bittensor wallet tools write: a 32-byte key from Argon2i
//! (version 0x13, libsodium's `argon2i13` "sensitive" limits, fixed salt) of the password, then
//! an XSalsa20-Poly1305 secretbox: `$NACL` ‖ 24-byte nonce ‖ tag ‖ ciphertext.

use argon2::{Algorithm, Argon2, Params, Version};
use xsalsa20poly1305::aead::{Aead, KeyInit, OsRng};
use xsalsa20poly1305::{Key, Nonce, XSalsa20Poly1305, NONCE_SIZE};
use zeroize::Zeroizing;

/// The header every `$NACL` keyfile starts with.
pub const NACL_HEADER: &[u8] = b"$NACL";

/// The wallet tools' fixed Argon2 salt.
const NACL_SALT: [u8; 16] = [0x13, 0x71, 0x83, 0xdf, 0xf1, 0x5a, 0x09, 0xbc, 0x9c, 0x90, 0xb5, 0x51, 0x87, 0x39, 0xe9, 0xb1];

/// libsodium `crypto_pwhash_argon2i_OPSLIMIT_SENSITIVE` (sodiumoxide `argon2i13`), which the
/// official wallet (bittensor-wallet 4.x) uses: 8 passes. The real vectors in
/// tests/data/wallets open with it; 4 passes / 1 GiB (as Argon2i or Argon2id) do not. One
/// derivation costs about 4.5 s of CPU on the project's build machine.
pub const ARGON2I_PASSES: u32 = 8;

/// libsodium `crypto_pwhash_argon2i_MEMLIMIT_SENSITIVE`: 512 MiB, in KiB as Argon2 counts it.
pub const ARGON2I_MEMORY_KIB: u32 = 512 * 1024;

/// Poly1305 tag length inside the box.
const TAG_BYTES: usize = 16;

/// Why a `$NACL` body did not open.
#[derive(Debug, PartialEq, Eq)]
pub enum NaclError {
    /// Shorter than header + nonce + tag.
    Truncated(usize),
    /// The tag did not verify: wrong password (or a corrupted file; the two cannot be told apart).
    WrongPassword,
    /// Argon2 refused (memory could not be had, for example).
    Kdf(String),
}

fn derive_key(password: &[u8]) -> Result<Zeroizing<[u8; 32]>, NaclError> {
    let params = Params::new(ARGON2I_MEMORY_KIB, ARGON2I_PASSES, 1, Some(32)).map_err(|e| NaclError::Kdf(e.to_string()))?;
    let mut key = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2i, Version::V0x13, params)
        .hash_password_into(password, &NACL_SALT, key.as_mut())
        .map_err(|e| NaclError::Kdf(e.to_string()))?;
    Ok(key)
}

/// Opens a whole `$NACL` keyfile (header included) with `password`.
pub fn decrypt(data: &[u8], password: &[u8]) -> Result<Zeroizing<Vec<u8>>, NaclError> {
    let body = data.strip_prefix(NACL_HEADER).unwrap_or(data);
    if body.len() < NONCE_SIZE + TAG_BYTES {
        return Err(NaclError::Truncated(data.len()));
    }
    let (nonce, boxed) = body.split_at(NONCE_SIZE);
    let key = derive_key(password)?;
    let cipher = XSalsa20Poly1305::new(Key::from_slice(key.as_ref()));
    cipher.decrypt(Nonce::from_slice(nonce), boxed).map(Zeroizing::new).map_err(|_| NaclError::WrongPassword)
}

/// Seals `plaintext` as a whole `$NACL` keyfile under `password`, with a fresh random nonce.
pub fn encrypt(plaintext: &[u8], password: &[u8]) -> Result<Vec<u8>, NaclError> {
    let key = derive_key(password)?;
    let cipher = XSalsa20Poly1305::new(Key::from_slice(key.as_ref()));
    let nonce = XSalsa20Poly1305::generate_nonce(&mut OsRng);
    let boxed = cipher.encrypt(&nonce, plaintext).map_err(|e| NaclError::Kdf(e.to_string()))?;
    let mut out = Vec::with_capacity(NACL_HEADER.len() + NONCE_SIZE + boxed.len());
    out.extend_from_slice(NACL_HEADER);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&boxed);
    Ok(out)
}
