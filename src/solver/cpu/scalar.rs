//! The portable path: one lane of plain u32/u64 arithmetic, for every CPU (aarch64 too).

use super::lanes::Lanes;

/// Token for the scalar path; always available.
#[derive(Clone, Copy, Debug)]
pub struct Scalar;

impl Lanes for Scalar {
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
    #[cfg(test)]
    fn q_store(self, x: u64) -> Vec<u64> {
        vec![x]
    }
}
