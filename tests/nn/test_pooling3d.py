"""nn.MaxPool3d / nn.AvgPool3d and ops.max_pool3d / ops.avg_pool3d against a direct float64
reference (every tap of every window, its first maximum, its divisor), finite differences and (where
installed) PyTorch."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from nn_testing import cell_on, check_jitted_training, gradcheck, host, on

import gpucell as ms
from gpucell import Tensor, nn, ops

RNG = np.random.default_rng(53)


def _distinct(shape):
    """Values at least 0.1 apart (one maximum per window), shuffled."""
    n = int(np.prod(shape))
    return (RNG.permutation(n) * 0.1 - 0.05 * n).reshape(shape)


def _out_sizes(size, kernel, stride, dilation, pads, ceil_mode):
    sizes = []
    for axis, (n, k, s, d) in enumerate(zip(size, kernel, stride, dilation)):
        before, after = pads[2 * axis], pads[2 * axis + 1]
        span = n + before + after - (k - 1) * d - 1
        count = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (count - 1) * s >= n + before:
            count -= 1  # the last window must start inside the input or its front padding
        sizes.append(count)
    return sizes


def reference_pool3d(kind, x, kernel, stride, pads, dilation=(1, 1, 1), ceil_mode=False, divisor="include"):
    """float64 pooling of NCDHW ``x``, one window at a time. ``divisor``: 'include' (taps inside the
    input and its padding), 'exclude' (taps inside the input) or a number. Returns (out, argmax)."""
    n, c = x.shape[:2]
    size = x.shape[2:]
    outs = _out_sizes(size, kernel, stride, dilation, pads, ceil_mode)
    out = np.zeros((n, c, *outs))
    argmax = np.zeros((n, c, *outs), np.int64)
    for o in itertools.product(*(range(m) for m in outs)):
        total, best, best_at, inside, padded = 0.0, np.full((n, c), -np.inf), np.zeros((n, c), np.int64), 0, 0
        for tap in itertools.product(*(range(k) for k in kernel)):
            at = [oi * s + ti * d - pads[2 * a] for a, (oi, ti, s, d) in enumerate(zip(o, tap, stride, dilation))]
            if all(-pads[2 * a] <= p < size[a] + pads[2 * a + 1] for a, p in enumerate(at)):
                padded += 1
            if not all(0 <= p < m for p, m in zip(at, size)):
                continue
            inside += 1
            value = x[(slice(None), slice(None)) + tuple(at)]
            total = total + value
            better = value > best
            best = np.where(better, value, best)
            best_at = np.where(better, (at[0] * size[1] + at[1]) * size[2] + at[2], best_at)
        where = (slice(None), slice(None)) + o
        out[where] = best if kind == "max" else total / {"include": padded, "exclude": inside}.get(divisor, divisor)
        argmax[where] = best_at
    return out, argmax


MAX_CASES = [  # (x shape, kernel, stride, padding (d, h, w), dilation, ceil_mode)
    ((2, 2, 4, 5, 4), 2, None, 0, 1, False),
    ((1, 2, 5, 6, 5), (3, 2, 2), (2, 1, 2), (1, 1, 0), (1, 2, 1), True),
    ((1, 1, 6, 5, 6), (2, 3, 2), 2, (1, 1, 1), (2, 1, 1), False),
]


@pytest.mark.parametrize("case", MAX_CASES)
def test_max_pool3d_forward_indices_and_gradient(device, case):
    x_shape, kernel, stride, padding, dilation, ceil_mode = case
    x = _distinct(x_shape)
    k3, d3 = np.broadcast_to(kernel, 3), np.broadcast_to(dilation, 3)
    s3 = k3 if stride is None else np.broadcast_to(stride, 3)
    pads = tuple(int(p) for p in np.broadcast_to(padding, 3) for _ in range(2))
    expected, expected_index = reference_pool3d("max", x, k3, s3, pads, d3, ceil_mode)
    out, index = ops.max_pool3d(on(device, x), kernel, stride, padding, dilation, ceil_mode, True)
    np.testing.assert_array_equal(host(out), expected)
    np.testing.assert_array_equal(host(index), expected_index)
    assert index.dtype == ms.int64
    gradcheck(lambda t: ops.max_pool3d(t, kernel, stride, padding, dilation, ceil_mode), x, device=device)


AVG_CASES = [  # (x shape, kernel, stride, padding (six), ceil_mode, count_include_pad, divisor_override)
    ((2, 2, 4, 5, 4), 2, 1, 0, False, True, 0),
    ((1, 2, 5, 6, 5), (3, 2, 2), (2, 1, 2), (1, 1, 0, 1, 1, 0), True, True, 0),
    ((1, 2, 5, 5, 6), 3, 2, 1, True, False, 0),
    ((1, 1, 4, 4, 5), (2, 3, 2), 2, (1, 0, 1, 1, 0, 1), False, True, 7),
]


@pytest.mark.parametrize("case", AVG_CASES)
def test_avg_pool3d_forward_and_gradient(device, case):
    x_shape, kernel, stride, padding, ceil_mode, include, override = case
    x = RNG.standard_normal(x_shape)
    pads = tuple(int(p) for p in np.broadcast_to(padding, 6))
    divisor = override or ("include" if include else "exclude")
    expected, _ = reference_pool3d("avg", x, np.broadcast_to(kernel, 3), np.broadcast_to(stride, 3), pads,
                                   ceil_mode=ceil_mode, divisor=divisor)

    def pool(t):
        return ops.avg_pool3d(t, kernel, stride, padding, ceil_mode, include, override)

    np.testing.assert_allclose(host(pool(on(device, x))), expected, rtol=1e-12, atol=1e-12)
    gradcheck(pool, x, device=device)


def test_cells_pad_modes_and_unbatched_input(device):
    x = _distinct((2, 3, 5, 4, 6)).astype(np.float32)
    same = nn.MaxPool3d(3, 2, pad_mode="same", return_indices=True)
    out, index = same(on(device, x))
    # 'same': output ceil(size / 2); pads (1, 1), (0, 1), (0, 1): the odd one last
    expected, expected_index = reference_pool3d("max", x, (3, 3, 3), (2, 2, 2), (1, 1, 0, 1, 0, 1))
    np.testing.assert_array_equal(host(out), expected)
    np.testing.assert_array_equal(host(index), expected_index)
    unbatched = nn.MaxPool3d(2, 1, pad_mode="pad", padding=(1, 0, 1))(on(device, x[0]))
    np.testing.assert_array_equal(host(unbatched), reference_pool3d("max", x[:1], (2,) * 3, (1,) * 3,
                                                                      (1, 1, 0, 0, 1, 1))[0][0])
    # 'same' averages only the taps inside the input; 'pad' counts the padding unless told not to
    cases = [(nn.AvgPool3d(3, 2, pad_mode="same"), (1, 1, 0, 1, 0, 1), "exclude"),
             (nn.AvgPool3d(2, 2, pad_mode="pad", padding=1), (1,) * 6, "include"),
             (nn.AvgPool3d(2, 2, pad_mode="pad", padding=1, count_include_pad=False), (1,) * 6, "exclude"),
             (nn.AvgPool3d((2, 1, 2), 1, divisor_override=3), (0,) * 6, 3)]
    for net, pads, divisor in cases:
        expected, _ = reference_pool3d("avg", x, net._kernel, net._stride, pads, divisor=divisor)
        np.testing.assert_allclose(host(net(on(device, x))), expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(host(net(on(device, x[1]))), expected[1], rtol=1e-5, atol=1e-6)


def test_matches_torch():
    torch = pytest.importorskip("torch")
    x = _distinct((2, 3, 7, 6, 5))
    out, index = ops.max_pool3d(Tensor(x), (3, 2, 2), (2, 1, 2), (1, 1, 0), (1, 2, 1), True, True)
    t_out, t_index = torch.nn.functional.max_pool3d(torch.from_numpy(x), (3, 2, 2), (2, 1, 2), (1, 1, 0), (1, 2, 1),
                                                    True, True)
    np.testing.assert_array_equal(host(out), t_out.numpy())
    np.testing.assert_array_equal(host(index), t_index.numpy())
    out = ops.avg_pool3d(Tensor(x), 3, 2, 1, True, False)
    expected = torch.nn.functional.avg_pool3d(torch.from_numpy(x), 3, 2, 1, True, False)
    np.testing.assert_allclose(host(out), expected.numpy(), rtol=1e-12)


def test_repr_keeps_the_arguments_as_given():
    assert repr(nn.MaxPool3d((2,), 1)) == "MaxPool3d(kernel_size=2, stride=1, pad_mode=VALID)"
    assert repr(nn.AvgPool3d((1, 2, 2), 2, "same")) == "AvgPool3d(kernel_size=(1, 2, 2), stride=2, pad_mode=SAME)"


def test_errors():
    with pytest.raises(ValueError, match="'MaxPool3d'.*'pad_mode'.*'full'"):
        nn.MaxPool3d(2, pad_mode="full")
    with pytest.raises(ValueError, match="'MaxPool3d'.*'padding' must be 0.*'valid'"):
        nn.MaxPool3d(2, padding=1)
    with pytest.raises(TypeError, match="'MaxPool3d'.*'padding'.*3 ints"):
        nn.MaxPool3d(2, pad_mode="pad", padding=(1, 1))
    with pytest.raises(TypeError, match="'MaxPool3d'.*'kernel_size'.*three ints"):
        nn.MaxPool3d((2, 2))
    with pytest.raises(ValueError, match="'AvgPool3d'.*'stride'.*>= 1"):
        nn.AvgPool3d(2, 0)
    with pytest.raises(ValueError, match="'AvgPool3d'.*'divisor_override'.*positive"):
        nn.AvgPool3d(2, divisor_override=0)
    with pytest.raises(TypeError, match="'MaxPool3d'.*'return_indices'.*bool"):
        nn.MaxPool3d(2, return_indices=1)
    with pytest.raises(ValueError, match=r"'MaxPool3d'.*4-D.*5-D.*\(2, 4, 4\)"):
        nn.MaxPool3d(2)(Tensor(np.ones((2, 4, 4), np.float32)))
    with pytest.raises(TypeError, match="'AvgPool3d'.*float.*Int32"):
        nn.AvgPool3d(2)(Tensor(np.ones((1, 2, 4, 4, 4), np.int32)))
    with pytest.raises(ValueError, match="'MaxPool3d'.*does not fit"):
        nn.MaxPool3d(3)(Tensor(np.ones((1, 1, 2, 4, 4), np.float32)))
    one = Tensor(np.ones((1, 1, 4, 4, 4), np.float32))
    with pytest.raises(ValueError, match=r"'max_pool3d'.*5-D.*\(1, 4, 4, 4\)"):
        ops.max_pool3d(Tensor(np.ones((1, 4, 4, 4), np.float32)), 2)
    with pytest.raises(TypeError, match="'max_pool3d'.*'padding'.*3 ints"):
        ops.max_pool3d(one, 2, padding=(1, 1, 1, 1, 1, 1))
    with pytest.raises(TypeError, match="'avg_pool3d'.*'padding'.*6 ints"):
        ops.avg_pool3d(one, 2, padding=(1, 1, 1))
    with pytest.raises(ValueError, match="'avg_pool3d'.*'divisor_override'.*>= 0"):
        ops.avg_pool3d(one, 2, divisor_override=-1)
    with pytest.raises(TypeError, match="'avg_pool3d'.*'ceil_mode'"):
        ops.avg_pool3d(one, 2, ceil_mode="yes")


class _Pools(nn.Cell):
    """A Dense over W, then ceil-mode max (with indices) and padded average pools, then a Dense head."""

    def __init__(self):
        super().__init__()
        self.dense = nn.Dense(5, 5)
        self.head = nn.Dense(2 * 27 + 2 * 27, 3)  # both pools give (N, 2, 3, 3, 3)

    def construct(self, x):
        x = self.dense(x)  # (N, 2, 4, 5, 5)
        top, _ = ops.max_pool3d(x, (2, 3, 3), 2, 1, ceil_mode=True, return_indices=True)
        mean = ops.avg_pool3d(x, 2, 2, 1, count_include_pad=False)
        return self.head(ops.concat((ops.flatten(top), ops.flatten(mean)), 1))


def test_jitted_train_step_matches_eager(device):
    def make():
        ms.set_seed(9)
        return cell_on(device, _Pools())

    batches = [(RNG.standard_normal((3, 2, 4, 5, 5)).astype(np.float32), RNG.integers(0, 3, 3).astype(np.int32))
               for _ in range(3)]
    check_jitted_training(make, batches, device)
