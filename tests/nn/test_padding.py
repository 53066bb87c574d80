"""ops.pad and nn.Pad: every mode against np.pad, gradients (the adjoint) and second order, errors."""

from __future__ import annotations

import numpy as np
import pytest
from nn_testing import gradcheck, host, on

import gpucell as ms
from gpucell import Tensor, nn, ops

RNG = np.random.default_rng(21)
NUMPY_MODE = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


@pytest.mark.parametrize("mode", list(NUMPY_MODE))
@pytest.mark.parametrize("shape, padding", [((2, 3, 5), (2, 1)), ((1, 2, 4, 5), (1, 3, 2, 0)),
                                            ((2, 4, 4), (0, 2, 3, 1, 1, 0))])
def test_pad_matches_numpy(device, mode, shape, padding):
    x = RNG.standard_normal(shape)
    pairs = [(padding[i], padding[i + 1]) for i in range(0, len(padding), 2)][::-1]
    widths = [(0, 0)] * (len(shape) - len(pairs)) + pairs
    expected = np.pad(x, widths, mode=NUMPY_MODE[mode])
    np.testing.assert_array_equal(host(ops.pad(on(device, x), padding, mode)), expected)
    gradcheck(lambda t: ops.pad(t, padding, mode), x, device=device)


def test_constant_value_and_integers(device):
    x = np.arange(6, dtype=np.int32).reshape(2, 3)
    out = ops.pad(on(device, x), (1, 1, 0, 1), value=-7)
    np.testing.assert_array_equal(host(out), np.pad(x, ((0, 1), (1, 1)), constant_values=-7))
    assert out.dtype == ms.int32


def test_second_order_through_pad_grad(device):
    x = RNG.standard_normal((1, 2, 4))

    def input_grad(t):  # the gradient of sum(pad(t)^3) is 3 * PadGrad(pad(t)^2): differentiate it again
        return ms.grad(lambda u: ops.sum(ops.pad(u, (2, 3), "reflect") ** 3))(t)

    gradcheck(input_grad, x, device=device, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode, numpy_mode", [("CONSTANT", "constant"), ("REFLECT", "reflect"),
                                              ("SYMMETRIC", "symmetric")])
def test_nn_pad(device, mode, numpy_mode):
    x = RNG.standard_normal((2, 3, 4))
    paddings = ((0, 0), (1, 2), (3, 2))
    net = nn.Pad(paddings, mode)
    np.testing.assert_array_equal(host(net(on(device, x))), np.pad(x, paddings, mode=numpy_mode))
    gradcheck(net, x, device=device)


def test_errors():
    x = Tensor(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match="'Pad'.*reflect.*dim 1 \\(size 3\\).*at most 2"):
        ops.pad(x, (3, 0), "reflect")
    with pytest.raises(ValueError, match="'Pad'.*'mode'.*'edge'"):
        ops.pad(x, (1, 1), "edge")
    with pytest.raises(ValueError, match="'Pad'.*even number"):
        ops.pad(x, (1, 1, 1))
    with pytest.raises(ValueError, match="'Pad'.*>= 0"):
        ops.pad(x, (-1, 1))
    with pytest.raises(TypeError, match="'Pad'.*'padding'.*tuple or list of ints"):
        ops.pad(x, 1)
    with pytest.raises(ValueError, match="'Pad'.*'value'.*only valid in 'constant'"):
        ops.pad(x, (1, 1), "reflect", 2.0)
    with pytest.raises(ValueError, match="'Pad'.*'mode'.*'reflect'"):
        nn.Pad(((1, 1),), mode="reflect")
    with pytest.raises(TypeError, match="'Pad'.*'paddings'.*pairs"):
        nn.Pad([1, 2])
    with pytest.raises(ValueError, match="'Pad'.*one \\(before, after\\) pair per dim.*2 for shape"):
        nn.Pad(((1, 1),))(x)
    with pytest.raises(ValueError, match="'Pad'.*symmetric.*at most 3"):
        nn.Pad(((0, 0), (4, 0)), "SYMMETRIC")(x)
