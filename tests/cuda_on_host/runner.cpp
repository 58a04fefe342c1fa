/* Runs one CUDA search kernel on the host the way a launch of `threads` threads in blocks of
 * `block` would run it on a GPU: every thread of every block, one at a time.
 * stdin:  kernel index, per_thread, threads, block, capacity, then the 30 words of unit_t.
 * stdout: the out buffer as the backend reads it back: count, then the indices written. */
#include <cstdio>
#include <vector>

#include "shim.h"
#include "kernel.cu"

int main() {
    unsigned kernel, per_thread, threads, block, capacity;
    if (scanf("%u %u %u %u %u", &kernel, &per_thread, &threads, &block, &capacity) != 5 || kernel > 3 || block == 0) return 2;
    unit_t unit;
    unsigned *words = (unsigned *)&unit;
    for (size_t i = 0; i < sizeof(unit) / sizeof(unsigned); i++)
        if (scanf("%u", &words[i]) != 1) return 2;
    void (*kernels[])(const unit_t, u32, u32 *, u32) = {search_pow_le, search_pow_be, search_legacy_le, search_legacy_be};
    std::vector<u32> out(1 + capacity, 0);
    blockDim.x = block;
    for (blockIdx.x = 0; blockIdx.x < (threads + block - 1) / block; blockIdx.x++)
        for (threadIdx.x = 0; threadIdx.x < block; threadIdx.x++) kernels[kernel](unit, per_thread, out.data(), capacity);
    printf("%u", out[0]);
    for (unsigned i = 0; i < out[0] && i < capacity; i++) printf(" %u", out[1 + i]);
    printf("\n");
    return 0;
}
