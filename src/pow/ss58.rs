//! Account ids on the command line: 32-byte hex (optional `0x`) or SS58 addresses.

use blake2::{Blake2b512, Digest};

/// SS58 network prefix used by Bittensor (generic Substrate).
pub const BITTENSOR_PREFIX: u8 = 42;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("expected 32 bytes of hex (64 hex digits, optional 0x), got {0} hex digits")]
    HexLength(usize),
    #[error("not valid hex: {0}")]
    Hex(String),
    #[error("not a valid SS58 address: {0}")]
    Base58(String),
    #[error("SS58 address has {0} bytes; expected 35 (prefix, 32-byte key, 2-byte checksum)")]
    Ss58Length(usize),
    #[error("SS58 address checksum does not match (mistyped address?)")]
    Ss58Checksum,
}

/// Decodes `0x`-optional hex of exactly `N` bytes.
pub fn parse_hex<const N: usize>(text: &str) -> Result<[u8; N], KeyError> {
    let digits = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")).unwrap_or(text);
    if digits.len() != 2 * N {
        return Err(KeyError::HexLength(digits.len()));
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(digits, &mut out).map_err(|e| KeyError::Hex(e.to_string()))?;
    Ok(out)
}

fn checksum(prefix: u8, key: &[u8; 32]) -> [u8; 2] {
    let mut h = Blake2b512::new();
    h.update(b"SS58PRE");
    h.update([prefix]);
    h.update(key);
    let digest = h.finalize();
    [digest[0], digest[1]]
}

/// Decodes an SS58 address with a one-byte network prefix, checking its checksum.
pub fn decode_ss58(address: &str) -> Result<[u8; 32], KeyError> {
    let raw = bs58::decode(address).into_vec().map_err(|e| KeyError::Base58(e.to_string()))?;
    if raw.len() != 35 {
        return Err(KeyError::Ss58Length(raw.len()));
    }
    let key: [u8; 32] = raw[1..33].try_into().expect("32 bytes");
    if checksum(raw[0], &key) != raw[33..35] {
        return Err(KeyError::Ss58Checksum);
    }
    Ok(key)
}

/// Encodes a public key as an SS58 address with Bittensor's prefix.
pub fn encode_ss58(key: &[u8; 32]) -> String {
    let mut raw = Vec::with_capacity(35);
    raw.push(BITTENSOR_PREFIX);
    raw.extend_from_slice(key);
    raw.extend_from_slice(&checksum(BITTENSOR_PREFIX, key));
    bs58::encode(raw).into_string()
}

/// An account id given as 64 hex digits (optional `0x`) or as an SS58 address.
pub fn parse_account(text: &str) -> Result<[u8; 32], KeyError> {
    let text = text.trim();
    let looks_hex = text.starts_with("0x") || (text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()));
    if looks_hex {
        parse_hex::<32>(text)
    } else {
        decode_ss58(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_bad_checksum() {
        let key = [7u8; 32];
        let addr = encode_ss58(&key);
        assert_eq!(decode_ss58(&addr), Ok(key));
        // Flip one character to another base58 digit.
        let mut bad: Vec<char> = addr.chars().collect();
        let last = bad.len() - 1;
        bad[last] = if bad[last] == '2' { '3' } else { '2' };
        let bad: String = bad.into_iter().collect();
        assert!(decode_ss58(&bad).is_err());
    }

    #[test]
    fn hex_accepts_prefix_and_rejects_wrong_length() {
        assert_eq!(parse_account(&format!("0x{}", "ab".repeat(32))), Ok([0xab; 32]));
        assert_eq!(parse_hex::<32>("abcd"), Err(KeyError::HexLength(4)));
        assert!(matches!(parse_hex::<32>(&"zz".repeat(32)), Err(KeyError::Hex(_))));
    }
}
