/* SHA-256 of the last message block, from round 1 on (round 0 is precomputed per unit). */

#define SHA_CH(e, f, g) ((g) ^ ((e) & ((f) ^ (g))))
#define SHA_MAJ(a, b, c) (((a) & (b)) | ((c) & ((a) | (b))))
#define SHA_BSIG0(x) (ROTR32(x, 2) ^ ROTR32(x, 13) ^ ROTR32(x, 22))
#define SHA_BSIG1(x) (ROTR32(x, 6) ^ ROTR32(x, 11) ^ ROTR32(x, 25))
#define SHA_SSIG0(x) (ROTR32(x, 7) ^ ROTR32(x, 18) ^ ((x) >> 3))
#define SHA_SSIG1(x) (ROTR32(x, 17) ^ ROTR32(x, 19) ^ ((x) >> 10))

/* SHA256_K[64] is generated from the Rust constant (src/kernels.rs) and prepended. */

/* Per-unit constants from the host's hot-loop description (mirrors the Rust `KernelUnit`). */
typedef struct {
    u32 state[8];   /* state before the last block */
    u32 round0_a;   /* a after round 0, less W0 */
    u32 round0_e;   /* e after round 0, less W0 */
    u32 words[16];  /* the last block; words[0] = W0's constant bits */
    u32 target_lo;  /* the target's most significant 64 bits */
    u32 target_hi;
    u32 first;      /* first index of this launch */
    u32 count;      /* indices in this launch */
} unit_t;

/* `pow` selects pow-register's compile-time block (W1..W14 = 0, W15 = 1048): its schedule folds. */
DEVICE void sha256_last_block(const unit_t *u, u32 w0, const int pow, u32 out[8]) {
    u32 w[16];
    w[0] = w0;
    UNROLL for (int i = 1; i < 16; i++) w[i] = pow ? (i == 15 ? 131u * 8u : 0u) : u->words[i];
    u32 a = u->round0_a + w0, b = u->state[0], c = u->state[1], d = u->state[2];
    u32 e = u->round0_e + w0, f = u->state[4], g = u->state[5], h = u->state[6];
    UNROLL for (int i = 1; i < 64; i++) {
        if (i >= 16) w[i & 15] += SHA_SSIG1(w[(i - 2) & 15]) + w[(i - 7) & 15] + SHA_SSIG0(w[(i - 15) & 15]);
        u32 t1 = h + SHA_BSIG1(e) + SHA_CH(e, f, g) + SHA256_K[i] + w[i & 15];
        u32 t2 = SHA_BSIG0(a) + SHA_MAJ(a, b, c);
        h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    out[0] = a + u->state[0]; out[1] = b + u->state[1]; out[2] = c + u->state[2]; out[3] = d + u->state[3];
    out[4] = e + u->state[4]; out[5] = f + u->state[5]; out[6] = g + u->state[6]; out[7] = h + u->state[7];
}
