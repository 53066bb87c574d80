"""Helpers shared by the jit tests."""

from __future__ import annotations

import numpy as np

import gpucell as ms


def assert_same(got, want, device: str) -> None:
    """A replay against eager: bit for bit on the CPU, within float tolerance on the GPU (where
    kernels may order sums differently)."""
    if device == "CPU":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def forked(x):
    """x * 2 on a side stream while x + 1 runs on the call's stream, joined before the product."""
    main = ms.current_stream()
    side = ms.Stream()
    side.wait_event(main.record())
    with side:
        b = x * 2
    done = side.record()
    a = x + 1
    main.wait_event(done)
    return a * b
