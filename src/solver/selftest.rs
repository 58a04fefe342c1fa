//! Per-device self-test: every device must reproduce the reference before its first job.

use super::{search, Device, DeviceError};
use crate::pow::hotloop::HotLoop;
use crate::pow::{ByteOrder, Challenge, Target};

/// A known seal from the reference vectors (tests/data/seal-vectors.json,
/// `pow_register_v1_first_valid`): netuid 7, difficulty 1000, first valid nonce 218.
const KNOWN_BLOCK: &str = "f991813ca062ab9d090fa063cd042b6f7fb77e3aa15c4c668742f0b1b4ce8478";
const KNOWN_HOTKEY: &str = "e8485623dde364c184f05e9ab1f66f9939c5a28d479538f37fda36c49b6743ab";
const KNOWN_COLDKEY: &str = "0f1973c158752f2e8d4cc2acea64432f899120ba6cfb93fe37731592da565268";
const KNOWN_NONCE: u64 = 218;

fn hex32(text: &str) -> [u8; 32] {
    crate::pow::ss58::parse_hex::<32>(text).expect("constant hex")
}

/// Runs the device on a known vector and on both layouts and byte orders across a unit
/// boundary, comparing every candidate with the reference.
pub fn run(device: &mut dyn Device) -> Result<(), DeviceError> {
    let known = Challenge::pow_register(7, &hex32(KNOWN_BLOCK), &hex32(KNOWN_HOTKEY), &hex32(KNOWN_COLDKEY)).expect("netuid 7 is not root");
    let target = Target::from_difficulty(1000).expect("non-zero");
    let hot = HotLoop::new(known.clone(), target, ByteOrder::Little);
    let found = search(device, &hot, hot.layout.position_of(KNOWN_NONCE), 1)?;
    if found != [KNOWN_NONCE] {
        return Err(DeviceError::SelfTest(format!("known vector nonce {KNOWN_NONCE} not found (got {found:?})")));
    }
    let legacy = Challenge::legacy(&hex32(KNOWN_BLOCK), &hex32(KNOWN_HOTKEY));
    let easy = Target::from_difficulty(16).expect("non-zero");
    for challenge in [known, legacy] {
        for order in [ByteOrder::Little, ByteOrder::Big] {
            let hot = HotLoop::new(challenge.clone(), easy, order);
            let first = hot.unit_len() - 300;
            let expected = hot.reference_candidates(first, 600);
            let found = search(device, &hot, first, 600)?;
            if found != expected {
                return Err(DeviceError::SelfTest(format!(
                    "{:?}/{order:?}: {} candidates differ from the reference's {}",
                    hot.layout,
                    found.len(),
                    expected.len()
                )));
            }
        }
    }
    Ok(())
}
