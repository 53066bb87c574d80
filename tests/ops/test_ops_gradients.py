"""Every differentiable op's gradient against central finite differences in float64."""

from __future__ import annotations

import numpy as np
import pytest
from op_testing import check_gradients, randn

import gpucell as ms
from gpucell import ops


def _pos(*shape):
    return randn(*shape, positive=True)


def _distinct(*shape):
    # Values far apart, so max / min / relu / maximum have no ties or kinks within eps.
    n = int(np.prod(shape))
    return (np.random.default_rng(5).permutation(n) - n / 2 + 0.25).reshape(shape) * 0.3


INDEX = np.array([[2, 0], [2, 1]])

CASES = {
    "add_broadcast": (lambda a, b: a + b, [randn(2, 3), randn(3)]),
    "sub_broadcast": (lambda a, b: a - b, [randn(2, 1, 3), randn(4, 1)]),
    "mul_broadcast": (lambda a, b: a * b, [randn(2, 3), randn(2, 1)]),
    "div": (lambda a, b: a / b, [randn(2, 3), _pos(3)]),
    "pow": (lambda a, b: a ** b, [_pos(2, 3), randn(3)]),
    "pow_scalar": (lambda a: a ** 3, [randn(4)]),
    "scalar_ops": (lambda a: (2.0 - a) * 3 / 4 + 1, [randn(3)]),
    "neg": (ops.neg, [randn(3)]),
    "abs": (ops.abs, [_distinct(5)]),
    "mod": (lambda a, b: ops.mod(a, b), [_pos(4) * 3, _pos(4)]),
    "exp": (ops.exp, [randn(2, 2)]),
    "log": (ops.log, [_pos(3)]),
    "sqrt": (ops.sqrt, [_pos(3)]),
    "rsqrt": (ops.rsqrt, [_pos(3)]),
    "square": (ops.square, [randn(3)]),
    "maximum": (ops.maximum, [_distinct(2, 3), _distinct(3)[::-1].copy()]),
    "minimum": (ops.minimum, [_distinct(2, 3), _distinct(3)[::-1].copy()]),
    "clamp": (lambda a: ops.clamp(a, -0.3, 0.4), [_distinct(6)]),
    "relu": (ops.relu, [_distinct(6)]),
    "sigmoid": (ops.sigmoid, [randn(5)]),
    "tanh": (ops.tanh, [randn(5)]),
    "gelu": (ops.gelu, [randn(5)]),
    "gelu_tanh": (lambda a: ops.gelu(a, "tanh"), [randn(5)]),
    "silu": (ops.silu, [randn(5)]),
    "softmax": (lambda a: ops.softmax(a, 0), [randn(3, 2)]),
    "log_softmax": (lambda a: ops.log_softmax(a, -1), [randn(2, 3)]),
    "sum_axes": (lambda a: ops.sum(a, (0, 2)), [randn(2, 3, 2)]),
    "sum_keep": (lambda a: ops.sum(a, 1, True), [randn(2, 3)]),
    "mean": (lambda a: ops.mean(a, 0), [randn(3, 2)]),
    "mean_all": (lambda a: a.mean(), [randn(3, 2)]),
    "max_axis": (lambda a: ops.max(a, 1)[0], [_distinct(3, 4)]),
    "max_all": (lambda a: ops.max(a)[0], [_distinct(3, 4)]),
    "min_keep": (lambda a: ops.min(a, 0, True)[0], [_distinct(3, 4)]),
    "reshape": (lambda a: ops.reshape(a, (3, 2)), [randn(2, 3)]),
    "transpose": (lambda a: ops.transpose(a, (2, 0, 1)), [randn(2, 3, 2)]),
    "expand_squeeze": (lambda a: ops.squeeze(ops.expand_dims(a, 1), 1), [randn(2, 3)]),
    "broadcast_to": (lambda a: ops.broadcast_to(a, (2, 3, 4)), [randn(3, 1)]),
    "tile": (lambda a: ops.tile(a, (2, 1, 3)), [randn(2, 2)]),
    "concat": (lambda a, b: ops.concat((a, b, a), 1), [randn(2, 1), randn(2, 3)]),
    "stack": (lambda a, b: ops.stack((a, b), -1), [randn(2, 3), randn(2, 3)]),
    "split": (lambda a: ops.split(a, (1, 2), 1), [randn(2, 3)]),
    "gather_repeated": (lambda a: ops.gather(a, ms.Tensor(INDEX, device=a.device), 1), [randn(2, 3)]),
    "getitem_slice": (lambda a: a[1:, ::2], [randn(3, 4)]),
    "getitem_advanced": (lambda a: a[ms.Tensor([0, 2, 0], device=a.device)], [randn(3, 2)]),
    "getitem_mask": (lambda a: a[a > 0], [_distinct(2, 3)]),
    "select": (lambda a, b: ops.select(a > 0, a, b), [_distinct(2, 3), randn(3)]),
    "where_scalar": (lambda a: ops.where(a > 0, a * 2, 0.0), [_distinct(4)]),
    "matmul": (ops.matmul, [randn(2, 3), randn(3, 4)]),
    "matmul_batched_broadcast": (ops.matmul, [randn(2, 2, 3), randn(3, 2)]),
    "matmul_vectors": (ops.matmul, [randn(3), randn(3, 2)]),
    "matmul_matvec": (ops.matmul, [randn(2, 3), randn(3)]),
    "matmul_dot": (ops.matmul, [randn(3), randn(3)]),
    "matmul_transposed": (lambda a, b: ops.MatMul(True, True)(a, b), [randn(3, 2), randn(4, 3)]),
    "bias_add": (ops.bias_add, [randn(2, 3, 2), randn(3)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradient_matches_finite_differences(device, name):
    fn, arrays = CASES[name]
    check_gradients(fn, [a.copy() for a in arrays], device)


def test_cast_gradient_comes_back_in_the_input_dtype(device):
    x = ms.Tensor(np.array([1.0, 2.0]), device=device)
    g = ms.grad(lambda t: (ops.cast(t, ms.float32) * 3).sum())(x)
    assert g.dtype == ms.float64 and g.asnumpy().tolist() == [3.0, 3.0]
    h = ms.grad(lambda t: (t * ms.Tensor([1.0, 2.0], ms.float32, device=device)).sum())(
        ms.Tensor(np.array([1.0, 2.0], np.float16), device=device))
    assert h.dtype == ms.float16 and h.asnumpy().tolist() == [1.0, 2.0]


def test_setitem_gradient(device):
    def fn(a, b):
        y = a * 1.0
        y[0] = b * 2
        return y
    check_gradients(fn, [randn(3, 2), randn(2)], device)


def test_dropout_gradient_uses_the_forward_mask(device):
    x = ms.Tensor(np.ones((2, 6, 2, 2)), device=device)
    (out, mask), g = ms.value_and_grad(lambda t: ops.Dropout2D(0.6)(t))(x)
    np.testing.assert_allclose(g.asnumpy(), mask.asnumpy() / 0.6)
    y, g = ms.value_and_grad(lambda t: ops.dropout(t, p=0.25))(x)
    np.testing.assert_allclose(g.asnumpy(), (y.asnumpy() != 0) / 0.75)
