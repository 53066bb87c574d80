// Row scatter-add, the embedding backward: table[ids[r], :] += rows[r, :] for every row r.
//
// One thread per element of `rows` (grid-stride), adding into a zeroed (vocab, width) table of the
// accumulation type with atomicAdd: a repeated id is summed by every thread that holds it, in
// whatever order they arrive, so sums of repeated ids are not bit-reproducible from run to run
// (float addition is not associative). half rows accumulate in float (atomicAdd on half would
// round at every step); the wrapper rounds the table to half once at the end.
//
// Ids outside [0, vocab) are skipped: raising would need a device-to-host sync (not capturable),
// and MindSpore's GPU Gather gives such ids no gradient either. Ids are int or long long.
#include "common.cuh"

template <typename T, typename I>
__global__ void scatter_add_rows(const T* __restrict__ rows, const I* __restrict__ ids,
                                 typename Acc<T>::type* __restrict__ table, index_t n, index_t width,
                                 index_t vocab) {
    for (index_t i = gc_global_thread(); i < n; i += gc_grid_threads()) {
        const index_t row = (index_t)ids[i / width];
        if (row >= 0 && row < vocab) atomicAdd(&table[row * width + i % width], to_acc(rows[i]));
    }
}
