// gc_wmma: the part of nvcuda::wmma (mma.h) that kernels/matmul_tc.cu uses, as PTX wmma
// instructions, for float16 and bfloat16 (m16n16k16) and TF32 (m16n16k8) operands with float
// accumulators. Same names and signatures as mma.h, so the kernel reads as WMMA code.
//
// Why not mma.h itself: CuPy's NVRTC compiles with the CUDA runtime headers of a pip install
// (the nvidia-cuda-runtime wheel of gpucell[cuda12]), whose mma.h only includes "crt/mma.h",
// which that wheel does not ship: every compile would fail. The PTX instructions below are what
// mma.h's builtins lower to, and need no header at all (like the rest of kernels/, see common.cuh).
// tests/kernels/test_kernels_wmma_ptx.py checks each spelling against the PTX ISA and, where a
// full CUDA toolkit is installed, instruction for instruction against what mma.h emits.
//
// One difference from mma.h: loads and stores take SHARED memory only. The instructions name the
// .shared state space, as NVVM does for mma.h when it can prove the pointer is shared; with a
// generic address (inline asm hides it from that inference) ptxas lowers each load to one 32-bit
// generic LD per register instead of ldmatrix (LDSM), and each store to generic ST.E.64 instead of
// STS. Under the emulator a pointer outside __shared__ memory fails the launch.
//
// Under the host emulator gc_wmma is the emulator's model of nvcuda::wmma (cuda_emulator.h), whose
// fragments have a layout of their own: a kernel correct there does not depend on one.
//
// Requirements, as the CUDA C++ Programming Guide states them for mma.h: every lane of the warp
// calls with the same pointer and ldm; the pointer is 256-bit aligned; ldm (in ELEMENTS, as the PTX
// stride operand counts) is a multiple of 16 bytes. (The PTX ISA's "Matrix Storage for WMMA" asks
// more for float16: every row 32-byte aligned. mma.h emits the same PTX for a 16-byte ldm, and
// ptxas lowers it to ldmatrix, whose rows need 16 bytes; matmul_tc.cu's 80-byte rows rely on that.)
#pragma once
#include "common.cuh"

#ifdef GPUCELL_EMULATOR
typedef __half gc_wmma_half;  // the 2-byte element types the emulated fragments take
typedef __nv_bfloat16 gc_wmma_bfloat16;

// The emulator's nvcuda::wmma, with loads and stores held to shared memory as the PTX below is.
namespace gc_wmma {
using nvcuda::wmma::accumulator;
using nvcuda::wmma::col_major;
using nvcuda::wmma::fill_fragment;
using nvcuda::wmma::fragment;
using nvcuda::wmma::layout_t;
using nvcuda::wmma::matrix_a;
using nvcuda::wmma::matrix_b;
using nvcuda::wmma::mem_col_major;
using nvcuda::wmma::mem_row_major;
using nvcuda::wmma::mma_sync;
using nvcuda::wmma::row_major;
using nvcuda::wmma::__float_to_tf32;
namespace precision = nvcuda::wmma::precision;

template <typename F, typename P>
inline void load_matrix_sync(F& f, const P* p, unsigned ldm) {
    emu::require_shared("gc_wmma::load_matrix_sync", p);
    nvcuda::wmma::load_matrix_sync(f, p, ldm);
}
template <typename P, typename F>
inline void store_matrix_sync(P* p, const F& f, unsigned ldm, layout_t layout) {
    emu::require_shared("gc_wmma::store_matrix_sync", p);
    nvcuda::wmma::store_matrix_sync(p, f, ldm, layout);
}
}  // namespace gc_wmma
#else
typedef gc_half gc_wmma_half;
typedef gc_bfloat16 gc_wmma_bfloat16;

namespace gc_wmma {
struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
namespace precision {
struct tf32 {};
}  // namespace precision
enum layout_t { mem_row_major, mem_col_major };

template <typename Use, int M, int N, int K, typename T, typename Layout = void> struct fragment;

// Operand fragments hold packed registers, as the PTX ISA sizes them (x: what mma.h's fragments
// show; only TF32's are touched by the kernel, to round them): float16 A and B take eight .f16x2
// registers (Volta's duplicated layout, kept by the ISA), bfloat16 ones four .b32, TF32 ones four
// .b32 (one element each); float accumulators eight .f32.
template <> struct fragment<matrix_a, 16, 16, 16, gc_half, row_major> {
    enum { num_elements = 16 };
    unsigned int r[8];
};
template <> struct fragment<matrix_b, 16, 16, 16, gc_half, col_major> {
    enum { num_elements = 16 };
    unsigned int r[8];
};
template <> struct fragment<matrix_a, 16, 16, 16, gc_bfloat16, row_major> {
    enum { num_elements = 8 };
    unsigned int r[4];
};
template <> struct fragment<matrix_b, 16, 16, 16, gc_bfloat16, col_major> {
    enum { num_elements = 8 };
    unsigned int r[4];
};
template <> struct fragment<matrix_a, 16, 16, 8, precision::tf32, row_major> {
    enum { num_elements = 4 };
    float x[4];
};
template <> struct fragment<matrix_b, 16, 16, 8, precision::tf32, col_major> {
    enum { num_elements = 4 };
    float x[4];
};
template <int K> struct fragment<accumulator, 16, 16, K, float> {
    enum { num_elements = 8 };
    float x[8];
};

template <int K>
__device__ __forceinline__ void fill_fragment(fragment<accumulator, 16, 16, K, float>& f, float v) {
    for (int i = 0; i < 8; ++i) f.x[i] = v;
}

// cvt.rna.tf32.f32 (sm_80+): 10 mantissa bits, round to nearest, ties away from zero.
__device__ __forceinline__ float __float_to_tf32(float v) {
    unsigned int bits;
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(bits) : "f"(v));
    return __uint_as_float(bits);
}

// The 32-bit .shared address of a generic pointer into shared memory.
__device__ __forceinline__ unsigned int gc_wmma_shared(const void* p) {
    return (unsigned int)__cvta_generic_to_shared(p);
}

#define GC_WMMA_R8(f) "=r"(f.r[0]), "=r"(f.r[1]), "=r"(f.r[2]), "=r"(f.r[3]), "=r"(f.r[4]), "=r"(f.r[5]), \
                      "=r"(f.r[6]), "=r"(f.r[7])
#define GC_WMMA_R4(f) "=r"(f.r[0]), "=r"(f.r[1]), "=r"(f.r[2]), "=r"(f.r[3])

__device__ __forceinline__ void load_matrix_sync(fragment<matrix_a, 16, 16, 16, gc_half, row_major>& f,
                                                 const gc_half* p, unsigned ldm) {
    asm volatile("wmma.load.a.sync.aligned.row.m16n16k16.shared.f16 {%0, %1, %2, %3, %4, %5, %6, %7}, [%8], %9;"
                 : GC_WMMA_R8(f) : "r"(gc_wmma_shared(p)), "r"(ldm) : "memory");
}
__device__ __forceinline__ void load_matrix_sync(fragment<matrix_b, 16, 16, 16, gc_half, col_major>& f,
                                                 const gc_half* p, unsigned ldm) {
    asm volatile("wmma.load.b.sync.aligned.col.m16n16k16.shared.f16 {%0, %1, %2, %3, %4, %5, %6, %7}, [%8], %9;"
                 : GC_WMMA_R8(f) : "r"(gc_wmma_shared(p)), "r"(ldm) : "memory");
}
__device__ __forceinline__ void load_matrix_sync(fragment<matrix_a, 16, 16, 16, gc_bfloat16, row_major>& f,
                                                 const gc_bfloat16* p, unsigned ldm) {
    asm volatile("wmma.load.a.sync.aligned.row.m16n16k16.shared.bf16 {%0, %1, %2, %3}, [%4], %5;"
                 : GC_WMMA_R4(f) : "r"(gc_wmma_shared(p)), "r"(ldm) : "memory");
}
__device__ __forceinline__ void load_matrix_sync(fragment<matrix_b, 16, 16, 16, gc_bfloat16, col_major>& f,
                                                 const gc_bfloat16* p, unsigned ldm) {
    asm volatile("wmma.load.b.sync.aligned.col.m16n16k16.shared.bf16 {%0, %1, %2, %3}, [%4], %5;"
                 : GC_WMMA_R4(f) : "r"(gc_wmma_shared(p)), "r"(ldm) : "memory");
}
// TF32 operands travel in .b32 registers (ptxas refuses .f32 ones); the fragment shows them as float.
__device__ __forceinline__ void load_matrix_sync(fragment<matrix_a, 16, 16, 8, precision::tf32, row_major>& f,
                                                 const float* p, unsigned ldm) {
    unsigned int r[4];
    asm volatile("wmma.load.a.sync.aligned.row.m16n16k8.shared.tf32 {%0, %1, %2, %3}, [%4], %5;"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(gc_wmma_shared(p)), "r"(ldm) : "memory");
    for (int i = 0; i < 4; ++i) f.x[i] = __uint_as_float(r[i]);
}
__device__ __forceinline__ void load_matrix_sync(fragment<matrix_b, 16, 16, 8, precision::tf32, col_major>& f,
                                                 const float* p, unsigned ldm) {
    unsigned int r[4];
    asm volatile("wmma.load.b.sync.aligned.col.m16n16k8.shared.tf32 {%0, %1, %2, %3}, [%4], %5;"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(gc_wmma_shared(p)), "r"(ldm) : "memory");
    for (int i = 0; i < 4; ++i) f.x[i] = __uint_as_float(r[i]);
}
#undef GC_WMMA_R8
#undef GC_WMMA_R4

// d = a @ b + c, any d and c (the same fragment or not, as in mma.h): d is written, c only read.
#define GC_WMMA_D(d) "=f"(d.x[0]), "=f"(d.x[1]), "=f"(d.x[2]), "=f"(d.x[3]), "=f"(d.x[4]), "=f"(d.x[5]), \
                     "=f"(d.x[6]), "=f"(d.x[7])
#define GC_WMMA_C(c) "f"(c.x[0]), "f"(c.x[1]), "f"(c.x[2]), "f"(c.x[3]), "f"(c.x[4]), "f"(c.x[5]), "f"(c.x[6]), \
                     "f"(c.x[7])
#define GC_WMMA_IN8(f) "r"(f.r[0]), "r"(f.r[1]), "r"(f.r[2]), "r"(f.r[3]), "r"(f.r[4]), "r"(f.r[5]), "r"(f.r[6]), \
                       "r"(f.r[7])
#define GC_WMMA_IN4(f) "r"(f.r[0]), "r"(f.r[1]), "r"(f.r[2]), "r"(f.r[3])

__device__ __forceinline__ void mma_sync(fragment<accumulator, 16, 16, 16, float>& d,
                                         const fragment<matrix_a, 16, 16, 16, gc_half, row_major>& a,
                                         const fragment<matrix_b, 16, 16, 16, gc_half, col_major>& b,
                                         const fragment<accumulator, 16, 16, 16, float>& c) {
    asm volatile("wmma.mma.sync.aligned.row.col.m16n16k16.f32.f32 {%0, %1, %2, %3, %4, %5, %6, %7}, "
                 "{%8, %9, %10, %11, %12, %13, %14, %15}, {%16, %17, %18, %19, %20, %21, %22, %23}, "
                 "{%24, %25, %26, %27, %28, %29, %30, %31};"
                 : GC_WMMA_D(d) : GC_WMMA_IN8(a), GC_WMMA_IN8(b), GC_WMMA_C(c));
}
__device__ __forceinline__ void mma_sync(fragment<accumulator, 16, 16, 16, float>& d,
                                         const fragment<matrix_a, 16, 16, 16, gc_bfloat16, row_major>& a,
                                         const fragment<matrix_b, 16, 16, 16, gc_bfloat16, col_major>& b,
                                         const fragment<accumulator, 16, 16, 16, float>& c) {
    asm volatile("wmma.mma.sync.aligned.row.col.m16n16k16.f32.bf16.bf16.f32 {%0, %1, %2, %3, %4, %5, %6, %7}, "
                 "{%8, %9, %10, %11}, {%12, %13, %14, %15}, {%16, %17, %18, %19, %20, %21, %22, %23};"
                 : GC_WMMA_D(d) : GC_WMMA_IN4(a), GC_WMMA_IN4(b), GC_WMMA_C(c));
}
__device__ __forceinline__ void mma_sync(fragment<accumulator, 16, 16, 8, float>& d,
                                         const fragment<matrix_a, 16, 16, 8, precision::tf32, row_major>& a,
                                         const fragment<matrix_b, 16, 16, 8, precision::tf32, col_major>& b,
                                         const fragment<accumulator, 16, 16, 8, float>& c) {
    asm volatile("wmma.mma.sync.aligned.row.col.m16n16k8.f32.tf32.tf32.f32 {%0, %1, %2, %3, %4, %5, %6, %7}, "
                 "{%8, %9, %10, %11}, {%12, %13, %14, %15}, {%16, %17, %18, %19, %20, %21, %22, %23};"
                 : GC_WMMA_D(d)
                 : "r"(__float_as_uint(a.x[0])), "r"(__float_as_uint(a.x[1])), "r"(__float_as_uint(a.x[2])),
                   "r"(__float_as_uint(a.x[3])), "r"(__float_as_uint(b.x[0])), "r"(__float_as_uint(b.x[1])),
                   "r"(__float_as_uint(b.x[2])), "r"(__float_as_uint(b.x[3])), GC_WMMA_C(c));
}
#undef GC_WMMA_D
#undef GC_WMMA_C
#undef GC_WMMA_IN8
#undef GC_WMMA_IN4

// Stores in either layout, like mma.h's (the kernel's epilogue scratch is row-major).
#define GC_WMMA_STORE(layout, shape)                                                                           \
    asm volatile("wmma.store.d.sync.aligned." layout "." shape ".shared.f32 [%0], {%1, %2, %3, %4, %5, %6, %7, %8}, " \
                 "%9;" ::"r"(at), "f"(f.x[0]), "f"(f.x[1]), "f"(f.x[2]), "f"(f.x[3]), "f"(f.x[4]), "f"(f.x[5]),  \
                 "f"(f.x[6]), "f"(f.x[7]), "r"(ldm) : "memory")
template <int K>
__device__ __forceinline__ void store_matrix_sync(float* p, const fragment<accumulator, 16, 16, K, float>& f,
                                                  unsigned ldm, layout_t layout) {
    static_assert(K == 16 || K == 8, "float accumulators of m16n16k16 and m16n16k8");
    const unsigned int at = gc_wmma_shared(p);
    if constexpr (K == 16) {
        if (layout == mem_row_major) GC_WMMA_STORE("row", "m16n16k16");
        else GC_WMMA_STORE("col", "m16n16k16");
    } else {
        if (layout == mem_row_major) GC_WMMA_STORE("row", "m16n16k8");
        else GC_WMMA_STORE("col", "m16n16k8");
    }
}
#undef GC_WMMA_STORE
}  // namespace gc_wmma
#endif
