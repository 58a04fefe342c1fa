//! The specification: what the chain checks for each registration scheme (see docs/protocol.md).
//!
//! Everything here is pure and scalar. Every backend is tested against these functions, and
//! every nonce a device reports is re-verified with [`Challenge::seal`] and [`Target::is_met_by`]
//! before it can become a solution.

pub mod hotloop;
pub mod ss58;

use sha2::{Digest, Sha256};
use sha3::Keccak256;

/// A 32-byte seal: `keccak256(sha256(message))`.
pub type Seal = [u8; 32];
/// A 32-byte sr25519 public key (AccountId32).
pub type AccountId = [u8; 32];
/// A 32-byte block hash.
pub type BlockHash = [u8; 32];

/// ASCII tag that opens every `pow_register` challenge.
pub const POW_REGISTER_TAG: &[u8; 25] = b"subtensor-pow-register-v1";
/// Length of the `pow_register` challenge prefix (tag, netuid, block hash, hotkey, coldkey).
pub const POW_REGISTER_PREFIX_LEN: usize = 123;
/// The faucet's fixed difficulty.
pub const FAUCET_DIFFICULTY: u64 = 1_000_000;

/// Errors for malformed proof-of-work inputs.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PowError {
    #[error("difficulty must be at least 1")]
    ZeroDifficulty,
    #[error("netuid 0 is the root network, which has no proof-of-work registration")]
    RootNetuid,
}

/// The registration schemes the chain has offered (docs/protocol.md, schemes A, B and C).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scheme {
    /// `pow_register`: 131-byte message bound to netuid, hotkey and coldkey (current runtimes).
    PowRegister,
    /// Legacy `register`: 40-byte message over keccak256(block hash ‖ hotkey).
    Legacy,
    /// `faucet`: the legacy seal over the coldkey, difficulty 1,000,000.
    Faucet,
}

impl Scheme {
    /// The name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::PowRegister => "pow-register",
            Scheme::Legacy => "legacy",
            Scheme::Faucet => "faucet",
        }
    }
}

/// How the 32 seal bytes are read as a 256-bit number (depends on the runtime era).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum ByteOrder {
    /// `seal[31]` most significant: spec_version >= 283 and every `pow_register` runtime.
    #[serde(rename = "le")]
    Little,
    /// `seal[0]` most significant: spec_version <= 277.
    #[serde(rename = "be")]
    Big,
}

/// A name that is not one of a closed set's (a scheme, a byte order, a backend, a SIMD path).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown {what} '{given}' (one of: {expected})")]
pub struct UnknownName {
    pub what: &'static str,
    pub given: String,
    pub expected: String,
}

/// Looks `given` up among `(name, value)` pairs: the `FromStr` of every closed set of names.
pub fn parse_name<T: Copy>(what: &'static str, given: &str, names: &[(&str, T)]) -> Result<T, UnknownName> {
    names.iter().find(|(name, _)| *name == given).map(|(_, value)| *value).ok_or_else(|| UnknownName {
        what,
        given: given.to_string(),
        expected: names.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", "),
    })
}

impl Scheme {
    pub const ALL: [Scheme; 3] = [Scheme::PowRegister, Scheme::Legacy, Scheme::Faucet];
}

impl std::fmt::Display for Scheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Scheme {
    type Err = UnknownName;
    fn from_str(text: &str) -> Result<Self, UnknownName> {
        parse_name("scheme", text, &Scheme::ALL.map(|s| (s.name(), s)))
    }
}

impl ByteOrder {
    /// The name used on the command line and in JSON: `le` or `be`.
    pub fn name(self) -> &'static str {
        match self {
            ByteOrder::Little => "le",
            ByteOrder::Big => "be",
        }
    }
}

impl std::fmt::Display for ByteOrder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for ByteOrder {
    type Err = UnknownName;
    fn from_str(text: &str) -> Result<Self, UnknownName> {
        parse_name("byte order", text, &[("le", ByteOrder::Little), ("be", ByteOrder::Big)])
    }
}

/// What a seal commits to, for one job: everything except the nonce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Challenge {
    /// Scheme A: the 123-byte prefix; the message is `prefix ‖ le64(nonce)`.
    PowRegister { prefix: [u8; POW_REGISTER_PREFIX_LEN] },
    /// Schemes B and C: `keccak256(block_hash ‖ key)`; the message is `le64(nonce) ‖ this`.
    Legacy { block_and_key_hash: [u8; 32] },
}

impl Challenge {
    /// Scheme A's challenge. Fails for the root network (netuid 0).
    pub fn pow_register(netuid: u16, block_hash: &BlockHash, hotkey: &AccountId, coldkey: &AccountId) -> Result<Self, PowError> {
        if netuid == 0 {
            return Err(PowError::RootNetuid);
        }
        let mut prefix = [0u8; POW_REGISTER_PREFIX_LEN];
        prefix[..25].copy_from_slice(POW_REGISTER_TAG);
        prefix[25..27].copy_from_slice(&netuid.to_le_bytes());
        prefix[27..59].copy_from_slice(block_hash);
        prefix[59..91].copy_from_slice(hotkey);
        prefix[91..123].copy_from_slice(coldkey);
        Ok(Challenge::PowRegister { prefix })
    }

    /// The challenge `scheme` commits to: `pow_register` binds the netuid, the hotkey (`key`) and
    /// the coldkey; legacy `register` and `faucet` bind the block and `key` alone.
    pub fn for_scheme(scheme: Scheme, netuid: u16, block_hash: &BlockHash, key: &AccountId, coldkey: &AccountId) -> Result<Self, PowError> {
        match scheme {
            Scheme::PowRegister => Challenge::pow_register(netuid, block_hash, key, coldkey),
            Scheme::Legacy | Scheme::Faucet => Ok(Challenge::legacy(block_hash, key)),
        }
    }

    /// Schemes B and C: `key` is the hotkey for `register`, the coldkey for `faucet`.
    pub fn legacy(block_hash: &BlockHash, key: &AccountId) -> Self {
        let mut input = [0u8; 64];
        input[..32].copy_from_slice(block_hash);
        input[32..].copy_from_slice(key);
        Challenge::Legacy { block_and_key_hash: keccak256(&input) }
    }

    /// The SHA-256 message for `nonce`.
    pub fn message(&self, nonce: u64) -> Vec<u8> {
        match self {
            Challenge::PowRegister { prefix } => [&prefix[..], &nonce.to_le_bytes()].concat(),
            Challenge::Legacy { block_and_key_hash } => [&nonce.to_le_bytes()[..], &block_and_key_hash[..]].concat(),
        }
    }

    /// The seal for `nonce`: `keccak256(sha256(message))`.
    pub fn seal(&self, nonce: u64) -> Seal {
        keccak256(&sha256(&self.message(nonce)))
    }

    /// The lowest nonce at or above `start` (wrapping at 2^64) whose seal meets `target`,
    /// scanning at most `max_tries` nonces. The reference for "first valid nonce" vectors.
    pub fn first_valid(&self, target: &Target, order: ByteOrder, start: u64, max_tries: u64) -> Option<u64> {
        (0..max_tries).map(|i| start.wrapping_add(i)).find(|&n| target.is_met_by(&self.seal(n), order))
    }
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Original Keccak-256 (padding 0x01), not SHA3-256.
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    Keccak256::digest(data).into()
}

/// The seal's value as four u64 limbs, least significant first.
pub fn seal_limbs(seal: &Seal, order: ByteOrder) -> [u64; 4] {
    let word = |i: usize| -> [u8; 8] { seal[i * 8..i * 8 + 8].try_into().expect("8 bytes") };
    match order {
        ByteOrder::Little => [0, 1, 2, 3].map(|i| u64::from_le_bytes(word(i))),
        ByteOrder::Big => [3, 2, 1, 0].map(|i| u64::from_be_bytes(word(i))),
    }
}

/// `floor((2^256 - 1) / difficulty)`: the largest seal value that meets the difficulty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    /// Least significant limb first; `limbs[3]` is what the hot loops compare.
    pub limbs: [u64; 4],
    pub difficulty: u64,
}

impl Target {
    pub fn from_difficulty(difficulty: u64) -> Result<Self, PowError> {
        if difficulty == 0 {
            return Err(PowError::ZeroDifficulty);
        }
        let mut limbs = [0u64; 4];
        let mut rem: u128 = 0;
        for i in (0..4).rev() {
            let cur = (rem << 64) | u64::MAX as u128;
            limbs[i] = (cur / difficulty as u128) as u64;
            rem = cur % difficulty as u128;
        }
        Ok(Target { limbs, difficulty })
    }

    /// The most significant 64 bits: a seal whose top 64 bits exceed this never meets the
    /// target, so the hot loops reject on it alone and leave the rest to [`Target::is_met_by`].
    pub fn top(&self) -> u64 {
        self.limbs[3]
    }

    /// The chain's rule: `value(seal) * difficulty` fits in 256 bits.
    pub fn is_met_by(&self, seal: &Seal, order: ByteOrder) -> bool {
        let value = seal_limbs(seal, order);
        // Compare most significant limb first.
        value.iter().rev().cmp(self.limbs.iter().rev()) != std::cmp::Ordering::Greater
    }
}

/// Whether `seal` meets `difficulty` under `order` (the chain's overflow rule).
pub fn meets(seal: &Seal, difficulty: u64, order: ByteOrder) -> Result<bool, PowError> {
    Ok(Target::from_difficulty(difficulty)?.is_met_by(seal, order))
}

/// Difficulty over hashrate: the expected seconds to a seal (0 when either is unknown).
pub fn expected_seconds(difficulty: u64, rate: f64) -> f64 {
    if difficulty == 0 || rate <= 0.0 {
        0.0
    } else {
        difficulty as f64 / rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_of_one_is_all_ones() {
        assert_eq!(Target::from_difficulty(1).unwrap().limbs, [u64::MAX; 4]);
    }

    #[test]
    fn target_matches_overflow_rule_at_the_boundary() {
        for d in [2u64, 3, 1000, 1_000_000, u64::MAX] {
            let t = Target::from_difficulty(d).unwrap();
            let mut seal = [0u8; 32];
            for (i, limb) in t.limbs.iter().enumerate() {
                seal[i * 8..i * 8 + 8].copy_from_slice(&limb.to_le_bytes());
            }
            assert!(t.is_met_by(&seal, ByteOrder::Little), "d={d} boundary must meet");
            // One more than the target must fail.
            let mut v = t.limbs;
            for limb in v.iter_mut() {
                let (n, carry) = limb.overflowing_add(1);
                *limb = n;
                if !carry {
                    break;
                }
            }
            for (i, limb) in v.iter().enumerate() {
                seal[i * 8..i * 8 + 8].copy_from_slice(&limb.to_le_bytes());
            }
            assert!(!t.is_met_by(&seal, ByteOrder::Little), "d={d} boundary+1 must fail");
        }
    }

    #[test]
    fn names_round_trip_and_unknown_names_say_what_is_expected() {
        for scheme in Scheme::ALL {
            assert_eq!(scheme.to_string().parse::<Scheme>(), Ok(scheme));
        }
        for order in [ByteOrder::Little, ByteOrder::Big] {
            assert_eq!(order.to_string().parse::<ByteOrder>(), Ok(order));
        }
        let err = "nope".parse::<Scheme>().unwrap_err().to_string();
        assert_eq!(err, "unknown scheme 'nope' (one of: pow-register, legacy, faucet)");
    }

    #[test]
    fn zero_difficulty_and_root_are_errors() {
        assert_eq!(Target::from_difficulty(0), Err(PowError::ZeroDifficulty));
        assert_eq!(Challenge::pow_register(0, &[0; 32], &[0; 32], &[0; 32]), Err(PowError::RootNetuid));
    }
}
