// Shared by every kernel: index type, the half and bfloat16 types, accumulation types, conversions.
//
// No CUDA toolkit header is included (not even cuda_fp16.h), so the host emulator
// (gpucell/backend/emulator) can supply the few intrinsics used here (__umulhi, __int_as_float,
// __uint_as_float, __longlong_as_double, the half conversions). (The fast matmul kernels alone include
// <cuda_pipeline_primitives.h> for cp.async, outside the emulator; the tensor cores go through
// kernels/wmma.cuh's PTX, since pip's headers lack crt/mma.h.) That does not free a pip install from the headers:
// CuPy 14 passes the CUDA runtime headers' folder to every NVRTC compile and refuses to compile
// when it finds none. cupy-cuda12x/13x wheels ship neither NVRTC nor the headers; their [ctk] extra
// (pip install "gpucell[cuda12]") brings both.
#pragma once

typedef long long index_t;

// float16 as its raw bits. NumPy's float16 and this struct have the same 2-byte layout, so an
// array of either is the same memory; arithmetic always goes through float (see Acc below).
struct gc_half {
    unsigned short bits;
};

#ifndef GPUCELL_EMULATOR
__device__ __forceinline__ float gc_half_bits_to_float(unsigned short h) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
}
__device__ __forceinline__ unsigned short gc_float_to_half_bits(float f) {
    unsigned short h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));  // round to nearest even, like NumPy
    return h;
}
#endif

// bfloat16 as its raw bits: the upper half of a float32, the same 2-byte layout as ml_dtypes'
// bfloat16 (and CUDA's __nv_bfloat16). Arithmetic goes through float, like gc_half.
struct gc_bfloat16 {
    unsigned short bits;
};

__device__ __forceinline__ float gc_bfloat16_bits_to_float(unsigned short b) {
    return __uint_as_float((unsigned int)b << 16);  // exact: bfloat16 is a truncated float32
}
// Round to nearest even, NaN kept as a quiet NaN of the same sign: bit for bit what ml_dtypes does
// (cvt.rn.bf16.f32 would need sm_80 and returns a canonical NaN without the sign).
__device__ __forceinline__ unsigned short gc_float_to_bfloat16_bits(float f) {
    const unsigned int u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (unsigned short)((u >> 16) & 0x8000u) | 0x7fc0u;
    return (unsigned short)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

// The type arithmetic on T is done in: float for half and bfloat16 (2-byte storage, fp32 math),
// T otherwise.
template <typename T> struct Acc { typedef T type; };
template <> struct Acc<gc_half> { typedef float type; };
template <> struct Acc<gc_bfloat16> { typedef float type; };

template <typename T> __device__ __forceinline__ typename Acc<T>::type to_acc(T v) { return v; }
__device__ __forceinline__ float to_acc(gc_half v) { return gc_half_bits_to_float(v.bits); }

template <typename T> __device__ __forceinline__ T from_acc(typename Acc<T>::type v) { return v; }
template <> __device__ __forceinline__ gc_half from_acc<gc_half>(float v) {
    gc_half h;
    h.bits = gc_float_to_half_bits(v);
    return h;
}
__device__ __forceinline__ float to_acc(gc_bfloat16 v) { return gc_bfloat16_bits_to_float(v.bits); }
template <> __device__ __forceinline__ gc_bfloat16 from_acc<gc_bfloat16>(float v) {
    gc_bfloat16 h;
    h.bits = gc_float_to_bfloat16_bits(v);
    return h;
}

template <typename A> __device__ __forceinline__ A gc_neg_inf();
template <> __device__ __forceinline__ float gc_neg_inf<float>() { return __int_as_float(0xff800000); }
template <> __device__ __forceinline__ double gc_neg_inf<double>() {
    return __longlong_as_double(0xfff0000000000000LL);
}

__device__ __forceinline__ float gc_exp(float v) { return expf(v); }
__device__ __forceinline__ double gc_exp(double v) { return exp(v); }
__device__ __forceinline__ float gc_log(float v) { return logf(v); }
__device__ __forceinline__ double gc_log(double v) { return log(v); }

// x > y, or x if it is NaN: a max that propagates NaN the way NumPy's does.
template <typename A> __device__ __forceinline__ A gc_max(A x, A y) { return (x != x || x > y) ? x : y; }

// Linear thread index and stride of a 1-D grid-stride loop, in 64-bit so large arrays cannot wrap.
__device__ __forceinline__ index_t gc_global_thread() {
    return (index_t)blockIdx.x * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ index_t gc_grid_threads() { return (index_t)gridDim.x * blockDim.x; }

// q = a / b, r = a % b for 0 <= a and 0 < b: in 32-bit arithmetic when both fit, which is several
// times cheaper than 64-bit division on the GPU (that one is a long software sequence per element).
__device__ __forceinline__ void gc_divmod(index_t a, index_t b, index_t& q, index_t& r) {
    if ((unsigned long long)(a | b) <= 0xffffffffull) {
        const unsigned int ua = (unsigned int)a, ub = (unsigned int)b, uq = ua / ub;
        q = (index_t)uq;
        r = (index_t)(ua - uq * ub);
    } else {
        q = a / b;
        r = a - q * b;
    }
}
