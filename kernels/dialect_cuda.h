/* CUDA dialect for the shared kernel source (compiled at run time by NVRTC). */
typedef unsigned int u32;
typedef unsigned long long u64;
#define KERNEL extern "C" __global__ void
#define GLOBAL
#define DEVICE static __device__ __forceinline__
#define CONSTANT static __device__ __constant__
#define THREAD_ID (blockIdx.x * blockDim.x + threadIdx.x)
#define ATOMIC_INC(p) atomicAdd((p), 1u)
#define UNROLL _Pragma("unroll")
/* Funnel shifts: one SHF per 32-bit rotate; ptxas fuses the logic into LOP3. */
#define ROTR32(x, n) __funnelshift_r((x), (x), (n))
DEVICE u64 rotl64(u64 x, u32 n) {
    u32 lo = (u32)x, hi = (u32)(x >> 32);
    if (n >= 32) { u32 t = lo; lo = hi; hi = t; n -= 32; }
    if (n == 0) return ((u64)hi << 32) | lo;
    return ((u64)__funnelshift_l(lo, hi, n) << 32) | __funnelshift_l(hi, lo, n);
}
#define ROTL64(x, n) rotl64((x), (n))
#define BSWAP32(x) __byte_perm((x), 0, 0x0123)
DEVICE u64 bswap64(u64 x) { return ((u64)BSWAP32((u32)x) << 32) | BSWAP32((u32)(x >> 32)); }
#define BSWAP64(x) bswap64(x)
