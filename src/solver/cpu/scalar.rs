//! One lane of plain u32/u64 arithmetic: the portable path for every CPU (aarch64 too), and,
//! with `SHA_NI`, the same lane with SHA-256 on the x86 SHA extensions.

use super::lanes::{Lanes, UnitLanes};
use crate::pow::hotloop::POW_REGISTER_LAST_BLOCK;

/// Token for the one-lane paths; only [`Scalar::PORTABLE`] and [`Scalar::detect`] make one.
#[derive(Clone, Copy, Debug)]
pub struct Scalar<const SHA_NI: bool>(());

impl Scalar<false> {
    /// The portable path, always available.
    pub const PORTABLE: Self = Scalar(());
}

impl Scalar<true> {
    #[cfg(target_arch = "x86_64")]
    pub fn detect() -> Option<Self> {
        super::features::Features::current().sha.then_some(Scalar(()))
    }
}

impl<const SHA_NI: bool> Lanes for Scalar<SHA_NI> {
    const N: usize = 1;
    const M: usize = 1;
    type W = u32;
    type Q = u64;
    #[inline(always)]
    fn w_splat(self, x: u32) -> u32 {
        x
    }
    #[inline(always)]
    fn w_iota(self, base: u32) -> u32 {
        base
    }
    #[inline(always)]
    fn w_add(self, a: u32, b: u32) -> u32 {
        a.wrapping_add(b)
    }
    #[inline(always)]
    fn w_or(self, a: u32, b: u32) -> u32 {
        a | b
    }
    #[inline(always)]
    fn w_xor3(self, a: u32, b: u32, c: u32) -> u32 {
        a ^ b ^ c
    }
    #[inline(always)]
    fn w_ch(self, e: u32, f: u32, g: u32) -> u32 {
        g ^ (e & (f ^ g))
    }
    #[inline(always)]
    fn w_maj(self, a: u32, b: u32, c: u32) -> u32 {
        (a & b) | (c & (a | b))
    }
    #[inline(always)]
    fn w_rotr(self, x: u32, r: u32) -> u32 {
        x.rotate_right(r)
    }
    #[inline(always)]
    fn w_shr(self, x: u32, r: u32) -> u32 {
        x >> r
    }
    #[inline(always)]
    fn w_bswap(self, x: u32) -> u32 {
        x.swap_bytes()
    }
    #[inline(always)]
    fn q_splat(self, x: u64) -> u64 {
        x
    }
    #[inline(always)]
    fn q_xor(self, a: u64, b: u64) -> u64 {
        a ^ b
    }
    #[inline(always)]
    fn q_xor3(self, a: u64, b: u64, c: u64) -> u64 {
        a ^ b ^ c
    }
    #[inline(always)]
    fn q_rotl(self, x: u64, r: u32) -> u64 {
        x.rotate_left(r)
    }
    #[inline(always)]
    fn q_chi(self, a: u64, b: u64, c: u64) -> u64 {
        a ^ (!b & c)
    }
    #[inline(always)]
    fn q_bswap(self, x: u64) -> u64 {
        x.swap_bytes()
    }
    #[inline(always)]
    fn to_keccak(self, digest: &[u32; 8], _group: usize) -> [u64; 4] {
        let mut lanes = [0u64; 4];
        for (i, lane) in lanes.iter_mut().enumerate() {
            *lane = u64::from(digest[2 * i].swap_bytes()) | (u64::from(digest[2 * i + 1].swap_bytes()) << 32);
        }
        lanes
    }
    #[inline(always)]
    fn le_mask(self, v: u64, t: u64) -> u32 {
        u32::from(v <= t)
    }
    #[inline(always)]
    fn sha256_last_block<const POW: bool>(self, u: &UnitLanes<Self>, w0: u32) -> [u32; 8] {
        #[cfg(target_arch = "x86_64")]
        if SHA_NI {
            let block = if POW { POW_REGISTER_LAST_BLOCK } else { u.unit.words };
            // SAFETY: a `Scalar<true>` exists only where `detect` saw SHA and SSE4.1.
            return unsafe { super::sha_ni::compress_w0(&u.unit.state, &block, [w0]) }[0];
        }
        super::lanes::sha256_lanes::<Self, POW>(self, u, w0)
    }
    #[cfg(test)]
    fn q_store(self, x: u64) -> Vec<u64> {
        vec![x]
    }
}
