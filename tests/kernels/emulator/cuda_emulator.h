// A host emulation of the CUDA execution model, enough to run gpucell's unchanged kernels/*.cu
// on the CPU with g++ (C++20). Include this header, then the kernel source (inlined by the loader).
//
// What it models:
// * threadIdx / blockIdx are thread-local, blockDim / gridDim global; one OS thread per CUDA
//   thread of a block; the blocks of a grid run one after another on those threads, each
//   block's threads concurrently.
// * __syncthreads is a barrier over the block's live threads (a thread that returns drops out).
// * __shared__ is `static`: one object per kernel instantiation, shared by the running block.
// * __shfl_down_sync / __shfl_xor_sync exchange values through a per-warp buffer and a per-warp
//   barrier; they require full warps and a full mask (the only use in gpucell's kernels).
// * the intrinsics the kernels use (__umulhi, __int_as_float, __longlong_as_double, half
//   conversions through _Float16 with round-to-nearest-even, like cvt.rn.f16.f32).
// * launch checks: grid and block limits; a barrier that times out (divergent __syncthreads)
//   fails the launch instead of hanging.
//
// What it does NOT model:
// * memory ordering: barriers give sequential consistency; the GPU's weak memory model, missing
//   __threadfence, and races between blocks (which here never run concurrently) are not exposed.
// * timing, occupancy, coalescing, bank conflicts, register and shared-memory limits.
// * independent thread scheduling / divergence inside a warp, partial shuffle masks.
// * fresh shared memory per block: static storage keeps the previous block's values.
// * device math: expf/logf are the host's (results differ from CUDA's by an ulp or so), and
//   nvcc's default FMA contraction (the emulator builds with -ffp-contract=off).
// * out-of-bounds accesses are host accesses: they may pass silently or crash the process.
#pragma once

#include <atomic>
#include <barrier>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#define GPUCELL_EMULATOR 1
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __launch_bounds__(...)

struct dim3 {
    unsigned int x = 1, y = 1, z = 1;
};

inline thread_local dim3 threadIdx;
inline thread_local dim3 blockIdx;
inline dim3 blockDim;
inline dim3 gridDim;

namespace emu {

inline std::mutex error_mutex;
inline std::string error;
inline std::atomic<bool> aborted{false};  // after a failure every barrier lets threads through

inline void fail(const std::string& message) {
    std::lock_guard<std::mutex> lock(error_mutex);
    if (error.empty()) error = message;
    aborted = true;
}

inline std::atomic<unsigned long> progress{0};  // barrier releases, watched for deadlock

// A reusable barrier over `expected` threads, from which finished threads can drop out. Waiters
// sleep on the generation counter (a futex), which wakes far faster than a condition variable
// when hundreds of threads share two cores.
class Barrier {
  public:
    void reset(unsigned n) {
        expected_ = n;
        arrived_ = 0;
    }
    void wait() {
        unsigned long generation;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            generation = generation_.load();
            if (++arrived_ >= expected_) {
                release();
                return;
            }
        }
        while (generation_.load() == generation && !aborted.load()) generation_.wait(generation);
    }
    void drop() {
        std::lock_guard<std::mutex> lock(mutex_);
        --expected_;
        if (arrived_ > 0 && arrived_ >= expected_) release();
    }
    void wake() {  // after an abort: let every waiter out
        generation_.fetch_add(1);
        generation_.notify_all();
    }

  private:
    void release() {
        arrived_ = 0;
        progress.fetch_add(1);
        wake();
    }
    std::mutex mutex_;
    unsigned expected_ = 0, arrived_ = 0;
    std::atomic<unsigned long> generation_{0};
};

struct Warp {
    Barrier sync;
    unsigned size = 0;
    std::uint64_t slots[32];
};

struct Block {
    Barrier sync;
    std::vector<Warp> warps;
};

inline thread_local Block* block = nullptr;
inline thread_local Warp* warp = nullptr;
inline thread_local unsigned lane = 0;

template <typename T, typename Source>
T shuffle(unsigned mask, T value, Source source_lane) {
    static_assert(sizeof(T) <= sizeof(std::uint64_t) && std::is_trivially_copyable<T>::value);
    if (mask != 0xffffffffu || warp->size != 32) {
        fail("shuffle with a partial mask or in a partial warp is not modelled");
        return value;
    }
    std::memcpy(&warp->slots[lane], &value, sizeof(T));
    warp->sync.wait();
    const int src = source_lane(lane);
    T out = value;
    if (src >= 0) std::memcpy(&out, &warp->slots[src], sizeof(T));
    warp->sync.wait();
    return out;
}

// GPUCELL_EMU_DEADLOCK_S (default 10): seconds without any barrier progress that mean deadlock.
inline std::chrono::milliseconds deadlock_timeout() {
    const char* value = std::getenv("GPUCELL_EMU_DEADLOCK_S");
    return std::chrono::milliseconds(value ? (long long)(std::atof(value) * 1000) : 10000);
}

// Waits for the launch's threads; when no barrier has been released for that long while threads are
// still running (a __syncthreads or shuffle that not every thread reaches), fails the launch and
// releases the waiters, so a bad kernel fails its test instead of hanging it.
inline void watch(const std::atomic<unsigned>& finished, unsigned n, Block& current) {
    unsigned long seen = progress.load();
    auto last_change = std::chrono::steady_clock::now();
    while (finished.load() < n) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        if (progress.load() != seen) {
            seen = progress.load();
            last_change = std::chrono::steady_clock::now();
        } else if (std::chrono::steady_clock::now() - last_change > deadlock_timeout()) {
            fail("deadlock: a __syncthreads or shuffle was not reached by every live thread of a block");
            current.sync.wake();
            for (Warp& w : current.warps) w.sync.wake();
            last_change = std::chrono::steady_clock::now();
        }
    }
}

template <typename... A, std::size_t... I>
void invoke(void (*kernel)(A...), void** args, std::index_sequence<I...>) {
    kernel(*static_cast<std::remove_cv_t<std::remove_reference_t<A>>*>(args[I])...);
}

// Runs kernel<<<grid, block>>>(args) where args[i] points at the i-th argument's bytes, as for
// cuLaunchKernel. Returns 0, or 1 with emu::error set.
template <typename... A>
int launch(void (*kernel)(A...), dim3 grid, dim3 block_dim, void** args) {
    error.clear();
    aborted = false;
    const unsigned long long threads = (unsigned long long)block_dim.x * block_dim.y * block_dim.z;
    if (threads == 0 || threads > 1024 || block_dim.z > 64 || grid.x == 0 || grid.y == 0 || grid.z == 0 ||
        grid.y > 65535 || grid.z > 65535 || grid.x > 2147483647u) {
        fail("invalid launch configuration");
        return 1;
    }
    gridDim = grid;
    blockDim = block_dim;
    const unsigned n = (unsigned)threads;
    const unsigned long long blocks = (unsigned long long)grid.x * grid.y * grid.z;
    Block current;
    current.warps = std::vector<Warp>((n + 31) / 32);
    auto reset = [&] {
        progress.fetch_add(1);
        current.sync.reset(n);
        for (unsigned w = 0; w < current.warps.size(); ++w) {
            current.warps[w].size = n - 32 * w < 32 ? n - 32 * w : 32;
            current.warps[w].sync.reset(current.warps[w].size);
        }
    };
    reset();
    // One OS thread per CUDA thread of a block, reused for every block of the grid; blocks run
    // one after another, separated by a barrier whose completion step resets the block state.
    std::barrier<decltype(reset)> between_blocks(n, reset);
    std::atomic<unsigned> finished{0};
    std::vector<std::thread> pool;
    pool.reserve(n);
    for (unsigned t = 0; t < n; ++t)
        pool.emplace_back([&, t] {
            threadIdx = dim3{t % block_dim.x, (t / block_dim.x) % block_dim.y, t / (block_dim.x * block_dim.y)};
            block = &current;
            warp = &current.warps[t / 32];
            lane = t % 32;
            for (unsigned long long b = 0; b < blocks; ++b) {
                blockIdx = dim3{(unsigned)(b % grid.x), (unsigned)((b / grid.x) % grid.y),
                                (unsigned)(b / ((unsigned long long)grid.x * grid.y))};
                // After a failure the remaining blocks are skipped, but every thread still
                // arrives at each between-blocks barrier.
                if (!aborted) invoke(kernel, args, std::index_sequence_for<A...>{});
                warp->sync.drop();
                block->sync.drop();
                between_blocks.arrive_and_wait();
            }
            finished.fetch_add(1);
        });
    watch(finished, n, current);
    for (std::thread& thread : pool) thread.join();
    if (aborted) return 1;
    return 0;
}

template <auto Kernel>
int entry(dim3 grid, dim3 block_dim, void** args) {
    return launch(Kernel, grid, block_dim, args);
}

struct Export {
    const char* name;
    int (*run)(dim3, dim3, void**);
};

}  // namespace emu

inline void __syncthreads() { emu::block->sync.wait(); }

template <typename T>
T __shfl_down_sync(unsigned mask, T value, unsigned delta, int width = 32) {
    return emu::shuffle(mask, value, [&](unsigned lane) {
        return (int)((lane % width) + delta < (unsigned)width ? lane + delta : -1);
    });
}

template <typename T>
T __shfl_xor_sync(unsigned mask, T value, int lane_mask, int width = 32) {
    return emu::shuffle(mask, value, [&](unsigned lane) {
        const unsigned src = lane ^ (unsigned)lane_mask;
        return (int)(src / width == lane / width ? src : lane);
    });
}

inline unsigned int __umulhi(unsigned int a, unsigned int b) {
    return (unsigned int)(((unsigned long long)a * b) >> 32);
}

inline float __int_as_float(int bits) {
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

inline double __longlong_as_double(long long bits) {
    double d;
    std::memcpy(&d, &bits, sizeof d);
    return d;
}

inline float gc_half_bits_to_float(unsigned short bits) {
    _Float16 h;
    std::memcpy(&h, &bits, sizeof h);
    return (float)h;
}

inline unsigned short gc_float_to_half_bits(float f) {
    const _Float16 h = (_Float16)f;  // IEEE round to nearest even, as cvt.rn.f16.f32
    unsigned short bits;
    std::memcpy(&bits, &h, sizeof bits);
    return bits;
}

using std::exp;
using std::log;
using std::erf;
inline float erff(float x) { return std::erf(x); }

// Atomics (interim, until the fiber engine lands): real host atomics, the threads run concurrently.
template <typename T>
T atomicAdd(T* address, T value) {
    if constexpr (std::is_integral_v<T>) {
        return __atomic_fetch_add(address, value, __ATOMIC_RELAXED);
    } else {
        T old;
        __atomic_load(address, &old, __ATOMIC_RELAXED);
        for (;;) {
            T sum = old + value;
            if (__atomic_compare_exchange(address, &old, &sum, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) return old;
        }
    }
}

// The driver defines `static const emu::Export gc_exports[]` after the kernel source, then
// expands GC_EMU_EXPORTS() to give Python (ctypes) these two C entry points.
#define GC_EMU_EXPORTS()                                                                            \
    extern "C" int gc_emu_launch(const char* name, unsigned gx, unsigned gy, unsigned gz, unsigned bx, \
                                 unsigned by, unsigned bz, void** args) {                           \
        for (const emu::Export& e : gc_exports)                                                     \
            if (std::strcmp(e.name, name) == 0) return e.run(dim3{gx, gy, gz}, dim3{bx, by, bz}, args); \
        emu::error = std::string("no exported kernel ") + name;                                     \
        return 2;                                                                                   \
    }                                                                                               \
    extern "C" const char* gc_emu_error() { return emu::error.c_str(); }
