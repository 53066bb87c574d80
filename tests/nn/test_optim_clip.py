"""ops.clip_by_global_norm: values against NumPy, no change under the bound, gradients, errors."""

from __future__ import annotations

import numpy as np
import pytest

import gpucell as ms
from gpucell import Tensor, ops


def arrays(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(np.float32) for s in ((3, 4), (5,), ())]


def reference(xs, clip_norm):
    norm = np.sqrt(sum(float((x.astype(np.float64) ** 2).sum()) for x in xs))
    return [x * clip_norm / max(norm, clip_norm) for x in xs], norm


@pytest.mark.parametrize("clip_norm", [0.5, 1.0, 100.0])
def test_clip_by_global_norm_matches_numpy(device, clip_norm):
    xs = arrays()
    out = ops.clip_by_global_norm(tuple(Tensor(x, device=device) for x in xs), clip_norm)
    expected, norm = reference(xs, clip_norm)
    assert isinstance(out, tuple) and len(out) == 3
    for o, e in zip(out, expected):
        assert o.device == device and o.dtype == ms.float32
        np.testing.assert_allclose(o.asnumpy(), e, rtol=1e-5, atol=1e-7)
    clipped = np.sqrt(sum(float((o.asnumpy().astype(np.float64) ** 2).sum()) for o in out))
    assert clipped == pytest.approx(min(norm, clip_norm), rel=1e-5)


def test_a_tensor_clip_norm_and_a_list_input():
    xs = arrays(1)
    out = ops.clip_by_global_norm([Tensor(x) for x in xs], Tensor(0.25, ms.float32))
    for o, e in zip(out, reference(xs, 0.25)[0]):
        np.testing.assert_allclose(o.asnumpy(), e, rtol=1e-5, atol=1e-7)


def test_clip_by_global_norm_differentiates():
    # d/dx sum(x / |x|) for |x| > clip_norm = 1: 1/|x| - x * sum(x) / |x|^3
    x = np.array([3.0, 4.0], np.float32)
    g = ms.grad(lambda t: ops.clip_by_global_norm((t,), 1.0)[0].sum())(Tensor(x))
    np.testing.assert_allclose(g.asnumpy(), 1 / 5 - x * 7 / 125, rtol=1e-5)


def test_clip_by_global_norm_errors():
    t = Tensor(np.ones(2, np.float32))
    with pytest.raises(ValueError, match="'use_norm' must be None"):
        ops.clip_by_global_norm((t,), 1.0, use_norm=Tensor(1.0))
    with pytest.raises(ValueError, match="'clip_norm' must be > 0, but got 0"):
        ops.clip_by_global_norm((t,), 0)
    with pytest.raises(TypeError, match="element 1 is ndarray"):
        ops.clip_by_global_norm((t, np.ones(2)), 1.0)
    with pytest.raises(TypeError, match="must be a float Tensor, but element 0 is Int64"):
        ops.clip_by_global_norm((Tensor([1, 2]),), 1.0)
