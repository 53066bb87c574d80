"""In-place writes inside a gradient transform: correct gradients or a clear error, never silently
wrong gradients."""

from __future__ import annotations

import numpy as np
import pytest

import gpucell as ms
from gpucell import ops


def T(values, device):
    return ms.Tensor(np.asarray(values), ms.float32, device=device)


def test_writing_a_buffer_a_node_saved_raises(device):
    def fn(x):
        y = ops.exp(x)  # saves y for its backward
        y[0] = 0.0
        return y.sum()

    with pytest.raises(RuntimeError, match=r"For 'Setitem', .* was saved by 'Exp' for the backward pass"):
        ms.grad(fn)(T([1.0, 2.0], device))


def test_assign_into_a_saved_parameter_raises(device):
    w = ms.Parameter(T([1.0, 2.0], device), name="w", requires_grad=False)

    def fn(x):
        out = x * w  # Mul saves w
        ops.assign(w, T([5.0, 5.0], device))
        return out.sum()

    with pytest.raises(RuntimeError, match="For 'Assign', .* was saved by 'Mul'"):
        ms.grad(fn)(T([1.0, 1.0], device))
    assert w.asnumpy().tolist() == [1.0, 2.0]  # refused before writing


def test_writing_a_differentiated_leaf_raises(device):
    w = ms.Parameter(T([1.0], device), name="w")

    def fn(x):
        w[0] = 3.0
        return (x * w).sum()

    with pytest.raises(RuntimeError, match="the gradient is taken with respect to"):
        ms.grad(fn, None, [w])(T([1.0], device))


def test_writes_that_do_not_touch_saved_buffers_give_correct_gradients(device):
    def fn(x, v):
        y = x * 2.0  # Mul saves x and 2.0, not y
        y[1:] = v * v
        return (y * T([1.0, 10.0, 100.0], device)).sum()

    gx, gv = ms.grad(fn, (0, 1))(T([1.0, 2.0, 3.0], device), T([4.0, 5.0], device))
    assert gx.asnumpy().tolist() == [2.0, 0.0, 0.0]
    assert gv.asnumpy().tolist() == [80.0, 1000.0]


def test_in_place_updates_outside_transforms_are_free(device):
    w = ms.Parameter(T([1.0, 2.0], device), name="w")
    g = ms.grad(lambda x: (x * w).sum(), None, [w])(T([3.0, 4.0], device))
    ops.assign_sub(w, g[0] * 0.1)  # an optimizer step after the gradient
    np.testing.assert_allclose(w.asnumpy(), [0.7, 1.6], rtol=1e-6)
