"""Independent review of issue 17's layers and losses against MindSpore 2.x's source.

Each test states the MindSpore behaviour it pins (the source it was read from) and checks gpucell
against a reference written from that source, not from gpucell's own code: Conv1d / Conv1dTranspose
take a 3-D Tensor ``weight_init`` (regression), the transposed convolutions as an explicit scatter
with Conv2DBackpropInput's 'same' padding, nll_loss's weighted mean with an unweighted smoothing
term, and InstanceNorm2d's moving statistics.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from nn_testing import host, on

from gpucell import nn, ops

RNG = np.random.default_rng(1717)


# -- Conv1d / Conv1dTranspose: a Tensor weight_init is 3-D ---------------------------------------
# mindspore/python/mindspore/nn/layer/conv.py (2.x), Conv1d and Conv1dTranspose: a Tensor
# weight_init must have 3 dims (check_equal_int(len(shape), 3)) and is stored with np.expand_dims
# at axis 2, i.e. (C_out, C_in / group, k) -> (C_out, C_in / group, 1, k). gpucell raised
# ValueError for the 3-D Tensor before this review.

def test_conv1d_takes_a_3d_tensor_weight_init(device):
    w = RNG.standard_normal((4, 2, 3)).astype(np.float32)  # (C_out, C_in / group, k), group 2
    net = nn.Conv1d(4, 4, 3, pad_mode="valid", group=2, weight_init=on(device, w))
    assert net.weight.shape == (4, 2, 1, 3)
    x = RNG.standard_normal((2, 4, 7)).astype(np.float32)
    expected = np.zeros((2, 4, 5))
    for co in range(4):
        g = co // 2
        for t in range(5):
            expected[:, co, t] = (x[:, 2 * g:2 * g + 2, t:t + 3] * w[co]).sum((1, 2))
    np.testing.assert_allclose(host(net(on(device, x))), expected, rtol=1e-5, atol=1e-5)


def test_conv1d_transpose_takes_a_3d_tensor_weight_init(device):
    w = RNG.standard_normal((3, 2, 4)).astype(np.float32)  # (C_in, C_out / group, k)
    net = nn.Conv1dTranspose(3, 2, 4, stride=2, pad_mode="valid", weight_init=on(device, w))
    assert net.weight.shape == (3, 2, 1, 4)
    x = RNG.standard_normal((1, 3, 5)).astype(np.float32)
    expected = np.zeros((1, 2, 5 * 2 + 4 - 2))
    for ci in range(3):
        for t in range(5):
            expected[:, :, 2 * t:2 * t + 4] += x[:, ci, t, None, None] * w[ci]
    np.testing.assert_allclose(host(net(on(device, x))), expected, rtol=1e-5, atol=1e-5)


def test_conv1d_weight_init_of_the_wrong_size_is_refused():
    with pytest.raises(ValueError, match="'Conv1d'.*'weight' init Tensor.*\\(4, 3, 1, 5\\).*\\(4, 3, 1, 4\\)"):
        nn.Conv1d(3, 4, 5, weight_init=ops.ones((4, 3, 4)))


# -- transposed convolutions as a scatter ----------------------------------------------------------
# MindSpore: Conv2dTranspose / Conv1dTranspose run Conv2DBackpropInput (Conv2DTranspose) onto an
# output of _deconv_output_length's size; 'same' pads that output as Conv2D 'same' would pad it
# (total max(0, (ceil(L / s) - 1) * s + extent - L), the odd one at the end).

def _out_and_before(mode, size, k, s, d, pad_before, pad_after):
    extent = (k - 1) * d + 1
    if mode == "valid":
        return size * s + max(extent - s, 0), 0
    if mode == "same":
        length = size * s
        return length, max(0, (math.ceil(length / s) - 1) * s + extent - length) // 2
    return size * s - pad_before - pad_after + extent - s, pad_before


def _scatter_deconv(x, w, stride, dilation, mode, pads, group):
    """Each input pixel adds its weighted kernel into the output: the definition, float64."""
    n, cin, h, wd = x.shape
    cout_g, (kh, kw) = w.shape[1], w.shape[2:]
    ho, top = _out_and_before(mode, h, kh, stride[0], dilation[0], pads[0], pads[1])
    wo, left = _out_and_before(mode, wd, kw, stride[1], dilation[1], pads[2], pads[3])
    y = np.zeros((n, cout_g * group, ho, wo))
    for ci in range(cin):
        g = ci // (cin // group)
        for a in range(kh):
            for b in range(kw):
                for i in range(h):
                    r = i * stride[0] - top + a * dilation[0]
                    for j in range(wd):
                        c = j * stride[1] - left + b * dilation[1]
                        if 0 <= r < ho and 0 <= c < wo:
                            y[:, g * cout_g:(g + 1) * cout_g, r, c] += x[:, ci, i, j, None] * w[ci, :, a, b]
    return y


@pytest.mark.parametrize("mode", ["same", "valid", "pad"])
@pytest.mark.parametrize("stride, dilation, group, kernel", [((2, 2), (1, 1), 1, (3, 3)),
                                                             ((3, 2), (2, 1), 2, (2, 3))])
def test_conv2d_transpose_is_the_scatter(device, mode, stride, dilation, group, kernel):
    padding = (1, 0, 2, 1) if mode == "pad" else 0
    net = nn.Conv2dTranspose(4, 6, kernel, stride=stride, pad_mode=mode, padding=padding, dilation=dilation,
                             group=group, has_bias=True)
    x = RNG.standard_normal((2, 4, 5, 4)).astype(np.float32)
    expected = _scatter_deconv(x.astype(np.float64), host(net.weight).astype(np.float64), stride, dilation, mode,
                               padding if mode == "pad" else (0,) * 4, group)
    expected += host(net.bias)[None, :, None, None]
    np.testing.assert_allclose(host(net(on(device, x))), expected, rtol=1e-5, atol=1e-5)


# -- nll_loss ------------------------------------------------------------------------------------
# mindspore/python/mindspore/ops/function/nn_func.py, _nll_loss: loss = -w[t] * x[t] (0 where
# ignored), smooth_loss = -sum_c x[c] (unweighted, 0 where ignored); 'mean': sum(loss) /
# sum(w[t] of the counted), smooth_loss.mean() over all positions; then
# (1 - ls) * loss + ls / C * smooth_loss.

@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_nll_loss_weight_ignore_index_and_smoothing(device, reduction):
    x = RNG.standard_normal((4, 5, 3))
    t = RNG.integers(0, 5, (4, 3)).astype(np.int32)
    t[0, 1] = -100
    w = RNG.uniform(0.5, 1.5, 5)
    valid = t != -100
    safe = np.where(valid, t, 0)
    weight_t = w[safe] * valid
    loss = -np.take_along_axis(x, safe[:, None], 1)[:, 0] * weight_t
    smooth = -x.sum(1) * valid
    if reduction == "sum":
        loss, smooth = loss.sum(), smooth.sum()
    elif reduction == "mean":
        loss, smooth = loss.sum() / weight_t.sum(), smooth.mean()
    expected = 0.8 * loss + 0.2 / 5 * smooth
    got = ops.nll_loss(on(device, x), on(device, t), on(device, w), reduction=reduction, label_smoothing=0.2)
    np.testing.assert_allclose(host(got), expected, rtol=1e-12)


# -- InstanceNorm2d's moving statistics --------------------------------------------------------
# MindSpore's InstanceNorm GPU kernel: cuDNN running statistics per (sample, channel), starting from
# the tiled moving values, with exponentialAverageFactor = momentum (unbiased variance), then the
# mean over the batch: new = (1 - m) * old + m * mean_n(stat). Also in prediction mode.

def test_instance_norm_moving_statistics(device):
    x = RNG.standard_normal((3, 2, 2, 3))
    net = nn.InstanceNorm2d(2, momentum=0.3)
    net.set_train(False)
    net(on(device, x.astype(np.float32)))
    np.testing.assert_allclose(host(net.moving_mean), 0.3 * x.mean((2, 3)).mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(host(net.moving_variance), 0.7 + 0.3 * x.var((2, 3), ddof=1).mean(0), rtol=1e-5)
