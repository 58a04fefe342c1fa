/* What NVRTC provides implicitly to the CUDA kernel source, for a host C++ compiler: the
 * built-in index variables, the qualifiers, and the intrinsics the CUDA dialect header uses,
 * each written from its definition in NVIDIA's CUDA Math API / Programming Guide, not from the
 * kernels' own code. Lets the exact CUDA source (dialect header included) run on the CPU. */
#include <cstdint>

struct host_dim3 { unsigned x, y, z; };
static thread_local host_dim3 blockIdx, blockDim, threadIdx;

#define __global__
#define __device__
#define __constant__
#define __forceinline__ inline

/* __funnelshift_l(lo, hi, shift): the 64-bit hi:lo shifted left by (shift & 31); its high 32 bits. */
static inline unsigned __funnelshift_l(unsigned lo, unsigned hi, unsigned shift) {
    uint64_t v = ((uint64_t)hi << 32) | lo;
    return (unsigned)((v << (shift & 31)) >> 32);
}

/* __funnelshift_r(lo, hi, shift): the 64-bit hi:lo shifted right by (shift & 31); its low 32 bits. */
static inline unsigned __funnelshift_r(unsigned lo, unsigned hi, unsigned shift) {
    uint64_t v = ((uint64_t)hi << 32) | lo;
    return (unsigned)(v >> (shift & 31));
}

/* __byte_perm(x, y, s): byte n of the result is byte (s >> 4n) & 7 of the 8 bytes y:x. */
static inline unsigned __byte_perm(unsigned x, unsigned y, unsigned s) {
    uint64_t v = ((uint64_t)y << 32) | x;
    unsigned r = 0;
    for (int n = 0; n < 4; n++) r |= (unsigned)((v >> (8 * ((s >> (4 * n)) & 7))) & 0xff) << (8 * n);
    return r;
}

/* atomicAdd: returns the old value (threads run one at a time here). */
static inline unsigned atomicAdd(unsigned *p, unsigned v) {
    unsigned old = *p;
    *p = old + v;
    return old;
}
