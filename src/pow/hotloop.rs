//! The per-job hot-loop description: everything a backend needs, prepared once on the host.
//!
//! Nonces are searched in *position* space, a ring of 2^64 positions split into work units.
//! Within a unit only SHA-256 message word W0 of the last block changes, so each nonce costs one
//! compression of a mostly-constant block plus one Keccak-f[1600]:
//!
//! - `pow-register`: a unit fixes the nonce's 5 low bytes (they sit in block 2, whose compression
//!   becomes the unit's midstate); the 2^24 indices of a unit are the 3 high bytes, which sit in
//!   block 3's W0 next to the 0x80 padding byte. `nonce = position.rotate_left(40)`.
//! - `legacy` / `faucet`: one block; a unit fixes the high 32 bits (W1), the 2^32 indices are the
//!   low 32 bits (W0). `nonce = position`.
//!
//! Per unit the host also runs the W0-independent half of round 0, so a backend starts every
//! nonce at round 1 with `a = round0_a + W0` and `e = round0_e + W0`.
// Hot path: a truncating cast here once wrapped a run of 2^32 nonces to none (issue 10).
#![warn(clippy::cast_possible_truncation)]

use super::{ByteOrder, Challenge, Target};

/// SHA-256 initial hash value.
pub const SHA256_IV: [u32; 8] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

/// SHA-256 round constants.
pub const SHA256_K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be,
    0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa,
    0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85,
    0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
    0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
    0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// Message words W1..W15 of `pow-register`'s third block: zero, then the bit length 131 * 8.
/// They are compile-time constants in every backend (W0 carries the nonce's high bytes).
pub const POW_REGISTER_LAST_BLOCK: [u32; 16] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 131 * 8];

/// The constant bits of W0 in `pow-register`'s third block: the 0x80 padding byte.
pub const POW_REGISTER_W0_PAD: u32 = 0x80;

/// The most indices one run (one device call) covers: half a legacy unit, so that a run's
/// count fits in a u32 (a whole legacy unit, 2^32 indices, does not) and a GPU thread's offset
/// (`thread * per_thread`, at most about twice the run) cannot wrap.
pub const MAX_RUN_INDICES: u32 = 1 << 31;

/// Which inner loop runs: the two message layouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// 131-byte message, three blocks, last block constant but for W0.
    PowRegister,
    /// 40-byte message, one block, W2..W9 job constants.
    Legacy,
}

impl Layout {
    /// log2 of the number of indices in one work unit.
    pub fn unit_bits(self) -> u32 {
        match self {
            Layout::PowRegister => 24,
            Layout::Legacy => 32,
        }
    }

    /// Nonce at a position of the search ring.
    pub fn nonce_at(self, position: u64) -> u64 {
        match self {
            Layout::PowRegister => position.rotate_left(40),
            Layout::Legacy => position,
        }
    }

    /// Position of a nonce on the search ring (inverse of [`Layout::nonce_at`]).
    pub fn position_of(self, nonce: u64) -> u64 {
        match self {
            Layout::PowRegister => nonce.rotate_right(40),
            Layout::Legacy => nonce,
        }
    }
}

/// One SHA-256 compression.
pub fn compress(state: &mut [u32; 8], block: &[u32; 16]) {
    let mut w = [0u32; 64];
    w[..16].copy_from_slice(block);
    for i in 16..64 {
        w[i] = small_sigma1(w[i - 2]).wrapping_add(w[i - 7]).wrapping_add(small_sigma0(w[i - 15])).wrapping_add(w[i - 16]);
    }
    let mut s = *state;
    for i in 0..64 {
        s = round(s, SHA256_K[i], w[i]);
    }
    for (h, v) in state.iter_mut().zip(s) {
        *h = h.wrapping_add(v);
    }
}

fn small_sigma0(x: u32) -> u32 {
    x.rotate_right(7) ^ x.rotate_right(18) ^ (x >> 3)
}
fn small_sigma1(x: u32) -> u32 {
    x.rotate_right(17) ^ x.rotate_right(19) ^ (x >> 10)
}

/// `h + Σ1(e) + Ch(e, f, g) + k`: round T1 without the message word.
fn t1_without_w(s: &[u32; 8], k: u32) -> u32 {
    let [_, _, _, _, e, f, g, h] = *s;
    let big_sigma1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
    let ch = (e & f) ^ (!e & g);
    h.wrapping_add(big_sigma1).wrapping_add(ch).wrapping_add(k)
}

/// `Σ0(a) + Maj(a, b, c)`: round T2.
fn t2(s: &[u32; 8]) -> u32 {
    let [a, b, c, ..] = *s;
    let big_sigma0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
    big_sigma0.wrapping_add((a & b) ^ (a & c) ^ (b & c))
}

fn round(s: [u32; 8], k: u32, w: u32) -> [u32; 8] {
    let t1 = t1_without_w(&s, k).wrapping_add(w);
    let t2 = t2(&s);
    [t1.wrapping_add(t2), s[0], s[1], s[2], s[3].wrapping_add(t1), s[4], s[5], s[6]]
}

fn be_words<const N: usize>(bytes: &[u8]) -> [u32; N] {
    std::array::from_fn(|i| u32::from_be_bytes(bytes[4 * i..4 * i + 4].try_into().expect("4 bytes")))
}

/// Everything constant for one job, prepared once on the host.
#[derive(Clone, Debug)]
pub struct HotLoop {
    pub layout: Layout,
    pub order: ByteOrder,
    pub target: Target,
    /// The reference, for re-verifying every candidate.
    pub challenge: Challenge,
    /// `pow-register`: the state after block 1. `legacy`: the IV.
    midstate: [u32; 8],
    /// `pow-register`: block 2 with the nonce's bytes zero. `legacy`: the block with W0 = W1 = 0.
    block: [u32; 16],
}

/// One work unit: the part of the nonce that is fixed, and the state it fixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unit {
    /// The nonce with the index bits zero.
    pub base_nonce: u64,
    /// Where the index sits in the nonce: `nonce = base_nonce | index << index_shift`.
    pub index_shift: u32,
    /// State before the last block (added back to give the digest).
    pub state: [u32; 8],
    /// `a` and `e` after round 0, less W0.
    pub round0_a: u32,
    pub round0_e: u32,
    /// The last block's words; `words[0]` holds W0's constant bits (the index is OR-ed in,
    /// byte-swapped). For `pow-register` these equal [`POW_REGISTER_LAST_BLOCK`] but for W0.
    pub words: [u32; 16],
}

impl Unit {
    fn new(base_nonce: u64, index_shift: u32, state: [u32; 8], words: [u32; 16]) -> Self {
        let t1 = t1_without_w(&state, SHA256_K[0]);
        Unit { base_nonce, index_shift, state, round0_a: t1.wrapping_add(t2(&state)), round0_e: state[3].wrapping_add(t1), words }
    }

    /// W0 for an index: its bytes in message order, OR-ed with the constant bits.
    pub fn w0(&self, index: u32) -> u32 {
        index.swap_bytes() | self.words[0]
    }

    /// The nonce for an index of this unit.
    pub fn nonce(&self, index: u32) -> u64 {
        self.base_nonce | (u64::from(index) << self.index_shift)
    }

    /// The SHA-256 digest words for an index, from the unit's precomputed round 0: the scalar
    /// model of what every backend's inner loop computes.
    pub fn digest(&self, index: u32) -> [u32; 8] {
        let mut w = self.words;
        w[0] = self.w0(index);
        let mut full = self.state;
        compress(&mut full, &w);
        full
    }
}

impl HotLoop {
    /// Prepares a job: the challenge, the difficulty's target and the seal's byte order.
    pub fn new(challenge: Challenge, target: Target, order: ByteOrder) -> Self {
        let (layout, midstate, block) = match &challenge {
            Challenge::PowRegister { prefix } => {
                let mut midstate = SHA256_IV;
                compress(&mut midstate, &be_words::<16>(&prefix[..64]));
                let mut second = [0u8; 64];
                second[..59].copy_from_slice(&prefix[64..123]);
                (Layout::PowRegister, midstate, be_words::<16>(&second))
            }
            Challenge::Legacy { block_and_key_hash } => {
                let mut bytes = [0u8; 64];
                bytes[8..40].copy_from_slice(block_and_key_hash);
                bytes[40] = 0x80;
                bytes[62..64].copy_from_slice(&(40u16 * 8).to_be_bytes());
                (Layout::Legacy, SHA256_IV, be_words::<16>(&bytes))
            }
        };
        HotLoop { layout, order, target, challenge, midstate, block }
    }

    /// The work unit that holds `position`, and the position's index in it.
    pub fn unit_at(&self, position: u64) -> (Unit, u32) {
        let bits = self.layout.unit_bits();
        // The low `bits` (at most 32) bits: always fits.
        #[allow(clippy::cast_possible_truncation)]
        let index = (position & ((1u64 << bits) - 1)) as u32;
        let base_nonce = self.layout.nonce_at(position & !((1u64 << bits) - 1));
        let unit = match self.layout {
            Layout::PowRegister => {
                // Block 2 holds the nonce's low 5 bytes in bytes 59..64 (W14's low byte, W15).
                let low = base_nonce.to_le_bytes();
                let mut block = self.block;
                block[14] |= u32::from(low[0]);
                block[15] = u32::from_be_bytes([low[1], low[2], low[3], low[4]]);
                let mut state = self.midstate;
                compress(&mut state, &block);
                let mut words = POW_REGISTER_LAST_BLOCK;
                words[0] = POW_REGISTER_W0_PAD;
                Unit::new(base_nonce, 40, state, words)
            }
            Layout::Legacy => {
                let mut words = self.block;
                words[1] = ((base_nonce >> 32) as u32).swap_bytes();
                Unit::new(base_nonce, 0, self.midstate, words)
            }
        };
        (unit, index)
    }

    /// Number of indices in one unit.
    pub fn unit_len(&self) -> u64 {
        1u64 << self.layout.unit_bits()
    }

    /// Splits `count` positions from `first` into runs `(unit, first_index, count)` that never
    /// cross a unit's end nor exceed [`MAX_RUN_INDICES`], wrapping at 2^64. Every run's count is
    /// at least 1 and they add up to `count`.
    pub fn runs(&self, first: u64, count: u64) -> impl Iterator<Item = (Unit, u32, u32)> + '_ {
        let mut position = first;
        let mut left = count;
        std::iter::from_fn(move || {
            if left == 0 {
                return None;
            }
            let (unit, index) = self.unit_at(position);
            let room = left.min(self.unit_len() - u64::from(index));
            let run = u32::try_from(room).map_or(MAX_RUN_INDICES, |room| room.min(MAX_RUN_INDICES));
            position = position.wrapping_add(u64::from(run));
            left -= u64::from(run);
            Some((unit, index, run))
        })
    }

    /// The 64 bits a backend compares with [`Target::top`]: the seal's most significant limb.
    pub fn seal_top(&self, seal: &super::Seal) -> u64 {
        super::seal_limbs(seal, self.order)[3]
    }

    /// What a backend must report for `count` positions from `first` (wrapping at 2^64): the
    /// nonces, in position order, whose seal's top 64 bits are within [`Target::top`]. The
    /// reference for self-tests and parity tests.
    pub fn reference_candidates(&self, first: u64, count: u64) -> Vec<u64> {
        (0..count)
            .map(|i| self.layout.nonce_at(first.wrapping_add(i)))
            .filter(|&n| self.seal_top(&self.challenge.seal(n)) <= self.target.top())
            .collect()
    }

    /// Full re-verification on the CPU: the seal for `nonce` if it meets the target.
    pub fn verify(&self, nonce: u64) -> Option<super::Seal> {
        let seal = self.challenge.seal(nonce);
        self.target.is_met_by(&seal, self.order).then_some(seal)
    }
}

/// Big-endian digest words to bytes.
pub fn digest_bytes(words: &[u32; 8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (chunk, w) in out.chunks_exact_mut(4).zip(words) {
        chunk.copy_from_slice(&w.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pow::sha256;

    fn jobs() -> Vec<HotLoop> {
        let t = Target::from_difficulty(1).unwrap();
        vec![
            HotLoop::new(Challenge::pow_register(7, &[1; 32], &[2; 32], &[3; 32]).unwrap(), t, ByteOrder::Little),
            HotLoop::new(Challenge::legacy(&[4; 32], &[5; 32]), t, ByteOrder::Big),
        ]
    }

    #[test]
    fn unit_digest_equals_sha256_of_the_message() {
        for job in jobs() {
            for position in [0u64, 1, 0xff_ffff, 0x100_0000, 0xdead_beef_1234_5678, u64::MAX] {
                let (unit, index) = job.unit_at(position);
                let nonce = job.layout.nonce_at(position);
                assert_eq!(unit.nonce(index), nonce);
                assert_eq!(job.layout.position_of(nonce), position);
                let expected = sha256(&job.challenge.message(nonce));
                assert_eq!(digest_bytes(&unit.digest(index)), expected, "{:?} position {position:#x}", job.layout);
            }
        }
    }

    #[test]
    fn runs_split_at_unit_boundaries_and_wrap() {
        let job = &jobs()[0];
        let runs: Vec<_> = job.runs(u64::MAX - 9, 20).map(|(u, i, n)| (u.base_nonce, i, n)).collect();
        assert_eq!(runs.len(), 2);
        assert_eq!((runs[0].1, runs[0].2), ((1 << 24) - 10, 10));
        assert_eq!((runs[1].0, runs[1].1, runs[1].2), (0, 0, 10));
    }

    /// A batch of a whole legacy unit and more (2^32 indices do not fit a run's u32 count)
    /// is covered run by run: no run is empty, none crosses a unit, the counts add up.
    #[test]
    fn batches_of_a_unit_or_more_are_covered_without_wrapping_a_count() {
        let legacy = &jobs()[1];
        for (first, count) in
            [(0u64, 1u64 << 32), (0, (1 << 32) + 5), (7 << 32, 3 << 32), (u64::MAX - 2, 1 << 33), ((1 << 32) - 1, 1 << 32)]
        {
            let mut position = first;
            let mut covered = 0u64;
            for (unit, index, run) in legacy.runs(first, count) {
                assert!((1..=MAX_RUN_INDICES).contains(&run), "{first:#x}+{count:#x}: run {run}");
                assert!(u64::from(index) + u64::from(run) <= legacy.unit_len(), "{first:#x}+{count:#x}: crosses a unit");
                assert_eq!(unit.nonce(index), legacy.layout.nonce_at(position), "{first:#x}+{count:#x}: not contiguous");
                position = position.wrapping_add(u64::from(run));
                covered += u64::from(run);
            }
            assert_eq!(covered, count, "{first:#x}+{count:#x}");
        }
        let pow = &jobs()[0];
        let runs: Vec<u32> = pow.runs(0, 1 << 25).map(|(_, _, n)| n).collect();
        assert_eq!(runs, [1 << 24, 1 << 24]);
    }
}
