"""nn.Conv3d, nn.Conv3dTranspose and ops.conv3d over stride, padding, pad_mode, dilation and groups,
against direct float64 references, finite differences and (where installed) PyTorch."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from nn_testing import cell_on, check_forward_and_gradients, check_jitted_training, host, on

import gpucell as ms
from gpucell import Tensor, nn, ops
from gpucell.ops.conv3d import conv_transpose3d_padded, resolve_pads3, triple

RNG = np.random.default_rng(31)


def _taps(kernel):
    return itertools.product(*(range(k) for k in kernel))


def _window(start, dilation, stride, count):
    return slice(start * dilation, start * dilation + stride * (count - 1) + 1, stride)


def reference_conv3d(x, w, b, stride, pads, dilation, groups):
    """Direct float64 cross-correlation, one kernel tap at a time."""
    x = np.pad(x.astype(np.float64), ((0, 0), (0, 0)) + tuple(zip(pads[0::2], pads[1::2])))
    o, cg = w.shape[:2]
    out_size = [(size - (k - 1) * d - 1) // s + 1 for size, k, s, d in zip(x.shape[2:], w.shape[2:], stride, dilation)]
    out = np.zeros((x.shape[0], o, *out_size))
    og = o // groups
    for g in range(groups):
        for tap in _taps(w.shape[2:]):
            where = tuple(_window(t, d, s, n) for t, d, s, n in zip(tap, dilation, stride, out_size))
            patch = x[(slice(None), slice(g * cg, (g + 1) * cg)) + where]
            out[:, g * og:(g + 1) * og] += np.einsum("ncdhw,oc->nodhw", patch, w[(slice(g * og, (g + 1) * og),
                                                                                  slice(None)) + tap])
    return out if b is None else out + b.reshape(1, -1, 1, 1, 1)


def reference_conv_transpose3d(x, w, stride, pads, dilation, groups, out_size):
    """Direct float64 transposed convolution: every input value scattered through the kernel onto
    the full output, then the padding cropped (rows past the full output are zeros)."""
    n, c = x.shape[:2]
    cg, og = c // groups, w.shape[1]
    full = [(size - 1) * s + (k - 1) * d + 1 for size, k, s, d in zip(x.shape[2:], w.shape[2:], stride, dilation)]
    grown = [max(f, p + o) for f, p, o in zip(full, pads[0::2], out_size)]
    out = np.zeros((n, og * groups, *grown))
    for g in range(groups):
        for tap in _taps(w.shape[2:]):
            where = tuple(_window(t, d, s, size) for t, d, s, size in zip(tap, dilation, stride, x.shape[2:]))
            values = np.einsum("ncdhw,co->nodhw", x[:, g * cg:(g + 1) * cg], w[(slice(g * cg, (g + 1) * cg),
                                                                                 slice(None)) + tap])
            out[(slice(None), slice(g * og, (g + 1) * og)) + where] += values
    crop = tuple(slice(p, p + o) for p, o in zip(pads[0::2], out_size))
    return out[(slice(None), slice(None)) + crop]


CASES = [  # (x shape, w shape, stride, pad_mode, padding, dilation, groups)
    ((2, 3, 4, 5, 4), (2, 3, 2, 3, 2), 1, "valid", 0, 1, 1),
    ((1, 4, 5, 4, 5), (4, 2, 3, 2, 2), (2, 1, 2), "pad", (1, 0, 2, 1, 0, 1), (1, 2, 1), 2),
    ((1, 2, 5, 5, 4), (3, 2, 2, 3, 3), (2, 2, 1), "same", 0, (2, 1, 1), 1),
    ((1, 3, 3, 4, 4), (3, 1, 3, 1, 2), 1, "pad", (1, 0, 2), 1, 3),
]


def _geometry(case):
    x_shape, w_shape, stride, mode, padding, dilation, _ = case
    stride, dilation = triple("t", "s", stride), triple("t", "d", dilation)
    return stride, resolve_pads3("t", mode, padding, x_shape[2:], w_shape[2:], stride, dilation), dilation


@pytest.mark.parametrize("case", CASES)
def test_conv3d_forward_and_gradients(device, case):
    x_shape, w_shape, stride, mode, padding, dilation, groups = case
    x, w, b = RNG.standard_normal(x_shape), RNG.standard_normal(w_shape), RNG.standard_normal(w_shape[0])

    def conv(x, w, b):
        return ops.conv3d(x, w, b, stride, mode, padding, dilation, groups)

    steps, pads, spread = _geometry(case)
    check_forward_and_gradients(conv, reference_conv3d(x, w, b, steps, pads, spread, groups), x, w, b, device=device)


TRANSPOSE_CASES = [  # (x shape, w shape, stride, pads, dilation, groups, output size)
    ((1, 2, 3, 3, 2), (2, 3, 2, 2, 3), 1, (0,) * 6, 1, 1, (4, 4, 4)),
    ((1, 4, 2, 3, 3), (4, 1, 3, 2, 2), (2, 1, 2), (1, 1, 0, 1, 1, 0), (1, 2, 1), 2, (3, 4, 6)),
    ((2, 2, 2, 2, 3), (2, 2, 2, 2, 2), (2, 2, 1), (1, 0, 0, 0, 1, 1), 1, 1, (4, 4, 2)),
]


@pytest.mark.parametrize("case", TRANSPOSE_CASES)
def test_conv_transpose3d_forward_and_gradients(device, case):
    x_shape, w_shape, stride, pads, dilation, groups, out_size = case
    stride, dilation = triple("t", "s", stride), triple("t", "d", dilation)
    x, w = RNG.standard_normal(x_shape), RNG.standard_normal(w_shape)

    def transpose(x, w):
        return conv_transpose3d_padded(x, w, stride, dilation, pads, groups, out_size, "T")

    expected = reference_conv_transpose3d(x, w, stride, pads, dilation, groups, out_size)
    check_forward_and_gradients(transpose, expected, x, w, device=device)


def test_conv3d_cell_defaults_and_float32(device):
    net = nn.Conv3d(3, 4, (3, 2, 3), has_bias=True)
    assert net.weight.shape == (4, 3, 3, 2, 3) and net.bias.shape == (4,)
    assert nn.Conv3d(3, 4, 3).bias is None
    bound = 1 / math.sqrt(3 * 3 * 2 * 3)
    for p in (net.weight, net.bias):
        assert np.abs(host(p)).max() <= bound
    cell_on(device, net)
    x = RNG.standard_normal((2, 3, 4, 5, 5)).astype(np.float32)
    # 'same', stride 1: kd 3 pads 1 / 1, kh 2 pads 0 / 1 (the odd one last), kw 3 pads 1 / 1
    expected = reference_conv3d(x, host(net.weight), host(net.bias), (1, 1, 1), (1, 1, 0, 1, 1, 1), (1, 1, 1), 1)
    np.testing.assert_allclose(host(net(on(device, x))), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("mode, padding, output_padding, x_size, expected_size", [
    ("same", 0, 0, (2, 3, 4), (4, 6, 8)),
    ("valid", 0, 0, (2, 3, 4), (5, 7, 9)),
    ("pad", (1, 0, 1, 1, 0, 2), (1, 0, 1), (2, 3, 4), (5, 5, 8)),
    ("pad", 1, 1, (3, 2, 2), (6, 4, 4)),
])
def test_conv3d_transpose_cell_sizes_and_values(device, mode, padding, output_padding, x_size, expected_size):
    net = cell_on(device, nn.Conv3dTranspose(4, 2, 3, stride=2, pad_mode=mode, padding=padding,
                                             output_padding=output_padding, group=2, has_bias=True))
    assert net.weight.shape == (4, 1, 3, 3, 3)
    x = RNG.standard_normal((2, 4) + x_size).astype(np.float32)
    out = net(on(device, x))
    assert out.shape == (2, 2) + expected_size
    pads = (0,) * 6 if mode == "valid" else net._pads(expected_size if mode == "same" else (1, 1, 1))
    expected = reference_conv_transpose3d(x, host(net.weight), (2, 2, 2), pads, (1, 1, 1), 2, expected_size)
    expected += host(net.bias).reshape(1, -1, 1, 1, 1)
    np.testing.assert_allclose(host(out), expected, rtol=1e-4, atol=1e-5)


def test_matches_torch():
    torch = pytest.importorskip("torch")
    x, w, b = RNG.standard_normal((2, 4, 6, 7, 5)), RNG.standard_normal((6, 2, 3, 2, 3)), RNG.standard_normal(6)
    out = ops.conv3d(Tensor(x), Tensor(w), Tensor(b), (2, 1, 2), "pad", (1, 2, 1), (1, 2, 1), 2)
    expected = torch.nn.functional.conv3d(*(torch.from_numpy(a) for a in (x, w, b)), (2, 1, 2), (1, 2, 1), (1, 2, 1), 2)
    np.testing.assert_allclose(host(out), expected.numpy(), rtol=1e-10, atol=1e-10)
    net = nn.Conv3dTranspose(4, 6, (3, 2, 3), (2, 1, 2), "pad", 1, 1, 2, (1, 0, 1), True, dtype=ms.float64)
    x64 = RNG.standard_normal((2, 4, 3, 4, 3))
    expected = torch.nn.functional.conv_transpose3d(torch.from_numpy(x64), torch.from_numpy(host(net.weight)),
                                                    torch.from_numpy(host(net.bias)), (2, 1, 2), 1, (1, 0, 1), 2)
    np.testing.assert_allclose(host(net(Tensor(x64))), expected.numpy(), rtol=1e-10, atol=1e-10)


def test_repr():
    net = nn.Conv3d(3, 8, 3, weight_init="ones", bias_init="zeros", has_bias=True)
    assert repr(net) == ("Conv3d(input_channels=3, output_channels=8, kernel_size=(3, 3, 3), stride=(1, 1, 1), "
                         "pad_mode=same, padding=0, dilation=(1, 1, 1), group=1, has_bias=True, "
                         "weight_init=ones, bias_init=zeros, format=NCDHW)")


def test_errors():
    with pytest.raises(ValueError, match="'Conv3d'.*'pad_mode'.*'full'"):
        nn.Conv3d(3, 4, 3, pad_mode="full")
    with pytest.raises(ValueError, match="'Conv3d'.*'padding' must be 0.*'same'"):
        nn.Conv3d(3, 4, 3, padding=1)
    with pytest.raises(ValueError, match="'Conv3d'.*'padding'.*6 ints"):
        nn.Conv3d(3, 4, 3, pad_mode="pad", padding=(1, 1, 1))
    with pytest.raises(ValueError, match="'Conv3d'.*'in_channels'.*divisible.*'group'"):
        nn.Conv3d(3, 4, 3, group=2)
    with pytest.raises(TypeError, match="'Conv3d'.*'kernel_size'.*three ints"):
        nn.Conv3d(3, 4, (3, 3))
    with pytest.raises(ValueError, match="'Conv3d'.*'stride'.*>= 1"):
        nn.Conv3d(3, 4, 3, stride=0)
    with pytest.raises(ValueError, match="'Conv3d'.*'out_channels'.*positive"):
        nn.Conv3d(3, -1, 3)
    with pytest.raises(ValueError, match="'Conv3d'.*'NCDHW'.*'NCHW'"):
        nn.Conv3d(3, 4, 3, data_format="NCHW")
    net = nn.Conv3d(3, 4, 3)
    with pytest.raises(ValueError, match=r"'Conv3d'.*in_channels 3.*\(1, 2, 5, 5, 5\)"):
        net(Tensor(np.ones((1, 2, 5, 5, 5), np.float32)))
    with pytest.raises(ValueError, match=r"'Conv3d'.*5-D.*\(3, 5, 5, 5\)"):
        net(Tensor(np.ones((3, 5, 5, 5), np.float32)))
    with pytest.raises(TypeError, match="'Conv3d'.*float.*Int32"):
        net(Tensor(np.ones((1, 3, 5, 5, 5), np.int32)))
    with pytest.raises(ValueError, match="'Conv3dTranspose'.*'output_padding'.*\\[0, 2\\)"):
        nn.Conv3dTranspose(3, 4, 3, stride=2, pad_mode="pad", output_padding=2)
    with pytest.raises(ValueError, match="'Conv3dTranspose'.*'output_padding'.*'pad'"):
        nn.Conv3dTranspose(3, 4, 3, stride=2, output_padding=1)
    one = Tensor(np.ones((1, 1, 2, 2, 2)))
    with pytest.raises(ValueError, match="'Conv3D'.*does not fit"):
        ops.conv3d(one, Tensor(np.ones((1, 1, 3, 3, 3))))
    with pytest.raises(ValueError, match="'Conv3D'.*5-D"):
        ops.conv3d(Tensor(np.ones((1, 1, 2, 2))), Tensor(np.ones((1, 1, 1, 1))))
    with pytest.raises(ValueError, match="'Conv3D'.*2 channels"):
        ops.conv3d(one, Tensor(np.ones((2, 1, 1, 1, 1))), groups=2)
    with pytest.raises(TypeError, match="'Conv3D'.*'padding'.*3 or 6"):
        ops.conv3d(one, Tensor(np.ones((1, 1, 1, 1, 1))), pad_mode="pad", padding=(1, 1))
    with pytest.raises(TypeError, match="'Conv3D'.*dtype of 'x'.*Float64.*Float32"):
        ops.conv3d(one, Tensor(np.ones((1, 1, 1, 1, 1), np.float32)))
    with pytest.raises(ValueError, match="'Conv3D'.*'bias'.*shape \\(1,\\)"):
        ops.conv3d(one, Tensor(np.ones((1, 1, 1, 1, 1))), Tensor(np.ones(2)))


class _Net3d(nn.Cell):
    """Conv3d, BatchNorm3d, ReLU, MaxPool3d, Conv3dTranspose, AvgPool3d, then a Dense head."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv3d(2, 4, 3, has_bias=True)
        self.bn = nn.BatchNorm3d(4)
        self.pool = nn.MaxPool3d(2, 2)
        self.up = nn.Conv3dTranspose(4, 2, 2, stride=2, has_bias=True)
        self.avg = nn.AvgPool3d(2, 2, pad_mode="same")
        self.head = nn.Dense(2 * 2 * 2 * 2, 3)

    def construct(self, x):
        x = self.pool(ops.relu(self.bn(self.conv(x))))  # (N, 4, 2, 2, 2)
        x = self.avg(self.up(x))                         # (N, 2, 2, 2, 2)
        return self.head(ops.flatten(x))


def test_jitted_train_step_matches_eager(device):
    def make():
        ms.set_seed(5)
        return cell_on(device, _Net3d())

    batches = [(RNG.standard_normal((3, 2, 4, 4, 4)).astype(np.float32), RNG.integers(0, 3, 3).astype(np.int32))
               for _ in range(3)]
    check_jitted_training(make, batches, device)
