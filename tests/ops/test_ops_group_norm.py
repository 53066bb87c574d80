"""ops.group_norm, MindSpore's functional GroupNorm: forward against NumPy, gradients, errors."""

import numpy as np
import pytest

import gpucell as ms
from gpucell import ops
from tests.nn.nn_testing import gradcheck, on


def _reference(x, groups, weight, bias, eps):
    n, c = x.shape[:2]
    g = x.reshape(n, groups, -1)
    y = ((g - g.mean(2, keepdims=True)) / np.sqrt(g.var(2, keepdims=True) + eps)).reshape(x.shape)
    channel = (1, c) + (1,) * (x.ndim - 2)
    if weight is not None:
        y = y * weight.reshape(channel)
    return y if bias is None else y + bias.reshape(channel)


@pytest.mark.parametrize("affine", [False, True])
def test_group_norm_matches_numpy(device, affine):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 6, 4, 5))
    weight, bias = (rng.standard_normal(6), rng.standard_normal(6)) if affine else (None, None)
    args = [on(device, a) if a is not None else None for a in (weight, bias)]
    got = ops.group_norm(on(device, x), 3, *args, eps=1e-4)
    np.testing.assert_allclose(got.asnumpy(), _reference(x, 3, weight, bias, 1e-4), rtol=1e-10, atol=1e-10)
    gradcheck(lambda x, w, b: ops.group_norm(x, 3, w, b), x[:2, :, :2, :2], rng.standard_normal(6),
              rng.standard_normal(6), positions=(0, 1, 2), device=device)


def test_group_norm_errors():
    x = ms.Tensor(np.ones((2, 4, 3), np.float32))
    with pytest.raises(TypeError, match="'group_norm', the 'num_groups' must be an int"):
        ops.group_norm(x, 2.0)
    with pytest.raises(ValueError, match="'num_groups' must be a positive int"):
        ops.group_norm(x, 0)
    with pytest.raises(ValueError, match="divisible by num_groups 3"):
        ops.group_norm(x, 3)
