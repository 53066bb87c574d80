"""MaxPool2d / AvgPool2d and their functional forms: values, pad modes, gradients, reprs, errors."""

from __future__ import annotations

import numpy as np
import pytest
from nn_testing import gradcheck, host, on

import gpucell as ms
from gpucell import Tensor, nn, ops

RNG = np.random.default_rng(5)


def _out_len(size, k, s, d, before, after, ceil):
    span = size + before + after - (k - 1) * d - 1
    if not ceil:
        return span // s + 1
    n = -(-span // s) + 1
    return n - 1 if (n - 1) * s >= size + before else n


def reference_pool(x, kind, kernel, stride, pads, dilation=(1, 1), count_pad=True, ceil=False):
    """float64 pooling by explicit windows; with ``ceil`` the windows may run past the padding,
    which then neither wins a max nor counts in an average (PyTorch's and MindSpore's rule)."""
    top, bottom, left, right = pads
    h, w = x.shape[2:]
    oh = _out_len(h, kernel[0], stride[0], dilation[0], top, bottom, ceil)
    ow = _out_len(w, kernel[1], stride[1], dilation[1], left, right, ceil)
    extra_h = max((oh - 1) * stride[0] + (kernel[0] - 1) * dilation[0] + 1 - (h + top + bottom), 0)
    extra_w = max((ow - 1) * stride[1] + (kernel[1] - 1) * dilation[1] + 1 - (w + left + right), 0)
    fill = -np.inf if kind == "max" else 0.0
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom + extra_h), (left, right + extra_w)), constant_values=fill)
    inside = np.pad(np.ones(x.shape[2:]), ((top, bottom + extra_h), (left, right + extra_w)))
    padded = np.pad(np.ones((h + top + bottom, w + left + right)), ((0, extra_h), (0, extra_w)))
    out = np.zeros(x.shape[:2] + (oh, ow))
    for r in range(oh):
        for c in range(ow):
            rows = slice(r * stride[0], r * stride[0] + (kernel[0] - 1) * dilation[0] + 1, dilation[0])
            cols = slice(c * stride[1], c * stride[1] + (kernel[1] - 1) * dilation[1] + 1, dilation[1])
            window = xp[:, :, rows, cols]
            if kind == "max":
                out[:, :, r, c] = window.max(axis=(2, 3))
            else:
                count = (padded if count_pad else inside)[rows, cols].sum()
                out[:, :, r, c] = window.sum(axis=(2, 3)) / count
    return out


X = RNG.standard_normal((2, 3, 7, 6))


@pytest.mark.parametrize("kernel, stride, mode, pads", [
    (2, 2, "valid", (0, 0, 0, 0)), (3, 2, "same", (1, 1, 0, 1)), ((2, 3), (1, 2), "same", (0, 1, 0, 1)),
    (3, 1, "valid", (0, 0, 0, 0)),
])
def test_cells_match_reference(device, kernel, stride, mode, pads):
    k, s = np.broadcast_to(kernel, 2), np.broadcast_to(stride, 2)
    x = on(device, X)
    out = nn.MaxPool2d(kernel, stride, mode)(x)
    np.testing.assert_allclose(host(out), reference_pool(X, "max", k, s, pads))
    np.testing.assert_allclose(host(nn.AvgPool2d(kernel, stride, mode)(x)),
                               reference_pool(X, "avg", k, s, pads, count_pad=False))
    gradcheck(nn.MaxPool2d(kernel, stride, mode), X, device=device)
    gradcheck(nn.AvgPool2d(kernel, stride, mode), X, device=device)


def test_pad_mode_and_functional(device):
    x = on(device, X)
    out = nn.MaxPool2d(3, 2, "pad", padding=1, dilation=1)(x)
    np.testing.assert_allclose(host(out), reference_pool(X, "max", (3, 3), (2, 2), (1, 1, 1, 1)))
    out = ops.max_pool2d(x, 2, padding=(1, 0), dilation=2)
    np.testing.assert_allclose(host(out), reference_pool(X, "max", (2, 2), (2, 2), (1, 1, 0, 0), (2, 2)))
    for include in (True, False):
        out = nn.AvgPool2d(3, 2, "pad", padding=1, count_include_pad=include)(x)
        expected = reference_pool(X, "avg", (3, 3), (2, 2), (1,) * 4, count_pad=include)
        np.testing.assert_allclose(host(out), expected)
    out = ops.avg_pool2d(x, 2, 2, divisor_override=3)
    np.testing.assert_allclose(host(out), reference_pool(X, "avg", (2, 2), (2, 2), (0,) * 4) * 4 / 3)
    gradcheck(lambda x: ops.max_pool2d(x, 2, 1, padding=1, dilation=2), X, device=device)
    gradcheck(lambda x: ops.avg_pool2d(x, 3, 2, padding=1, count_include_pad=False), X, device=device)


def test_max_gradient_goes_to_the_first_maximum(device):
    x = on(device, np.ones((1, 1, 2, 2), np.float32))
    import gpucell as ms
    grad = ms.grad(lambda x: ops.sum(nn.MaxPool2d(2, 2)(x)))(x)
    np.testing.assert_array_equal(host(grad), [[[[1, 0], [0, 0]]]])


def test_unbatched_input():
    out = nn.MaxPool2d(2, 2)(Tensor(X[0].astype(np.float32)))
    assert out.shape == (3, 3, 3)


def test_matches_torch():
    torch = pytest.importorskip("torch")
    t = torch.from_numpy(X)
    np.testing.assert_allclose(host(ops.max_pool2d(Tensor(X), 3, 2, 1)),
                               torch.nn.functional.max_pool2d(t, 3, 2, 1).numpy())
    np.testing.assert_allclose(host(ops.avg_pool2d(Tensor(X), 3, 2, 1, count_include_pad=False)),
                               torch.nn.functional.avg_pool2d(t, 3, 2, 1, count_include_pad=False).numpy())


def test_repr_and_errors():
    assert repr(nn.MaxPool2d(2, 2)) == "MaxPool2d(kernel_size=2, stride=2, pad_mode=VALID)"
    assert repr(nn.AvgPool2d((2, 3), pad_mode="same")) == \
        "AvgPool2d(kernel_size=(2, 3), stride=1, pad_mode=SAME)"
    with pytest.raises(ValueError, match="'MaxPool2d'.*'pad_mode'.*'full'"):
        nn.MaxPool2d(2, pad_mode="full")
    with pytest.raises(ValueError, match="'AvgPool2d'.*'kernel_size'.*>= 1"):
        nn.AvgPool2d(0)
    with pytest.raises(ValueError, match="'MaxPool2d'.*'padding' must be 0.*'valid'"):
        nn.MaxPool2d(2, padding=1)
    with pytest.raises(ValueError, match=r"'MaxPool2d'.*\(2, 3\)"):
        nn.MaxPool2d(2)(Tensor(np.ones((2, 3), np.float32)))
    with pytest.raises(TypeError, match="'MaxPool2d'.*Int64"):
        nn.MaxPool2d(2)(Tensor(np.ones((1, 1, 2, 2), np.int64)))
    with pytest.raises(TypeError, match="'MaxPool2d'.*'ceil_mode'"):
        nn.MaxPool2d(2, ceil_mode=1)
    with pytest.raises(TypeError, match="'max_pool2d'.*'return_indices'"):
        ops.max_pool2d(Tensor(X), 2, return_indices="yes")


@pytest.mark.parametrize("kernel, stride, padding, dilation", [
    (3, 2, 0, 1), (2, 2, 1, 1), (3, 2, 1, 1), ((3, 2), (2, 3), (1, 0), 1), (2, 3, 0, 2),
])
def test_ceil_mode_matches_reference(device, kernel, stride, padding, dilation):
    k, s = tuple(np.broadcast_to(kernel, 2)), tuple(np.broadcast_to(stride, 2))
    d = tuple(np.broadcast_to(dilation, 2))
    p = tuple(np.broadcast_to(padding, 2))
    pads = (p[0], p[0], p[1], p[1])
    x = on(device, X)
    out = ops.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode=True)
    np.testing.assert_allclose(host(out), reference_pool(X, "max", k, s, pads, d, ceil=True))
    gradcheck(lambda x: ops.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode=True), X,
              device=device)
    if dilation == 1:
        for include in (True, False):
            out = ops.avg_pool2d(x, kernel, stride, padding, ceil_mode=True, count_include_pad=include)
            np.testing.assert_allclose(host(out), reference_pool(X, "avg", k, s, pads, count_pad=include,
                                                                 ceil=True))
            gradcheck(lambda x, include=include: ops.avg_pool2d(
                x, kernel, stride, padding, ceil_mode=True, count_include_pad=include), X, device=device)


def test_ceil_mode_cells(device):
    x = on(device, X)  # H, W = 7, 6
    assert nn.MaxPool2d(2, 2)(x).shape == (2, 3, 3, 3)
    assert nn.MaxPool2d(2, 2, ceil_mode=True)(x).shape == (2, 3, 4, 3)
    out = nn.AvgPool2d(3, 2, "pad", padding=1, ceil_mode=True)(x)
    np.testing.assert_allclose(host(out), reference_pool(X, "avg", (3, 3), (2, 2), (1,) * 4, ceil=True))
    out = nn.AvgPool2d(2, 2, ceil_mode=True, divisor_override=3)(x)
    means = reference_pool(X, "avg", (2, 2), (2, 2), (0,) * 4, ceil=True)
    sums = means * np.array([[4, 4, 4]] * 3 + [[2, 2, 2]])  # the last row of windows holds 2 taps
    np.testing.assert_allclose(host(out), sums / 3)  # the override divides every window sum


def test_return_indices(device):
    x = on(device, X)
    out, index = nn.MaxPool2d(3, 2, "pad", padding=1, return_indices=True)(x)
    assert index.dtype == ms.int64 and index.shape == out.shape
    np.testing.assert_allclose(host(out), host(nn.MaxPool2d(3, 2, "pad", padding=1)(x)))
    flat = X.reshape(2, 3, -1)
    picked = np.take_along_axis(flat, host(index).reshape(2, 3, -1), axis=2).reshape(out.shape)
    np.testing.assert_array_equal(picked, host(out))  # each index points at its maximum
    unbatched = nn.MaxPool2d(2, 2, return_indices=True, ceil_mode=True)(on(device, X[0]))
    assert [t.shape for t in unbatched] == [(3, 4, 3), (3, 4, 3)]
    gradcheck(lambda x: ops.max_pool2d(x, 3, 2, 1, return_indices=True)[0], X, device=device)


def test_first_maximum_index_on_ties(device):
    x = on(device, np.ones((1, 1, 2, 2), np.float32))
    _, index = ops.max_pool2d(x, 2, 2, return_indices=True)
    np.testing.assert_array_equal(host(index), [[[[0]]]])


def test_ceil_mode_and_indices_match_torch():
    torch = pytest.importorskip("torch")
    t = torch.from_numpy(X)
    for kernel, stride, padding in ((3, 2, 1), (2, 2, 0), (3, 3, 1)):
        out, index = ops.max_pool2d(Tensor(X), kernel, stride, padding, ceil_mode=True, return_indices=True)
        want, want_index = torch.nn.functional.max_pool2d(t, kernel, stride, padding, ceil_mode=True,
                                                          return_indices=True)
        np.testing.assert_allclose(host(out), want.numpy())
        np.testing.assert_array_equal(host(index), want_index.numpy())
        for include in (True, False):
            got = ops.avg_pool2d(Tensor(X), kernel, stride, padding, ceil_mode=True, count_include_pad=include)
            want = torch.nn.functional.avg_pool2d(t, kernel, stride, padding, ceil_mode=True,
                                                  count_include_pad=include)
            np.testing.assert_allclose(host(got), want.numpy())


# ---- MaxPool1d / AvgPool1d / ops.avg_pool1d: the 2-D pools over a height of one ----------------

@pytest.mark.parametrize("kernel, stride, mode, padding", [(3, 2, "valid", 0), (2, 1, "same", 0), (3, 2, "pad", 1)])
def test_1d_pools_match_reference(device, kernel, stride, mode, padding):
    from gpucell.ops._layer_util import resolve_pads
    x = RNG.standard_normal((2, 3, 9))
    pads = resolve_pads("t", mode, (0, padding), (1, 9), (1, kernel), (1, stride), (1, 1))
    for cell, kind in ((nn.MaxPool1d(kernel, stride, mode, padding), "max"),
                       (nn.AvgPool1d(kernel, stride, mode, padding), "avg")):
        expected = reference_pool(x[:, :, None], kind, (1, kernel), (1, stride), pads,
                                  count_pad=mode == "pad")[:, :, 0]
        np.testing.assert_allclose(host(cell(on(device, x))), expected, rtol=1e-12)
        np.testing.assert_allclose(host(cell(on(device, x[0]))), expected[0], rtol=1e-12)  # (C, L)
        gradcheck(cell, x, device=device)


def test_avg_pool1d_functional_and_max_indices(device):
    x = RNG.standard_normal((1, 2, 7))
    out = ops.avg_pool1d(on(device, x), 3, 2, (1, 2), count_include_pad=False)
    expected = reference_pool(x[:, :, None], "avg", (1, 3), (1, 2), (0, 0, 1, 2), count_pad=False)[:, :, 0]
    np.testing.assert_allclose(host(out), expected, rtol=1e-12)
    gradcheck(lambda t: ops.avg_pool1d(t, 3, 2, 1), x, device=device)
    values, index = nn.MaxPool1d(3, 2, return_indices=True)(on(device, x))
    np.testing.assert_array_equal(host(values), np.take_along_axis(x, host(index), axis=2))
    assert index.dtype == ms.int64


def test_1d_pool_repr_and_errors():
    assert repr(nn.MaxPool1d(2, 2)) == "MaxPool1d(kernel_size=2, stride=2, pad_mode=VALID)"
    with pytest.raises(TypeError, match="'MaxPool1d'.*'kernel_size'.*tuple of 1"):
        nn.MaxPool1d((2, 2))
    with pytest.raises(ValueError, match="'AvgPool1d'.*'stride'.*>= 1"):
        nn.AvgPool1d(2, 0)
    with pytest.raises(ValueError, match=r"'AvgPool1d'.*3-D \(N, C, L\).*\(1, 2, 3, 4\)"):
        nn.AvgPool1d(2)(Tensor(np.ones((1, 2, 3, 4), np.float32)))
    with pytest.raises(TypeError, match="'MaxPool1d'.*'return_indices'.*bool"):
        nn.MaxPool1d(2, return_indices=1)
    with pytest.raises(ValueError, match="'avg_pool1d'.*3-D"):
        ops.avg_pool1d(Tensor(np.ones((2, 4), np.float32)), 2)


# ---- AdaptiveAvgPool2d / ops.adaptive_avg_pool2d ------------------------------------------------

def reference_adaptive_avg(x, out_hw):
    h, w = x.shape[-2:]
    out = np.zeros(x.shape[:-2] + tuple(out_hw))
    for i in range(out_hw[0]):
        r0, r1 = (i * h) // out_hw[0], -(-((i + 1) * h) // out_hw[0])
        for j in range(out_hw[1]):
            c0, c1 = (j * w) // out_hw[1], -(-((j + 1) * w) // out_hw[1])
            out[..., i, j] = x[..., r0:r1, c0:c1].mean(axis=(-2, -1))
    return out


@pytest.mark.parametrize("shape, size, out_hw", [((2, 3, 7, 5), (3, 2), (3, 2)), ((2, 3, 6, 6), 1, (1, 1)),
                                                 ((3, 5, 4), (None, 3), (5, 3)), ((1, 2, 4, 4), (8, 6), (8, 6))])
def test_adaptive_avg_pool2d(device, shape, size, out_hw):
    x = RNG.standard_normal(shape)
    np.testing.assert_allclose(host(nn.AdaptiveAvgPool2d(size)(on(device, x))), reference_adaptive_avg(x, out_hw),
                               rtol=1e-12, atol=1e-12)
    gradcheck(lambda t: ops.adaptive_avg_pool2d(t, size), x, device=device)


def test_adaptive_avg_pool2d_errors():
    with pytest.raises(TypeError, match="'AdaptiveAvgPool2d'.*'output_size'"):
        nn.AdaptiveAvgPool2d(2.0)
    with pytest.raises(ValueError, match="'AdaptiveAvgPool2d'.*positive"):
        nn.AdaptiveAvgPool2d((0, 2))
    with pytest.raises(ValueError, match="'AdaptiveAvgPool2d'.*3-D.*4-D"):
        nn.AdaptiveAvgPool2d(2)(Tensor(np.ones((2, 4), np.float32)))
    with pytest.raises(TypeError, match="'AdaptiveAvgPool2D'.*float"):
        ops.adaptive_avg_pool2d(Tensor(np.ones((1, 2, 4), np.int32)), 2)
    assert repr(nn.AdaptiveAvgPool2d((2, None))) == "AdaptiveAvgPool2d(output_size=(2, None))"
