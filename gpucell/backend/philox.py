"""Philox4x32-10 in NumPy, with the counter scheme of ``kernels/philox.cuh``.

The generator state is a uint64 array ``[seed, offset]``. Random unit ``u`` of a launch takes word
``u % 4`` of ``philox4x32_10(counter=(lo(offset + u // 4), hi(offset + u // 4), 0, 0),
key=(lo(seed), hi(seed)))``; a launch over ``n`` units consumes ``ceil(n / 4)`` counters and the
offset then advances by that much. The kernels do exactly this, so the same state gives the same
bits on CPU and GPU.

>>> hex(int(philox4x32_10(np.zeros((1, 4), np.uint32), 0, 0)[0, 0]))
'0x6627e8d5'
"""

from __future__ import annotations

import numpy as np

__all__ = ["philox4x32_10", "random_words", "counters_for"]

_M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
_W0, _W1 = 0x9E3779B9, 0xBB67AE85
_LOW = np.uint64(0xFFFFFFFF)
_SHIFT = np.uint64(32)


def philox4x32_10(counters: np.ndarray, key0: int, key1: int) -> np.ndarray:
    """Philox4x32 with 10 rounds of each row of ``counters`` (shape ``(n, 4)``, uint32) under the
    key ``(key0, key1)``; returns the ``(n, 4)`` uint32 outputs."""
    # uint64 products of two uint32 give the 32-bit high and low halves exactly.
    c0, c1, c2, c3 = (counters[:, i].astype(np.uint64) for i in range(4))
    k0, k1 = key0 & 0xFFFFFFFF, key1 & 0xFFFFFFFF
    for _ in range(10):
        p0 = c0 * _M0
        p1 = c2 * _M1
        c0, c1, c2, c3 = ((p1 >> _SHIFT) ^ c1 ^ np.uint64(k0), p1 & _LOW,
                          (p0 >> _SHIFT) ^ c3 ^ np.uint64(k1), p0 & _LOW)
        k0, k1 = (k0 + _W0) & 0xFFFFFFFF, (k1 + _W1) & 0xFFFFFFFF
    return np.stack([c0, c1, c2, c3], axis=1).astype(np.uint32)


def counters_for(units: int) -> int:
    """How many Philox counters a launch over ``units`` random units consumes."""
    return -(-units // 4)


def random_words(seed: int, offset: int, units: int) -> np.ndarray:
    """The uint32 word of each of ``units`` random units for generator state ``(seed, offset)``."""
    groups = counters_for(units)
    counter = (np.uint64(offset) + np.arange(groups, dtype=np.uint64))  # wraps modulo 2^64
    counters = np.zeros((groups, 4), np.uint32)
    counters[:, 0] = (counter & _LOW).astype(np.uint32)
    counters[:, 1] = (counter >> _SHIFT).astype(np.uint32)
    seed = int(seed)
    words = philox4x32_10(counters, seed & 0xFFFFFFFF, seed >> 32)
    return words.reshape(-1)[:units]
