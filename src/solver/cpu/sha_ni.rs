//! One SHA-256 compression with the x86 SHA extensions (SHA-NI), for the AVX2 path.

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

/// `state` compressed with one block of message words.
///
/// # Safety
/// The CPU must support SHA, SSSE3 and SSE4.1.
#[inline(always)]
pub unsafe fn compress(state: &[u32; 8], block: &[u32; 16]) -> [u32; 8] {
    let dcba = _mm_loadu_si128(state.as_ptr().cast());
    let efgh = _mm_loadu_si128(state.as_ptr().add(4).cast());
    let cdab = _mm_shuffle_epi32::<0xB1>(dcba);
    let efhg = _mm_shuffle_epi32::<0x1B>(efgh);
    let mut abef = _mm_alignr_epi8::<8>(cdab, efhg);
    let mut cdgh = _mm_blend_epi16::<0xF0>(efhg, cdab);
    let (abef_in, cdgh_in) = (abef, cdgh);
    let mut w = [0usize, 4, 8, 12].map(|i| _mm_loadu_si128(block.as_ptr().add(i).cast()));
    for i in 0..16 {
        if i >= 4 {
            let next = schedule(w[i % 4], w[(i + 1) % 4], w[(i + 2) % 4], w[(i + 3) % 4]);
            w[i % 4] = next;
        }
        rounds4(&mut abef, &mut cdgh, w[i % 4], i);
    }
    abef = _mm_add_epi32(abef, abef_in);
    cdgh = _mm_add_epi32(cdgh, cdgh_in);
    let feba = _mm_shuffle_epi32::<0x1B>(abef);
    let dchg = _mm_shuffle_epi32::<0xB1>(cdgh);
    let mut out = [0u32; 8];
    _mm_storeu_si128(out.as_mut_ptr().cast(), _mm_blend_epi16::<0xF0>(feba, dchg));
    _mm_storeu_si128(out.as_mut_ptr().add(4).cast(), _mm_alignr_epi8::<8>(dchg, feba));
    out
}

#[cfg(test)]
mod tests {
    use crate::pow::hotloop::{compress, SHA256_IV};

    #[test]
    fn matches_the_portable_compression() {
        if !(is_x86_feature_detected!("sha") && is_x86_feature_detected!("sse4.1")) {
            eprintln!("SKIPPED: this CPU has no SHA extensions");
            return;
        }
        let block: [u32; 16] = std::array::from_fn(|i| (i as u32).wrapping_mul(0x9e37_79b9));
        let mut expected = SHA256_IV;
        compress(&mut expected, &block);
        assert_eq!(unsafe { super::compress(&SHA256_IV, &block) }, expected);
    }
}
