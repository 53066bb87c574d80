"""Uniform and normal samples from a device-resident Philox [seed, offset]; kernels/random.cu.

Both backends draw the words with the scheme of gpucell/backend/philox.py at offset
``rng_state[1] + base`` (``base``: the counter range the caller reserved, gpucell.random.reserve;
the state is only read). ``uniform``: element ``e`` takes word ``e``, made a uniform in [0, 1) that
is exact in the dtype (11 bits for float16, 24 for float32, 32 for float64), so CPU and GPU agree
bit for bit. ``normal``: element ``e`` takes words ``2e`` and ``2e + 1`` (Box-Muller, in float32 for
float16 and float32, in float64 for float64); the kernel's log / cos / sqrt are CUDA's, so GPU and
CPU agree to a few ulp.
"""

from __future__ import annotations

import numbers

import numpy as np

from gpucell import backend
from gpucell.backend import kernels, philox
from gpucell.backend.kernel_ops._checks import FLOAT_DTYPES, check_array

__all__ = ["uniform", "normal", "counters_needed"]

_FILE = "random.cu"
for _dtype in FLOAT_DTYPES:
    kernels.register(_FILE, f"philox_uniform<{kernels.ctype(_dtype)}>", f"philox_normal<{kernels.ctype(_dtype)}>")

_KINDS = ("uniform", "normal")
_WORDS_PER_ELEMENT = {"uniform": 1, "normal": 2}
# (bits kept of each word, the scale making them a uniform in [0, 1)) per dtype
_UNIT = {np.dtype(np.float16): (21, 2.0 ** -11), np.dtype(np.float32): (8, 2.0 ** -24),
         np.dtype(np.float64): (0, 2.0 ** -32)}
_TWO_PI = 6.28318530717958647692


def counters_needed(kind: str, size: int) -> int:
    """The Philox counters one launch of ``kind`` ('uniform' or 'normal') over ``size`` elements
    consumes (four words a counter)."""
    if kind not in _KINDS:
        raise ValueError(f"For 'Random', the 'kind' must be one of {_KINDS}, but got {kind!r}.")
    return philox.counters_for(_WORDS_PER_ELEMENT[kind] * int(size))


def uniform(shape, dtype, rng_state, base: int = 0):
    """Uniform samples in [0, 1) of ``shape`` and float ``dtype`` on the device of ``rng_state``.

    >>> uniform((3,), np.float32, np.array([7, 0], np.uint64)).tolist()
    [0.9545971155166626, 0.7501521706581116, 0.11417734622955322]
    """
    return _draw("uniform", shape, dtype, rng_state, base)


def normal(shape, dtype, rng_state, base: int = 0):
    """Standard normal samples of ``shape`` and float ``dtype`` on the device of ``rng_state``.

    >>> normal((2,), np.float64, np.array([7, 0], np.uint64)).round(6).tolist()
    [0.000292, 1.788757]
    """
    return _draw("normal", shape, dtype, rng_state, base)


def _check(op: str, shape, dtype, rng_state, base) -> tuple:
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, tuple) or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool)
                                               for s in shape):
        raise TypeError(f"For '{op}', the 'shape' must be a tuple of ints, but got {shape!r}.")
    if any(s < 0 for s in shape):
        raise ValueError(f"For '{op}', the 'shape' must not have negative dims, but got {shape}.")
    dtype = np.dtype(dtype)
    if dtype not in FLOAT_DTYPES:
        raise TypeError(f"For '{op}', the 'dtype' must be one of [{', '.join(map(str, FLOAT_DTYPES))}], but "
                        f"got {dtype}.")
    if isinstance(base, bool) or not isinstance(base, (int, np.integer)) or not 0 <= base < 2**64:
        raise TypeError(f"For '{op}', the 'base' must be an int in [0, 2**64), but got {base!r}.")
    check_array(op, "rng_state", rng_state)
    if rng_state.dtype != np.uint64 or tuple(rng_state.shape) != (2,) or not rng_state.flags.c_contiguous:
        raise TypeError(f"For '{op}', the 'rng_state' must be a contiguous uint64 array [seed, offset] of "
                        f"shape (2,), but got {rng_state.dtype} with shape {tuple(rng_state.shape)}.")
    return tuple(int(s) for s in shape), dtype


def _draw(kind: str, shape, dtype, rng_state, base: int):
    op = "UniformReal" if kind == "uniform" else "StandardNormal"
    shape, dtype = _check(op, shape, dtype, rng_state, base)
    launcher = kernels.launcher_for(rng_state)
    if launcher is None:
        return _reference(kind, shape, dtype, rng_state, base)
    out = kernels.empty(backend.array_module(rng_state), shape, dtype)
    if out.size:
        per_thread = 4 if kind == "uniform" else 2  # elements of one counter group
        grid, block = kernels.grid_1d(launcher, out.size, per_thread=per_thread)
        launcher(_FILE, f"philox_{kind}<{kernels.ctype(dtype)}>", grid, block,
                 (out, np.int64(out.size), rng_state, np.uint64(base)))
    return out


def _unit(words: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Each word as the kernel's exact uniform in [0, 1) of ``dtype`` (float32 math for float16)."""
    shift, scale = _UNIT[dtype]
    if dtype == np.float64:
        return words.astype(np.float64) * scale
    return (words >> np.uint32(shift)).astype(np.float32) * np.float32(scale)


def _reference(kind: str, shape: tuple, dtype: np.dtype, rng_state, base: int) -> np.ndarray:
    size = int(np.prod(shape, dtype=np.int64))
    seed, offset = int(rng_state[0]), (int(rng_state[1]) + int(base)) % (1 << 64)
    words = philox.random_words(seed, offset, _WORDS_PER_ELEMENT[kind] * size)
    if kind == "uniform":
        return _unit(words, dtype).astype(dtype, copy=False).reshape(shape)
    first, second = words[0::2], words[1::2]
    if dtype == np.float64:
        u1 = (first.astype(np.float64) + 1.0) * 2.0 ** -32
        u2 = second.astype(np.float64) * 2.0 ** -32
        z = np.sqrt(-2.0 * np.log(u1)) * np.cos(_TWO_PI * u2)
    else:
        u1 = ((first >> np.uint32(8)) + np.uint32(1)).astype(np.float32) * np.float32(2.0 ** -24)
        u2 = (second >> np.uint32(8)).astype(np.float32) * np.float32(2.0 ** -24)
        z = np.sqrt(np.float32(-2.0) * np.log(u1)) * np.cos(np.float32(_TWO_PI) * u2)
    return z.astype(dtype, copy=False).reshape(shape)
