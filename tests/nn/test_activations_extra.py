"""LeakyReLU, PReLU, ELU, Mish, HSwish, HSigmoid, Softplus, Softsign, Tanhshrink (Cells and functional
ops) against NumPy float64 references, their gradients (first and second order) against finite
differences on both backends, get_activation's keys, a jitted training step, and the errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from nn_testing import gradcheck, host, on

import gpucell as ms
from gpucell import Tensor, nn, ops
from gpucell.jit import clear_cache, function
from gpucell.ops._dispatch import is_capturable

RNG = np.random.default_rng(5)
# Away from the kinks (0 and +-3), where finite differences straddle two pieces.
X = RNG.uniform(-5, 5, (4, 6))
X[np.abs(X) < 0.05] += 0.2
X[np.abs(np.abs(X) - 3) < 0.05] += 0.2


def softplus_ref(x, beta=1.0, threshold=20.0):
    return np.where(beta * x > threshold, x, np.logaddexp(0, beta * x) / beta)


REFERENCES = {
    "LeakyReLU": (nn.LeakyReLU, ops.leaky_relu, lambda x: np.where(x > 0, x, 0.2 * x)),
    "ELU": (nn.ELU, ops.elu, lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0)))),
    "Mish": (nn.Mish, ops.mish, lambda x: x * np.tanh(np.logaddexp(0, x))),
    "HSwish": (nn.HSwish, ops.hardswish, lambda x: x * np.clip(x + 3, 0, 6) / 6),
    "HSigmoid": (nn.HSigmoid, ops.hardsigmoid, lambda x: np.clip(x + 3, 0, 6) / 6),
    "Softplus": (nn.Softplus, ops.softplus, softplus_ref),
    "Softsign": (nn.Softsign, ops.softsign, lambda x: x / (1 + np.abs(x))),
    "Tanhshrink": (nn.Tanhshrink, None, lambda x: x - np.tanh(x)),
    "PReLU": (nn.PReLU, None, lambda x: np.where(x > 0, x, 0.25 * x)),
}


def assert_captured(device: str) -> None:
    """On the GPU the one plan made was captured into a CUDA graph with no graph break."""
    (plan,) = function.PLANS._plans.values()
    if device == "GPU":
        assert plan.executor.kind == "cuda-graph" and not plan.executor.failed
        assert plan.executor.graph_breaks == 0, [s.op.name for s in plan.steps if not is_capturable(s.op, s.attrs)]


@pytest.mark.parametrize("name", list(REFERENCES))
def test_values_and_gradients(device, name):
    cls, fn, reference = REFERENCES[name]
    cell = cls()
    if name == "PReLU":
        cell.w.move_to(device)
    np.testing.assert_allclose(host(cell(on(device, X))), reference(X), rtol=1e-12, atol=1e-14)
    out32 = cell(on(device, X, np.float32))
    assert out32.dtype is ms.float32
    np.testing.assert_allclose(host(out32), reference(X), rtol=2e-6, atol=2e-6)
    if fn is not None:
        np.testing.assert_allclose(host(fn(on(device, X))), reference(X), rtol=1e-12, atol=1e-14)
    gradcheck(cell, X, device=device)


@pytest.mark.parametrize("name", [n for n in REFERENCES if n not in ("PReLU",)])
def test_second_order_gradients(device, name):
    """The backward rules are ops: the gradient of the gradient matches finite differences."""
    cls = REFERENCES[name][0]
    cell = cls()
    grad = ms.grad(lambda x: ops.sum(cell(x)))
    gradcheck(grad, X, device=device, rtol=1e-5, atol=1e-6)


def test_float16_and_arguments(device):
    x16 = on(device, X, np.float16)
    for fn, ref in ((ops.leaky_relu, REFERENCES["LeakyReLU"][2]), (ops.mish, REFERENCES["Mish"][2]),
                    (ops.hardswish, REFERENCES["HSwish"][2])):
        out = fn(x16)
        assert out.dtype is ms.float16
        np.testing.assert_allclose(host(out), ref(X.astype(np.float16).astype(np.float64)), rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(host(ops.leaky_relu(on(device, X), 0.01)), np.where(X > 0, X, 0.01 * X))
    np.testing.assert_allclose(host(nn.ELU(0.5)(on(device, X))), np.where(X > 0, X, 0.5 * np.expm1(X)), rtol=1e-12)
    np.testing.assert_allclose(host(nn.Softplus(2, 3)(on(device, X))), softplus_ref(X, 2.0, 3.0), rtol=1e-12)
    gradcheck(lambda x: ops.softplus(x, 2, 3), X, device=device)
    gradcheck(lambda x: ops.elu(x, 0.5), X, device=device)


def test_softplus_is_stable_for_large_inputs(device):
    x = on(device, np.array([-1e4, -50.0, 0.0, 50.0, 1e4], np.float32))
    out = host(ops.softplus(x, threshold=1e9))  # no linear shortcut: the stable form alone
    np.testing.assert_allclose(out, [0.0, np.exp(-50.0), math.log(2), 50.0, 1e4], rtol=1e-6)
    assert np.isfinite(host(ops.mish(x))).all() and np.isfinite(host(nn.ELU()(x))).all()


def test_prelu_per_channel_weight_and_its_gradient(device):
    x = RNG.standard_normal((2, 3, 4))
    w = np.array([0.1, 0.5, 0.9])
    expected = np.where(x > 0, x, w[None, :, None] * x)
    np.testing.assert_allclose(host(ops.prelu(on(device, x), on(device, w))), expected, rtol=1e-12)
    gradcheck(ops.prelu, x, w, positions=(0, 1), device=device)
    cell = nn.PReLU(3, [0.1, 0.5, 0.9])
    cell.w.move_to(device)
    assert cell.w.name == "a" and cell.w.shape == (3,) and cell.w.dtype is ms.float32
    np.testing.assert_allclose(host(cell(on(device, x))), expected, rtol=1e-6)
    scalar = ops.prelu(on(device, np.array(-2.0)), on(device, np.array([0.5])))
    assert scalar.shape == () and float(host(scalar)) == -1.0


def test_prelu_cell_clamps_its_weight_like_mindspore(device):
    """MindSpore's nn.PReLU uses relu(w) and, in training, writes it back into w."""
    cell = nn.PReLU(2, Tensor(np.array([-0.5, 0.3], np.float32)))
    cell.w.move_to(device)
    x = on(device, np.array([[-1.0, -1.0]], np.float32))
    np.testing.assert_allclose(host(cell(x)), [[0.0, -0.3]])
    np.testing.assert_allclose(host(cell.w), [-0.5, 0.3])  # not training: w untouched
    cell.set_train()
    cell(x)
    np.testing.assert_allclose(host(cell.w), [0.0, 0.3])


def test_gelu_and_silu_and_log_softmax_against_references(device):
    erf = np.vectorize(math.erf)
    exact = 0.5 * X * (1 + erf(X / math.sqrt(2)))
    tanh_form = 0.5 * X * (1 + np.tanh(math.sqrt(2 / math.pi) * (X + 0.044715 * X ** 3)))
    np.testing.assert_allclose(host(nn.GELU(False)(on(device, X))), exact, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(host(nn.GELU(True)(on(device, X))), tanh_form, rtol=1e-12)
    np.testing.assert_allclose(host(nn.SiLU()(on(device, X))), X / (1 + np.exp(-X)), rtol=1e-12)
    shifted = X - X.max(1, keepdims=True)
    np.testing.assert_allclose(host(nn.LogSoftmax()(on(device, X))),
                               shifted - np.log(np.exp(shifted).sum(1, keepdims=True)), rtol=1e-12)
    for approximate in (True, False):
        gradcheck(nn.GELU(approximate), X, device=device)


def test_get_activation_knows_the_new_names():
    names = {"leakyrelu": nn.LeakyReLU, "prelu": nn.PReLU, "elu": nn.ELU, "mish": nn.Mish, "hswish": nn.HSwish,
             "hsigmoid": nn.HSigmoid, "softplus": nn.Softplus, "softsign": nn.Softsign,
             "tanhshrink": nn.Tanhshrink}
    for name, cls in names.items():
        assert type(nn.get_activation(name)) is cls
    assert type(nn.get_activation("LeakyReLU")) is nn.LeakyReLU
    dense = nn.Dense(3, 2, activation="leakyrelu")
    out = dense(Tensor(np.ones((1, 3), np.float32)))
    assert out.shape == (1, 2)


def test_jitted_training_step_with_the_activations(device):
    """A training step through every new activation, jitted (a CUDA graph on the GPU), equals eager."""
    def build():
        ms.set_seed(1)
        net = nn.SequentialCell([nn.Dense(5, 6), nn.LeakyReLU(), nn.Dense(6, 6), nn.PReLU(), nn.ELU(), nn.Mish(),
                                 nn.HSwish(), nn.Dense(6, 6), nn.HSigmoid(), nn.Softplus(), nn.Softsign(),
                                 nn.Tanhshrink(), nn.Dense(6, 3)])
        for p in net.get_parameters():
            p.move_to(device)
        opt = nn.SGD(net.trainable_params(), learning_rate=0.1)
        return nn.TrainOneStepCell(nn.WithLossCell(net, nn.MSELoss()), opt)

    rng = np.random.default_rng(2)
    batches = [(on(device, rng.standard_normal((4, 5)), np.float32), on(device, rng.standard_normal((4, 3)),
                                                                         np.float32)) for _ in range(3)]
    eager = build()
    eager_losses = [float(host(eager(x, y))) for x, y in batches]
    jitted_cell = build()
    step = ms.jit(lambda x, y: jitted_cell(x, y))
    clear_cache()
    jit_losses = [float(host(step(x, y))) for x, y in batches]
    np.testing.assert_allclose(jit_losses, eager_losses, rtol=1e-5)
    assert eager_losses[-1] != eager_losses[0]
    assert_captured(device)


def test_errors():
    x = Tensor(np.zeros((2, 3), np.float32))
    with pytest.raises(TypeError, match="'LeakyReLU'.*'alpha'.*'str'"):
        nn.LeakyReLU("0.1")
    with pytest.raises(TypeError, match="'LeakyReLU'.*'input'.*Int64"):
        ops.leaky_relu(Tensor([1, 2]))
    with pytest.raises(TypeError, match="'Mish'.*'x'.*Tensor.*list"):
        ops.mish([1.0])
    with pytest.raises(ValueError, match="'ELU'.*'alpha'.*> 0.*-1"):
        nn.ELU(-1.0)
    with pytest.raises(ValueError, match="'Softplus'.*'beta'.*0"):
        nn.Softplus(beta=0)
    with pytest.raises(ValueError, match="'PReLU'.*'channel'.*positive int.*0"):
        nn.PReLU(0)
    with pytest.raises(TypeError, match="'PReLU'.*'w'.*float, list and tensor.*str"):
        nn.PReLU(1, "a")
    with pytest.raises(ValueError, match=r"'PReLU'.*'w' shape \(2,\).*'channel' 3"):
        nn.PReLU(3, Tensor(np.ones(2, np.float32)))
    with pytest.raises(ValueError, match="'PReLU'.*'w' list.*3.*2"):
        nn.PReLU(3, [0.1, 0.2])
    with pytest.raises(ValueError, match=r"'PReLU'.*'weight'.*length 1 or 3.*\(2,\)"):
        ops.prelu(x, Tensor(np.ones(2, np.float32)))
    with pytest.raises(TypeError, match="'PReLU'.*dtype of 'weight'"):
        ops.prelu(x, Tensor(np.ones(3)))
    with pytest.raises(ValueError, match="'get_activation'.*'relu6'"):
        nn.get_activation("relu6")
