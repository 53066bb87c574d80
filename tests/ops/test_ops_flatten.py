"""ops.flatten keeps the batch dim by default (MindSpore 2.x: start_dim=1), Tensor.flatten flattens
everything (start_dim=0); 0-d and 1-d inputs give 1-d results; order='F'; errors; gradients."""

from __future__ import annotations

import numpy as np
import pytest
from op_testing import check_gradients, randn

import gpucell as ms
from gpucell import nn, ops


def T(values, device):
    return ms.Tensor(np.asarray(values), device=device)


def test_ops_flatten_keeps_the_batch_dim_by_default(device):
    """Regression (issue 13): ops.flatten used start_dim=0 and flattened the batch dim away."""
    x = T(np.arange(24.0).reshape(2, 3, 4), device)
    out = ops.flatten(x)
    assert out.shape == (2, 12)
    np.testing.assert_array_equal(out.asnumpy(), np.arange(24.0).reshape(2, 12))
    assert ops.flatten(T(np.ones((1, 2, 3, 4)), device)).shape == (1, 24)  # MindSpore's own example


def test_tensor_flatten_flattens_everything_by_default(device):
    x = T(np.arange(24.0).reshape(2, 3, 4), device)
    assert x.flatten().shape == (24,)
    assert x.flatten(start_dim=1).shape == (2, 12)
    assert ops.flatten(x, start_dim=0).shape == (24,)


@pytest.mark.parametrize("shape, start, end, expected", [
    ((2, 3, 4, 5), 1, 2, (2, 12, 5)), ((2, 3, 4, 5), -3, -1, (2, 60)), ((2, 3, 4), 0, 1, (6, 4)),
    ((2, 3, 4), 1, 1, (2, 3, 4)), ((2, 0, 3), 1, -1, (2, 0)),
])
def test_start_and_end_dims(device, shape, start, end, expected):
    x = T(np.zeros(shape), device)
    assert ops.flatten(x, start_dim=start, end_dim=end).shape == expected


def test_zero_and_one_dim_inputs_give_one_dim(device):
    for value in (np.float32(3.0), np.arange(4.0)):
        x = T(value, device)
        for out in (ops.flatten(x), x.flatten(), ops.flatten(x, start_dim=0), ops.flatten(x, "F")):
            assert out.ndim == 1 and out.asnumpy().tolist() == np.ravel(value).tolist()


def test_fortran_order(device):
    a = np.arange(24.0).reshape(2, 3, 4)
    x = T(a, device)
    np.testing.assert_array_equal(x.flatten("F").asnumpy(), a.ravel(order="F"))
    # MindSpore reverses the dims first, then flattens from start_dim: (4, 3, 2) -> (4, 6).
    np.testing.assert_array_equal(ops.flatten(x, "F").asnumpy(), a.transpose(2, 1, 0).reshape(4, 6))


def test_nn_flatten_keeps_its_own_defaults(device):
    x = T(np.zeros((2, 3, 4, 5)), device)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)


def test_errors(device):
    x = T(np.zeros((2, 3)), device)
    with pytest.raises(TypeError, match="For 'flatten', the 'input' must be a Tensor, but got list"):
        ops.flatten([1, 2])
    with pytest.raises(ValueError, match=r"For 'flatten', the 'order' must be 'C' or 'F', but got 'A'"):
        ops.flatten(x, "A")
    with pytest.raises(TypeError, match="For 'flatten', the 'order' must be a str, but got 1"):
        ops.flatten(x, 1)
    with pytest.raises(TypeError, match="For 'flatten', the 'start_dim' must be an int, but got 1.0"):
        ops.flatten(x, start_dim=1.0)
    with pytest.raises(ValueError, match=r"For 'flatten', the 'end_dim' must be in range \[-2, 2\), but got 2"):
        ops.flatten(x, start_dim=0, end_dim=2)
    with pytest.raises(ValueError, match="'start_dim' 1 must not come after 'end_dim' 0"):
        ops.flatten(x, start_dim=1, end_dim=0)
    with pytest.raises(TypeError):
        ops.flatten(x, "C", 0)  # start_dim is keyword-only, as in MindSpore


def test_gradient(device):
    check_gradients(lambda a: ops.flatten(a), [randn(2, 3, 2)], device)
    check_gradients(lambda a: a.flatten("F"), [randn(2, 3)], device)
