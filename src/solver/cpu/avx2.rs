//! AVX2 path: 8-lane SHA-256 (or, with `SHA_NI`, eight SHA-NI compressions) and two 4-lane
//! Keccak-f[1600].

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use super::features::Features;
use super::lanes::{Lanes, UnitLanes};
use super::sha_ni;
use crate::pow::hotloop::POW_REGISTER_LAST_BLOCK;

/// Token proving AVX2 (and with `SHA_NI`, SHA + SSE4.1) is present; only [`Avx2::detect`]
/// makes one.
#[derive(Clone, Copy, Debug)]
pub struct Avx2<const SHA_NI: bool>(());

impl<const SHA_NI: bool> Avx2<SHA_NI> {
    pub fn detect() -> Option<Self> {
        let features = Features::current();
        (features.avx2 && (features.sha || !SHA_NI)).then_some(Avx2(()))
    }
}

// SAFETY (every method): an `Avx2` exists only where `detect` saw its features.
impl<const SHA_NI: bool> Lanes for Avx2<SHA_NI> {
    const N: usize = 8;
    const M: usize = 4;
    type W = __m256i;
    type Q = __m256i;
    #[inline(always)]
    fn w_splat(self, x: u32) -> __m256i {
        unsafe { _mm256_set1_epi32(x as i32) }
    }
    #[inline(always)]
    fn w_iota(self, base: u32) -> __m256i {
        unsafe { _mm256_add_epi32(_mm256_set1_epi32(base as i32), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)) }
    }
    #[inline(always)]
    fn w_add(self, a: __m256i, b: __m256i) -> __m256i {
        unsafe { _mm256_add_epi32(a, b) }
    }
    #[inline(always)]
    fn w_or(self, a: __m256i, b: __m256i) -> __m256i {
        unsafe { _mm256_or_si256(a, b) }
    }
    #[inline(always)]
    fn w_xor3(self, a: __m256i, b: __m256i, c: __m256i) -> __m256i {
        unsafe { _mm256_xor_si256(_mm256_xor_si256(a, b), c) }
    }
    #[inline(always)]
    fn w_ch(self, e: __m256i, f: __m256i, g: __m256i) -> __m256i {
        unsafe { _mm256_xor_si256(g, _mm256_and_si256(e, _mm256_xor_si256(f, g))) }
    }
    #[inline(always)]
    fn w_maj(self, a: __m256i, b: __m256i, c: __m256i) -> __m256i {
        unsafe { _mm256_or_si256(_mm256_and_si256(a, b), _mm256_and_si256(c, _mm256_or_si256(a, b))) }
    }
    #[inline(always)]
    fn w_rotr(self, x: __m256i, r: u32) -> __m256i {
        unsafe {
            _mm256_or_si256(_mm256_srlv_epi32(x, _mm256_set1_epi32(r as i32)), _mm256_sllv_epi32(x, _mm256_set1_epi32(32 - r as i32)))
        }
    }
    #[inline(always)]
    fn w_shr(self, x: __m256i, r: u32) -> __m256i {
        unsafe { _mm256_srlv_epi32(x, _mm256_set1_epi32(r as i32)) }
    }
    #[inline(always)]
    fn w_bswap(self, x: __m256i) -> __m256i {
        unsafe {
            let m = _mm256_setr_epi8(
                3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12,
            );
            _mm256_shuffle_epi8(x, m)
        }
    }
    #[inline(always)]
    fn q_splat(self, x: u64) -> __m256i {
        unsafe { _mm256_set1_epi64x(x as i64) }
    }
    #[inline(always)]
    fn q_xor(self, a: __m256i, b: __m256i) -> __m256i {
        unsafe { _mm256_xor_si256(a, b) }
    }
    #[inline(always)]
    fn q_xor3(self, a: __m256i, b: __m256i, c: __m256i) -> __m256i {
        unsafe { _mm256_xor_si256(_mm256_xor_si256(a, b), c) }
    }
    #[inline(always)]
    fn q_rotl(self, x: __m256i, r: u32) -> __m256i {
        unsafe {
            _mm256_or_si256(
                _mm256_sllv_epi64(x, _mm256_set1_epi64x(i64::from(r))),
                _mm256_srlv_epi64(x, _mm256_set1_epi64x(64 - i64::from(r))),
            )
        }
    }
    #[inline(always)]
    fn q_chi(self, a: __m256i, b: __m256i, c: __m256i) -> __m256i {
        unsafe { _mm256_xor_si256(a, _mm256_andnot_si256(b, c)) }
    }
    #[inline(always)]
    fn q_bswap(self, x: __m256i) -> __m256i {
        unsafe {
            let m = _mm256_setr_epi8(
                7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8,
            );
            _mm256_shuffle_epi8(x, m)
        }
    }
    #[inline(always)]
    fn to_keccak(self, digest: &[__m256i; 8], group: usize) -> [__m256i; 4] {
        unsafe {
            let mut lanes = [_mm256_setzero_si256(); 4];
            for (i, lane) in lanes.iter_mut().enumerate() {
                let (lo, hi) = (self.w_bswap(digest[2 * i]), self.w_bswap(digest[2 * i + 1]));
                let (a, b) = (_mm256_unpacklo_epi32(lo, hi), _mm256_unpackhi_epi32(lo, hi));
                *lane = if group == 0 { _mm256_permute2x128_si256::<0x20>(a, b) } else { _mm256_permute2x128_si256::<0x31>(a, b) };
            }
            lanes
        }
    }
    #[inline(always)]
    fn le_mask(self, v: __m256i, t: u64) -> u32 {
        unsafe {
            let sign = _mm256_set1_epi64x(i64::MIN);
            let gt = _mm256_cmpgt_epi64(_mm256_xor_si256(v, sign), _mm256_set1_epi64x((t ^ (1 << 63)) as i64));
            !(_mm256_movemask_pd(_mm256_castsi256_pd(gt)) as u32) & 0xF
        }
    }
    #[inline(always)]
    fn sha256_last_block<const POW: bool>(self, u: &UnitLanes<Self>, w0: __m256i) -> [__m256i; 8] {
        if !SHA_NI {
            return super::lanes::sha256_lanes::<Self, POW>(self, u, w0);
        }
        unsafe {
            let mut w0s = [0u32; 8];
            _mm256_storeu_si256(w0s.as_mut_ptr().cast(), w0);
            let block = if POW { POW_REGISTER_LAST_BLOCK } else { u.unit.words };
            // digest[word][lane], from groups of interleaved compressions run out of line in
            // legacy-SSE code behind a VZEROUPPER (see `sha_ni`'s note on Intel's penalty).
            let mut digest = [[0u32; 8]; 8];
            // Called through an opaque pointer: the release build (LTO) inlined the function
            // despite `#[inline(never)]`, back into VEX code with dirty upper halves.
            let compress: sha_ni::CompressSse = std::hint::black_box(sha_ni::compress_w0_sse);
            for group in 0..8 / sha_ni::SSE_GROUP {
                let base = group * sha_ni::SSE_GROUP;
                let lanes: [u32; sha_ni::SSE_GROUP] = std::array::from_fn(|k| w0s[base + k]);
                let d = compress(&u.unit.state, &block, lanes);
                for (k, words) in d.iter().enumerate() {
                    for (row, &word) in digest.iter_mut().zip(words) {
                        row[base + k] = word;
                    }
                }
            }
            let mut out = [_mm256_setzero_si256(); 8];
            for (o, row) in out.iter_mut().zip(&digest) {
                *o = _mm256_loadu_si256(row.as_ptr().cast());
            }
            out
        }
    }
    #[cfg(test)]
    fn q_store(self, x: __m256i) -> Vec<u64> {
        let mut out = [0u64; 4];
        unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), x) };
        out.to_vec()
    }
}
