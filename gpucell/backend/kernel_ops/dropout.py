"""dropout and dropout2d: Philox masks from a device-resident [seed, offset]; kernels/dropout.cu.

Each unit (an element for ``dropout``, an ``(n, c)`` channel for ``dropout2d``) is kept when the
top 24 bits of its Philox word, as a uniform in [0, 1), are below ``keep_prob``; kept elements are
scaled by ``1 / keep_prob``. Both backends draw the words with the scheme of
gpucell/backend/philox.py at offset ``rng_state[1] + base``, where ``base`` is the counter range
the caller reserved for this launch (gpucell.random.reserve); the state is only read, so launches
on several streams never race on it. One (state, base) gives one mask on CPU and GPU. A
non-contiguous ``x`` is copied to a contiguous one first.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from gpucell import backend
from gpucell.backend import kernels, philox
from gpucell.backend.kernel_ops._checks import (
    FLOAT_DTYPES,
    acc_dtype,
    check_array,
    check_arrays,
    check_same_device,
)

__all__ = ["dropout", "dropout2d", "keep_threshold", "check_keep_prob", "counters_needed", "set_state"]

_FILE = "dropout.cu"
_PER_THREAD = 4  # GC_DROPOUT_ELEMENTS_PER_THREAD
for _dtype in FLOAT_DTYPES:
    kernels.register(_FILE, f"dropout<{kernels.ctype(_dtype)}>")
kernels.register(_FILE, "philox_set")


def keep_threshold(keep_prob: float) -> int:
    """Units whose word >> 8 is below this are kept: ceil(keep_prob * 2^24), exact in float64."""
    return math.ceil(keep_prob * (1 << 24))


def counters_needed(shape: tuple, per_channel: bool) -> int:
    """The Philox counters one launch over ``shape`` consumes: a word per element, or per
    ``(n, c)`` channel of an (N, C, H, W) shape for dropout2d (4 words a counter)."""
    units = int(np.prod(shape[:2] if per_channel else shape, dtype=np.int64))
    return philox.counters_for(units)


def dropout2d(x, keep_prob: float, rng_state, base: int = 0):
    """Zeroes whole channels of an ``(N, C, H, W)`` array, each kept with ``keep_prob``.

    Returns ``(out, mask)``: ``out = x * mask / keep_prob`` and the bool ``mask`` of x's shape.
    Reads ``rng_state`` (uint64 ``[seed, offset]`` on x's device) and draws counters
    ``offset + base`` to ``offset + base + ceil(N * C / 4)``.

    >>> out, mask = dropout2d(np.ones((1, 2, 1, 1), np.float32), 0.5, np.array([3, 0], np.uint64))
    >>> mask.ravel().tolist(), out.ravel().tolist()
    ([False, True], [0.0, 2.0])
    """
    _check("Dropout2D", x, keep_prob, rng_state, base)
    if x.ndim != 4:
        raise ValueError(f"For 'Dropout2D', the dimension of 'x' must be 4 (N, C, H, W), but got {x.ndim} "
                         f"(shape {tuple(x.shape)}).")
    return _dropout(x, keep_prob, rng_state, base, unit_size=x.shape[2] * x.shape[3])


def dropout(x, keep_prob: float, rng_state, base: int = 0):
    """Zeroes each element of ``x`` independently, keeping it with ``keep_prob``.

    Returns ``(out, mask)`` as :func:`dropout2d`; draws ``ceil(x.size / 4)`` counters.
    """
    _check("Dropout", x, keep_prob, rng_state, base)
    return _dropout(x, keep_prob, rng_state, base, unit_size=1)


def set_state(rng_state, seed: int, offset: int) -> None:
    """``rng_state[...] = [seed, offset]`` by a kernel on the current stream (no host copy, so
    it may run between graph launches on any stream), or in place on the CPU."""
    launcher = kernels.launcher_for(rng_state)
    if launcher is None:
        rng_state[0], rng_state[1] = seed, offset
        return
    launcher(_FILE, "philox_set", (1, 1, 1), (1, 1, 1), (rng_state, np.uint64(seed), np.uint64(offset)))


def check_keep_prob(op: str, keep_prob, name: str = "keep_prob") -> float:
    """``keep_prob`` as a float in [0, 1], else the TypeError / ValueError naming ``op`` and ``name``."""
    if isinstance(keep_prob, (bool, np.bool_)) or not isinstance(keep_prob, numbers.Real):
        raise TypeError(f"For '{op}', the '{name}' must be a float, but got {keep_prob!r} "
                        f"with type '{type(keep_prob).__name__}'.")
    if not 0.0 <= keep_prob <= 1.0:
        raise ValueError(f"For '{op}', the '{name}' must be in range of [0.0, 1.0], but got {keep_prob} "
                         f"with type '{type(keep_prob).__name__}'.")
    return float(keep_prob)


def _check(op: str, x, keep_prob, rng_state, base) -> None:
    check_arrays(op, FLOAT_DTYPES, x=x)
    if isinstance(base, bool) or not isinstance(base, (int, np.integer)) or not 0 <= base < 2**64:
        raise TypeError(f"For '{op}', the 'base' must be an int in [0, 2**64), but got {base!r}.")
    check_keep_prob(op, keep_prob)
    check_array(op, "rng_state", rng_state)
    check_same_device(op, x=x, rng_state=rng_state)
    if rng_state.dtype != np.uint64 or tuple(rng_state.shape) != (2,) or not rng_state.flags.c_contiguous:
        raise TypeError(f"For '{op}', the 'rng_state' must be a contiguous uint64 array [seed, offset] of "
                        f"shape (2,), but got {rng_state.dtype} with shape {tuple(rng_state.shape)}.")


def _dropout(x, keep_prob: float, rng_state, base: int, unit_size: int):
    units = x.size // unit_size if x.size else 0
    threshold = keep_threshold(keep_prob)
    acc = acc_dtype(x.dtype)
    scale = acc.type(1.0 / keep_prob if keep_prob > 0 else 0.0)
    launcher = kernels.launcher_for(x)
    if launcher is None:
        return _reference(x, rng_state, base, unit_size, units, threshold, scale)
    xp = backend.array_module(x)
    x = xp.ascontiguousarray(x)
    out = kernels.empty(xp, x.shape, x.dtype)
    mask = kernels.empty(xp, x.shape, np.bool_)
    if x.size:
        grid, block = kernels.grid_1d(launcher, x.size, per_thread=_PER_THREAD)
        launcher(_FILE, f"dropout<{kernels.ctype(x.dtype)}>", grid, block,
                 (x, out, mask, np.int64(x.size), np.int64(unit_size), rng_state, np.uint64(base),
                  np.uint32(threshold), scale))
    return out, mask


def _reference(x, rng_state, base, unit_size, units, threshold, scale):
    seed, offset = int(rng_state[0]), (int(rng_state[1]) + int(base)) % (1 << 64)
    keep = (philox.random_words(seed, offset, units) >> 8) < threshold
    mask = np.repeat(keep, unit_size).reshape(x.shape)
    out = np.where(mask, x.astype(scale.dtype) * scale, scale.dtype.type(0)).astype(x.dtype)
    return out, mask
