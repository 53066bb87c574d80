"""AdaptiveMaxPool2d, AdaptiveMaxPool1d, AdaptiveAvgPool1d and their ops: float64 NumPy references
over MindSpore's bins (floor(i * n / m), ceil((i + 1) * n / m)), the Int64 argmax, ties and NaN,
finite-difference gradients, a jitted training step (captured whole on the simulated GPU) and
MindSpore-style errors."""

from __future__ import annotations

import numpy as np
import pytest
from nn_testing import cell_on, check_jitted_training, gradcheck, host, on

import gpucell as ms
from gpucell import Tensor, nn, ops

RNG = np.random.default_rng(31)


def _bins(n, m):
    return [((i * n) // m, -(-((i + 1) * n) // m)) for i in range(m)]


def reference_adaptive_max(x, out_hw):
    """(max, flat index of the first maximum in row-major order) over the trailing two dims."""
    h, w = x.shape[-2:]
    out = np.zeros(x.shape[:-2] + tuple(out_hw))
    index = np.zeros(out.shape, np.int64)
    for i, (r0, r1) in enumerate(_bins(h, out_hw[0])):
        for j, (c0, c1) in enumerate(_bins(w, out_hw[1])):
            window = x[..., r0:r1, c0:c1].reshape(x.shape[:-2] + (-1,))
            first = window.argmax(-1)  # NumPy: the first maximum, or the first NaN
            out[..., i, j] = np.take_along_axis(window, first[..., None], -1)[..., 0]
            index[..., i, j] = (r0 + first // (c1 - c0)) * w + c0 + first % (c1 - c0)
    return out, index


def reference_adaptive_avg1d(x, m):
    return np.stack([x[..., a:b].mean(-1) for a, b in _bins(x.shape[-1], m)], axis=-1)


def _distinct(shape):
    """Values at least 0.05 apart: no ties, so finite differences see one maximum per window."""
    n = int(np.prod(shape))
    return (RNG.permutation(n) * 0.05 + RNG.uniform(-0.01, 0.01, n)).reshape(shape)


# -- AdaptiveMaxPool2d ----------------------------------------------------------------------------
@pytest.mark.parametrize("shape, size, out_hw", [
    ((2, 3, 7, 5), (3, 2), (3, 2)),       # uneven, overlapping windows
    ((3, 5, 4), (None, 3), (5, 3)),       # unbatched; None keeps H
    ((1, 2, 4, 3), (6, 5), (6, 5)),       # larger than the input: elements picked more than once
    ((2, 2, 6, 6), 1, (1, 1)),            # global
    ((1, 1, 8, 6), (4, 3), (4, 3)),       # even windows (stride = kernel)
], ids=["uneven", "unbatched_none", "upsample", "global", "even"])
def test_adaptive_max_pool2d(device, shape, size, out_hw):
    x = _distinct(shape)
    want, want_index = reference_adaptive_max(x, out_hw)
    out, index = nn.AdaptiveMaxPool2d(size, return_indices=True)(on(device, x))
    assert out.shape == want.shape and index.dtype == ms.int64 and out.dtype == ms.float64
    np.testing.assert_array_equal(host(out), want)
    np.testing.assert_array_equal(host(index), want_index)
    np.testing.assert_array_equal(host(ops.adaptive_max_pool2d(on(device, x), size)), want)
    gradcheck(lambda t: ops.adaptive_max_pool2d(t, size), x, device=device)


def test_gradient_goes_to_each_argmax_and_adds_up(device):
    x = _distinct((1, 1, 3, 3))
    g = RNG.standard_normal((1, 1, 5, 4))
    _, index = reference_adaptive_max(x, (5, 4))
    want = np.zeros(9)
    np.add.at(want, index.ravel(), g.ravel())  # windows overlap: one element can win several
    got = ms.grad(lambda t: ops.sum(ops.adaptive_max_pool2d(t, (5, 4)) * on(device, g)))(on(device, x))
    np.testing.assert_allclose(host(got).ravel(), want, rtol=1e-12)
    assert np.count_nonzero(want) < 9  # some elements won no window


def test_mindspore_examples(device):
    x = on(device, np.tile(np.arange(1.0, 10.0, dtype=np.float32).reshape(1, 1, 3, 3), (1, 3, 1, 1)))
    cases = {(None, 2): [[2, 3], [5, 6], [8, 9]], 2: [[5, 6], [8, 9]], (1, 2): [[8, 9]]}
    for size, want in cases.items():
        got = nn.AdaptiveMaxPool2d(size)(x)
        np.testing.assert_array_equal(host(got), np.broadcast_to(np.array(want, np.float32), (1, 3) + np.shape(want)))
    np.testing.assert_array_equal(host(nn.AdaptiveMaxPool1d(3)(on(device, np.array([[[2.0, 1, 2], [2, 3, 5]]])))),
                                  [[[2, 1, 2], [2, 3, 5]]])


def test_ties_keep_the_first_maximum_and_nan_wins(device):
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 1, 3] = x[0, 0, 3, 0] = 1.0  # two maxima in the one global window
    out, index = ops.adaptive_max_pool2d(on(device, x), 1, True)
    assert host(out).item() == 1.0 and host(index).item() == 7  # row-major: (1, 3) before (3, 0)
    g = ms.grad(lambda t: ops.sum(ops.adaptive_max_pool2d(t, 1)))(on(device, x))
    assert host(g).ravel().tolist() == [0.0] * 7 + [1.0] + [0.0] * 8
    _, index = ops.adaptive_max_pool2d(on(device, np.zeros((1, 2, 3))), (1, 2), True)
    assert host(index).tolist() == [[[0, 1]]]  # all equal: each window's first element
    x[0, 0, 2, 2] = x[0, 0, 3, 3] = np.nan
    out, index = ops.adaptive_max_pool2d(on(device, x), 1, True)
    assert np.isnan(host(out).item()) and host(index).item() == 10  # the first NaN


# -- AdaptiveMaxPool1d / AdaptiveAvgPool1d --------------------------------------------------------
@pytest.mark.parametrize("shape, size", [((2, 3, 7), 3), ((4, 6), 3), ((1, 2, 3), 5), ((2, 2, 9), 1)],
                         ids=["uneven", "unbatched_even", "upsample", "global"])
def test_adaptive_pools_1d(device, shape, size):
    x = _distinct(shape)
    want, want_index = reference_adaptive_max(x[..., None, :], (1, size))
    out, index = nn.AdaptiveMaxPool1d(size, return_indices=True)(on(device, x))
    assert out.shape == shape[:-1] + (size,) and index.dtype == ms.int64
    np.testing.assert_array_equal(host(out), want[..., 0, :])
    np.testing.assert_array_equal(host(index), want_index[..., 0, :])  # positions along L
    np.testing.assert_array_equal(host(ops.adaptive_max_pool1d(on(device, x), size)), want[..., 0, :])
    gradcheck(lambda t: ops.adaptive_max_pool1d(t, size), x, device=device)
    got = nn.AdaptiveAvgPool1d(size)(on(device, x))
    np.testing.assert_allclose(host(got), reference_adaptive_avg1d(x, size), rtol=1e-12, atol=1e-12)
    gradcheck(lambda t: ops.adaptive_avg_pool1d(t, size), x, device=device)


def test_float32_and_float16(device):
    x = _distinct((2, 3, 10)).astype(np.float32)
    np.testing.assert_allclose(host(ops.adaptive_avg_pool1d(on(device, x), 4)), reference_adaptive_avg1d(x, 4),
                               rtol=1e-6)
    half = on(device, x.astype(np.float16))
    out = ops.adaptive_max_pool1d(half, 4)
    assert out.dtype == ms.float16
    want, _ = reference_adaptive_max(x.astype(np.float16)[..., None, :], (1, 4))
    np.testing.assert_array_equal(host(out), want[..., 0, :].astype(np.float16))


# -- jit ------------------------------------------------------------------------------------------
class _Pools(nn.Cell):
    """A Dense over W, then the three pools side by side, then a Dense head."""

    def __init__(self):
        super().__init__()
        self.dense = nn.Dense(5, 5)
        self.max2d = nn.AdaptiveMaxPool2d((2, None))
        self.max1d = nn.AdaptiveMaxPool1d(4)
        self.avg1d = nn.AdaptiveAvgPool1d(3)
        self.head = nn.Dense(2 * 2 * 5 + 2 * 4 + 2 * 3, 3)

    def construct(self, x):
        x = self.dense(x)  # (N, 2, 3, 5)
        flat = ops.reshape(x, (x.shape[0], 2, 15))
        parts = [ops.flatten(self.max2d(x)), ops.flatten(self.max1d(flat)), ops.flatten(self.avg1d(flat))]
        return self.head(ops.concat(parts, 1))


def test_jitted_train_step_matches_eager(device):
    def make():
        ms.set_seed(8)
        return cell_on(device, _Pools())

    batches = [(RNG.standard_normal((4, 2, 3, 5)).astype(np.float32), RNG.integers(0, 3, 4).astype(np.int32))
               for _ in range(3)]
    check_jitted_training(make, batches, device)


# -- errors and repr ------------------------------------------------------------------------------
def test_errors_name_the_cell_or_op_and_argument():
    x = Tensor(np.ones((1, 2, 4, 4), np.float32))
    with pytest.raises(TypeError, match="For 'AdaptiveMaxPool2d', the 'output_size' must be an int or a tuple of 2 "
                                        "ints \\(or None\\), but got 2.0"):
        nn.AdaptiveMaxPool2d(2.0)
    with pytest.raises(ValueError, match="For 'AdaptiveMaxPool2d', the 'output_size' must have 2 element\\(s\\), but "
                                         "got \\(1, 2, 3\\)"):
        nn.AdaptiveMaxPool2d((1, 2, 3))
    with pytest.raises(ValueError, match="For 'AdaptiveMaxPool2d', the 'output_size' must be positive, but got "
                                         "\\(0, 2\\)"):
        nn.AdaptiveMaxPool2d((0, 2))
    with pytest.raises(TypeError, match="For 'AdaptiveMaxPool2d', the 'return_indices' must be a bool, but got 1"):
        nn.AdaptiveMaxPool2d(2, return_indices=1)
    with pytest.raises(ValueError, match="For 'AdaptiveMaxPool2d', the input must be 3-D \\(C, H, W\\) or 4-D "
                                         "\\(N, C, H, W\\), but got shape \\(4, 4\\)"):
        nn.AdaptiveMaxPool2d(2)(x[0, 0])
    with pytest.raises(TypeError, match="For 'AdaptiveMaxPool2d', the input must be float16, float32 or float64, "
                                        "but got Int32"):
        nn.AdaptiveMaxPool2d(2)(x.astype(ms.int32))
    with pytest.raises(TypeError, match="For 'AdaptiveMaxPool2D', the 'input' must be a Tensor, but got ndarray"):
        ops.adaptive_max_pool2d(np.ones((1, 4, 4)), 2)
    with pytest.raises(TypeError, match="For 'AdaptiveMaxPool2D', the 'return_indices' must be a bool"):
        ops.adaptive_max_pool2d(x, 2, "yes")
    with pytest.raises(TypeError, match="For 'AdaptiveMaxPool1d', the 'output_size' must be an int, but got None"):
        nn.AdaptiveMaxPool1d(None)
    with pytest.raises(ValueError, match="For 'AdaptiveAvgPool1d', the 'output_size' must be positive, but got -1"):
        nn.AdaptiveAvgPool1d(-1)
    with pytest.raises(ValueError, match="For 'AdaptiveAvgPool1d', the input must be 2-D \\(C, L\\) or 3-D "
                                         "\\(N, C, L\\), but got shape \\(1, 2, 4, 4\\)"):
        nn.AdaptiveAvgPool1d(2)(x)
    with pytest.raises(ValueError, match="For 'adaptive_max_pool1d', the 'input' must be 2-D \\(C, L\\) or 3-D"):
        ops.adaptive_max_pool1d(x, 2)
    with pytest.raises(TypeError, match="For 'adaptive_avg_pool1d', .*float.*Int64"):
        ops.adaptive_avg_pool1d(Tensor(np.ones((2, 4), np.int64)), 2)
    with pytest.raises(ValueError, match="For 'adaptive_avg_pool1d', the 'output_size' must have 1 element"):
        ops.adaptive_avg_pool1d(x[0], (2, 2))
    with pytest.raises(TypeError, match="For 'adaptive_max_pool1d', the 'output_size' must be an int"):
        ops.adaptive_max_pool1d(x[0], True)


def test_repr_and_attributes():
    assert repr(nn.AdaptiveMaxPool2d((2, None))) == "AdaptiveMaxPool2d(output_size=(2, None))"
    assert repr(nn.AdaptiveAvgPool1d(3)) == "AdaptiveAvgPool1d(output_size=3)"
    pool = nn.AdaptiveMaxPool1d(3, return_indices=True)
    assert (pool.output_size, pool.return_indices) == (3, True)
    assert nn.AdaptiveMaxPool2d(2).return_indices is False
