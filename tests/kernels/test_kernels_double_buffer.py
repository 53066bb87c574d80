"""The emulator catches the two classic double-buffer bugs in the real fast matmul kernels, which on
a GPU give wrong numbers only now and then (a timing race), so a GPU test run could miss them too.

Each kernel (matmul_tc.cu on float16 / TF32, matmul_simt.cu on float32) is rebuilt with one line
changed and must then fail: no barrier after the multiply, so a warp restages the buffer another
warp is still reading; or a wait for one group fewer, so slice t is read before its cp.async
copies land. The emulator shows both because a cp.async poisons its destination when issued (it
lands when waited for) and a warp released from a warp operation runs on ahead of the others
(cuda_emulator.h). The unchanged kernels pass the same inputs (and test_kernels_matmul_fast.py).
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from kernel_testing import assert_within, sum_error_bound

import gpucell.backend.kernel_ops  # noqa: F401 - registers every instantiation
from gpucell.backend import kernels
from gpucell.backend.emulator import Emulator, EmulatorError
from gpucell.backend.kernel_ops import matmul_bias

matmul = importlib.import_module("gpucell.backend.kernel_ops.matmul")
FILES = ("matmul_tc.cu", "matmul_simt.cu")
BARRIER = "__syncthreads();  // slice t is read: the next iteration may stage into its buffer"
WAIT = "__pipeline_wait_prior(1);"
MUTATIONS = {"no_barrier_after_the_multiply": (BARRIER, ""),
             "read_before_the_wait": (WAIT, "__pipeline_wait_prior(2);")}
# (dtype, allow_tf32): float16 and TF32 on the tensor cores, float32 on the CUDA cores.
KERNELS = {"float16": (np.float16, True), "tf32": (np.float32, True), "float32": (np.float32, False)}


@pytest.fixture(scope="module")
def mutated(emulator_cache):
    """{mutation: Emulator} of the two fast matmul files with that one line changed."""
    emulators = {}
    for name, (old, new) in MUTATIONS.items():
        sources = {}
        for filename in FILES:
            text = kernels.source(filename)
            assert text.count(old) == 1, f"kernels/{filename} no longer has {old!r}: update this test"
            sources[filename] = (text.replace(old, new), kernels.name_expressions(filename))
        emulators[name] = Emulator(emulator_cache, sources)
    return emulators


def _product(emulator, kernel, monkeypatch):
    """Dense's x @ W.T (the cp.async staging path), 64 x 256 -> 64: several K slices per block."""
    dtype, allow_tf32 = KERNELS[kernel]
    monkeypatch.setattr(matmul, "_allow_tf32", allow_tf32)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 256)).astype(dtype)
    w = rng.standard_normal((64, 256)).astype(dtype)
    with kernels.emulate_numpy(emulator), kernels.poison_outputs():
        out = matmul_bias(x, w, transpose_b=True)
    family = "matmul_simt" if kernel == "float32" else "matmul_tc"
    assert any(e.startswith(family) for e, _, _ in emulator.launches), emulator.launches
    return x, w, out


@pytest.mark.parametrize("kernel", list(KERNELS))
def test_unchanged_kernels_pass(emulator, kernel, monkeypatch):
    x, w, out = _product(emulator, kernel, monkeypatch)
    magnitude = np.abs(x.astype(np.float64)) @ np.abs(w.astype(np.float64)).T
    bound = sum_error_bound(magnitude, x.shape[1], np.float32)
    if kernel == "tf32":  # inputs rounded to 10 mantissa bits
        bound = bound + 2 * 2.0 ** -11 * magnitude
    if x.dtype == np.float16:  # plus the output's rounding
        bound = bound + magnitude * 2.0 ** -11
    assert_within((x.astype(np.float64) @ w.astype(np.float64).T).astype(x.dtype), out, bound)


@pytest.mark.parametrize("kernel", list(KERNELS))
@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_mutated_kernels_fail(mutated, mutation, kernel, monkeypatch):
    try:
        x, w, out = _product(mutated[mutation], kernel, monkeypatch)
    except EmulatorError:
        return  # a launch error is as good as wrong numbers
    assert np.isnan(out).any(), "the race went unseen: the emulator no longer exposes it"
