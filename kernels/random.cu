// Uniform and normal samples from Philox4x32-10 (philox.cuh) with the generator state read from
// device memory: ops.rand / ops.uniform (philox_uniform) and ops.randn / ops.standard_normal /
// ops.normal (philox_normal).
//
// The Philox offset of a launch is state[1] + base, `base` being a counter range the host reserved
// for this launch alone (gpucell/random.py), so launches on different streams never share counters
// and a captured graph, whose state philox_set (dropout.cu) refreshes before each replay, draws
// fresh numbers on every replay.
//
// Word scheme (gpucell/backend/kernel_ops/random.py does the same in NumPy):
//   uniform: element e takes word e, so a launch over n elements consumes ceil(n / 4) counters;
//            the uniform in [0, 1) is exact in the output type: (w >> 21) * 2^-11 for half,
//            (w >> 8) * 2^-24 for float, w * 2^-32 for double; never 1.0 after rounding.
//   normal:  element e takes words 2e and 2e + 1 (ceil(n / 2) counters): Box-Muller,
//            sqrt(-2 log u1) * cos(2 pi u2) with u1 in (0, 1] and u2 in [0, 1), computed in float for
//            half and float and in double for double. The transcendental functions are CUDA's (within
//            a few ulp), so GPU normals agree with the NumPy reference to a few ulp, not bit for bit.
#include "philox.cuh"

template <typename T> struct GcUnit;
template <> struct GcUnit<gc_half> {
    static __device__ __forceinline__ float uniform(unsigned int w) { return (float)(w >> 21) * 4.8828125e-4f; }
};
template <> struct GcUnit<float> {
    static __device__ __forceinline__ float uniform(unsigned int w) {
        return (float)(w >> 8) * 5.9604644775390625e-8f;
    }
};
template <> struct GcUnit<double> {
    static __device__ __forceinline__ double uniform(unsigned int w) { return (double)w * 2.3283064365386962890625e-10; }
};

__device__ __forceinline__ float gc_box_muller(unsigned int w1, unsigned int w2, float) {
    const float u1 = (float)((w1 >> 8) + 1u) * 5.9604644775390625e-8f;  // (0, 1]: log is finite
    const float u2 = (float)(w2 >> 8) * 5.9604644775390625e-8f;         // [0, 1)
    const float radius = sqrtf(-2.0f * logf(u1));
    return radius * cosf(6.28318530717958647692f * u2);
}
__device__ __forceinline__ double gc_box_muller(unsigned int w1, unsigned int w2, double) {
    const double u1 = ((double)w1 + 1.0) * 2.3283064365386962890625e-10;
    const double u2 = (double)w2 * 2.3283064365386962890625e-10;
    const double radius = sqrt(-2.0 * log(u1));
    return radius * cos(6.28318530717958647692 * u2);
}

template <typename T>
__global__ void philox_uniform(T* __restrict__ out, index_t n, const unsigned long long* __restrict__ state,
                               unsigned long long base) {
    const unsigned long long seed = state[0];
    const unsigned long long offset = state[1] + base;  // wraps modulo 2^64, as the host's sum
    // One counter group (four words, four elements) per thread and step.
    for (index_t group = gc_global_thread(); group * 4 < n; group += gc_grid_threads()) {
        const gc_u32x4 words = gc_philox_group(seed, offset, (unsigned long long)group);
        for (int lane = 0; lane < 4; ++lane) {
            const index_t e = group * 4 + lane;
            if (e >= n) break;
            out[e] = from_acc<T>(GcUnit<T>::uniform(gc_u32x4_get(words, lane)));
        }
    }
}

template <typename T>
__global__ void philox_normal(T* __restrict__ out, index_t n, const unsigned long long* __restrict__ state,
                              unsigned long long base) {
    typedef typename Acc<T>::type A;
    const unsigned long long seed = state[0];
    const unsigned long long offset = state[1] + base;
    // One counter group (four words, two elements) per thread and step.
    for (index_t group = gc_global_thread(); group * 2 < n; group += gc_grid_threads()) {
        const gc_u32x4 words = gc_philox_group(seed, offset, (unsigned long long)group);
        const index_t e = group * 2;
        out[e] = from_acc<T>(gc_box_muller(words.x, words.y, A()));
        if (e + 1 < n) out[e + 1] = from_acc<T>(gc_box_muller(words.z, words.w, A()));
    }
}
