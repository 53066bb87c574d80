// Dropout masks from Philox4x32-10 with the generator state read from device memory.
//
// One kernel serves both dropout (a decision per element: unit_size 1) and dropout2d (a decision
// per (n, c) channel: unit_size = H * W). Element e belongs to unit e / unit_size; unit u keeps
// its elements when (philox word u) >> 8 < keep_threshold, i.e. when a 24-bit uniform in [0, 1)
// is below keep_prob (the threshold is ceil(keep_prob * 2^24), computed once on the host).
// Kept elements are scaled by 1 / keep_prob in the accumulation type; dropped ones are 0.
//
// The Philox offset of a launch is state[1] + base: `state` ([seed, offset], device memory) is
// only read here, and `base` is a counter range the host reserved for this launch alone, so
// launches on different streams never share counters and never write a shared state. A captured
// CUDA graph reads a state of its own, which philox_set refreshes before each replay, so every
// replay draws fresh numbers (gpucell/random.py).
#include "philox.cuh"

#define GC_DROPOUT_ELEMENTS_PER_THREAD 4

template <typename T>
__global__ void dropout(const T* __restrict__ x, T* __restrict__ out, bool* __restrict__ mask, index_t n,
                        index_t unit_size, const unsigned long long* __restrict__ state,
                        unsigned long long base, unsigned int keep_threshold, typename Acc<T>::type scale) {
    const unsigned long long seed = state[0];
    const unsigned long long offset = state[1] + base;  // wraps modulo 2^64, as the host's sum
    const index_t stride = gc_grid_threads() * GC_DROPOUT_ELEMENTS_PER_THREAD;
    for (index_t first = gc_global_thread() * GC_DROPOUT_ELEMENTS_PER_THREAD; first < n; first += stride) {
        // Four consecutive elements share a counter group when unit_size is 1, and mostly share a
        // unit otherwise, so Philox runs about once per thread and step rather than per element.
        // One division per step (none for dropout's unit_size 1), then the unit is counted up.
        index_t unit = first, within = 0;
        if (unit_size != 1) gc_divmod(first, unit_size, unit, within);
        unsigned long long cached_group = ~0ull;
        gc_u32x4 words = {0u, 0u, 0u, 0u};
        for (int j = 0; j < GC_DROPOUT_ELEMENTS_PER_THREAD; ++j) {
            const index_t e = first + j;
            if (e >= n) break;
            const unsigned long long group = (unsigned long long)unit >> 2;
            if (group != cached_group) {
                cached_group = group;
                words = gc_philox_group(seed, offset, cached_group);
            }
            const bool keep = (gc_u32x4_get(words, (int)(unit & 3)) >> 8) < keep_threshold;
            mask[e] = keep;
            out[e] = keep ? from_acc<T>(to_acc(x[e]) * scale) : from_acc<T>(0);
            if (++within == unit_size) {
                within = 0;
                ++unit;
            }
        }
    }
}

// Sets a state to [seed, offset]: a graph's own state, before each replay (launched eagerly).
__global__ void philox_set(unsigned long long* state, unsigned long long seed, unsigned long long offset) {
    if (threadIdx.x == 0 && blockIdx.x == 0) {
        state[0] = seed;
        state[1] = offset;
    }
}
