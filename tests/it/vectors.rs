//! The reference implementation against every entry of the reference vectors, and against an
//! independent sha2 + keccak composition on random inputs.

use crate::support;

use proptest::prelude::*;
use regsolver::pow::hotloop::{HotLoop, Layout};
use regsolver::pow::ss58::{decode_ss58, encode_ss58};
use regsolver::pow::{meets, ByteOrder, Challenge, Target, FAUCET_DIFFICULTY};
use regsolver::solver::cpu::{CpuDevice, SimdLevel};
use regsolver::solver::search;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sha3::Keccak256;
use support::{hex32, u64_of, vectors};

fn check_meets(seal: &[u8; 32], answers: &Value, order: ByteOrder, what: &str) {
    let answers = answers.as_object().expect("meets map");
    assert!(!answers.is_empty());
    for (difficulty, expected) in answers {
        let d: u64 = difficulty.parse().unwrap();
        assert_eq!(meets(seal, d, order).unwrap(), expected.as_bool().unwrap(), "{what} difficulty {d} {order:?}");
    }
}

#[test]
fn pow_register_vectors() {
    let all = vectors();
    let entries = all["pow_register_v1"].as_array().unwrap();
    assert!(entries.len() >= 28);
    for e in entries {
        let (hotkey, coldkey) = (hex32(&e["hotkey"]), hex32(&e["coldkey"]));
        assert_eq!(decode_ss58(e["hotkey_ss58"].as_str().unwrap()).unwrap(), hotkey);
        assert_eq!(decode_ss58(e["coldkey_ss58"].as_str().unwrap()).unwrap(), coldkey);
        assert_eq!(encode_ss58(&hotkey), e["hotkey_ss58"].as_str().unwrap());
        let netuid = u16::try_from(u64_of(&e["netuid"])).unwrap();
        let challenge = Challenge::pow_register(netuid, &hex32(&e["block_hash"]), &hotkey, &coldkey).unwrap();
        let Challenge::PowRegister { prefix } = &challenge else { panic!("pow-register challenge") };
        assert_eq!(hex::encode(prefix), e["prefix"].as_str().unwrap());
        let nonce = u64_of(&e["nonce"]);
        let seal = challenge.seal(nonce);
        assert_eq!(hex::encode(seal), e["seal"].as_str().unwrap(), "netuid {netuid} nonce {nonce}");
        check_meets(&seal, &e["meets_le"], ByteOrder::Little, "pow-register");
    }
}

fn legacy_like(entries: &[Value], what: &str) {
    for e in entries {
        let key = hex32(&e["key"]);
        assert_eq!(decode_ss58(e["key_ss58"].as_str().unwrap()).unwrap(), key);
        let challenge = Challenge::legacy(&hex32(&e["block_hash"]), &key);
        let Challenge::Legacy { block_and_key_hash } = &challenge else { panic!("legacy challenge") };
        assert_eq!(hex::encode(block_and_key_hash), e["block_and_key_hash"].as_str().unwrap());
        let seal = challenge.seal(u64_of(&e["nonce"]));
        assert_eq!(hex::encode(seal), e["seal"].as_str().unwrap(), "{what} nonce {}", e["nonce"]);
        check_meets(&seal, &e["meets_le"], ByteOrder::Little, what);
        check_meets(&seal, &e["meets_be"], ByteOrder::Big, what);
    }
}

#[test]
fn legacy_vectors() {
    let all = vectors();
    let entries = all["legacy_register"].as_array().unwrap();
    assert!(entries.len() >= 10);
    legacy_like(entries, "legacy");
}

/// Every SIMD path reports `expected` where it lies, and, for the legacy layout (position =
/// nonce), as the first verified candidate of a scan from `start` (wrapping at 2^64).
fn every_path_finds_first(hot: &HotLoop, start: u64, expected: u64, what: &str) {
    for level in SimdLevel::available() {
        let mut device = CpuDevice::new(level, 0);
        let found = search(&mut device, hot, hot.layout.position_of(expected), 1).unwrap();
        assert_eq!(found, vec![expected], "{} {what}", level.name());
        if hot.layout == Layout::Legacy {
            let span = expected.wrapping_sub(start) + 1;
            let first = search(&mut device, hot, start, span).unwrap().into_iter().find(|&n| hot.verify(n).is_some());
            assert_eq!(first, Some(expected), "{} {what} scan", level.name());
        }
    }
}

/// The faucet: the legacy seal with the coldkey as key, at the faucet's fixed difficulty,
/// little-endian. Each entry's first valid nonce from its start (one wraps at 2^64) is found by
/// the reference scan after exactly the entry's number of hashes, and first by every path.
#[test]
fn faucet_vectors() {
    let all = vectors();
    let entries = all["faucet"].as_array().unwrap();
    assert!(entries.len() >= 3);
    let mut wrapped = false;
    for e in entries {
        let coldkey = hex32(&e["coldkey"]);
        assert_eq!(decode_ss58(e["coldkey_ss58"].as_str().unwrap()).unwrap(), coldkey);
        let challenge = Challenge::legacy(&hex32(&e["block_hash"]), &coldkey);
        let Challenge::Legacy { block_and_key_hash } = &challenge else { panic!("legacy challenge") };
        assert_eq!(hex::encode(block_and_key_hash), e["block_and_key_hash"].as_str().unwrap());
        assert_eq!(u64_of(&e["difficulty"]), FAUCET_DIFFICULTY, "{e}");
        assert_eq!(e["byte_order"], "le", "{e}");
        let target = Target::from_difficulty(FAUCET_DIFFICULTY).unwrap();
        let (start, expected, scanned) = (u64_of(&e["start"]), u64_of(&e["first_valid_nonce"]), u64_of(&e["hashes_scanned"]));
        assert_eq!(expected.wrapping_sub(start) + 1, scanned, "{e}");
        wrapped |= expected < start;
        assert_eq!(challenge.first_valid(&target, ByteOrder::Little, start, scanned), Some(expected), "{e}");
        let seal = challenge.seal(expected);
        assert_eq!(hex::encode(seal), e["seal"].as_str().unwrap());
        assert!(meets(&seal, FAUCET_DIFFICULTY, ByteOrder::Little).unwrap());
        every_path_finds_first(&HotLoop::new(challenge, target, ByteOrder::Little), start, expected, "faucet");
    }
    assert!(wrapped, "no faucet entry wraps at 2^64");
}

/// The reference scan and every CPU path find the vectors' first valid nonces.
#[test]
fn first_valid_vectors() {
    let all = vectors();
    let mut checked = 0;
    for (key, pow) in [("pow_register_v1_first_valid", true), ("legacy_first_valid", false)] {
        for e in all[key].as_array().unwrap() {
            let block = hex32(&e["block_hash"]);
            let challenge = if pow {
                Challenge::pow_register(u64_of(&e["netuid"]) as u16, &block, &hex32(&e["hotkey"]), &hex32(&e["coldkey"])).unwrap()
            } else {
                Challenge::legacy(&block, &hex32(&e["key"]))
            };
            let order = match e.get("byte_order").and_then(Value::as_str) {
                Some("be") => ByteOrder::Big,
                _ => ByteOrder::Little,
            };
            let target = Target::from_difficulty(u64_of(&e["difficulty"])).unwrap();
            let (start, expected) = (u64_of(&e["start"]), u64_of(&e["first_valid_nonce"]));
            assert_eq!(challenge.first_valid(&target, order, start, 20_000_000), Some(expected), "{key} {e}");
            assert_eq!(hex::encode(challenge.seal(expected)), e["seal"].as_str().unwrap());

            every_path_finds_first(&HotLoop::new(challenge, target, order), start, expected, key);
            checked += 1;
        }
    }
    assert_eq!(checked, 8);
}

/// An independent composition: the message built byte by byte here, hashed with sha2 + sha3.
fn independent_seal(message: &[u8]) -> [u8; 32] {
    Keccak256::digest(Sha256::digest(message)).into()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn pow_register_seal_matches_independent_composition(netuid in 1u16.., block: [u8; 32], hot: [u8; 32], cold: [u8; 32], nonce: u64) {
        let mut message = b"subtensor-pow-register-v1".to_vec();
        message.extend_from_slice(&netuid.to_le_bytes());
        message.extend_from_slice(&block);
        message.extend_from_slice(&hot);
        message.extend_from_slice(&cold);
        message.extend_from_slice(&nonce.to_le_bytes());
        prop_assert_eq!(message.len(), 131);
        let challenge = Challenge::pow_register(netuid, &block, &hot, &cold).unwrap();
        prop_assert_eq!(challenge.seal(nonce), independent_seal(&message));
    }

    #[test]
    fn legacy_seal_matches_independent_composition(block: [u8; 32], key: [u8; 32], nonce: u64) {
        let inner: [u8; 32] = Keccak256::digest([block, key].concat()).into();
        let mut message = nonce.to_le_bytes().to_vec();
        message.extend_from_slice(&inner);
        prop_assert_eq!(Challenge::legacy(&block, &key).seal(nonce), independent_seal(&message));
    }

    /// `meets` is the overflow rule: value * difficulty fits in 256 bits.
    #[test]
    fn meets_is_the_overflow_rule(seal: [u8; 32], difficulty in 1u64.., big: bool) {
        let order = if big { ByteOrder::Big } else { ByteOrder::Little };
        let mut value = seal;
        if big { value.reverse(); } // now little-endian
        // 256 x 64 bit multiply, little-endian limbs.
        let mut carry: u128 = 0;
        for chunk in value.chunks_exact(8) {
            let limb = u64::from_le_bytes(chunk.try_into().unwrap()) as u128;
            carry = limb * difficulty as u128 + (carry >> 64);
        }
        let fits = carry >> 64 == 0;
        prop_assert_eq!(meets(&seal, difficulty, order).unwrap(), fits);
    }
}
