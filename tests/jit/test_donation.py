"""Buffer donation: a plan lets an op overwrite a temporary that nothing reads after it, and only
then; replays stay bit-identical to eager."""

from __future__ import annotations

import numpy as np
import pytest
from jit_testing import assert_same

import gpucell as ms
from gpucell import Tensor, nn
from gpucell.jit import clear_cache, function


@pytest.fixture(autouse=True)
def fresh_cache():
    clear_cache()
    yield
    clear_cache()


def _model(momentum: float, seed: int = 0):
    ms.set_seed(seed)
    net = nn.SequentialCell([nn.Dense(6, 8), nn.ReLU(), nn.Dense(8, 8), nn.ReLU(), nn.Dense(8, 3)])
    loss_fn = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
    opt = nn.SGD(net.trainable_params(), learning_rate=0.05, momentum=momentum)
    grad_fn = ms.value_and_grad(lambda x, y: loss_fn(net(x), y), None, opt.parameters)
    return net, opt, grad_fn


def _data(device, seed=1):
    rng = np.random.default_rng(seed)
    x = Tensor(rng.standard_normal((5, 6)).astype(np.float32), device=device)
    y = Tensor(rng.integers(0, 3, 5).astype(np.int32), device=device)
    return x, y


def _plan():
    (plan,) = function.PLANS._plans.values()
    return plan


def _donated(plan) -> dict:
    out = {}
    for step in plan.steps:
        if step.op.name == "SGD":
            out["SGD"] = [a.get("donated", False) for a in step.attrs["per_param"]]
        elif step.attrs.get("donated"):
            out.setdefault(step.op.name, 0)
            out[step.op.name] += 1
    return out


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_training_step_donates_gradients_and_equals_eager(device, momentum):
    x, y = _data(device)
    eager_net, eager_opt, eager_grad = _model(momentum)
    jit_net, jit_opt, jit_grad = _model(momentum)

    def step(grad_fn, opt):
        loss, grads = grad_fn(x, y)
        opt(grads)
        return loss

    jitted = ms.jit(lambda: step(jit_grad, jit_opt))
    for _ in range(6):
        want = step(eager_grad, eager_opt).asnumpy()
        assert_same(jitted().asnumpy(), want, device)
    for a, b in zip(jit_net.trainable_params(), eager_net.trainable_params()):
        assert_same(a.asnumpy(), b.asnumpy(), device)
    donated = _donated(_plan())
    assert donated["SGD"] == [True] * 6 and donated["DenseGrad"] == 3


def test_a_returned_gradient_is_not_donated_and_stays_intact(device):
    x, y = _data(device)
    eager = _model(0.0)
    jit_parts = _model(0.0)

    def step(parts):
        _, opt, grad_fn = parts
        loss, grads = grad_fn(x, y)
        opt(grads)
        return loss, grads[0]  # the first weight's gradient is the caller's

    jitted = ms.jit(lambda: step(jit_parts))
    for _ in range(3):
        want_loss, want_grad = step(eager)
        got_loss, got_grad = jitted()
        np.testing.assert_allclose(got_grad.asnumpy(), want_grad.asnumpy(), rtol=1e-6, atol=1e-7)
    assert _donated(_plan())["SGD"] == [False] + [True] * 5


def test_a_gradient_read_twice_is_not_donated(device):
    x, y = _data(device)
    parts = _model(0.0)
    _, opt, grad_fn = parts

    def step():
        loss, grads = grad_fn(x, y)
        norm = (grads[2] * grads[2]).sum()  # a second reader of the second weight's gradient
        opt(grads)
        return loss, norm

    jitted = ms.jit(step)
    for _ in range(2):
        jitted()
    assert _donated(_plan())["SGD"] == [True, True, False, True, True, True]


def test_eager_never_overwrites_the_callers_gradients(device):
    x, y = _data(device)
    _, opt, grad_fn = _model(0.9)
    _, grads = grad_fn(x, y)
    before = [g.asnumpy().copy() for g in grads]
    opt(grads)
    opt(grads)
    for b, g in zip(before, grads):
        np.testing.assert_array_equal(g.asnumpy(), b)
