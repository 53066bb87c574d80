// gc_wmma: the part of nvcuda::wmma (mma.h) that kernels/matmul_tc.cu uses, as PTX wmma
// instructions, for float16 and bfloat16 (m16n16k16) and TF32 (m16n16k8) operands with float
// accumulators. Same names and signatures as mma.h, so the kernel reads as WMMA code.
//
// Why not mma.h itself: CuPy's NVRTC compiles with the CUDA runtime headers of a pip install
// (the nvidia-cuda-runtime wheel of gpucell[cuda12]), whose mma.h only includes "crt/mma.h",
// which that wheel does not ship: every compile would fail. The PTX instructions below are what
// mma.h's builtins lower to, and need no header at all (like the rest of kernels/, see common.cuh).
//
// Under the host emulator gc_wmma is the emulator's model of nvcuda::wmma (cuda_emulator.h), whose
// fragments have a layout of their own: a kernel correct there does not depend on one.
//
// Requirements, as mma.h states them: every lane of the warp calls with the same pointer and ldm;
// the pointer is 256-bit aligned; ldm (in elements) is a multiple of 16 bytes.
#pragma once
#include "common.cuh"

#ifdef GPUCELL_EMULATOR
namespace gc_wmma = nvcuda::wmma;
typedef __half gc_wmma_half;  // the 2-byte element types the emulated fragments take
typedef __nv_bfloat16 gc_wmma_bfloat16;
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

// Operand fragments hold packed registers (x: what mma.h's fragments show; only TF32's are
// touched by the kernel, to round them). float16 operands take 8 registers (Volta's duplicated
// layout, kept by the PTX ISA), bfloat16 and TF32 ones 4.
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

#define GC_WMMA_R8(f) "=r"(f.r[0]), "=r"(f.r[1]), "=r"(f.r[2]), "=r"(f.r[3]), "=r"(f.r[4]), "=r"(f.r[5]), \
                      "=r"(f.r[6]), "=r"(f.r[7])
#define GC_WMMA_R4(f) "=r"(f.r[0]), "=r"(f.r[1]), "=r"(f.r[2]), "=r"(f.r[3])

__device__ __forceinline__ void load_matrix_sync(fragment<matrix_a, 16, 16, 16, gc_half, row_major>& f,
                                                 const gc_half* p, unsigned ldm) {
    asm volatile("wmma.load.a.sync.aligned.row.m16n16k16.f16 {%0, %1, %2, %3, %4, %5, %6, %7}, [%8], %9;"
                 : GC_WMMA_R8(f) : "l"(p), "r"(ldm) : "memory");
}
__device__ __forceinline__ void load_matrix_sync(fragment<matrix_b, 16, 16, 16, gc_half, col_major>& f,
                                                 const gc_half* p, unsigned ldm) {
    asm volatile("wmma.load.b.sync.aligned.col.m16n16k16.f16 {%0, %1, %2, %3, %4, %5, %6, %7}, [%8], %9;"
                 : GC_WMMA_R8(f) : "l"(p), "r"(ldm) : "memory");
}
__device__ __forceinline__ void load_matrix_sync(fragment<matrix_a, 16, 16, 16, gc_bfloat16, row_major>& f,
                                                 const gc_bfloat16* p, unsigned ldm) {
    asm volatile("wmma.load.a.sync.aligned.row.m16n16k16.bf16 {%0, %1, %2, %3}, [%4], %5;"
                 : GC_WMMA_R4(f) : "l"(p), "r"(ldm) : "memory");
}
__device__ __forceinline__ void load_matrix_sync(fragment<matrix_b, 16, 16, 16, gc_bfloat16, col_major>& f,
                                                 const gc_bfloat16* p, unsigned ldm) {
    asm volatile("wmma.load.b.sync.aligned.col.m16n16k16.bf16 {%0, %1, %2, %3}, [%4], %5;"
                 : GC_WMMA_R4(f) : "l"(p), "r"(ldm) : "memory");
}
// TF32 operands travel in .b32 registers (ptxas refuses .f32 ones); the fragment shows them as float.
__device__ __forceinline__ void load_matrix_sync(fragment<matrix_a, 16, 16, 8, precision::tf32, row_major>& f,
                                                 const float* p, unsigned ldm) {
    unsigned int r[4];
    asm volatile("wmma.load.a.sync.aligned.row.m16n16k8.tf32 {%0, %1, %2, %3}, [%4], %5;"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "l"(p), "r"(ldm) : "memory");
    for (int i = 0; i < 4; ++i) f.x[i] = __uint_as_float(r[i]);
}
__device__ __forceinline__ void load_matrix_sync(fragment<matrix_b, 16, 16, 8, precision::tf32, col_major>& f,
                                                 const float* p, unsigned ldm) {
    unsigned int r[4];
    asm volatile("wmma.load.b.sync.aligned.col.m16n16k8.tf32 {%0, %1, %2, %3}, [%4], %5;"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "l"(p), "r"(ldm) : "memory");
    for (int i = 0; i < 4; ++i) f.x[i] = __uint_as_float(r[i]);
}
#undef GC_WMMA_R8
#undef GC_WMMA_R4

#define GC_WMMA_D(d) "+f"(d.x[0]), "+f"(d.x[1]), "+f"(d.x[2]), "+f"(d.x[3]), "+f"(d.x[4]), "+f"(d.x[5]), \
                     "+f"(d.x[6]), "+f"(d.x[7])
#define GC_WMMA_IN8(f) "r"(f.r[0]), "r"(f.r[1]), "r"(f.r[2]), "r"(f.r[3]), "r"(f.r[4]), "r"(f.r[5]), "r"(f.r[6]), \
                       "r"(f.r[7])
#define GC_WMMA_IN4(f) "r"(f.r[0]), "r"(f.r[1]), "r"(f.r[2]), "r"(f.r[3])

// d = a @ b + c, where d and c must be the same fragment (the only use here: accumulation in place).
__device__ __forceinline__ void mma_sync(fragment<accumulator, 16, 16, 16, float>& d,
                                         const fragment<matrix_a, 16, 16, 16, gc_half, row_major>& a,
                                         const fragment<matrix_b, 16, 16, 16, gc_half, col_major>& b,
                                         const fragment<accumulator, 16, 16, 16, float>& c) {
    (void)c;
    asm volatile("wmma.mma.sync.aligned.row.col.m16n16k16.f32.f32 {%0, %1, %2, %3, %4, %5, %6, %7}, "
                 "{%8, %9, %10, %11, %12, %13, %14, %15}, {%16, %17, %18, %19, %20, %21, %22, %23}, "
                 "{%0, %1, %2, %3, %4, %5, %6, %7};"
                 : GC_WMMA_D(d) : GC_WMMA_IN8(a), GC_WMMA_IN8(b));
}
__device__ __forceinline__ void mma_sync(fragment<accumulator, 16, 16, 16, float>& d,
                                         const fragment<matrix_a, 16, 16, 16, gc_bfloat16, row_major>& a,
                                         const fragment<matrix_b, 16, 16, 16, gc_bfloat16, col_major>& b,
                                         const fragment<accumulator, 16, 16, 16, float>& c) {
    (void)c;
    asm volatile("wmma.mma.sync.aligned.row.col.m16n16k16.f32.bf16.bf16.f32 {%0, %1, %2, %3, %4, %5, %6, %7}, "
                 "{%8, %9, %10, %11}, {%12, %13, %14, %15}, {%0, %1, %2, %3, %4, %5, %6, %7};"
                 : GC_WMMA_D(d) : GC_WMMA_IN4(a), GC_WMMA_IN4(b));
}
__device__ __forceinline__ void mma_sync(fragment<accumulator, 16, 16, 8, float>& d,
                                         const fragment<matrix_a, 16, 16, 8, precision::tf32, row_major>& a,
                                         const fragment<matrix_b, 16, 16, 8, precision::tf32, col_major>& b,
                                         const fragment<accumulator, 16, 16, 8, float>& c) {
    (void)c;
    asm volatile("wmma.mma.sync.aligned.row.col.m16n16k8.f32.tf32.tf32.f32 {%0, %1, %2, %3, %4, %5, %6, %7}, "
                 "{%8, %9, %10, %11}, {%12, %13, %14, %15}, {%0, %1, %2, %3, %4, %5, %6, %7};"
                 : GC_WMMA_D(d)
                 : "r"(__float_as_uint(a.x[0])), "r"(__float_as_uint(a.x[1])), "r"(__float_as_uint(a.x[2])),
                   "r"(__float_as_uint(a.x[3])), "r"(__float_as_uint(b.x[0])), "r"(__float_as_uint(b.x[1])),
                   "r"(__float_as_uint(b.x[2])), "r"(__float_as_uint(b.x[3])));
}
#undef GC_WMMA_D
#undef GC_WMMA_IN8
#undef GC_WMMA_IN4

// Row-major stores only (the kernel's epilogue scratch).
template <int K>
__device__ __forceinline__ void store_matrix_sync(float* p, const fragment<accumulator, 16, 16, K, float>& f,
                                                  unsigned ldm, layout_t layout) {
    (void)layout;
    if (K == 16)
        asm volatile("wmma.store.d.sync.aligned.row.m16n16k16.f32 [%0], {%1, %2, %3, %4, %5, %6, %7, %8}, %9;"
                     :: "l"(p), "f"(f.x[0]), "f"(f.x[1]), "f"(f.x[2]), "f"(f.x[3]), "f"(f.x[4]), "f"(f.x[5]),
                        "f"(f.x[6]), "f"(f.x[7]), "r"(ldm) : "memory");
    else
        asm volatile("wmma.store.d.sync.aligned.row.m16n16k8.f32 [%0], {%1, %2, %3, %4, %5, %6, %7, %8}, %9;"
                     :: "l"(p), "f"(f.x[0]), "f"(f.x[1]), "f"(f.x[2]), "f"(f.x[3]), "f"(f.x[4]), "f"(f.x[5]),
                        "f"(f.x[6]), "f"(f.x[7]), "r"(ldm) : "memory");
}
}  // namespace gc_wmma
#endif
