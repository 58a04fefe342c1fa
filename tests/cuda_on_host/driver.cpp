/* A simulated CUDA driver (libcuda.so) for tests on machines without a GPU: the driver API
 * calls regsolver's CUDA backend makes, implemented on the CPU. Device memory is host memory;
 * a loaded module must be what NVRTC built (a cubin, or PTX for the PTX fallback) holding every
 * search kernel; launches run the host-compiled CUDA source (shim.h + kernel.cu) thread by
 * thread, reading the kernel parameters the way the driver does (kernelParams[i] points at
 * argument i). It says nothing about a real GPU; it lets the backend's own host code run.
 *
 * Set by environment:
 *   REGSOLVER_SIM_GPUS=N            GPUs (default 2), 2 SMs each
 *   REGSOLVER_SIM_CC=D:CC,...       compute capability of device D (default 90 for all)
 *   REGSOLVER_SIM_DRIVER=V          the CUDA version the driver reports (default 12040)
 *   REGSOLVER_SIM_FAIL=D:N          device D's launches fail after its first N */
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "shim.h"
#include "kernel.cu"

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;

enum { OK = 0, INVALID_VALUE = 1, NO_DEVICE = 100, INVALID_IMAGE = 200, INVALID_CONTEXT = 201, NOT_FOUND = 500, LAUNCH_FAILED = 719 };
enum { MAX_DEVICES = 8 };

struct Context { int device; };
struct Module { bool loaded; };
struct Function { int kernel; };

static Context contexts[MAX_DEVICES];
static thread_local Context *current = nullptr;
static Module module_slots[64];
static std::atomic<int> next_module{0};
static Function functions[4] = {{0}, {1}, {2}, {3}};
static const char *kernel_names[4] = {"search_pow_le", "search_pow_be", "search_legacy_le", "search_legacy_be"};
static void (*kernels[4])(const unit_t, u32, u32 *, u32) = {search_pow_le, search_pow_be, search_legacy_le, search_legacy_be};
static std::atomic<long> launches[MAX_DEVICES];

static int env_int(const char *name, int fallback) {
    const char *v = getenv(name);
    return v && *v ? atoi(v) : fallback;
}

static int devices() {
    int n = env_int("REGSOLVER_SIM_GPUS", 2);
    return n < 0 ? 0 : n > MAX_DEVICES ? MAX_DEVICES : n;
}

/* The value for device `d` in a "D:V,D:V" list, or `fallback`. */
static int per_device(const char *name, int d, int fallback) {
    const char *v = getenv(name);
    for (; v && *v; v = strchr(v, ',') ? strchr(v, ',') + 1 : nullptr) {
        int dev, value;
        if (sscanf(v, "%d:%d", &dev, &value) == 2 && dev == d) return value;
    }
    return fallback;
}

static bool contains(const char *image, size_t len, const char *needle) {
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(image + i, needle, n) == 0) return true;
    return false;
}

extern "C" {

CUresult cuInit(unsigned) { return devices() > 0 ? OK : NO_DEVICE; }
CUresult cuDriverGetVersion(int *v) { *v = env_int("REGSOLVER_SIM_DRIVER", 12040); return OK; }
CUresult cuDeviceGetCount(int *n) { *n = devices(); return OK; }
CUresult cuDeviceGet(CUdevice *d, int ordinal) {
    if (ordinal < 0 || ordinal >= devices()) return INVALID_VALUE;
    *d = ordinal;
    return OK;
}
CUresult cuDeviceGetName(char *name, int len, CUdevice d) {
    snprintf(name, len, "regsolver simulated GPU %d", d);
    return OK;
}
CUresult cuDeviceGetAttribute(int *value, int attribute, CUdevice d) {
    int cc = per_device("REGSOLVER_SIM_CC", d, 90);
    switch (attribute) {
        case 16: *value = 2; return OK;              /* multiprocessors */
        case 75: *value = cc / 10; return OK;        /* compute capability major */
        case 76: *value = cc % 10; return OK;        /* compute capability minor */
        case 115: *value = 0; return OK;             /* no memory pools: synchronous allocation */
        default: *value = 0; return OK;
    }
}
CUresult cuDevicePrimaryCtxRetain(Context **ctx, CUdevice d) {
    if (d < 0 || d >= devices()) return INVALID_VALUE;
    contexts[d].device = d;
    *ctx = &contexts[d];
    return OK;
}
CUresult cuDevicePrimaryCtxRelease_v2(CUdevice) { return OK; }
CUresult cuCtxGetCurrent(Context **ctx) { *ctx = current; return OK; }
CUresult cuCtxSetCurrent(Context *ctx) { current = ctx; return OK; }
CUresult cuCtxSynchronize() { return OK; }

/* A cubin (ELF) or PTX text, holding every search kernel. */
CUresult cuModuleLoadData(Module **module, const void *image) {
    if (!current) return INVALID_CONTEXT;
    const char *bytes = (const char *)image;
    bool elf = memcmp(bytes, "\x7f" "ELF", 4) == 0;
    size_t len = strlen(bytes);
    if (elf) { /* ELF64: the section header table ends the file */
        uint64_t shoff;
        uint16_t shentsize, shnum;
        memcpy(&shoff, bytes + 0x28, 8);
        memcpy(&shentsize, bytes + 0x3A, 2);
        memcpy(&shnum, bytes + 0x3C, 2);
        len = shoff + (size_t)shentsize * shnum;
    }
    if (!elf && !contains(bytes, len, ".version")) return INVALID_IMAGE;
    for (const char *name : kernel_names)
        if (!contains(bytes, len, name)) return INVALID_IMAGE;
    int slot = next_module++ % 64;
    module_slots[slot].loaded = true;
    *module = &module_slots[slot];
    return OK;
}
CUresult cuModuleUnload(Module *) { return OK; }
CUresult cuModuleGetFunction(Function **f, Module *, const char *name) {
    for (int k = 0; k < 4; k++)
        if (strcmp(name, kernel_names[k]) == 0) { *f = &functions[k]; return OK; }
    return NOT_FOUND;
}
CUresult cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(int *blocks, Function *, int block, size_t, unsigned) {
    *blocks = block > 0 ? 768 / block : 0; /* 71 registers: 768 threads per SM */
    return OK;
}
CUresult cuOccupancyMaxActiveBlocksPerMultiprocessor(int *blocks, Function *f, int block, size_t smem) {
    return cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(blocks, f, block, smem, 0);
}

CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t bytes) {
    void *m = calloc(1, bytes ? bytes : 1);
    *p = (CUdeviceptr)(uintptr_t)m;
    return m ? OK : INVALID_VALUE;
}
CUresult cuMemAllocAsync(CUdeviceptr *p, size_t bytes, void *) { return cuMemAlloc_v2(p, bytes); }
CUresult cuMemFree_v2(CUdeviceptr p) { free((void *)(uintptr_t)p); return OK; }
CUresult cuMemFreeAsync(CUdeviceptr p, void *) { return cuMemFree_v2(p); }
CUresult cuMemsetD8Async(CUdeviceptr p, unsigned char v, size_t n, void *) { memset((void *)(uintptr_t)p, v, n); return OK; }
CUresult cuMemcpyDtoHAsync_v2(void *dst, CUdeviceptr src, size_t n, void *) { memcpy(dst, (void *)(uintptr_t)src, n); return OK; }
CUresult cuStreamSynchronize(void *) { return OK; }

CUresult cuLaunchKernel(Function *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, unsigned, void *,
                        void **params, void **extra) {
    if (!current) return INVALID_CONTEXT;
    if (gy != 1 || gz != 1 || by != 1 || bz != 1 || bx == 0 || extra) return INVALID_VALUE;
    int d = current->device;
    int fail_device = -1, fail_after = 0;
    const char *fail = getenv("REGSOLVER_SIM_FAIL");
    if (fail) sscanf(fail, "%d:%d", &fail_device, &fail_after);
    if (d == fail_device && launches[d]++ >= fail_after) return LAUNCH_FAILED;
    /* The kernels' parameters: (const unit_t u, u32 per_thread, u32 *out, u32 capacity). */
    unit_t unit;
    memcpy(&unit, params[0], sizeof unit);
    u32 per_thread = *(u32 *)params[1];
    u32 *out = (u32 *)(uintptr_t)(*(CUdeviceptr *)params[2]);
    u32 capacity = *(u32 *)params[3];
    blockDim.x = bx;
    for (blockIdx.x = 0; blockIdx.x < gx; blockIdx.x++)
        for (threadIdx.x = 0; threadIdx.x < bx; threadIdx.x++) kernels[f->kernel](unit, per_thread, out, capacity);
    return OK;
}

CUresult cuGetErrorString(CUresult e, const char **s) {
    *s = e == LAUNCH_FAILED ? "unspecified launch failure (simulated)" : e == INVALID_IMAGE ? "device kernel image is invalid" : "simulated error";
    return OK;
}
CUresult cuGetErrorName(CUresult e, const char **s) {
    *s = e == LAUNCH_FAILED ? "CUDA_ERROR_LAUNCH_FAILED" : e == INVALID_IMAGE ? "CUDA_ERROR_INVALID_IMAGE" : "CUDA_ERROR_SIMULATED";
    return OK;
}

}
