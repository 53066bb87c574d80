"""Helpers of the simulator's own tests: where a line is, and what a RaceError must name."""

from __future__ import annotations

import functools
import os
import sys

import gpucell.backend.sim as cp

__all__ = ["here", "site_of", "label_of", "assert_names", "streams", "module", "KERNELS", "EXPRESSIONS"]


def here(offset: int = 1) -> int:
    """The caller's line number plus ``offset`` (default: the next line, the one to be named)."""
    return sys._getframe(1).f_lineno + offset


def site_of(line: int, depth: int = 1) -> str:
    """``file.py:line`` of the calling test file, as the simulator's messages write it."""
    return f"{os.path.basename(sys._getframe(depth).f_code.co_filename)}:{line}"


def label_of(stream) -> str:
    """How the simulator names a stream in its messages."""
    if stream.ptr == 0:
        return "the legacy default stream"
    kind = "non-blocking" if stream.is_non_blocking else "blocking"
    return f"{kind} stream {stream.ptr:#x}"


def assert_names(message: str, *parts: str) -> None:
    """Every part appears in ``message`` (one assertion, so a failure shows all of it)."""
    missing = [part for part in parts if part not in message]
    assert not missing, f"{missing} not in: {message}"


def streams(n: int = 2, non_blocking: bool = True) -> list:
    return [cp.cuda.Stream(non_blocking=non_blocking) for _ in range(n)]


KERNELS = r"""
extern "C" __global__ void scale(const float* x, float* y, float a, int n) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        y[i] = a * x[i];
    }
}

extern "C" __global__ void plus_zero(const float* x, float* y, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = x[i] + 0.0f;
}

extern "C" __global__ void copy_bits(const float* x, float* y, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = x[i];
}

extern "C" __global__ void read_through_mutable(float* x, float* y, long long n) {
    long long i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = x[i];
}

extern "C" __global__ void fill_rows(float* out, int width) {
    int row = blockIdx.y, col = threadIdx.x;
    if (col < width) out[row * width + col] = row * 100.0f + col;
}

extern "C" __global__ void maybe_null(const float* x, float* y, int n) {
    int i = threadIdx.x;
    if (i < n) y[i] = x ? x[i] : -1.0f;
}

template <typename T>
__global__ void add_one(const T* x, T* y, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = x[i] + T(1);
}
"""
EXPRESSIONS = ("add_one<float>", "add_one<double>", "add_one<int>")


@functools.cache
def module():
    """One RawModule holding every test kernel (built once, through the host emulator)."""
    return cp.RawModule(code=KERNELS, options=("-std=c++17",), name_expressions=EXPRESSIONS)
