"""nn.Conv2d and ops.conv2d over stride, padding, pad_mode, dilation and groups."""

from __future__ import annotations

import math

import numpy as np
import pytest
from nn_testing import cell_on, check_forward_and_gradients, gradcheck, host, on

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
    check_forward_and_gradients(conv, expected, x, w, b, device=device)


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
    cell_on(device, net)
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


# ---- Conv1d and ops.conv1d: conv2d over a height of one ----------------------------------------

CASES_1D = [  # (x shape, w shape, stride, pad_mode, padding, dilation, groups)
    ((2, 3, 9), (4, 3, 3), 1, "valid", 0, 1, 1),
    ((2, 4, 8), (6, 2, 2), 2, "same", 0, 1, 2),
    ((1, 2, 7), (3, 2, 3), 2, "pad", 2, 2, 1),
]


@pytest.mark.parametrize("case", CASES_1D)
def test_conv1d_forward_and_gradients(device, case):
    x_shape, w_shape, stride, mode, padding, dilation, groups = case
    x, w, b = RNG.standard_normal(x_shape), RNG.standard_normal(w_shape), RNG.standard_normal(w_shape[0])

    def conv(x, w, b):
        return ops.conv1d(x, w, b, stride, mode, padding, dilation, groups)

    from gpucell.ops._layer_util import resolve_pads
    pads = resolve_pads("t", mode, (0, padding), (1, x_shape[2]), (1, w_shape[2]), (1, stride), (1, dilation))
    expected = reference_conv(x[:, :, None], w[:, :, None], b, (1, stride), pads, (1, dilation), groups)[:, :, 0]
    check_forward_and_gradients(conv, expected, x, w, b, device=device)


def test_conv1d_cell_stores_a_4d_weight_and_matches_the_functional(device):
    net = nn.Conv1d(4, 6, 3, stride=2, group=2, has_bias=True)
    assert net.weight.shape == (6, 2, 1, 3) and net.bias.shape == (6,)
    assert np.abs(host(net.bias)).max() <= 1 / math.sqrt(6)
    cell_on(device, net)
    x = RNG.standard_normal((2, 4, 9)).astype(np.float32)
    out = net(on(device, x))
    assert out.shape == (2, 6, 5)  # 'same': ceil(9 / 2)
    expected = ops.conv1d(on(device, x), net.weight[:, :, 0], net.bias, 2, "same", groups=2)
    np.testing.assert_allclose(host(out), host(expected), rtol=1e-6)


# ---- transposed convolution: the input gradient of conv2d --------------------------------------

def reference_conv_transpose(x, w, b, stride, pads, dilation, groups, out_hw):
    """Direct float64 scatter: every input pixel adds its kernel-weighted copy to the output."""
    n, cin, h, wd = x.shape
    og = w.shape[1]
    cg = cin // groups
    kh, kw = w.shape[2:]
    full = np.zeros((n, og * groups, out_hw[0] + pads[0] + kh * dilation[0] + stride[0] * h,
                     out_hw[1] + pads[2] + kw * dilation[1] + stride[1] * wd))
    for g in range(groups):
        for i in range(h):
            for j in range(wd):
                for ki in range(kh):
                    for kj in range(kw):
                        r, c = i * stride[0] + ki * dilation[0], j * stride[1] + kj * dilation[1]
                        full[:, g * og:(g + 1) * og, r, c] += np.einsum(
                            "nc,co->no", x[:, g * cg:(g + 1) * cg, i, j], w[g * cg:(g + 1) * cg, :, ki, kj])
    out = full[:, :, pads[0]:pads[0] + out_hw[0], pads[2]:pads[2] + out_hw[1]]
    return out if b is None else out + b.reshape(1, -1, 1, 1)


TRANSPOSE_CASES = [  # (x shape, (in, out, k), stride, pad_mode, padding, dilation, group, output_padding)
    ((2, 3, 4, 5), (3, 2, 3), 2, "same", 0, 1, 1, 0),
    ((1, 4, 3, 3), (4, 6, (2, 3)), (2, 1), "valid", 0, 1, 2, 0),
    ((1, 2, 3, 4), (2, 3, 1), 3, "valid", 0, 1, 1, 0),   # kernel < stride: 'valid' still gives H * stride
    ((2, 2, 3, 3), (2, 2, 3), 2, "pad", (1, 0, 2, 1), (1, 2), 1, 1),
    ((1, 3, 4, 4), (3, 3, 3), 1, "same", 0, 2, 3, 0),
]


@pytest.mark.parametrize("case", TRANSPOSE_CASES)
def test_conv2d_transpose_cell_matches_the_scatter_reference(device, case):
    x_shape, (cin, cout, k), stride, mode, padding, dilation, group, extra = case
    net = nn.Conv2dTranspose(cin, cout, k, stride, mode, padding, extra, dilation, group, has_bias=True,
                             dtype=ms.float64)
    assert net.weight.shape == (cin, cout // group) + nn.Conv2d(1, 1, k).kernel_size
    cell_on(device, net)
    x = RNG.standard_normal(x_shape)
    out = host(net(on(device, x)))
    from gpucell.ops._layer_util import pair, resolve_pads
    from gpucell.ops.conv_transpose import deconv_length
    s, d, kk = pair("t", "s", stride), pair("t", "d", dilation), pair("t", "k", k)
    user = resolve_pads("t", "pad", padding, (1, 1), kk, s, d)
    out_hw = [deconv_length(mode, n, a, b, c, p + q) for n, a, b, c, p, q in
              zip(x_shape[2:], kk, s, d, user[0::2], user[1::2])]
    pads = user if mode == "pad" else resolve_pads("t", mode, 0, out_hw, kk, s, d)
    expected = reference_conv_transpose(x, host(net.weight), host(net.bias), s, pads, d, group, out_hw)
    expected = np.pad(expected, ((0, 0), (0, 0), (0, extra), (0, extra)))  # MindSpore pads after the bias
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("case", TRANSPOSE_CASES[:4])
def test_conv2d_transpose_gradients(device, case):
    from gpucell.ops._layer_util import pair, resolve_pads
    from gpucell.ops.conv_transpose import conv_transpose2d_padded, deconv_length
    x_shape, (cin, cout, k), stride, mode, padding, dilation, group, _ = case
    s, d, kk = pair("t", "s", stride), pair("t", "d", dilation), pair("t", "k", k)
    user = resolve_pads("t", "pad", padding, (1, 1), kk, s, d)
    out_hw = [deconv_length(mode, n, a, b, c, p + q) for n, a, b, c, p, q in
              zip(x_shape[2:], kk, s, d, user[0::2], user[1::2])]
    pads = user if mode == "pad" else resolve_pads("t", mode, 0, out_hw, kk, s, d)
    x, w = RNG.standard_normal(x_shape), RNG.standard_normal((cin, cout // group) + kk)

    def transpose(x, w):
        return conv_transpose2d_padded(x, w, s, d, pads, group, out_hw, "t")

    gradcheck(transpose, x, w, positions=(0, 1), device=device)


def test_conv2d_transpose_second_order(device):
    from gpucell.ops.conv_transpose import conv_transpose2d_padded
    x, w = RNG.standard_normal((1, 2, 3, 3)), RNG.standard_normal((2, 2, 2, 2))

    def input_grad(x, w):  # differentiating the gradient runs Conv2D / Conv2DGrad's own backward rules
        fn = ms.grad(lambda x, w: ops.sum(ops.square(conv_transpose2d_padded(x, w, (2, 2), (1, 1), (0, 0, 0, 0), 1,
                                                                             (6, 6), "t"))), grad_position=0)
        return fn(x, w)

    gradcheck(input_grad, x, w, positions=(0, 1), device=device, rtol=1e-5, atol=1e-6)


def test_conv1d_transpose_cell(device):
    net = nn.Conv1dTranspose(3, 4, 4, stride=2, pad_mode="pad", padding=1, has_bias=True, dtype=ms.float64)
    assert net.weight.shape == (3, 4, 1, 4)
    cell_on(device, net)
    x = RNG.standard_normal((2, 3, 5))
    out = host(net(on(device, x)))
    expected = reference_conv_transpose(x[:, :, None], host(net.weight), host(net.bias), (1, 2), (0, 0, 1, 1),
                                        (1, 1), 1, (1, 10))[:, :, 0]
    assert out.shape == (2, 4, 10)  # (5 - 1) * 2 - 2 + 4
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)
    assert nn.Conv1dTranspose(3, 64, 4, pad_mode="pad")(Tensor(np.ones((1, 3, 50), np.float32))).shape == (1, 64, 53)


def test_new_conv_errors():
    with pytest.raises(TypeError, match="'Conv1d'.*'kernel_size'.*int"):
        nn.Conv1d(3, 4, (3,))
    with pytest.raises(ValueError, match="'Conv1d'.*'padding' must be >= 0"):
        nn.Conv1d(3, 4, 3, pad_mode="pad", padding=-1)
    with pytest.raises(ValueError, match="'Conv1d'.*3-D.*\\(2, 3, 4, 4\\)"):
        nn.Conv1d(3, 4, 3)(Tensor(np.ones((2, 3, 4, 4), np.float32)))
    with pytest.raises(ValueError, match="'Conv1D'.*4 channels"):
        ops.conv1d(Tensor(np.ones((1, 3, 5))), Tensor(np.ones((2, 4, 3))))
    with pytest.raises(ValueError, match="'Conv2dTranspose'.*'output_padding'.*\\[0, 2\\)"):
        nn.Conv2dTranspose(3, 4, 3, stride=2, pad_mode="pad", output_padding=2)
    with pytest.raises(ValueError, match="'Conv2dTranspose'.*'output_padding'.*'pad'"):
        nn.Conv2dTranspose(3, 4, 3, stride=2, output_padding=1)
    with pytest.raises(ValueError, match="'Conv2dTranspose'.*'out_channels'.*divisible"):
        nn.Conv2dTranspose(4, 3, 3, group=2)
    with pytest.raises(ValueError, match="'Conv2dTranspose'.*in_channels 3"):
        nn.Conv2dTranspose(3, 4, 3)(Tensor(np.ones((1, 2, 4, 4), np.float32)))
    with pytest.raises(TypeError, match="'Conv1dTranspose'.*float"):
        nn.Conv1dTranspose(3, 4, 3)(Tensor(np.ones((1, 3, 4), np.int32)))
