/* OpenCL C dialect for the shared kernel source (compiled at run time by clBuildProgram). */
typedef uint u32;
typedef ulong u64;
#define KERNEL __kernel void
#define GLOBAL __global
#define DEVICE static inline
#define CONSTANT __constant
#define THREAD_ID ((u32)get_global_id(0))
#define ATOMIC_INC(p) atomic_inc(p)
#define UNROLL _Pragma("unroll")
#define ROTR32(x, n) rotate((u32)(x), (u32)(32 - (n)))
#define ROTL64(x, n) rotate((u64)(x), (u64)(n))
#define BSWAP32(x) as_uint(as_uchar4((u32)(x)).wzyx)
#define BSWAP64(x) as_ulong(as_uchar8((u64)(x)).s76543210)
