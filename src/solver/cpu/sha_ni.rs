//! SHA-256 compressions with the x86 SHA extensions (SHA-NI), for the `sha-ni` and `avx2-sha-ni`
//! paths.
//!
//! The SHA extensions have only legacy-SSE encodings. On Intel cores a legacy-SSE instruction
//! run while the upper halves of the YMM registers are dirty pays a penalty every time (a
//! state transition or a merge with the upper half): inlined into the AVX2 path's loop, right
//! after its YMM Keccak rounds, this made `avx2-sha-ni` ~30x slower than plain `avx2` on Golden
//! Cove. So the AVX2 path calls [`compress_w0_sse`], compiled out of line without AVX (and called
//! through an opaque pointer, as LTO inlined it despite `#[inline(never)]`): every
//! instruction in it is legacy SSE, and the compiler puts a VZEROUPPER before each call from
//! AVX code (see `benches/vzeroupper.sh`, which checks the machine code for it).

use std::arch::x86_64::*;

use crate::pow::hotloop::SHA256_K;

/// Four rounds: message words `w` (lane 0 first) plus their round constants.
#[inline(always)]
unsafe fn rounds4(abef: &mut __m128i, cdgh: &mut __m128i, w: __m128i, i: usize) {
    let wk = _mm_add_epi32(w, _mm_loadu_si128(SHA256_K.as_ptr().add(4 * i).cast()));
    *cdgh = _mm_sha256rnds2_epu32(*cdgh, *abef, wk);
    *abef = _mm_sha256rnds2_epu32(*abef, *cdgh, _mm_shuffle_epi32::<0x0E>(wk));
}

/// The next four message words from the previous sixteen.
#[inline(always)]
unsafe fn schedule(w0: __m128i, w1: __m128i, w2: __m128i, w3: __m128i) -> __m128i {
    let t = _mm_add_epi32(_mm_sha256msg1_epu32(w0, w1), _mm_alignr_epi8::<4>(w3, w2));
    _mm_sha256msg2_epu32(t, w3)
}

/// `state` compressed with `K` blocks that differ only in their first word `w0[k]`, the `K`
/// compressions interleaved step by step so that the SHA units' latency overlaps.
///
/// # Safety
/// The CPU must support SHA, SSSE3 and SSE4.1.
#[inline(always)]
pub unsafe fn compress_w0<const K: usize>(state: &[u32; 8], block: &[u32; 16], w0: [u32; K]) -> [[u32; 8]; K] {
    let dcba = _mm_loadu_si128(state.as_ptr().cast());
    let efgh = _mm_loadu_si128(state.as_ptr().add(4).cast());
    let cdab = _mm_shuffle_epi32::<0xB1>(dcba);
    let efhg = _mm_shuffle_epi32::<0x1B>(efgh);
    let (abef_in, cdgh_in) = (_mm_alignr_epi8::<8>(cdab, efhg), _mm_blend_epi16::<0xF0>(efhg, cdab));
    let (mut abef, mut cdgh) = ([abef_in; K], [cdgh_in; K]);
    let first = _mm_loadu_si128(block.as_ptr().cast());
    let rest = [4usize, 8, 12].map(|i| _mm_loadu_si128(block.as_ptr().add(i).cast()));
    let mut w = [[first, rest[0], rest[1], rest[2]]; K];
    for k in 0..K {
        w[k][0] = _mm_insert_epi32::<0>(first, w0[k] as i32);
    }
    for i in 0..16 {
        for k in 0..K {
            if i >= 4 {
                w[k][i % 4] = schedule(w[k][i % 4], w[k][(i + 1) % 4], w[k][(i + 2) % 4], w[k][(i + 3) % 4]);
            }
            rounds4(&mut abef[k], &mut cdgh[k], w[k][i % 4], i);
        }
    }
    let mut out = [[0u32; 8]; K];
    for k in 0..K {
        let feba = _mm_shuffle_epi32::<0x1B>(_mm_add_epi32(abef[k], abef_in));
        let dchg = _mm_shuffle_epi32::<0xB1>(_mm_add_epi32(cdgh[k], cdgh_in));
        _mm_storeu_si128(out[k].as_mut_ptr().cast(), _mm_blend_epi16::<0xF0>(feba, dchg));
        _mm_storeu_si128(out[k].as_mut_ptr().add(4).cast(), _mm_alignr_epi8::<8>(dchg, feba));
    }
    out
}

/// Groups of lanes the AVX2 path compresses per call.
pub const SSE_GROUP: usize = 4;

/// The signature of [`compress_w0_sse`], which the AVX2 path calls through a pointer.
pub type CompressSse = unsafe fn(&[u32; 8], &[u32; 16], [u32; SSE_GROUP]) -> [[u32; 8]; SSE_GROUP];

/// [`compress_w0`] for [`SSE_GROUP`] blocks, compiled without AVX and never inlined, so that
/// it runs with the upper YMM halves clean (see the module's note).
///
/// # Safety
/// The CPU must support SHA, SSSE3 and SSE4.1.
#[target_feature(enable = "sha,sse4.1")]
#[inline(never)]
pub unsafe fn compress_w0_sse(state: &[u32; 8], block: &[u32; 16], w0: [u32; SSE_GROUP]) -> [[u32; 8]; SSE_GROUP] {
    compress_w0(state, block, w0)
}

#[cfg(test)]
mod tests {
    use crate::pow::hotloop::{compress, SHA256_IV};

    #[test]
    fn matches_the_portable_compression() {
        if !(is_x86_feature_detected!("sha") && is_x86_feature_detected!("sse4.1")) {
            // The one skip outside the test binary: the same rule as its skip_or_fail.
            let why = "this CPU has no SHA extensions";
            assert!(std::env::var("REGSOLVER_REQUIRE_SHA_NI").as_deref() != Ok("1"), "REGSOLVER_REQUIRE_SHA_NI=1 but {why}");
            eprintln!("SKIPPED: {why} (set REGSOLVER_REQUIRE_SHA_NI=1 to make this a failure)");
            return;
        }
        let mut block: [u32; 16] = std::array::from_fn(|i| u32::try_from(i).unwrap().wrapping_mul(0x9e37_79b9));
        let w0 = [1, 0xdead_beef, 7];
        let got = unsafe { super::compress_w0(&SHA256_IV, &block, w0) };
        for (k, w) in w0.into_iter().enumerate() {
            block[0] = w;
            let mut expected = SHA256_IV;
            compress(&mut expected, &block);
            assert_eq!(got[k], expected, "block {k}");
        }
    }
}
