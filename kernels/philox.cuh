// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11) and the
// counter scheme every random kernel uses. gpucell/backend/philox.py implements the same scheme
// in NumPy, so a (seed, offset) pair gives identical bits on CPU and GPU.
//
// Scheme: the generator state is two uint64 in device memory, [seed, offset]. Random unit u of a
// launch (an element, or an (n, c) channel for dropout2d) takes word u % 4 of
//     philox4x32_10(counter = (lo(offset + u / 4), hi(offset + u / 4), 0, 0),
//                   key     = (lo(seed), hi(seed)))
// so a launch over n units consumes ceil(n / 4) counters; a separate kernel then adds that to the
// offset on the device, and a replayed CUDA graph therefore draws fresh numbers every time.
#pragma once
#include "common.cuh"

struct gc_u32x4 {
    unsigned int x, y, z, w;
};

#define GC_PHILOX_M0 0xD2511F53u
#define GC_PHILOX_M1 0xCD9E8D57u
#define GC_PHILOX_W0 0x9E3779B9u
#define GC_PHILOX_W1 0xBB67AE85u

__device__ __forceinline__ gc_u32x4 gc_philox4x32_10(gc_u32x4 c, unsigned int k0, unsigned int k1) {
    for (int round = 0; round < 10; ++round) {
        const unsigned int hi0 = __umulhi(GC_PHILOX_M0, c.x);
        const unsigned int lo0 = GC_PHILOX_M0 * c.x;
        const unsigned int hi1 = __umulhi(GC_PHILOX_M1, c.z);
        const unsigned int lo1 = GC_PHILOX_M1 * c.z;
        gc_u32x4 next;
        next.x = hi1 ^ c.y ^ k0;
        next.y = lo1;
        next.z = hi0 ^ c.w ^ k1;
        next.w = lo0;
        c = next;
        k0 += GC_PHILOX_W0;  // the key bump after the last round is unused, and harmless
        k1 += GC_PHILOX_W1;
    }
    return c;
}

// The four 32-bit words of counter group g (units 4g .. 4g+3) for this seed and offset.
__device__ __forceinline__ gc_u32x4 gc_philox_group(unsigned long long seed, unsigned long long offset,
                                                    unsigned long long g) {
    const unsigned long long counter = offset + g;  // wraps modulo 2^64, as NumPy's uint64 does
    gc_u32x4 c;
    c.x = (unsigned int)counter;
    c.y = (unsigned int)(counter >> 32);
    c.z = 0u;
    c.w = 0u;
    return gc_philox4x32_10(c, (unsigned int)seed, (unsigned int)(seed >> 32));
}

__device__ __forceinline__ unsigned int gc_u32x4_get(const gc_u32x4& v, int lane) {
    return lane == 0 ? v.x : lane == 1 ? v.y : lane == 2 ? v.z : v.w;
}
