"""ops.interpolate and nn.Upsample: nearest, linear, bilinear (align_corners both ways) and area
against direct float64 references, gradients, second order, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from nn_testing import gradcheck, host, on

import gpucell as ms
from gpucell import Tensor, nn, ops

RNG = np.random.default_rng(31)


def _source(mode, n_in, n_out, align, scale):
    """Per output index: (i0, i1, weight of i1), by the formulas MindSpore and PyTorch document."""
    taps = []
    for dst in range(n_out):
        if mode == "nearest":
            i0 = min(math.floor(dst * scale), n_in - 1)
            taps.append((i0, i0, 0.0))
            continue
        if align:
            src = dst * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
        else:
            src = max((dst + 0.5) * scale - 0.5, 0.0)
        i0 = min(math.floor(src), n_in - 1)
        taps.append((i0, min(i0 + 1, n_in - 1), src - i0))
    return taps


def reference(x, out_sizes, mode, align=False, scales=None):
    """float64 resampling of the trailing dims, one dim at a time, element by element."""
    for k, n_out in enumerate(out_sizes):
        axis = x.ndim - len(out_sizes) + k
        n_in = x.shape[axis]
        scale = n_in / n_out if scales is None else 1 / scales[k]
        moved = np.moveaxis(x, axis, -1)
        out = np.zeros(moved.shape[:-1] + (n_out,))
        if mode == "area":
            for i in range(n_out):
                start, end = (i * n_in) // n_out, -(-((i + 1) * n_in) // n_out)
                out[..., i] = moved[..., start:end].mean(axis=-1)
        else:
            for i, (i0, i1, w) in enumerate(_source(mode, n_in, n_out, align, scale)):
                out[..., i] = moved[..., i0] * (1 - w) + moved[..., i1] * w
        x = np.moveaxis(out, -1, axis)
    return x


CASES = [  # (shape, kwargs, out sizes, reference mode, align)
    ((2, 3, 5), dict(size=9, mode="nearest"), (9,), "nearest", False),
    ((1, 2, 4, 5), dict(scale_factor=2.0), (8, 10), "nearest", False),
    ((1, 2, 6, 5), dict(size=(4, 2), mode="nearest"), (4, 2), "nearest", False),
    ((2, 2, 5), dict(size=8, mode="linear"), (8,), "linear", False),
    ((2, 2, 5), dict(size=3, mode="linear", align_corners=True), (3,), "linear", True),
    ((1, 3, 4, 5), dict(size=(7, 3), mode="bilinear"), (7, 3), "linear", False),
    ((1, 3, 4, 5), dict(size=(7, 3), mode="bilinear", align_corners=True), (7, 3), "linear", True),
    ((1, 2, 4, 3), dict(scale_factor=(2.0, 3.0), mode="bilinear"), (8, 9), "linear", False),
    ((1, 2, 7, 6), dict(size=(3, 4), mode="area"), (3, 4), "area", False),
]


@pytest.mark.parametrize("shape, kwargs, out_sizes, mode, align", CASES)
def test_interpolate_matches_reference(device, shape, kwargs, out_sizes, mode, align):
    x = RNG.standard_normal(shape)
    out = host(ops.interpolate(on(device, x), **kwargs))
    np.testing.assert_allclose(out, reference(x, out_sizes, mode, align), rtol=1e-12, atol=1e-12)
    gradcheck(lambda t: ops.interpolate(t, **kwargs), x, device=device)


def test_scale_factor_positions_use_its_inverse(device):
    # 5 * 1.7 = 8.5 -> 8 outputs; positions floor(dst / 1.7), not floor(dst * 5 / 8) (they differ at dst 7)
    x = RNG.standard_normal((1, 1, 5))
    out = host(ops.interpolate(on(device, x), scale_factor=1.7))
    np.testing.assert_array_equal(out, reference(x, (8,), "nearest", scales=(1.7,)))
    recomputed = host(ops.interpolate(on(device, x), scale_factor=1.7, recompute_scale_factor=True))
    np.testing.assert_array_equal(recomputed, reference(x, (8,), "nearest"))
    assert not np.array_equal(out, recomputed)


def test_nearest_keeps_non_finite_values_in_place(device):
    x = np.array([[[1.0, np.inf, 3.0, np.nan]]])
    out = host(ops.interpolate(on(device, x), scale_factor=2.0))
    np.testing.assert_array_equal(out, np.repeat(x, 2, axis=-1))


def test_second_order(device):
    x = RNG.standard_normal((1, 1, 3, 3))

    def input_grad(t):
        return ms.grad(lambda u: ops.sum(ops.interpolate(u, size=(5, 4), mode="bilinear") ** 3))(t)

    gradcheck(input_grad, x, device=device, rtol=1e-5, atol=1e-6)


def test_upsample_cell(device):
    x = RNG.standard_normal((2, 3, 4, 4))
    up = nn.Upsample(scale_factor=2.0, mode="bilinear", align_corners=True)
    np.testing.assert_allclose(host(up(on(device, x))), reference(x, (8, 8), "linear", True), rtol=1e-12)
    assert repr(up) == ("Upsample(size=None, scale_factor=2.0, mode=bilinear, align_corners=True, "
                        "recompute_scale_factor=None)")
    assert nn.Upsample(size=(3, 5))(on(device, x)).shape == (2, 3, 3, 5)


def test_errors():
    x = Tensor(np.ones((1, 2, 4, 4), np.float32))
    with pytest.raises(ValueError, match="'interpolate'.*exactly one of 'size' and 'scale_factor'"):
        ops.interpolate(x)
    with pytest.raises(ValueError, match="'interpolate'.*exactly one"):
        ops.interpolate(x, size=2, scale_factor=2.0)
    with pytest.raises(ValueError, match="'interpolate'.*'mode'.*'bicubic'"):
        ops.interpolate(x, size=2, mode="bicubic")
    with pytest.raises(ValueError, match="'interpolate'.*'linear'.*3-D.*\\(1, 2, 4, 4\\)"):
        ops.interpolate(x, size=2, mode="linear")
    with pytest.raises(ValueError, match="'interpolate'.*'align_corners'.*only valid"):
        ops.interpolate(x, size=2, align_corners=True)
    with pytest.raises(TypeError, match="'interpolate'.*'size'.*tuple of 2"):
        ops.interpolate(x, size=(2, 2, 2))
    with pytest.raises(ValueError, match="'interpolate'.*'scale_factor'.*positive"):
        ops.interpolate(x, scale_factor=-1.0)
    with pytest.raises(ValueError, match="'interpolate'.*empty output"):
        ops.interpolate(x, scale_factor=0.1)
    with pytest.raises(TypeError, match="'interpolate'.*float16, float32 or float64.*Int32"):
        ops.interpolate(Tensor(np.ones((1, 1, 2), np.int32)), size=4)
    with pytest.raises(ValueError, match="'interpolate'.*'recompute_scale_factor'.*only valid"):
        nn.Upsample(size=3, recompute_scale_factor=True)(x)
