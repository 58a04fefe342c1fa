//! AVX-512 path: 16-lane SHA-256 (ternary logic, native rotates) and two 8-lane Keccak-f[1600].

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use super::features::Features;
use super::lanes::Lanes;

/// Token proving AVX-512F and AVX-512BW are present; only [`Avx512::detect`] makes one.
#[derive(Clone, Copy, Debug)]
pub struct Avx512(());

impl Avx512 {
    pub fn detect() -> Option<Self> {
        Features::current().avx512.then_some(Avx512(()))
    }
}

// SAFETY (every method): an `Avx512` exists only where `detect` saw AVX-512F and AVX-512BW.
impl Lanes for Avx512 {
    const N: usize = 16;
    const M: usize = 8;
    type W = __m512i;
    type Q = __m512i;
    #[inline(always)]
    fn w_splat(self, x: u32) -> __m512i {
        unsafe { _mm512_set1_epi32(x as i32) }
    }
    #[inline(always)]
    fn w_iota(self, base: u32) -> __m512i {
        unsafe { _mm512_add_epi32(_mm512_set1_epi32(base as i32), _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)) }
    }
    #[inline(always)]
    fn w_add(self, a: __m512i, b: __m512i) -> __m512i {
        unsafe { _mm512_add_epi32(a, b) }
    }
    #[inline(always)]
    fn w_or(self, a: __m512i, b: __m512i) -> __m512i {
        unsafe { _mm512_or_si512(a, b) }
    }
    #[inline(always)]
    fn w_xor3(self, a: __m512i, b: __m512i, c: __m512i) -> __m512i {
        unsafe { _mm512_ternarylogic_epi32::<0x96>(a, b, c) }
    }
    #[inline(always)]
    fn w_ch(self, e: __m512i, f: __m512i, g: __m512i) -> __m512i {
        unsafe { _mm512_ternarylogic_epi32::<0xCA>(e, f, g) }
    }
    #[inline(always)]
    fn w_maj(self, a: __m512i, b: __m512i, c: __m512i) -> __m512i {
        unsafe { _mm512_ternarylogic_epi32::<0xE8>(a, b, c) }
    }
    #[inline(always)]
    fn w_rotr(self, x: __m512i, r: u32) -> __m512i {
        unsafe { _mm512_rorv_epi32(x, _mm512_set1_epi32(r as i32)) }
    }
    #[inline(always)]
    fn w_shr(self, x: __m512i, r: u32) -> __m512i {
        unsafe { _mm512_srlv_epi32(x, _mm512_set1_epi32(r as i32)) }
    }
    #[inline(always)]
    fn w_bswap(self, x: __m512i) -> __m512i {
        unsafe { _mm512_shuffle_epi8(x, _mm512_set4_epi32(0x0c0d0e0f, 0x08090a0b, 0x04050607, 0x00010203)) }
    }
    #[inline(always)]
    fn q_splat(self, x: u64) -> __m512i {
        unsafe { _mm512_set1_epi64(x as i64) }
    }
    #[inline(always)]
    fn q_xor(self, a: __m512i, b: __m512i) -> __m512i {
        unsafe { _mm512_xor_si512(a, b) }
    }
    #[inline(always)]
    fn q_xor3(self, a: __m512i, b: __m512i, c: __m512i) -> __m512i {
        unsafe { _mm512_ternarylogic_epi64::<0x96>(a, b, c) }
    }
    #[inline(always)]
    fn q_rotl(self, x: __m512i, r: u32) -> __m512i {
        unsafe { _mm512_rolv_epi64(x, _mm512_set1_epi64(i64::from(r))) }
    }
    #[inline(always)]
    fn q_chi(self, a: __m512i, b: __m512i, c: __m512i) -> __m512i {
        unsafe { _mm512_ternarylogic_epi64::<0xD2>(a, b, c) }
    }
    #[inline(always)]
    fn q_bswap(self, x: __m512i) -> __m512i {
        unsafe { _mm512_shuffle_epi8(x, _mm512_set4_epi32(0x08090a0b, 0x0c0d0e0f, 0x00010203, 0x04050607)) }
    }
    #[inline(always)]
    fn to_keccak(self, digest: &[__m512i; 8], group: usize) -> [__m512i; 4] {
        unsafe {
            let index = if group == 0 {
                _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23)
            } else {
                _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31)
            };
            let mut lanes = [_mm512_setzero_si512(); 4];
            for (i, lane) in lanes.iter_mut().enumerate() {
                *lane = _mm512_permutex2var_epi32(self.w_bswap(digest[2 * i]), index, self.w_bswap(digest[2 * i + 1]));
            }
            lanes
        }
    }
    #[inline(always)]
    fn le_mask(self, v: __m512i, t: u64) -> u32 {
        unsafe { u32::from(_mm512_cmple_epu64_mask(v, _mm512_set1_epi64(t as i64))) }
    }
    #[cfg(test)]
    fn q_store(self, x: __m512i) -> Vec<u64> {
        let mut out = [0u64; 8];
        unsafe { _mm512_storeu_si512(out.as_mut_ptr().cast(), x) };
        out.to_vec()
    }
}
