"""Activation Cells, Dropout, Dropout2d and Flatten: values, gradients, reprs and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from nn_testing import gradcheck, host, on

import gpucell as ms
from gpucell import Tensor, nn

RNG = np.random.default_rng(3)
X = RNG.standard_normal((3, 5))


def _erf(a):
    return np.vectorize(math.erf)(a)


REFERENCES = {
    nn.ReLU: lambda x: np.maximum(x, 0),
    nn.Sigmoid: lambda x: 1 / (1 + np.exp(-x)),
    nn.Tanh: np.tanh,
    nn.SiLU: lambda x: x / (1 + np.exp(-x)),
    nn.GELU: lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))),
    nn.Softmax: lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True),
    nn.LogSoftmax: lambda x: x - np.log(np.exp(x).sum(-1, keepdims=True)),
}


@pytest.mark.parametrize("cls", list(REFERENCES), ids=lambda c: c.__name__)
def test_values_and_gradients(device, cls):
    cell = cls()
    np.testing.assert_allclose(host(cell(on(device, X))), REFERENCES[cls](X), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(host(cell(on(device, X, np.float32))), REFERENCES[cls](X), rtol=2e-5,
                               atol=1e-6)
    gradcheck(cell, X + 0.01, device=device)
    assert repr(cell) == f"{cls.__name__}()"


def test_gelu_exact_and_softmax_axis(device):
    exact = 0.5 * X * (1 + _erf(X / math.sqrt(2)))
    np.testing.assert_allclose(host(nn.GELU(approximate=False)(on(device, X))), exact, rtol=1e-7)
    out = host(nn.Softmax(axis=0)(on(device, X)))
    np.testing.assert_allclose(out.sum(0), np.ones(5))
    out = host(nn.LogSoftmax(0)(on(device, X)))
    np.testing.assert_allclose(np.exp(out).sum(0), np.ones(5))


def test_softmax_is_stable_for_large_logits():
    out = host(nn.Softmax()(Tensor(np.array([[1e4, 0.0, -1e4]], np.float32))))
    np.testing.assert_allclose(out, [[1.0, 0.0, 0.0]])
    out = host(nn.LogSoftmax()(Tensor(np.array([[1e4, 0.0]], np.float32))))
    np.testing.assert_allclose(out, [[0.0, -1e4]])


def test_get_activation():
    assert isinstance(nn.get_activation("ReLU"), nn.ReLU)
    with pytest.raises(ValueError, match="'get_activation'.*'swish'"):
        nn.get_activation("swish")


def test_dropout_is_identity_when_not_training(device):
    x = on(device, np.ones((4, 4), np.float32))
    for cell in (nn.Dropout(), nn.Dropout(p=0.3), nn.Dropout2d(0.5)):
        inputs = on(device, np.ones((2, 3, 4, 4), np.float32)) if isinstance(cell, nn.Dropout2d) else x
        assert cell(inputs) is inputs
    assert nn.Dropout(keep_prob=1.0).set_train()(x) is x


def test_dropout_training(device):
    ms.set_seed(0)
    cell = nn.Dropout(p=0.25).set_train()
    out = host(cell(on(device, np.ones((200, 100), np.float32))))
    kept = out != 0
    assert set(np.unique(out)) == {0.0, np.float32(1 / 0.75)}
    assert abs(kept.mean() - 0.75) < 0.02
    assert cell.keep_prob == 0.75 and cell.p == 0.25


def test_dropout2d_training_zeroes_whole_channels(device):
    ms.set_seed(0)
    out = host(nn.Dropout2d(p=0.5).set_train()(on(device, np.ones((8, 16, 3, 3), np.float32))))
    per_channel = out.reshape(8, 16, 9)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2.0).all(-1))
    assert 0 < (per_channel == 0).all(-1).mean() < 1


def test_dropout_gradient_uses_the_mask():
    ms.set_seed(0)
    cell = nn.Dropout(p=0.5).set_train()
    x = Tensor(np.ones((10, 10), np.float32))
    out, grad = ms.value_and_grad(lambda x: ms.ops.sum(cell(x)))(x)
    assert float(out) == host(grad).sum()


def test_dropout_repr_and_errors():
    assert repr(nn.Dropout()) == "Dropout(keep_prob=0.5)"
    assert repr(nn.Dropout(p=0.2)) == "Dropout(p=0.2)"
    assert repr(nn.Dropout2d(p=0.2)) == "Dropout2d(p=0.8)"  # MindSpore 2.x prints the keep probability
    with pytest.raises(ValueError, match=r"'Dropout'.*'keep_prob'.*\(0.0, 1.0\].*0.0"):
        nn.Dropout(keep_prob=0.0)
    with pytest.raises(TypeError, match="'Dropout'.*'keep_prob'.*int"):
        nn.Dropout(keep_prob=1)
    with pytest.raises(ValueError, match=r"'Dropout'.*'p'.*\[0.0, 1.0\).*1"):
        nn.Dropout(p=1)
    with pytest.raises(ValueError, match=r"'Dropout2d'.*'p'.*1.5"):
        nn.Dropout2d(1.5)
    with pytest.raises(ValueError, match="Dropout2D.*4"):
        nn.Dropout2d().set_train()(Tensor(np.ones((2, 3), np.float32)))


def test_flatten(device):
    x = on(device, np.arange(24, dtype=np.float32).reshape(2, 3, 4))
    assert nn.Flatten()(x).shape == (2, 12)
    assert nn.Flatten(0, 1)(x).shape == (6, 4)
    np.testing.assert_array_equal(host(nn.Flatten()(x)), np.arange(24).reshape(2, 12))
    assert repr(nn.Flatten()) == "Flatten()"
    gradcheck(nn.Flatten(), X.reshape(3, 5, 1), device=device)
    with pytest.raises(TypeError, match="'Flatten'.*'start_dim'"):
        nn.Flatten(1.0)
