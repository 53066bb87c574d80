// A host emulation of the CUDA execution model, enough to run gpucell's unchanged kernels/*.cu on
// the CPU with g++ (C++20). The driver that gpucell.backend.emulator generates includes this
// header, then the kernel source (headers inlined by the loader), then an export table.
//
// Engine: the threads of a block are fibers (user-space contexts with their own stacks) on the one
// OS thread that runs the launch; blocks run one after another. A thread runs until it returns or
// reaches a barrier (__syncthreads*, a warp shuffle / vote / __syncwarp); when every live thread
// of the block (of the warp, for warp operations) has arrived, the waiters resume in thread order;
// a warp released from a warp operation runs on before any other warp, so between two
// __syncthreads one warp gets as far ahead of the others as it can (on a GPU warps drift apart:
// a kernel that restages a buffer another warp still reads must show that here, not pass because
// the warps happened to advance in step).
// Every launch is deterministic: same inputs, same interleaving, same bits. A mutex serialises the
// launches of one library (the Python side calls without the GIL); each library has its own state.
// On x86-64 a fiber switch is a few instructions (below); elsewhere ucontext, much slower.
//
// What it models:
// * threadIdx / blockIdx / blockDim / gridDim: globals, set by the scheduler before it resumes a
//   fiber; warps are 32 consecutive linear thread indices, as on the GPU.
// * __syncthreads (and _count / _and / _or): a barrier over the block's live threads (a thread
//   that returns drops out). When no thread can run and some have not returned (e.g. part of a
//   block waits at __syncthreads, part at a warp shuffle) the launch fails at once: "deadlock".
// * warp operations (__shfl_sync / _up / _down / _xor with a width, __ballot_sync, __any_sync,
//   __all_sync, __syncwarp) with the full mask in a full warp; a partial mask, a partial warp or a
//   lane that returned while its warp shuffles fails the launch (undefined behaviour in CUDA).
// * __shared__ is `static`: one object per kernel instantiation. The Python driver registers
//   each function-scope declaration; its storage is poisoned (0xFF bytes) at the start of every
//   block, so reading shared memory not written in this block shows up as NaN / -1, and a kernel
//   whose static shared memory exceeds 48 KiB fails like ptxas ("uses too much shared data").
// * launch limits (CUDA_ERROR_INVALID_VALUE): 1..1024 threads per block, block dims
//   (1024, 1024, 64), grid dims (2^31 - 1, 65535, 65535).
// * CuPy's -ftz=true: with ftz (the default of Library.launch) the launch sets the FPU's
//   flush-to-zero and denormals-are-zero modes (x86-64 MXCSR FTZ|DAZ, AArch64 FPCR.FZ), so float32
//   subnormal inputs and results of arithmetic, comparisons and min/max flush to zero while loads,
//   stores and copies keep the bits. KNOWN DIFFERENCE: those modes flush float64 subnormals too,
//   which CUDA never does. atomicAdd(float*) always flushes, as PTX's atom.add.f32 does.
// * tensor cores: nvcuda::wmma fragments (float16 / bfloat16 m16n16k16, TF32 m16n16k8, float
//   accumulators), load / store / mma as warp-collective operations that check CUDA's rules (one
//   pointer and ldm per warp, 32-byte alignment), in a layout of the emulator's own.
// * cp.async (__pipeline_memcpy_async / __pipeline_commit / __pipeline_wait_prior): each copy
//   poisons its destination when issued and lands only when its thread waits for its group (or
//   returns), so a read before the wait, and a copy issued into a buffer other threads still
//   read, show as poison; sizes, alignment and a __shared__ destination are checked. float4 /
//   uint4 are 16-byte aligned.
// * atomics (atomicAdd / Sub / Max / Min / Exch / CAS / And / Or / Xor), real host atomics;
//   __threadfence* and __ldg (no-ops / plain loads: memory is sequentially consistent here).
// * the intrinsics and math the kernels use: __umulhi, __int_as_float & co, half conversions
//   through _Float16 with round-to-nearest-even (cvt.rn.f16.f32), the float/double math library,
//   rsqrtf, __expf / __logf / __fdividef / __saturatef, and CUDA's global min / max; __half and
//   __nv_bfloat16 with their round-to-nearest-even conversions.
//
// What it does NOT model:
// * memory ordering and races: fibers interleave only at barriers, so a missing __syncthreads
//   between a write and another thread's read within a phase is mostly caught only through the
//   shared-memory poison; races between blocks (never concurrent here) and __threadfence are not.
//   A thread that spin-waits for another thread of its block (no barrier in the loop) hangs: the
//   other never runs.
// * timing, occupancy, coalescing, bank conflicts, register limits, dynamic (extern) shared memory.
// * independent thread scheduling inside a warp: lanes run one after another between warp ops.
// * namespace-scope __shared__ variables: neither poisoned nor counted against the limit.
// * device math: expf/erff/... are the host's (results differ from CUDA's by an ulp or so), and
//   nvcc's default FMA contraction (the emulator builds with -ffp-contract=off).
// * out-of-bounds accesses are host accesses: they may pass silently or crash the process.
//   Each fiber has a 64 KiB stack with a guard page: a kernel with huge local arrays crashes.
#pragma once

#include <math.h>
#include <sys/mman.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__x86_64__) && !defined(GC_EMU_UCONTEXT)
#define GC_EMU_X86_SWITCH 1
#else
#include <ucontext.h>
#endif
#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

#define GPUCELL_EMULATOR 1
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))

struct dim3 {
    unsigned int x = 1, y = 1, z = 1;
    constexpr dim3(unsigned int x_ = 1, unsigned int y_ = 1, unsigned int z_ = 1) : x(x_), y(y_), z(z_) {}
};

// Globals, not thread_local: every fiber runs on the launching OS thread, and a mutex serialises
// the launches of one library (each library has its own copies: it is built -fvisibility=hidden).
inline dim3 threadIdx, blockIdx, blockDim, gridDim;
constexpr int warpSize = 32;

namespace emu {

constexpr std::size_t kStackBytes = 64 * 1024;  // kernels keep a few hundred bytes of locals
constexpr std::size_t kGuardBytes = 4096;
constexpr std::size_t kSharedLimit = 0xc000;  // 48 KiB of static shared memory, as ptxas allows

// ---- contexts ---------------------------------------------------------------------------------

#if GC_EMU_X86_SWITCH
// Saves the callee-saved registers on the current stack, stores its pointer in *save, loads the
// other stack and pops its registers, then continues wherever that context last switched (or, for
// a fresh one, enters its function). It ends with pop + indirect jmp rather than ret: a ret to
// another stack's return address always misses the return-stack predictor (measured: a switch
// round trip took 20 ns with ret, 5 ns with jmp). MXCSR and the x87 control word are
// callee-saved too, but every fiber of a launch shares one value, so they need no saving.
extern "C" void gc_emu_switch(void** save, void* load);
asm(R"(
    .pushsection .text
    .p2align 4
    .globl gc_emu_switch
    .hidden gc_emu_switch
    .type gc_emu_switch, @function
gc_emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    popq %rax
    jmpq *%rax
    .size gc_emu_switch, .-gc_emu_switch
    .popsection
)");

struct Context {
    void* sp = nullptr;
};

// A context that enters entry() (which must never return) on the stack [base, base + size).
inline void make_context(Context& c, char* base, std::size_t size, void (*entry)()) {
    // After the six pops and the pop of entry, rsp = frame + 7 words must be 8 mod 16, as at any
    // function entry (the word there is entry's fake return address, 0: it ends backtraces).
    auto top = reinterpret_cast<std::uintptr_t>(base + size) & ~std::uintptr_t(15);
    auto* frame = reinterpret_cast<std::uintptr_t*>(top - 8) - 7;
    for (int i = 0; i < 6; ++i) frame[i] = 0;  // r15 r14 r13 r12 rbx rbp
    frame[6] = reinterpret_cast<std::uintptr_t>(entry);
    frame[7] = 0;
    c.sp = frame;
}

inline void swap_context(Context& from, Context& to) { gc_emu_switch(&from.sp, to.sp); }
#else
// Portable fallback (slower: swapcontext saves the signal mask with a system call).
struct Context {
    ucontext_t uc;
};

inline void make_context(Context& c, char* base, std::size_t size, void (*entry)()) {
    getcontext(&c.uc);
    c.uc.uc_stack.ss_sp = base;
    c.uc.uc_stack.ss_size = size;
    c.uc.uc_link = nullptr;
    makecontext(&c.uc, entry, 0);
}

inline void swap_context(Context& from, Context& to) { swapcontext(&from.uc, &to.uc); }
#endif

// ---- scheduler state --------------------------------------------------------------------------

enum class State : unsigned char { Fresh, Running, AtSyncthreads, AtWarp, Done, Failed };

// One __pipeline_memcpy_async (cp.async) not yet performed: it lands when its thread waits for its
// group (__pipeline_wait_prior) or returns, never earlier. Until then its destination holds poison
// (written when the copy is issued: on a GPU the bytes may change at any moment in between), so a
// kernel that reads the staged data before waiting, or that issues a copy into a buffer another
// thread is still reading (a double buffer restaged before the barrier that ends its last read),
// reads NaN / -1.
struct AsyncCopy {
    void* dst;
    const void* src;
    unsigned bytes, zfill, group;
};

struct Fiber {
    Context context;
    char* stack = nullptr;  // kStackBytes from the pool while the fiber has started and not finished
    dim3 thread;
    unsigned index = 0;  // linear thread index in the block
    State state = State::Fresh;
    std::vector<AsyncCopy> copies;  // issued, not yet landed, in issue order
    unsigned groups = 0;  // __pipeline_commit calls so far: the group new copies join
};

struct Warp {
    unsigned size = 0, live = 0, waiting = 0, parity = 0;
    // Each warp operation writes slots[parity] and reads it after the release. The next operation
    // uses the other half, so a lane that runs ahead cannot overwrite values a slower lane has not
    // read: the one after that cannot complete before every lane has read.
    std::uint64_t slots[2][32];
};

struct SharedVar {
    void* address;
    std::size_t size;
};

// Per kernel instantiation: the __shared__ variables its threads have declared so far.
struct KernelInfo {
    std::vector<SharedVar> shared;
    std::size_t shared_bytes = 0;
};

struct Scheduler {
    const char* name = "";  // the running kernel's name expression
    KernelInfo* kernel = nullptr;
    void (*thread_fn)(const void*) = nullptr;  // runs the kernel for the current thread
    const void* thread_args = nullptr;
    Context main;  // the launching OS thread's own context
    Fiber* current = nullptr;
    std::vector<Fiber> fibers;
    std::vector<Warp> warps;
    std::vector<unsigned> ready;  // ring of runnable fibers: each is in it at most once
    std::size_t head = 0, count = 0;
    unsigned live = 0, at_syncthreads = 0, sync_parity = 0;
    int sync_counts[2][2] = {};  // per parity: (true predicates, arrivals) of __syncthreads_count & co
    std::vector<char*> free_stacks;
};

inline Scheduler sched;
inline thread_local std::string error;  // read by the Python side right after the launch returns
inline std::mutex launch_mutex;

inline char* take_stack() {
    if (!sched.free_stacks.empty()) {
        char* stack = sched.free_stacks.back();
        sched.free_stacks.pop_back();
        return stack;
    }
    // A guard page below each stack turns an overflow into a crash rather than silent corruption.
    void* memory = mmap(nullptr, kGuardBytes + kStackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                        -1, 0);
    if (memory == MAP_FAILED) return nullptr;
    mprotect(memory, kGuardBytes, PROT_NONE);
    return static_cast<char*>(memory) + kGuardBytes;
}

inline void push_ready(unsigned index) {
    std::size_t at = sched.head + sched.count++;
    if (at >= sched.ready.size()) at -= sched.ready.size();
    sched.ready[at] = index;
}

// Puts a fiber at the head of the ring: it runs next.
inline void push_ready_first(unsigned index) {
    sched.head = sched.head == 0 ? sched.ready.size() - 1 : sched.head - 1;
    sched.ready[sched.head] = index;
    ++sched.count;
}

// Leaves the current fiber in `state` and returns to the scheduler; returns when resumed.
[[gnu::always_inline]] inline void suspend(State state) {
    Fiber& f = *sched.current;
    f.state = state;
    swap_context(f.context, sched.main);
}

// Fails the launch from inside a kernel thread: the fiber is never resumed (kernel code holds no
// resources, so nothing is lost by not unwinding it).
[[noreturn, gnu::cold, gnu::noinline]] inline void abort_thread(const std::string& message) {
    if (error.empty()) error = message;
    suspend(State::Failed);
    __builtin_unreachable();
}

// Performs the thread's async copies of groups before `group` (all of them for ~0u), in issue order.
inline void land_copies(unsigned group) {
    std::vector<AsyncCopy>& copies = sched.current->copies;
    std::size_t kept = 0;
    for (const AsyncCopy& c : copies) {
        if (c.group < group) {
            std::memcpy(c.dst, c.src, c.bytes - c.zfill);
            std::memset(static_cast<char*>(c.dst) + (c.bytes - c.zfill), 0, c.zfill);
        } else {
            copies[kept++] = c;
        }
    }
    copies.resize(kept);
}

[[noreturn]] inline void fiber_main() {
    sched.thread_fn(sched.thread_args);
    land_copies(~0u);  // a thread's outstanding copies still land after it returns
    suspend(State::Done);
    __builtin_unreachable();
}

inline std::string dims(dim3 d) {
    return "(" + std::to_string(d.x) + ", " + std::to_string(d.y) + ", " + std::to_string(d.z) + ")";
}

inline std::string too_much_shared(std::size_t bytes) {
    char text[80];
    std::snprintf(text, sizeof text, "' uses too much shared data (0x%zx bytes, 0x%zx max)", bytes, kSharedLimit);
    return std::string("ptxas error   : Entry function '") + sched.name + text;
}

[[noreturn, gnu::cold, gnu::noinline]] inline void shared_overflow() {
    abort_thread(too_much_shared(sched.kernel->shared_bytes));
}

// Registers a function-scope __shared__ variable with the running kernel when a thread passes its
// declaration (the driver appends GC_EMU_SHARED(name) to each). Known variables cost a short scan.
inline bool register_shared(const void* address, std::size_t size) {
    KernelInfo* k = sched.kernel;
    if (k == nullptr) return false;  // a namespace-scope variable, initialised at load time
    for (const SharedVar& v : k->shared)
        if (v.address == address) return true;
    k->shared.push_back({const_cast<void*>(address), size});
    k->shared_bytes += size;
    // No thread of this block has passed the declaration before: nothing of it was written yet.
    std::memset(const_cast<void*>(address), 0xff, size);
    if (k->shared_bytes > kSharedLimit) shared_overflow();
    return true;
}

// Fails the launch unless `p` points into a function-scope __shared__ variable of the running
// kernel: cp.async writes shared memory only, and gc_wmma (kernels/wmma.cuh) names the .shared
// state space, which a generic pointer to global memory does not satisfy on a GPU.
inline void require_shared(const char* what, const void* p) {
    const auto at = reinterpret_cast<std::uintptr_t>(p);
    for (const SharedVar& v : sched.kernel->shared) {
        const auto begin = reinterpret_cast<std::uintptr_t>(v.address);
        if (at >= begin && at < begin + v.size) return;
    }
    abort_thread(std::string(what) + " needs a pointer into __shared__ memory");
}

// ---- one block --------------------------------------------------------------------------------

inline void release_block() {
    sched.at_syncthreads = 0;
    sched.sync_parity ^= 1;
    sched.sync_counts[sched.sync_parity][0] = sched.sync_counts[sched.sync_parity][1] = 0;  // next tally
    for (Fiber& f : sched.fibers)
        if (f.state == State::AtSyncthreads) {
            f.state = State::Running;
            push_ready(f.index);
        }
}

// The released lanes run next, in lane order (pushed to the head last lane first): the warp runs
// ahead of the others (see the top of this file).
inline void release_warp(unsigned w) {
    Warp& warp = sched.warps[w];
    warp.waiting = 0;
    warp.parity ^= 1;
    for (unsigned lane = warp.size; lane-- > 0;) {
        Fiber& f = sched.fibers[32 * w + lane];
        if (f.state == State::AtWarp) {
            f.state = State::Running;
            push_ready_first(f.index);
        }
    }
}

inline void resume(Fiber& f) {
    sched.current = &f;
    threadIdx = f.thread;
    if (f.state == State::Fresh) {
        f.stack = take_stack();
        if (f.stack == nullptr) {
            error = "could not allocate a fiber stack";
            f.state = State::Failed;
            return;
        }
        make_context(f.context, f.stack, kStackBytes, &fiber_main);
    }
    f.state = State::Running;
    swap_context(sched.main, f.context);
}

// Runs the current block's threads to completion. Returns false with `error` set on failure.
inline bool run_block(unsigned n) {
    sched.head = 0;
    sched.count = 0;
    sched.live = n;
    sched.at_syncthreads = 0;
    sched.sync_counts[sched.sync_parity][0] = sched.sync_counts[sched.sync_parity][1] = 0;
    for (unsigned t = 0; t < n; ++t) {
        sched.fibers[t].state = State::Fresh;
        sched.fibers[t].copies.clear();  // left by a failed launch
        sched.fibers[t].groups = 0;
        push_ready(t);
    }
    for (unsigned w = 0; w < sched.warps.size(); ++w) {
        Warp& warp = sched.warps[w];
        warp.size = warp.live = n - 32 * w < 32 ? n - 32 * w : 32;
        warp.waiting = 0;
    }
    while (sched.count > 0) {
        Fiber& f = sched.fibers[sched.ready[sched.head]];
        if (++sched.head == sched.ready.size()) sched.head = 0;
        --sched.count;
        resume(f);
        Warp& warp = sched.warps[f.index / 32];
        switch (f.state) {
            case State::Failed:
                return false;
            case State::Done:
                sched.free_stacks.push_back(f.stack);
                f.stack = nullptr;
                --sched.live;
                --warp.live;
                if (warp.waiting > 0) {
                    error = "lane " + std::to_string(f.index % 32) + " of warp " + std::to_string(f.index / 32) +
                            " returned while its other lanes wait at a warp operation with the full mask "
                            "(undefined behaviour in CUDA)";
                    return false;
                }
                if (sched.at_syncthreads > 0 && sched.at_syncthreads == sched.live) release_block();
                break;
            case State::AtSyncthreads:
                if (++sched.at_syncthreads == sched.live) release_block();
                break;
            case State::AtWarp:
                if (++warp.waiting == warp.live) release_warp(f.index / 32);
                break;
            default:
                break;
        }
    }
    if (sched.live > 0) {
        unsigned at_warp = 0;
        for (const Warp& warp : sched.warps) at_warp += warp.waiting;
        error = "deadlock in block " + dims(blockIdx) + ": " + std::to_string(sched.at_syncthreads) +
                " threads wait at __syncthreads and " + std::to_string(at_warp) +
                " at warp operations, which not every live thread of the block (or warp) reaches";
        return false;
    }
    return true;
}

// ---- launch -----------------------------------------------------------------------------------

// Flush-to-zero / denormals-are-zero for the duration of a launch, then the caller's mode again.
class FlushDenormals {
  public:
    explicit FlushDenormals(bool on) : on_(on) {
        if (!on_) return;
#if defined(__x86_64__)
        saved_ = _mm_getcsr();
        _mm_setcsr(saved_ | 0x8040u);  // FTZ (bit 15) | DAZ (bit 6)
#elif defined(__aarch64__)
        __asm__ __volatile__("mrs %0, fpcr" : "=r"(saved_));
        __asm__ __volatile__("msr fpcr, %0" : : "r"(saved_ | (1ull << 24)));  // FZ
#endif
    }
    ~FlushDenormals() {
        if (!on_) return;
#if defined(__x86_64__)
        _mm_setcsr((unsigned)saved_);
#elif defined(__aarch64__)
        __asm__ __volatile__("msr fpcr, %0" : : "r"(saved_));
#endif
    }
    FlushDenormals(const FlushDenormals&) = delete;
    FlushDenormals& operator=(const FlushDenormals&) = delete;

  private:
    bool on_;
    unsigned long long saved_ = 0;
};

inline std::string check_launch(const long long* d) {
    const long long gx = d[0], gy = d[1], gz = d[2], bx = d[3], by = d[4], bz = d[5];
    std::string bad;
    if (bx < 1 || by < 1 || bz < 1)
        bad = "every block dimension must be at least 1";
    else if (bx > 1024 || by > 1024 || bz > 64)
        bad = "block dimensions are at most (1024, 1024, 64)";
    else if (bx * by * bz > 1024)
        bad = "a block of " + std::to_string(bx * by * bz) + " threads; at most 1024";
    else if (gx < 1 || gy < 1 || gz < 1)
        bad = "every grid dimension must be at least 1";
    else if (gx > 2147483647 || gy > 65535 || gz > 65535)
        bad = "grid dimensions are at most (2147483647, 65535, 65535)";
    return bad.empty() ? bad : "CUDA_ERROR_INVALID_VALUE: invalid argument (" + bad + ")";
}

// Runs thread_fn(args) for every thread of the grid. Returns 0, or 1 with `error` set.
inline int run_grid(const char* name, KernelInfo& kernel, void (*thread_fn)(const void*), const void* args,
                    const long long* d, bool ftz) {
    error = check_launch(d);
    if (!error.empty()) return 1;
    sched.name = name;
    if (kernel.shared_bytes > kSharedLimit) {  // learnt by an earlier launch
        error = too_much_shared(kernel.shared_bytes);
        return 1;
    }
    const dim3 grid((unsigned)d[0], (unsigned)d[1], (unsigned)d[2]);
    const dim3 block((unsigned)d[3], (unsigned)d[4], (unsigned)d[5]);
    const unsigned n = block.x * block.y * block.z;
    gridDim = grid;
    blockDim = block;
    sched.kernel = &kernel;
    sched.thread_fn = thread_fn;
    sched.thread_args = args;
    sched.fibers.resize(n);
    sched.warps.resize((n + 31) / 32);
    sched.ready.resize(n);
    for (unsigned t = 0; t < n; ++t) {
        sched.fibers[t].index = t;
        sched.fibers[t].thread = dim3(t % block.x, (t / block.x) % block.y, t / (block.x * block.y));
    }
    FlushDenormals flush(ftz);
    bool ok = true;
    for (unsigned z = 0; ok && z < grid.z; ++z)
        for (unsigned y = 0; ok && y < grid.y; ++y)
            for (unsigned x = 0; ok && x < grid.x; ++x) {
                blockIdx = dim3(x, y, z);
                for (const SharedVar& v : kernel.shared) std::memset(v.address, 0xff, v.size);
                ok = run_block(n);
            }
    // Fibers abandoned by a failure hold stacks that nothing will resume: take them back.
    for (Fiber& f : sched.fibers)
        if (f.stack != nullptr) {
            sched.free_stacks.push_back(f.stack);
            f.stack = nullptr;
        }
    sched.kernel = nullptr;
    sched.current = nullptr;
    return ok ? 0 : 1;
}

// ---- exports ----------------------------------------------------------------------------------

// One kernel parameter as Python sees it (gpucell.backend.emulator.Param, plus where its bytes
// sit in the packed argument buffer: each parameter takes its size rounded up to 8 bytes).
struct Param {
    int kind;  // 0 value, 1 pointer
    int is_const;  // pointee is const (pointers only)
    long long size;  // bytes of the value, or of the pointee (0 for void)
    long long offset;
};

template <typename T>
constexpr long long pointee_size() {
    if constexpr (std::is_void_v<T>) return 0;
    else return sizeof(T);
}

template <typename A>
constexpr Param describe(long long offset) {
    using T = std::remove_cv_t<A>;
    if constexpr (std::is_pointer_v<T>) {
        using P = std::remove_pointer_t<T>;
        return {1, std::is_const_v<P>, pointee_size<P>(), offset};
    } else {
        static_assert(std::is_trivially_copyable_v<T>, "kernel parameters must be trivially copyable");
        return {0, 0, (long long)sizeof(T), offset};
    }
}

template <typename F> struct Kernel;
template <typename... A> struct Kernel<void (*)(A...)> {
    using Args = std::tuple<std::remove_cv_t<A>...>;
    static constexpr int arity = sizeof...(A);
    // A trailing sentinel keeps the array non-empty for kernels without parameters.
    static constexpr std::array<Param, sizeof...(A) + 1> params = [] {
        std::array<Param, sizeof...(A) + 1> out{};
        long long offset = 0;
        int i = 0;
        ((out[i++] = describe<A>(offset), offset += (sizeof(std::remove_cv_t<A>) + 7) / 8 * 8), ...);
        out[i] = {0, 0, 0, offset};  // the sentinel's offset is the packed size
        return out;
    }();
};

template <auto K, typename Args>
void run_thread(const void* args) {
    std::apply(K, *static_cast<const Args*>(args));
}

template <typename Args, std::size_t... I>
void unpack(Args& args, const unsigned char* packed, const Param* params, std::index_sequence<I...>) {
    (std::memcpy(&std::get<I>(args), packed + params[I].offset, sizeof(std::tuple_element_t<I, Args>)), ...);
}

template <auto K>
int entry(const char* name, const long long* d, const unsigned char* packed, bool ftz) {
    using Traits = Kernel<decltype(K)>;
    using Args = typename Traits::Args;
    static KernelInfo info;
    Args args;
    unpack(args, packed, Traits::params.data(), std::make_index_sequence<Traits::arity>{});
    return run_grid(name, info, &run_thread<K, Args>, &args, d, ftz);
}

struct Export {
    const char* name;
    int (*run)(const char*, const long long*, const unsigned char*, bool);
    const Param* params;
    int arity;
};

template <auto K>
constexpr Export make_export(const char* name) {
    return {name, &entry<K>, Kernel<decltype(K)>::params.data(), Kernel<decltype(K)>::arity};
}

// ---- warp operations --------------------------------------------------------------------------

// Error paths stay out of line: the frames of hot functions are on every suspended fiber's stack,
// and small frames keep a block's fibers in cache.
[[noreturn, gnu::cold, gnu::noinline]] inline void warp_misuse(const char* what, unsigned mask, unsigned warp,
                                                              int width) {
    if (width <= 0 || width > 32 || (width & (width - 1)) != 0)
        abort_thread(std::string(what) + " width must be a power of 2 up to 32, got " + std::to_string(width));
    if (mask != 0xffffffffu || sched.warps[warp].size != 32)
        abort_thread(std::string(what) + " with a partial mask or in a partial warp is not modelled");
    abort_thread(std::string(what) + " with the full mask in warp " + std::to_string(warp) +
                 ", some of whose lanes returned (undefined behaviour in CUDA)");
}

// Every lane stores `value` and waits for the whole warp; returns the 32 stored values.
template <typename T>
[[gnu::always_inline]] inline const std::uint64_t* warp_exchange(unsigned mask, T value, const char* what,
                                                                 int width = 32) {
    static_assert(sizeof(T) <= sizeof(std::uint64_t) && std::is_trivially_copyable_v<T>);
    Fiber& f = *sched.current;
    Warp& warp = sched.warps[f.index / 32];
    if (mask != 0xffffffffu || warp.live != 32 || warp.size != 32 || width <= 0 || width > 32 ||
        (width & (width - 1)) != 0)
        warp_misuse(what, mask, f.index / 32, width);
    const unsigned parity = warp.parity;
    std::memcpy(&warp.slots[parity][f.index % 32], &value, sizeof(T));
    suspend(State::AtWarp);
    return warp.slots[parity];
}

// source(lane) is the lane whose value this lane receives.
template <typename T, typename Source>
[[gnu::always_inline]] inline T shuffle(unsigned mask, T value, int width, const char* what, Source source) {
    const std::uint64_t* slots = warp_exchange(mask, value, what, width);
    T out;
    std::memcpy(&out, &slots[source((int)(sched.current->index % 32))], sizeof(T));
    return out;
}

// __syncthreads that also tallies a predicate; returns (threads with it true, threads arrived).
inline std::pair<int, int> sync_block_count(int predicate) {
    const unsigned parity = sched.sync_parity;
    sched.sync_counts[parity][0] += predicate != 0;
    sched.sync_counts[parity][1] += 1;
    suspend(State::AtSyncthreads);
    return {sched.sync_counts[parity][0], sched.sync_counts[parity][1]};
}

}  // namespace emu

// Appended by the driver after each function-scope __shared__ declaration (a declaration, so it
// is valid wherever the variable's declaration was).
#define GC_EMU_CAT2(a, b) a##b
#define GC_EMU_CAT(a, b) GC_EMU_CAT2(a, b)
#define GC_EMU_SHARED(name) \
    [[maybe_unused]] const bool GC_EMU_CAT(gc_emu_shared_, __COUNTER__) = emu::register_shared(&(name), sizeof(name))

// ---- CUDA's device API ------------------------------------------------------------------------

[[gnu::always_inline]] inline void __syncthreads() { emu::suspend(emu::State::AtSyncthreads); }

inline int __syncthreads_count(int predicate) { return emu::sync_block_count(predicate).first; }
inline int __syncthreads_and(int predicate) {
    const auto [count, arrived] = emu::sync_block_count(predicate);
    return count == arrived;
}
inline int __syncthreads_or(int predicate) { return __syncthreads_count(predicate) != 0; }

inline void __syncwarp(unsigned mask = 0xffffffffu) { emu::warp_exchange(mask, 0, "__syncwarp"); }
inline unsigned __activemask() {  // the lanes of this warp that have not returned
    const unsigned first = emu::sched.current->index / 32 * 32;
    const unsigned size = emu::sched.warps[first / 32].size;
    unsigned bits = 0;
    for (unsigned lane = 0; lane < size; ++lane)
        if (emu::sched.fibers[first + lane].state != emu::State::Done) bits |= 1u << lane;
    return bits;
}

inline unsigned __ballot_sync(unsigned mask, int predicate) {
    const std::uint64_t* slots = emu::warp_exchange(mask, (int)(predicate != 0), "__ballot_sync");
    unsigned bits = 0;
    for (unsigned lane = 0; lane < 32; ++lane) bits |= (unsigned)(slots[lane] & 1u) << lane;
    return bits;
}
inline int __any_sync(unsigned mask, int predicate) { return __ballot_sync(mask, predicate) != 0; }
inline int __all_sync(unsigned mask, int predicate) { return __ballot_sync(mask, predicate) == 0xffffffffu; }

// Source lanes, as in the CUDA programming guide: a lane outside the segment (or, for xor, in a
// later segment) reads its own value.
template <typename T>
[[gnu::always_inline]] inline T __shfl_sync(unsigned mask, T value, int src_lane, int width = 32) {
    return emu::shuffle(mask, value, width, "__shfl_sync",
                        [=](int lane) { return (lane / width) * width + (src_lane & (width - 1)); });
}
template <typename T>
[[gnu::always_inline]] inline T __shfl_up_sync(unsigned mask, T value, unsigned delta, int width = 32) {
    return emu::shuffle(mask, value, width, "__shfl_up_sync",
                        [=](int lane) { return lane % width >= (int)delta ? lane - (int)delta : lane; });
}
template <typename T>
[[gnu::always_inline]] inline T __shfl_down_sync(unsigned mask, T value, unsigned delta, int width = 32) {
    return emu::shuffle(mask, value, width, "__shfl_down_sync",
                        [=](int lane) { return lane % width + (int)delta < width ? lane + (int)delta : lane; });
}
template <typename T>
[[gnu::always_inline]] inline T __shfl_xor_sync(unsigned mask, T value, int lane_mask, int width = 32) {
    return emu::shuffle(mask, value, width, "__shfl_xor_sync", [=](int lane) {
        const int src = (lane ^ lane_mask) & 31;
        return src < (lane / width + 1) * width ? src : lane;
    });
}

inline void __threadfence() {}
inline void __threadfence_block() {}
inline void __threadfence_system() {}
template <typename T>
T __ldg(const T* p) { return *p; }

// Atomics: host atomics, because launches of different libraries may run on other OS threads.
inline int atomicAdd(int* a, int v) { return __atomic_fetch_add(a, v, __ATOMIC_RELAXED); }
inline unsigned atomicAdd(unsigned* a, unsigned v) { return __atomic_fetch_add(a, v, __ATOMIC_RELAXED); }
inline unsigned long long atomicAdd(unsigned long long* a, unsigned long long v) {
    return __atomic_fetch_add(a, v, __ATOMIC_RELAXED);
}
inline int atomicSub(int* a, int v) { return __atomic_fetch_sub(a, v, __ATOMIC_RELAXED); }
inline unsigned atomicSub(unsigned* a, unsigned v) { return __atomic_fetch_sub(a, v, __ATOMIC_RELAXED); }

namespace emu {
template <typename T, typename F>
T atomic_update(T* address, F update) {
    T old;
    __atomic_load(address, &old, __ATOMIC_RELAXED);
    for (;;) {
        T next = update(old);
        if (__atomic_compare_exchange(address, &old, &next, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) return old;
    }
}
// By the bits: under DAZ a subnormal compares equal to zero, so fpclassify cannot be trusted.
inline float flush(float v) {
    std::uint32_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    if ((bits & 0x7f800000u) == 0) bits &= 0x80000000u;
    std::memcpy(&v, &bits, sizeof bits);
    return v;
}
}  // namespace emu

// PTX's atom.add.f32 flushes subnormal inputs and results whatever the ftz mode; f64 never does.
inline float atomicAdd(float* a, float v) {
    return emu::atomic_update(a, [v](float old) { return emu::flush(emu::flush(old) + emu::flush(v)); });
}
inline double atomicAdd(double* a, double v) {
    return emu::atomic_update(a, [v](double old) { return old + v; });
}

#define GC_EMU_INTEGER_ATOMICS(T)                                                                              \
    inline T atomicMax(T* a, T v) { return emu::atomic_update(a, [v](T old) { return old > v ? old : v; }); } \
    inline T atomicMin(T* a, T v) { return emu::atomic_update(a, [v](T old) { return old < v ? old : v; }); } \
    inline T atomicAnd(T* a, T v) { return __atomic_fetch_and(a, v, __ATOMIC_RELAXED); }                      \
    inline T atomicOr(T* a, T v) { return __atomic_fetch_or(a, v, __ATOMIC_RELAXED); }                        \
    inline T atomicXor(T* a, T v) { return __atomic_fetch_xor(a, v, __ATOMIC_RELAXED); }                      \
    inline T atomicExch(T* a, T v) { return __atomic_exchange_n(a, v, __ATOMIC_RELAXED); }                    \
    inline T atomicCAS(T* a, T compare, T v) {                                                                 \
        __atomic_compare_exchange_n(a, &compare, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);               \
        return compare;                                                                                        \
    }
GC_EMU_INTEGER_ATOMICS(int)
GC_EMU_INTEGER_ATOMICS(unsigned)
GC_EMU_INTEGER_ATOMICS(unsigned long long)
#undef GC_EMU_INTEGER_ATOMICS
inline long long atomicMax(long long* a, long long v) {
    return emu::atomic_update(a, [v](long long old) { return old > v ? old : v; });
}
inline long long atomicMin(long long* a, long long v) {
    return emu::atomic_update(a, [v](long long old) { return old < v ? old : v; });
}
inline float atomicExch(float* a, float v) {
    float old;
    __atomic_exchange(a, &v, &old, __ATOMIC_RELAXED);
    return old;
}

// Bit casts and integer intrinsics.
inline unsigned int __umulhi(unsigned int a, unsigned int b) {
    return (unsigned int)(((unsigned long long)a * b) >> 32);
}
template <typename To, typename From>
inline To gc_emu_bits(From v) {
    static_assert(sizeof(To) == sizeof(From));
    To out;
    std::memcpy(&out, &v, sizeof out);
    return out;
}
inline float __int_as_float(int v) { return gc_emu_bits<float>(v); }
inline float __uint_as_float(unsigned v) { return gc_emu_bits<float>(v); }
inline int __float_as_int(float v) { return gc_emu_bits<int>(v); }
inline unsigned __float_as_uint(float v) { return gc_emu_bits<unsigned>(v); }
inline double __longlong_as_double(long long v) { return gc_emu_bits<double>(v); }
inline long long __double_as_longlong(double v) { return gc_emu_bits<long long>(v); }

inline float gc_half_bits_to_float(unsigned short bits) { return (float)gc_emu_bits<_Float16>(bits); }
inline unsigned short gc_float_to_half_bits(float f) {
    return gc_emu_bits<unsigned short>((_Float16)f);  // IEEE round to nearest even, as cvt.rn.f16.f32
}

// Math: the C library's float functions (expf, logf, log1pf, sqrtf, tanhf, erff, fabsf, fmaxf,
// fminf, floorf, ceilf, powf, ...) are already global; CUDA also overloads the double names for
// float, which these using-declarations give.
using std::ceil;
using std::cos;
using std::erf;
using std::exp;
using std::exp2;
using std::fabs;
using std::floor;
using std::fma;
using std::fmax;
using std::fmin;
using std::log;
using std::log1p;
using std::log2;
using std::pow;
using std::sin;
using std::sqrt;
using std::tanh;
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __fdividef(float x, float y) { return x / y; }
inline float __saturatef(float x) { return x > 0.0f ? (x < 1.0f ? x : 1.0f) : 0.0f; }  // NaN -> 0

// ---- vector types (16-byte aligned, as CUDA's: one 128-bit load or store) ----------------------

struct alignas(16) float4 {
    float x, y, z, w;
};
struct alignas(16) uint4 {
    unsigned int x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) { return {x, y, z, w}; }

// ---- 2-byte floats, under the names cuda_fp16.h and cuda_bf16.h give them ----------------------

struct __half {
    unsigned short __x;
};
struct __nv_bfloat16 {
    unsigned short __x;
};
inline __half __float2half_rn(float f) { return {gc_float_to_half_bits(f)}; }
inline __half __float2half(float f) { return __float2half_rn(f); }
inline float __half2float(__half h) { return gc_half_bits_to_float(h.__x); }
// Round to nearest even; a NaN stays a quiet NaN of its sign (as ml_dtypes and CUDA's header do).
inline __nv_bfloat16 __float2bfloat16_rn(float f) {
    const std::uint32_t u = gc_emu_bits<std::uint32_t>(f);
    if (std::isnan(f)) return {(unsigned short)(((u >> 16) & 0x8000u) | 0x7fc0u)};
    const std::uint32_t lower = u & 0xffffu, upper = u >> 16;
    const bool up = lower > 0x8000u || (lower == 0x8000u && (upper & 1u));
    return {(unsigned short)(upper + up)};  // a carry into the exponent is the correct rounding
}
inline __nv_bfloat16 __float2bfloat16(float f) { return __float2bfloat16_rn(f); }
inline float __bfloat162float(__nv_bfloat16 b) { return gc_emu_bits<float>((std::uint32_t)b.__x << 16); }

// ---- async copies (cuda_pipeline_primitives.h: cp.async on sm_80+) ------------------------------
// Modelled as deferred copies: each poisons its destination at once and lands when its thread
// waits for its group or returns (see emu::AsyncCopy). Sizes, alignment, zfill and the shared
// destination are checked as the header asserts them.

inline void __pipeline_memcpy_async(void* dst_shared, const void* src_global, std::size_t size_and_align,
                                    std::size_t zfill = 0) {
    const auto d = reinterpret_cast<std::uintptr_t>(dst_shared), s = reinterpret_cast<std::uintptr_t>(src_global);
    if ((size_and_align != 4 && size_and_align != 8 && size_and_align != 16) || zfill > size_and_align)
        emu::abort_thread("__pipeline_memcpy_async copies 4, 8 or 16 bytes with zfill <= size, got size " +
                          std::to_string(size_and_align) + ", zfill " + std::to_string(zfill));
    if (d % size_and_align || s % size_and_align)
        emu::abort_thread("__pipeline_memcpy_async of " + std::to_string(size_and_align) +
                          " bytes needs both addresses aligned to it");
    emu::require_shared("__pipeline_memcpy_async", dst_shared);
    std::memset(dst_shared, 0xff, size_and_align);  // undefined until waited for (see emu::AsyncCopy)
    emu::Fiber& f = *emu::sched.current;
    f.copies.push_back({dst_shared, src_global, (unsigned)size_and_align, (unsigned)zfill, f.groups});
}
inline void __pipeline_commit() { ++emu::sched.current->groups; }
// Waits until at most `prior` of the committed groups are still in flight; uncommitted copies stay.
inline void __pipeline_wait_prior(std::size_t prior) {
    const unsigned groups = emu::sched.current->groups;
    if (groups > prior) emu::land_copies(groups - (unsigned)prior);
}

// ---- tensor cores: nvcuda::wmma (mma.h) ---------------------------------------------------------
// Fragments hold n = rows * cols / 32 elements per lane in an emulator-chosen layout (element e of
// lane l is the logical row-major element l * n + e); CUDA leaves the layout unspecified, so a kernel
// that is correct here does not depend on it. A lane that reads what store_matrix_sync wrote before
// a __syncwarp mostly reads other lanes' (not yet written) elements: the kernel tests see poison. load / store / mma are warp-collective (full mask, full
// warp) and check what CUDA requires: one pointer and ldm for the whole warp, the pointer 32-byte
// aligned, ldm a multiple of 16 bytes. mma_sync multiplies exactly and accumulates in float, in k
// order (the hardware's order is unspecified); tf32 operands keep their top 19 bits, as the hardware
// reads them (a kernel that skips __float_to_tf32 truncates instead of rounding).

namespace nvcuda::wmma {
struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
namespace precision {
struct tf32 {};
}  // namespace precision
enum layout_t { mem_row_major, mem_col_major };

// cvt.rna.tf32.f32: 10 mantissa bits, round to nearest, ties away from zero; NaN and Inf kept.
inline float __float_to_tf32(float f) {
    if (!std::isfinite(f)) return f;
    return gc_emu_bits<float>((gc_emu_bits<std::uint32_t>(f) + 0x1000u) & 0xffffe000u);
}

namespace detail {
template <typename T> struct element { using type = T; };
template <> struct element<precision::tf32> { using type = float; };
template <typename Use, int M, int N, int K> struct dims;
template <int M, int N, int K> struct dims<matrix_a, M, N, K> { static constexpr int rows = M, cols = K; };
template <int M, int N, int K> struct dims<matrix_b, M, N, K> { static constexpr int rows = K, cols = N; };
template <int M, int N, int K> struct dims<accumulator, M, N, K> { static constexpr int rows = M, cols = N; };

// The shapes mma.h offers these types: TF32 operands m16n16k8, 2-byte operands m16n16k16,
// m32n8k16 and m8n32k16; a float accumulator any of those.
template <typename T, int M, int N, int K>
constexpr bool valid_shape() {
    const bool tf32 = M == 16 && N == 16 && K == 8;
    const bool k16 = K == 16 && ((M == 16 && N == 16) || (M == 32 && N == 8) || (M == 8 && N == 32));
    if constexpr (std::is_same_v<T, precision::tf32>) return tf32;
    else if constexpr (std::is_same_v<T, float>) return tf32 || k16;
    else return k16;
}

inline float value(float v) { return v; }
inline float value(__half v) { return __half2float(v); }
inline float value(__nv_bfloat16 v) { return __bfloat162float(v); }
template <typename T> inline T from_float(float v) { return v; }
template <> inline __half from_float<__half>(float v) { return __float2half_rn(v); }

// Every lane gives the same pointer and ldm (checked), properly aligned.
inline void uniform_access(const char* what, const void* p, unsigned ldm, std::size_t element_bytes) {
    const auto address = reinterpret_cast<std::uintptr_t>(p);
    if (address % 32)
        emu::abort_thread(std::string(what) + " needs a 256-bit (32-byte) aligned pointer");
    if (ldm * element_bytes % 16)
        emu::abort_thread(std::string(what) + " needs ldm to be a multiple of 16 bytes, got " + std::to_string(ldm) +
                          " elements of " + std::to_string(element_bytes) + " bytes");
    const std::uint64_t key = address ^ ((std::uint64_t)ldm << 48);
    const std::uint64_t* slots = emu::warp_exchange(0xffffffffu, key, what);
    for (int lane = 0; lane < 32; ++lane)
        if (slots[lane] != key)
            emu::abort_thread(std::string(what) + ": the lanes of a warp passed different pointers or ldm");
}
}  // namespace detail

template <typename Use, int M, int N, int K, typename T, typename Layout = void>
struct fragment {
    static_assert(detail::valid_shape<T, M, N, K>(), "no such wmma fragment shape for this type");
    using element_type = typename detail::element<T>::type;
    static constexpr int rows = detail::dims<Use, M, N, K>::rows, cols = detail::dims<Use, M, N, K>::cols;
    static constexpr int num_elements = rows * cols / 32;
    element_type x[num_elements];
};

template <typename Use, int M, int N, int K, typename T, typename Layout>
inline void fill_fragment(fragment<Use, M, N, K, T, Layout>& f, typename detail::element<T>::type v) {
    for (auto& e : f.x) e = v;
}

template <typename Use, int M, int N, int K, typename T, typename Layout, typename P>
inline void load_matrix_sync(fragment<Use, M, N, K, T, Layout>& f, const P* p, unsigned ldm) {
    using F = fragment<Use, M, N, K, T, Layout>;
    static_assert(!std::is_same_v<Layout, void>, "an accumulator load takes a layout_t");
    static_assert(std::is_same_v<std::remove_cv_t<P>, typename F::element_type>, "pointer of the fragment's type");
    detail::uniform_access("wmma::load_matrix_sync", p, ldm, sizeof(P));
    const int lane = (int)(emu::sched.current->index % 32);
    for (int e = 0; e < F::num_elements; ++e) {
        const int flat = lane * F::num_elements + e, r = flat / F::cols, c = flat % F::cols;
        f.x[e] = std::is_same_v<Layout, row_major> ? p[r * ldm + c] : p[c * ldm + r];
    }
}

template <int M, int N, int K, typename T>
inline void load_matrix_sync(fragment<accumulator, M, N, K, T>& f, const T* p, unsigned ldm, layout_t layout) {
    using F = fragment<accumulator, M, N, K, T>;
    detail::uniform_access("wmma::load_matrix_sync", p, ldm, sizeof(T));
    const int lane = (int)(emu::sched.current->index % 32);
    for (int e = 0; e < F::num_elements; ++e) {
        const int flat = lane * F::num_elements + e, r = flat / F::cols, c = flat % F::cols;
        f.x[e] = layout == mem_row_major ? p[r * ldm + c] : p[c * ldm + r];
    }
}

template <int M, int N, int K, typename T>
inline void store_matrix_sync(T* p, const fragment<accumulator, M, N, K, T>& f, unsigned ldm, layout_t layout) {
    using F = fragment<accumulator, M, N, K, T>;
    detail::uniform_access("wmma::store_matrix_sync", p, ldm, sizeof(T));
    const int lane = (int)(emu::sched.current->index % 32);
    for (int e = 0; e < F::num_elements; ++e) {
        const int flat = lane * F::num_elements + e, r = flat / F::cols, c = flat % F::cols;
        (layout == mem_row_major ? p[r * ldm + c] : p[c * ldm + r]) = f.x[e];
    }
}

// d = a @ b + c. Each lane computes its own elements of d from every lane's a and b (published
// through the warp exchange); a second exchange keeps every lane's operands alive and unchanged
// until the whole warp has read them.
template <int M, int N, int K, typename TA, typename LA, typename LB, typename TC>
inline void mma_sync(fragment<accumulator, M, N, K, TC>& d, const fragment<matrix_a, M, N, K, TA, LA>& a,
                     const fragment<matrix_b, M, N, K, TA, LB>& b, const fragment<accumulator, M, N, K, TC>& c) {
    static_assert(!std::is_same_v<LA, void> && !std::is_same_v<LB, void>, "operand fragments have a layout");
    using E = typename detail::element<TA>::type;
    struct Operands {
        const E* a;
        const E* b;
    };
    const Operands mine{a.x, b.x};
    const std::uint64_t* slots = emu::warp_exchange(0xffffffffu, &mine, "wmma::mma_sync");
    Operands lanes[32];
    for (int lane = 0; lane < 32; ++lane) lanes[lane] = *reinterpret_cast<const Operands*>(slots[lane]);
    auto operand = [](E v) {
        if constexpr (std::is_same_v<TA, precision::tf32>)
            return gc_emu_bits<float>(gc_emu_bits<std::uint32_t>(v) & 0xffffe000u);
        else return detail::value(v);
    };
    const int lane = (int)(emu::sched.current->index % 32);
    constexpr int per_c = M * N / 32, per_a = M * K / 32, per_b = K * N / 32;
    for (int e = 0; e < per_c; ++e) {
        const int flat = lane * per_c + e, r = flat / N, col = flat % N;
        float sum = detail::value(c.x[e]);
        for (int k = 0; k < K; ++k) {
            const int fa = r * K + k, fb = k * N + col;  // row-major flat indices in A (M x K), B (K x N)
            sum += operand(lanes[fa / per_a].a[fa % per_a]) * operand(lanes[fb / per_b].b[fb % per_b]);
        }
        d.x[e] = detail::from_float<TC>(sum);
    }
    emu::warp_exchange(0xffffffffu, 0, "wmma::mma_sync");
}
}  // namespace nvcuda::wmma

// CUDA's global min / max: the usual arithmetic conversions, fmin / fmax for floating types.
template <typename A, typename B>
    requires std::is_arithmetic_v<A> && std::is_arithmetic_v<B>
inline std::common_type_t<A, B> min(A a, B b) {
    using C = std::common_type_t<A, B>;
    if constexpr (std::is_floating_point_v<C>) return std::fmin((C)a, (C)b);
    else return (C)a < (C)b ? (C)a : (C)b;
}
template <typename A, typename B>
    requires std::is_arithmetic_v<A> && std::is_arithmetic_v<B>
inline std::common_type_t<A, B> max(A a, B b) {
    using C = std::common_type_t<A, B>;
    if constexpr (std::is_floating_point_v<C>) return std::fmax((C)a, (C)b);
    else return (C)a > (C)b ? (C)a : (C)b;
}

// The driver defines `static const emu::Export gc_exports[]` after the kernel source (ending with
// an empty sentinel), then expands GC_EMU_EXPORTS() for the C entry points Python calls.
#define GC_EMU_API extern "C" __attribute__((visibility("default")))
#define GC_EMU_EXPORTS()                                                                                      \
    GC_EMU_API int gc_emu_count() { return (int)(sizeof(gc_exports) / sizeof(gc_exports[0])) - 1; }           \
    GC_EMU_API const char* gc_emu_name(int i) { return gc_exports[i].name; }                                  \
    GC_EMU_API int gc_emu_arity(int i) { return gc_exports[i].arity; }                                        \
    GC_EMU_API const emu::Param* gc_emu_params(int i) { return gc_exports[i].params; }                        \
    GC_EMU_API const char* gc_emu_error() { return emu::error.c_str(); }                                      \
    GC_EMU_API int gc_emu_launch(int i, long long gx, long long gy, long long gz, long long bx, long long by, \
                                 long long bz, const unsigned char* packed, int ftz) {                        \
        const long long d[6] = {gx, gy, gz, bx, by, bz};                                                      \
        std::lock_guard<std::mutex> lock(emu::launch_mutex);                                                  \
        return gc_exports[i].run(gc_exports[i].name, d, packed, ftz != 0);                                    \
    }
