"""nn.Dense and ops.dense: forward against NumPy float64 (and torch), gradients, init, repr, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from nn_testing import gradcheck, host, on

import gpucell as ms
from gpucell import Parameter, Tensor, nn, ops
from gpucell.ops.dense import dense_relu

RNG = np.random.default_rng(7)


def _dense_net(device, x_shape, out=4, activation=None, has_bias=True):
    net = nn.Dense(x_shape[-1], out, has_bias=has_bias, activation=activation)
    if device != "CPU":
        for p in net.get_parameters():
            p.move_to(device)
    return net


@pytest.mark.parametrize("x_shape", [(5, 3), (2, 4, 3), (3,)])
@pytest.mark.parametrize("has_bias", [True, False])
def test_forward_matches_numpy(device, x_shape, has_bias):
    net = _dense_net(device, x_shape, has_bias=has_bias)
    x = RNG.standard_normal(x_shape).astype(np.float32)
    expected = x.astype(np.float64) @ host(net.weight).astype(np.float64).T
    if has_bias:
        expected += host(net.bias)
    out = net(on(device, x))
    assert out.shape == x_shape[:-1] + (4,)
    np.testing.assert_allclose(host(out), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", nn.ReLU(), nn.GELU()])
def test_activation(device, activation):
    net = _dense_net(device, (6, 3), activation=activation)
    x = RNG.standard_normal((6, 3)).astype(np.float32)
    z = x @ host(net.weight).T + host(net.bias)
    reference = {"relu": np.maximum(z, 0), "sigmoid": 1 / (1 + np.exp(-z)), "tanh": np.tanh(z)}
    name = activation if isinstance(activation, str) else type(activation).__name__.lower()
    expected = reference.get(name, np.maximum(z, 0) if name == "relu" else
                             0.5 * z * (1 + np.tanh(math.sqrt(2 / math.pi) * (z + 0.044715 * z ** 3))))
    np.testing.assert_allclose(host(net(on(device, x))), expected, rtol=1e-5, atol=1e-5)


def test_fused_relu_steps_aside_for_hooks():
    net = nn.Dense(3, 2, activation="relu")
    seen = []
    net.activation.register_forward_hook(lambda cell, inputs, output: seen.append(output.shape))
    net(Tensor(np.ones((4, 3), np.float32)))
    assert seen == [(4, 2)]


@pytest.mark.parametrize("x_shape", [(4, 3), (2, 3, 3), (3,)])
def test_gradients(device, x_shape):
    x, w, b = RNG.standard_normal(x_shape), RNG.standard_normal((5, 3)), RNG.standard_normal(5)
    gradcheck(ops.dense, x, w, b, positions=(0, 1, 2), device=device)
    gradcheck(lambda x, w: ops.dense(x, w), x, w, positions=(0, 1), device=device)
    gradcheck(dense_relu, x, w, b, positions=(0, 1, 2), device=device)


def test_cell_gradients_match_numpy():
    net = nn.Dense(3, 2)
    x = RNG.standard_normal((4, 3)).astype(np.float32)
    grads = ms.grad(lambda x: ops.sum(net(x)), None, net.trainable_params())(Tensor(x))
    np.testing.assert_allclose(host(grads[0]), np.ones((2, 4)) @ x, rtol=1e-5)
    np.testing.assert_allclose(host(grads[1]), [4.0, 4.0])


def test_matches_torch():
    torch = pytest.importorskip("torch")
    net = nn.Dense(5, 3, activation="relu")
    x = RNG.standard_normal((4, 5)).astype(np.float32)
    layer = torch.nn.Linear(5, 3)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(host(net.weight)))
        layer.bias.copy_(torch.from_numpy(host(net.bias)))
    np.testing.assert_allclose(host(net(Tensor(x))), torch.relu(layer(torch.from_numpy(x))).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_default_init_is_uniform_within_one_over_sqrt_in():
    ms.set_seed(1)
    net = nn.Dense(400, 300)
    bound = 1 / math.sqrt(400)
    for p in (net.weight, net.bias):
        values = host(p)
        assert values.min() >= -bound and values.max() <= bound
        assert values.max() > 0.9 * bound and values.min() < -0.9 * bound
    assert net.weight.shape == (300, 400) and net.weight.dtype == ms.float32


def test_init_arguments_and_names():
    net = nn.Dense(2, 3, weight_init="ones", bias_init=0.5, has_bias=True)
    np.testing.assert_array_equal(host(net.weight), np.ones((3, 2)))
    np.testing.assert_array_equal(host(net.bias), np.full(3, 0.5))
    assert [p.name for p in net.get_parameters()] == ["weight", "bias"]
    assert nn.Dense(2, 3, has_bias=False).bias is None
    with pytest.raises(ValueError, match="Dense.*weight"):
        nn.Dense(2, 3, weight_init=Tensor(np.ones((2, 3), np.float32)))


def test_repr():
    assert repr(nn.Dense(3, 4)) == "Dense(input_channels=3, output_channels=4, has_bias=True)"
    assert repr(nn.Dense(3, 4, has_bias=False)) == "Dense(input_channels=3, output_channels=4)"
    assert repr(nn.Dense(3, 4, activation="relu")) == (
        "Dense(\n  input_channels=3, output_channels=4, has_bias=True, activation=ReLU()\n"
        "  (activation): ReLU()\n)")


def test_errors():
    with pytest.raises(TypeError, match="'Dense'.*'in_channels'.*3.0"):
        nn.Dense(3.0, 4)
    with pytest.raises(ValueError, match="'Dense'.*'out_channels'.*0"):
        nn.Dense(3, 0)
    with pytest.raises(TypeError, match="'Dense'.*'has_bias'"):
        nn.Dense(3, 4, has_bias=1)
    with pytest.raises(ValueError, match="'Dense'.*activation.*'relux'"):
        nn.Dense(3, 4, activation="relux")
    with pytest.raises(TypeError, match="'Dense'.*'activation'.*int"):
        nn.Dense(3, 4, activation=3)
    net = nn.Dense(3, 4)
    with pytest.raises(ValueError, match=r"'Dense'.*in_channels 3.*\(2, 5\)"):
        net(Tensor(np.ones((2, 5), np.float32)))
    with pytest.raises(TypeError, match="'Dense'.*Float64.*Float32"):
        net(Tensor(np.ones((2, 3))))
    with pytest.raises(TypeError, match="'Dense'.*'x'.*Tensor"):
        net(np.ones((2, 3), np.float32))


def test_parameter_replacement_in_float64():
    net = nn.Dense(2, 1)
    net.weight = Parameter(Tensor(np.ones((1, 2))), name="weight")
    net.bias = Parameter(Tensor(np.zeros(1)), name="bias")
    assert host(net(Tensor(np.array([[1.0, 2.0]])))).tolist() == [[3.0]]
