//! The CPU inner loop, written once over a lane type: N-lane SHA-256 of the last block and
//! M-lane Keccak-f[1600], fully unrolled. Each SIMD path implements [`Lanes`]; everything
//! here is `#[inline(always)]` so it compiles into the path's `#[target_feature]` entry point.

use crate::pow::hotloop::{HotLoop, Layout, Unit, POW_REGISTER_LAST_BLOCK, SHA256_K};
use crate::pow::ByteOrder;

/// One SIMD register's worth of lanes and the operations the inner loop needs.
/// `W` holds `N` u32 SHA-256 lanes; `Q` holds `M` u64 Keccak lanes; `N` is a multiple of `M`.
pub trait Lanes: Copy {
    const N: usize;
    const M: usize;
    type W: Copy;
    type Q: Copy;
    fn w_splat(self, x: u32) -> Self::W;
    /// Lane `j` holds `base + j`.
    fn w_iota(self, base: u32) -> Self::W;
    fn w_add(self, a: Self::W, b: Self::W) -> Self::W;
    fn w_or(self, a: Self::W, b: Self::W) -> Self::W;
    fn w_xor3(self, a: Self::W, b: Self::W, c: Self::W) -> Self::W;
    /// `(e & f) ^ (!e & g)`
    fn w_ch(self, e: Self::W, f: Self::W, g: Self::W) -> Self::W;
    /// `(a & b) ^ (a & c) ^ (b & c)`
    fn w_maj(self, a: Self::W, b: Self::W, c: Self::W) -> Self::W;
    fn w_rotr(self, x: Self::W, r: u32) -> Self::W;
    fn w_shr(self, x: Self::W, r: u32) -> Self::W;
    fn w_bswap(self, x: Self::W) -> Self::W;
    fn q_splat(self, x: u64) -> Self::Q;
    fn q_xor(self, a: Self::Q, b: Self::Q) -> Self::Q;
    fn q_xor3(self, a: Self::Q, b: Self::Q, c: Self::Q) -> Self::Q;
    fn q_rotl(self, x: Self::Q, r: u32) -> Self::Q;
    /// `a ^ (!b & c)`
    fn q_chi(self, a: Self::Q, b: Self::Q, c: Self::Q) -> Self::Q;
    fn q_bswap(self, x: Self::Q) -> Self::Q;
    /// Keccak input lanes 0..4 for SHA lanes `group * M .. (group + 1) * M`: the digest's
    /// bytes read little-endian, 8 at a time.
    fn to_keccak(self, digest: &[Self::W; 8], group: usize) -> [Self::Q; 4];
    /// Bit `j` set where lane `j` of `v` is `<= t` (unsigned).
    fn le_mask(self, v: Self::Q, t: u64) -> u32;
    /// The last block's SHA-256 for N consecutive indices. The default is the lane-parallel
    /// [`sha256_lanes`]; a path with SHA extensions overrides it.
    #[inline(always)]
    fn sha256_last_block<const POW: bool>(self, u: &UnitLanes<Self>, w0: Self::W) -> [Self::W; 8] {
        sha256_lanes::<Self, POW>(self, u, w0)
    }
    /// The lanes of `x`, for parity tests.
    #[cfg(test)]
    fn q_store(self, x: Self::Q) -> Vec<u64>;
}

/// Repeats a block with a `const` bound to each listed value: unrolls for the compiler.
macro_rules! unroll {
    ($i:ident in [$($n:literal),*] $body:block) => { $( { const $i: usize = $n; $body } )* };
}

#[inline(always)]
fn big_sigma0<L: Lanes>(l: L, x: L::W) -> L::W {
    l.w_xor3(l.w_rotr(x, 2), l.w_rotr(x, 13), l.w_rotr(x, 22))
}
#[inline(always)]
fn big_sigma1<L: Lanes>(l: L, x: L::W) -> L::W {
    l.w_xor3(l.w_rotr(x, 6), l.w_rotr(x, 11), l.w_rotr(x, 25))
}
#[inline(always)]
fn small_sigma0<L: Lanes>(l: L, x: L::W) -> L::W {
    l.w_xor3(l.w_rotr(x, 7), l.w_rotr(x, 18), l.w_shr(x, 3))
}
#[inline(always)]
fn small_sigma1<L: Lanes>(l: L, x: L::W) -> L::W {
    l.w_xor3(l.w_rotr(x, 17), l.w_rotr(x, 19), l.w_shr(x, 10))
}

/// Per-unit constants broadcast once per run (and the unit itself, for scalar SHA paths).
#[derive(Clone, Copy)]
pub struct UnitLanes<L: Lanes> {
    pub unit: Unit,
    state: [L::W; 8],
    round0_a: L::W,
    round0_e: L::W,
    words: [L::W; 16],
}

impl<L: Lanes> UnitLanes<L> {
    #[inline(always)]
    fn new(l: L, unit: &Unit) -> Self {
        UnitLanes {
            unit: *unit,
            state: unit.state.map(|x| l.w_splat(x)),
            round0_a: l.w_splat(unit.round0_a),
            round0_e: l.w_splat(unit.round0_e),
            words: unit.words.map(|x| l.w_splat(x)),
        }
    }
}

/// The last block's SHA-256 for N consecutive indices, from round 1 on. With `POW`, W1..W15 are
/// the compile-time words of `pow-register`'s third block, so their schedule folds away.
#[inline(always)]
pub fn sha256_lanes<L: Lanes, const POW: bool>(l: L, u: &UnitLanes<L>, w0: L::W) -> [L::W; 8] {
    let mut w: [L::W; 16] = u.words;
    w[0] = w0;
    if POW {
        for (i, word) in w.iter_mut().enumerate().skip(1) {
            *word = l.w_splat(POW_REGISTER_LAST_BLOCK[i]);
        }
    }
    let s = u.state;
    let (mut a, mut b, mut c, mut d) = (l.w_add(u.round0_a, w0), s[0], s[1], s[2]);
    let (mut e, mut f, mut g, mut h) = (l.w_add(u.round0_e, w0), s[4], s[5], s[6]);
    unroll!(I in [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
        24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46,
        47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63] {
        if I >= 16 {
            let sum = l.w_add(small_sigma1(l, w[(I - 2) & 15]), w[(I - 7) & 15]);
            w[I & 15] = l.w_add(l.w_add(sum, small_sigma0(l, w[(I - 15) & 15])), w[I & 15]);
        }
        let t1 = l.w_add(l.w_add(h, big_sigma1(l, e)), l.w_add(l.w_ch(e, f, g), l.w_add(l.w_splat(SHA256_K[I]), w[I & 15])));
        let t2 = l.w_add(big_sigma0(l, a), l.w_maj(a, b, c));
        h = g;
        g = f;
        f = e;
        e = l.w_add(d, t1);
        d = c;
        c = b;
        b = a;
        a = l.w_add(t1, t2);
    });
    let mut out = [a, b, c, d, e, f, g, h];
    for i in 0..8 {
        out[i] = l.w_add(out[i], s[i]);
    }
    out
}

const KECCAK_RC: [u64; 24] = [
    0x0000000000000001,
    0x0000000000008082,
    0x800000000000808a,
    0x8000000080008000,
    0x000000000000808b,
    0x0000000080000001,
    0x8000000080008081,
    0x8000000000008009,
    0x000000000000008a,
    0x0000000000000088,
    0x0000000080008009,
    0x000000008000000a,
    0x000000008000808b,
    0x800000000000008b,
    0x8000000000008089,
    0x8000000000008003,
    0x8000000000008002,
    0x8000000000000080,
    0x000000000000800a,
    0x800000008000000a,
    0x8000000080008081,
    0x8000000000008080,
    0x0000000080000001,
    0x8000000080008008,
];
const KECCAK_RHO: [u32; 24] = [1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14, 27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44];
const KECCAK_PI: [usize; 24] = [10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4, 15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1];

/// One Keccak-f[1600] round. Every step is unrolled by macro, not left to the optimiser: on paths
/// whose rotates take several instructions it would keep rho-pi as a loop over lookup tables.
#[inline(always)]
fn keccak_round<L: Lanes>(l: L, a: &mut [L::Q; 25], rc: u64) {
    let mut c = [a[0]; 5];
    unroll!(X in [0, 1, 2, 3, 4] {
        c[X] = l.q_xor(l.q_xor3(a[X], a[X + 5], a[X + 10]), l.q_xor(a[X + 15], a[X + 20]));
    });
    unroll!(X in [0, 1, 2, 3, 4] {
        let d = l.q_xor(c[(X + 4) % 5], l.q_rotl(c[(X + 1) % 5], 1));
        unroll!(Y in [0, 1, 2, 3, 4] {
            a[5 * Y + X] = l.q_xor(a[5 * Y + X], d);
        });
    });
    // Rho and pi: lane PI[i] takes lane PI[i - 1] (lane 1 for i = 0) rotated by RHO[i].
    let b = *a;
    unroll!(I in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23] {
        a[KECCAK_PI[I]] = l.q_rotl(b[if I == 0 { 1 } else { KECCAK_PI[I - 1] }], KECCAK_RHO[I]);
    });
    unroll!(Y in [0, 1, 2, 3, 4] {
        let row = [a[5 * Y], a[5 * Y + 1], a[5 * Y + 2], a[5 * Y + 3], a[5 * Y + 4]];
        unroll!(X in [0, 1, 2, 3, 4] {
            a[5 * Y + X] = l.q_chi(row[X], row[(X + 1) % 5], row[(X + 2) % 5]);
        });
    });
    a[0] = l.q_xor(a[0], l.q_splat(rc));
}

/// Keccak-256 of M 32-byte inputs (lanes 0..4), returning the whole state after Keccak-f.
/// Lanes 4..25 start as constants (padding), so the first round folds at compile time; callers
/// that read one output lane let the compiler drop the rest of the last round.
#[inline(always)]
fn keccak256_32<L: Lanes>(l: L, input: [L::Q; 4]) -> [L::Q; 25] {
    let mut a = [l.q_splat(0); 25];
    a[..4].copy_from_slice(&input);
    a[4] = l.q_splat(0x01);
    a[16] = l.q_splat(0x8000_0000_0000_0000);
    unroll!(R in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23] {
        keccak_round(l, &mut a, KECCAK_RC[R]);
    });
    a
}

/// The seal's most significant 64 bits for each lane.
#[inline(always)]
fn seal_top<L: Lanes, const BIG: bool>(l: L, state: &[L::Q; 25]) -> L::Q {
    if BIG {
        l.q_bswap(state[0])
    } else {
        state[3]
    }
}

/// Searches `count` indices of `unit` from `first`, appending the index of every lane whose
/// seal's top 64 bits are `<= target_top` (a superset of the solutions; the caller re-verifies).
#[inline(always)]
pub fn search_run<L: Lanes, const POW: bool, const BIG: bool>(
    l: L,
    unit: &Unit,
    target_top: u64,
    first: u32,
    count: u32,
    out: &mut Vec<u32>,
) {
    let u = UnitLanes::new(l, unit);
    let pad = l.w_splat(unit.words[0]);
    let end = u64::from(first) + u64::from(count);
    let mut index = u64::from(first);
    // `index < end <= 2^32` (a run never passes its unit's end), so indices fit in u32;
    // `end` itself may be 2^32, which is why the loop counts in u64.
    #[allow(clippy::cast_possible_truncation)]
    while index < end {
        // Lanes past `end` compute garbage that the bound check below discards.
        let w0 = l.w_or(l.w_bswap(l.w_iota(index as u32)), pad);
        let digest = l.sha256_last_block::<POW>(&u, w0);
        for group in 0..L::N / L::M {
            let state = keccak256_32(l, l.to_keccak(&digest, group));
            let mut mask = l.le_mask(seal_top::<L, BIG>(l, &state), target_top);
            while mask != 0 {
                let lane = mask.trailing_zeros() as u64;
                mask &= mask - 1;
                let hit = index + (group * L::M) as u64 + lane;
                if hit < end {
                    out.push(hit as u32); // `hit < end <= 2^32`: fits (see above)
                }
            }
        }
        index += L::N as u64;
    }
}

/// Picks the monomorphised loop for a job's layout and byte order.
#[inline(always)]
pub fn search_dispatch<L: Lanes>(l: L, hot: &HotLoop, unit: &Unit, first: u32, count: u32, out: &mut Vec<u32>) {
    let top = hot.target.top();
    match (hot.layout, hot.order) {
        (Layout::PowRegister, ByteOrder::Little) => search_run::<L, true, false>(l, unit, top, first, count, out),
        (Layout::PowRegister, ByteOrder::Big) => search_run::<L, true, true>(l, unit, top, first, count, out),
        (Layout::Legacy, ByteOrder::Little) => search_run::<L, false, false>(l, unit, top, first, count, out),
        (Layout::Legacy, ByteOrder::Big) => search_run::<L, false, true>(l, unit, top, first, count, out),
    }
}

/// Full seals for N consecutive indices, for lane-by-lane parity tests.
#[cfg(test)]
#[inline(always)]
pub fn seals<L: Lanes>(l: L, pow: bool, unit: &Unit, first: u32) -> Vec<[u8; 32]> {
    let u = UnitLanes::new(l, unit);
    let w0 = l.w_or(l.w_bswap(l.w_iota(first)), l.w_splat(unit.words[0]));
    let digest = if pow { l.sha256_last_block::<true>(&u, w0) } else { l.sha256_last_block::<false>(&u, w0) };
    let mut out = vec![[0u8; 32]; L::N];
    for group in 0..L::N / L::M {
        let state = keccak256_32(l, l.to_keccak(&digest, group));
        let lanes: [Vec<u64>; 4] = std::array::from_fn(|i| l.q_store(state[i]));
        for j in 0..L::M {
            for i in 0..4 {
                out[group * L::M + j][8 * i..8 * i + 8].copy_from_slice(&lanes[i][j].to_le_bytes());
            }
        }
    }
    out
}
