/* Keccak-256 of a 32-byte input, reduced to the one output lane the target check reads. */

#define KECCAK_CHI(a, b, c) ((a) ^ (~(b) & (c)))

/* Theta, rho, pi, chi, iota with every index a compile-time constant (no local memory). */
#define KECCAK_ROUND(A, rc) do { \
    u64 C0 = A[0] ^ A[5] ^ A[10] ^ A[15] ^ A[20], C1 = A[1] ^ A[6] ^ A[11] ^ A[16] ^ A[21]; \
    u64 C2 = A[2] ^ A[7] ^ A[12] ^ A[17] ^ A[22], C3 = A[3] ^ A[8] ^ A[13] ^ A[18] ^ A[23]; \
    u64 C4 = A[4] ^ A[9] ^ A[14] ^ A[19] ^ A[24]; \
    u64 D0 = C4 ^ ROTL64(C1, 1), D1 = C0 ^ ROTL64(C2, 1), D2 = C1 ^ ROTL64(C3, 1); \
    u64 D3 = C2 ^ ROTL64(C4, 1), D4 = C3 ^ ROTL64(C0, 1); \
    u64 B00 = A[0] ^ D0,               B10 = ROTL64(A[6] ^ D1, 44),  B20 = ROTL64(A[12] ^ D2, 43); \
    u64 B30 = ROTL64(A[18] ^ D3, 21),  B40 = ROTL64(A[24] ^ D4, 14); \
    u64 B01 = ROTL64(A[3] ^ D3, 28),   B11 = ROTL64(A[9] ^ D4, 20),  B21 = ROTL64(A[10] ^ D0, 3); \
    u64 B31 = ROTL64(A[16] ^ D1, 45),  B41 = ROTL64(A[22] ^ D2, 61); \
    u64 B02 = ROTL64(A[1] ^ D1, 1),    B12 = ROTL64(A[7] ^ D2, 6),   B22 = ROTL64(A[13] ^ D3, 25); \
    u64 B32 = ROTL64(A[19] ^ D4, 8),   B42 = ROTL64(A[20] ^ D0, 18); \
    u64 B03 = ROTL64(A[4] ^ D4, 27),   B13 = ROTL64(A[5] ^ D0, 36),  B23 = ROTL64(A[11] ^ D1, 10); \
    u64 B33 = ROTL64(A[17] ^ D2, 15),  B43 = ROTL64(A[23] ^ D3, 56); \
    u64 B04 = ROTL64(A[2] ^ D2, 62),   B14 = ROTL64(A[8] ^ D3, 55),  B24 = ROTL64(A[14] ^ D4, 39); \
    u64 B34 = ROTL64(A[15] ^ D0, 41),  B44 = ROTL64(A[21] ^ D1, 2); \
    A[0] = KECCAK_CHI(B00, B10, B20) ^ (rc); A[1] = KECCAK_CHI(B10, B20, B30); A[2] = KECCAK_CHI(B20, B30, B40); \
    A[3] = KECCAK_CHI(B30, B40, B00); A[4] = KECCAK_CHI(B40, B00, B10); \
    A[5] = KECCAK_CHI(B01, B11, B21); A[6] = KECCAK_CHI(B11, B21, B31); A[7] = KECCAK_CHI(B21, B31, B41); \
    A[8] = KECCAK_CHI(B31, B41, B01); A[9] = KECCAK_CHI(B41, B01, B11); \
    A[10] = KECCAK_CHI(B02, B12, B22); A[11] = KECCAK_CHI(B12, B22, B32); A[12] = KECCAK_CHI(B22, B32, B42); \
    A[13] = KECCAK_CHI(B32, B42, B02); A[14] = KECCAK_CHI(B42, B02, B12); \
    A[15] = KECCAK_CHI(B03, B13, B23); A[16] = KECCAK_CHI(B13, B23, B33); A[17] = KECCAK_CHI(B23, B33, B43); \
    A[18] = KECCAK_CHI(B33, B43, B03); A[19] = KECCAK_CHI(B43, B03, B13); \
    A[20] = KECCAK_CHI(B04, B14, B24); A[21] = KECCAK_CHI(B14, B24, B34); A[22] = KECCAK_CHI(B24, B34, B44); \
    A[23] = KECCAK_CHI(B34, B44, B04); A[24] = KECCAK_CHI(B44, B04, B14); \
} while (0)

/* Returns the seal's most significant 64 bits: lane 3 (little-endian) or byte-swapped lane 0
 * (big-endian). The input's other lanes are constants (padding), so the first round folds; the
 * last round computes only the lane that is returned. */
DEVICE u64 keccak256_32_top(const u32 digest[8], const int big) {
    u64 A[25];
    UNROLL for (int i = 0; i < 4; i++) A[i] = (u64)BSWAP32(digest[2 * i]) | ((u64)BSWAP32(digest[2 * i + 1]) << 32);
    UNROLL for (int i = 4; i < 25; i++) A[i] = 0;
    A[4] = 0x01UL;
    A[16] = 0x8000000000000000UL;
    /* Rounds 0..22 written out with literal constants: nothing is left to the unroller, and
     * round 0 folds over the constant lanes. */
    KECCAK_ROUND(A, 0x0000000000000001UL);
    KECCAK_ROUND(A, 0x0000000000008082UL);
    KECCAK_ROUND(A, 0x800000000000808aUL);
    KECCAK_ROUND(A, 0x8000000080008000UL);
    KECCAK_ROUND(A, 0x000000000000808bUL);
    KECCAK_ROUND(A, 0x0000000080000001UL);
    KECCAK_ROUND(A, 0x8000000080008081UL);
    KECCAK_ROUND(A, 0x8000000000008009UL);
    KECCAK_ROUND(A, 0x000000000000008aUL);
    KECCAK_ROUND(A, 0x0000000000000088UL);
    KECCAK_ROUND(A, 0x0000000080008009UL);
    KECCAK_ROUND(A, 0x000000008000000aUL);
    KECCAK_ROUND(A, 0x000000008000808bUL);
    KECCAK_ROUND(A, 0x800000000000008bUL);
    KECCAK_ROUND(A, 0x8000000000008089UL);
    KECCAK_ROUND(A, 0x8000000000008003UL);
    KECCAK_ROUND(A, 0x8000000000008002UL);
    KECCAK_ROUND(A, 0x8000000000000080UL);
    KECCAK_ROUND(A, 0x000000000000800aUL);
    KECCAK_ROUND(A, 0x800000008000000aUL);
    KECCAK_ROUND(A, 0x8000000080008081UL);
    KECCAK_ROUND(A, 0x8000000000008080UL);
    KECCAK_ROUND(A, 0x0000000080000001UL);
    u64 C0 = A[0] ^ A[5] ^ A[10] ^ A[15] ^ A[20], C1 = A[1] ^ A[6] ^ A[11] ^ A[16] ^ A[21];
    u64 C2 = A[2] ^ A[7] ^ A[12] ^ A[17] ^ A[22], C3 = A[3] ^ A[8] ^ A[13] ^ A[18] ^ A[23];
    u64 C4 = A[4] ^ A[9] ^ A[14] ^ A[19] ^ A[24];
    u64 D0 = C4 ^ ROTL64(C1, 1), D1 = C0 ^ ROTL64(C2, 1), D2 = C1 ^ ROTL64(C3, 1);
    u64 D3 = C2 ^ ROTL64(C4, 1), D4 = C3 ^ ROTL64(C0, 1);
    u64 B00 = A[0] ^ D0, B10 = ROTL64(A[6] ^ D1, 44), B20 = ROTL64(A[12] ^ D2, 43);
    if (big) return BSWAP64(KECCAK_CHI(B00, B10, B20) ^ 0x8000000080008008UL);
    u64 B30 = ROTL64(A[18] ^ D3, 21), B40 = ROTL64(A[24] ^ D4, 14);
    return KECCAK_CHI(B30, B40, B00);
}
