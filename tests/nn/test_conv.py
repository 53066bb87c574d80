"""nn.Conv2d and ops.conv2d over stride, padding, pad_mode, dilation and groups."""

from __future__ import annotations

import math

import numpy as np
import pytest
from nn_testing import gradcheck, host, on

import gpucell as ms
from gpucell import Tensor, nn, ops

RNG = np.random.default_rng(11)


def reference_conv(x, w, b, stride, pads, dilation, groups):
    """Direct float64 cross-correlation, one kernel tap at a time."""
    top, bottom, left, right = pads
    x = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (top, bottom), (left, right)))
    n, _, h, wd = x.shape
    o, cg, kh, kw = w.shape
    oh = (h - (kh - 1) * dilation[0] - 1) // stride[0] + 1
    ow = (wd - (kw - 1) * dilation[1] - 1) // stride[1] + 1
    out = np.zeros((n, o, oh, ow))
    og = o // groups
    for g in range(groups):
        for i in range(kh):
            for j in range(kw):
                r0, c0 = i * dilation[0], j * dilation[1]
                patch = x[:, g * cg:(g + 1) * cg, r0:r0 + stride[0] * (oh - 1) + 1:stride[0],
                          c0:c0 + stride[1] * (ow - 1) + 1:stride[1]]
                taps = w[g * og:(g + 1) * og, :, i, j]
                out[:, g * og:(g + 1) * og] += np.einsum("nchw,oc->nohw", patch, taps)
    return out if b is None else out + b.reshape(1, -1, 1, 1)


CASES = [  # (x shape, w shape, stride, pad_mode, padding, dilation, groups)
    ((2, 3, 7, 6), (4, 3, 3, 3), 1, "valid", 0, 1, 1),
    ((2, 3, 7, 6), (4, 3, 3, 2), (2, 1), "same", 0, 1, 1),
    ((1, 2, 8, 8), (2, 2, 3, 3), 2, "same", 0, 2, 1),
    ((2, 4, 6, 5), (6, 2, 2, 3), (1, 2), "pad", (1, 0, 2, 1), (2, 1), 2),
    ((1, 4, 5, 5), (4, 1, 3, 3), 1, "pad", 1, 1, 4),
    ((1, 1, 4, 4), (1, 1, 1, 1), 3, "valid", 0, 1, 1),
]


def _pads(case):
    x_shape, w_shape, stride, mode, padding, dilation, _ = case
    from gpucell.ops._layer_util import pair, resolve_pads
    return resolve_pads("t", mode, padding, x_shape[2:], w_shape[2:], pair("t", "s", stride),
                        pair("t", "d", dilation))


@pytest.mark.parametrize("case", CASES)
def test_forward_and_gradients(device, case):
    x_shape, w_shape, stride, mode, padding, dilation, groups = case
    x, w, b = RNG.standard_normal(x_shape), RNG.standard_normal(w_shape), RNG.standard_normal(w_shape[0])

    def conv(x, w, b):
        return ops.conv2d(x, w, b, stride, mode, padding, dilation, groups)

    expected = reference_conv(x, w, b, np.broadcast_to(stride, 2), _pads(case), np.broadcast_to(dilation, 2),
                              groups)
    np.testing.assert_allclose(host(conv(on(device, x), on(device, w), on(device, b))), expected, rtol=1e-10,
                               atol=1e-10)
    gradcheck(conv, x, w, b, positions=(0, 1, 2), device=device)


def test_same_mode_keeps_size_over_stride():
    x = Tensor(np.ones((1, 1, 7, 5), np.float32))
    assert nn.Conv2d(1, 2, 3, stride=2)(x).shape == (1, 2, 4, 3)
    assert nn.Conv2d(1, 2, (2, 4))(x).shape == (1, 2, 7, 5)
    assert nn.Conv2d(1, 2, 3, pad_mode="valid")(x).shape == (1, 2, 5, 3)


def test_cell_defaults_and_float32(device):
    net = nn.Conv2d(3, 4, 3, has_bias=True)
    assert net.weight.shape == (4, 3, 3, 3) and net.bias.shape == (4,)
    assert nn.Conv2d(3, 4, 3).bias is None
    bound = 1 / math.sqrt(27)
    for p in (net.weight, net.bias):
        assert np.abs(host(p)).max() <= bound
    if device != "CPU":
        for p in net.get_parameters():
            p.move_to(device)
    x = RNG.standard_normal((2, 3, 5, 5)).astype(np.float32)
    expected = reference_conv(x, host(net.weight), host(net.bias), (1, 1), (1, 1, 1, 1), (1, 1), 1)
    np.testing.assert_allclose(host(net(on(device, x))), expected, rtol=1e-4, atol=1e-5)


def test_cell_gradients():
    net = nn.Conv2d(2, 3, 2, pad_mode="valid", has_bias=True)
    x = Tensor(RNG.standard_normal((2, 2, 3, 3)).astype(np.float32))
    _, grads = ms.value_and_grad(lambda x: ops.sum(net(x)), None, net.trainable_params())(x)
    np.testing.assert_allclose(host(grads[1]), np.full(3, 8.0))
    patches = reference_conv(host(x), np.ones((1, 2, 2, 2)), None, (1, 1), (0,) * 4, (1, 1), 1)
    assert np.isclose(host(grads[0]).sum(), patches.sum() * 3, rtol=1e-5)


def test_matches_torch():
    torch = pytest.importorskip("torch")
    x, w, b = RNG.standard_normal((2, 4, 9, 8)), RNG.standard_normal((6, 2, 3, 3)), RNG.standard_normal(6)
    out = ops.conv2d(Tensor(x), Tensor(w), Tensor(b), (2, 1), "pad", (1, 1, 2, 2), (1, 2), 2)
    expected = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b),
                                          (2, 1), (1, 2), (1, 2), 2)
    np.testing.assert_allclose(host(out), expected.numpy(), rtol=1e-10, atol=1e-10)


def test_repr():
    net = nn.Conv2d(3, 8, 3, weight_init="ones", bias_init="zeros", has_bias=True)
    assert repr(net) == ("Conv2d(input_channels=3, output_channels=8, kernel_size=(3, 3), stride=(1, 1), "
                         "pad_mode=same, padding=0, dilation=(1, 1), group=1, has_bias=True, "
                         "weight_init=ones, bias_init=zeros, format=NCHW)")
    assert "weight_init=HeUniform(negative_slope=2.23606797749979" in repr(nn.Conv2d(3, 8, 3))


def test_errors():
    with pytest.raises(ValueError, match="'Conv2d'.*'pad_mode'.*'full'"):
        nn.Conv2d(3, 4, 3, pad_mode="full")
    with pytest.raises(ValueError, match="'Conv2d'.*'padding' must be 0.*'same'"):
        nn.Conv2d(3, 4, 3, padding=1)
    with pytest.raises(ValueError, match="'Conv2d'.*'in_channels'.*divisible.*'group'"):
        nn.Conv2d(3, 4, 3, group=2)
    with pytest.raises(TypeError, match="'Conv2d'.*'kernel_size'"):
        nn.Conv2d(3, 4, 2.5)
    with pytest.raises(ValueError, match="'Conv2d'.*'stride'.*>= 1"):
        nn.Conv2d(3, 4, 3, stride=0)
    net = nn.Conv2d(3, 4, 3)
    with pytest.raises(ValueError, match=r"'Conv2d'.*in_channels 3.*\(1, 2, 5, 5\)"):
        net(Tensor(np.ones((1, 2, 5, 5), np.float32)))
    with pytest.raises(ValueError, match=r"'Conv2d'.*4-D.*\(3, 5, 5\)"):
        net(Tensor(np.ones((3, 5, 5), np.float32)))
    with pytest.raises(ValueError, match="'Conv2D'.*does not fit"):
        ops.conv2d(Tensor(np.ones((1, 1, 2, 2))), Tensor(np.ones((1, 1, 3, 3))))
