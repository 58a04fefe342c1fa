/* The search kernels: each thread checks `per_thread` consecutive indices of one work unit and
 * appends every index whose seal's top 64 bits are within the target to `out`
 * (out[0] = count, out[1..] = indices; the host re-verifies every one on the CPU). A count beyond
 * `out_capacity` is kept, so the host knows how many candidates found no slot. */

DEVICE void search_body(const unit_t *u, u32 per_thread, GLOBAL u32 *out, u32 out_capacity, const int pow, const int big) {
    u64 target = ((u64)u->target_hi << 32) | u->target_lo;
    /* In 64 bits: the threads padding a launch to whole work-groups could wrap a 32-bit
     * offset back into the run (a run has at most 2^31 indices, so in-run offsets fit). */
    u64 offset = (u64)THREAD_ID * per_thread;
    if (offset >= u->count) return;
    for (u32 k = 0; k < per_thread; k++) {
        u32 i = (u32)offset + k;
        if (i >= u->count) return;
        u32 index = u->first + i;
        u32 digest[8];
        sha256_last_block(u, BSWAP32(index) | u->words[0], pow, digest);
        if (keccak256_32_top(digest, big) <= target) {
            u32 slot = ATOMIC_INC(out);
            if (slot < out_capacity) out[1 + slot] = index;
        }
    }
}

KERNEL search_pow_le(const unit_t u, u32 per_thread, GLOBAL u32 *out, u32 cap) { search_body(&u, per_thread, out, cap, 1, 0); }
KERNEL search_pow_be(const unit_t u, u32 per_thread, GLOBAL u32 *out, u32 cap) { search_body(&u, per_thread, out, cap, 1, 1); }
KERNEL search_legacy_le(const unit_t u, u32 per_thread, GLOBAL u32 *out, u32 cap) { search_body(&u, per_thread, out, cap, 0, 0); }
KERNEL search_legacy_be(const unit_t u, u32 per_thread, GLOBAL u32 *out, u32 cap) { search_body(&u, per_thread, out, cap, 0, 1); }
