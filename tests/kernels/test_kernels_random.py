"""philox_uniform and philox_normal: the kernel (emulated, and on the GPU) against the NumPy
reference for the same [seed, offset] and base: uniforms bit for bit, normals to a few ulp (CUDA's
log / cos / sqrt); the state is only read; the reference against plain float64 formulas."""

from __future__ import annotations

import numpy as np
import pytest
from kernel_testing import assert_close, assert_same

from gpucell.backend import philox
from gpucell.backend.kernel_ops import normal, random_counters, uniform
from gpucell.backend.kernel_ops._checks import FLOAT_DTYPES

# Tails: sizes that are not a multiple of a counter group (4 uniforms, 2 normals) or of a block.
SHAPES = [(0,), (1,), (3,), (5,), (2, 3, 7), (1031,), (4097,)]
NORMAL_RTOL = {np.dtype(np.float16): 1e-3, np.dtype(np.float32): 2e-6, np.dtype(np.float64): 1e-14}


def _state(seed, offset):
    return np.array([seed, offset], np.uint64)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
def test_uniform_is_bit_identical(run, dtype):
    shapes = SHAPES + ([(1 << 20) + 3] if run.name == "gpu" else [])
    for i, shape in enumerate(shapes):
        state = _state(1234 + i, 77 * i)
        expected = uniform(shape, dtype, state.copy(), 13 * i)
        assert_same(expected, run(uniform, shape, dtype, state, 13 * i))
        assert_same(_state(1234 + i, 77 * i), state)  # read, never written


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
def test_normal_matches_the_reference(run, dtype):
    shapes = SHAPES + ([(1 << 20) + 1] if run.name == "gpu" else [])
    for i, shape in enumerate(shapes):
        state = _state(99 + i, 5 * i)
        expected = normal(shape, dtype, state.copy(), 3 * i)
        assert_close(expected, run(normal, shape, dtype, state, 3 * i), rtol=NORMAL_RTOL[np.dtype(dtype)],
                     atol=NORMAL_RTOL[np.dtype(dtype)])
        assert_same(_state(99 + i, 5 * i), state)


def test_offset_near_wraparound_and_large_seed(run):
    for seed, offset, base in (((1 << 64) - 3, (1 << 64) - 5, 0), (7, (1 << 64) - 2, 9)):
        state = _state(seed, offset)
        assert_same(uniform((10,), np.float32, state.copy(), base), run(uniform, (10,), np.float32, state, base))


def test_the_reference_follows_the_word_scheme():
    """Element e of a uniform takes word e; of a normal, words 2e and 2e + 1 (Box-Muller)."""
    words = philox.random_words(42, 10 + 6, 8)
    u = uniform((8,), np.float64, _state(42, 10), 6)
    np.testing.assert_array_equal(u, words.astype(np.float64) / 2**32)
    u32 = uniform((8,), np.float32, _state(42, 10), 6)
    np.testing.assert_array_equal(u32, (words >> 8).astype(np.float64) / 2**24)
    u16 = uniform((8,), np.float16, _state(42, 10), 6)
    np.testing.assert_array_equal(u16, (words >> 21).astype(np.float64) / 2**11)
    z = normal((4,), np.float64, _state(42, 10), 6)
    u1, u2 = (words[0::2].astype(np.float64) + 1) / 2**32, words[1::2].astype(np.float64) / 2**32
    np.testing.assert_allclose(z, np.sqrt(-2 * np.log(u1)) * np.cos(2 * np.pi * u2), rtol=1e-15)


def test_counters_and_statistics():
    assert random_counters("uniform", 9) == 3 and random_counters("normal", 9) == 5
    assert random_counters("uniform", 0) == 0
    state = _state(3, 0)
    u = uniform((1 << 16,), np.float32, state)
    assert 0.0 <= u.min() and u.max() < 1.0 and abs(u.mean() - 0.5) < 0.01
    assert uniform((1 << 16,), np.float16, state).max() < 1.0  # exact in float16: never rounds to 1
    z = normal((1 << 16,), np.float32, state)
    assert abs(z.mean()) < 0.02 and abs(z.std() - 1) < 0.02 and np.isfinite(z).all()
    # Disjoint bases give fresh numbers; base b is the offset moved by b.
    assert not np.array_equal(uniform((8,), np.float32, state, 0), uniform((8,), np.float32, state, 2))
    assert_same(uniform((8,), np.float32, state, 2), uniform((8,), np.float32, _state(3, 2), 0))


def test_bad_arguments_are_refused():
    state = _state(1, 0)
    with pytest.raises(TypeError, match=r"For 'UniformReal', the 'dtype' must be one of"):
        uniform((2,), np.int32, state)
    with pytest.raises(ValueError, match=r"For 'StandardNormal', the 'shape' must not have negative dims"):
        normal((2, -1), np.float32, state)
    with pytest.raises(TypeError, match=r"For 'StandardNormal', the 'shape' must be a tuple of ints"):
        normal((2.5,), np.float32, state)
    with pytest.raises(TypeError, match=r"the 'base' must be an int in \[0, 2\*\*64\)"):
        uniform((2,), np.float32, state, -1)
    with pytest.raises(TypeError, match=r"the 'rng_state' must be a contiguous uint64 array"):
        uniform((2,), np.float32, np.array([1, 0], np.int64))
    with pytest.raises(ValueError, match=r"the 'kind' must be one of"):
        random_counters("gamma", 3)
