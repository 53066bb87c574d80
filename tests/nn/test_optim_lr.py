"""Learning rates: MindSpore's dynamic lr lists, LearningRateSchedule Cells, and optimizers whose rate
changes on the device (step by step, also inside a jit plan) without re-creating anything."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gpucell as ms
from gpucell import Parameter, Tensor, nn, ops
from gpucell.jit import cache_info, clear_cache


# -- the list functions, on the examples of MindSpore's documentation -----------------------------
def test_dynamic_lr_lists_match_mindspore_examples():
    assert nn.exponential_decay_lr(0.1, 0.9, 6, 2, 1) == pytest.approx([0.1, 0.1, 0.09, 0.09, 0.081, 0.081])
    assert nn.natural_exp_decay_lr(0.1, 0.9, 6, 2, 2, True) == pytest.approx(
        [0.1, 0.1, 0.1, 0.1, 0.016529888822158657, 0.016529888822158657])
    assert nn.inverse_decay_lr(0.1, 0.5, 6, 1, 1) == pytest.approx([0.1, 0.1 / 1.5, 0.05, 0.04, 0.1 / 3, 0.1 / 3.5])
    assert nn.cosine_decay_lr(0.01, 0.1, 6, 2, 2) == pytest.approx([0.1, 0.1, 0.055, 0.055, 0.01, 0.01])
    assert nn.polynomial_decay_lr(0.1, 0.01, 6, 2, 2, 0.5) == pytest.approx(
        [0.1, 0.1, 0.07363961030678928, 0.07363961030678928, 0.01, 0.01])
    assert nn.warmup_lr(0.1, 6, 2, 2) == pytest.approx([0.0, 0.0, 0.05, 0.05, 0.1, 0.1])
    assert nn.piecewise_constant_lr([2, 5, 6], [0.1, 0.05, 0.01]) == [0.1, 0.1, 0.05, 0.05, 0.05, 0.01]


def test_dynamic_lr_errors_name_the_function_and_argument():
    with pytest.raises(TypeError, match="For 'exponential_decay_lr', the 'total_step' must be an int"):
        nn.exponential_decay_lr(0.1, 0.9, 6.0, 2, 1)
    with pytest.raises(ValueError, match="For 'cosine_decay_lr', the 'min_lr' must be less than 'max_lr'"):
        nn.cosine_decay_lr(0.1, 0.1, 6, 2, 2)
    with pytest.raises(ValueError, match="'milestone' must be strictly increasing"):
        nn.piecewise_constant_lr([2, 2], [0.1, 0.2])
    with pytest.raises(TypeError, match="'is_stair' must be a bool"):
        nn.inverse_decay_lr(0.1, 0.5, 6, 1, 1, is_stair=1)


# -- LearningRateSchedule Cells --------------------------------------------------------------------
SCHEDULES = [
    (lambda: nn.ExponentialDecayLR(0.1, 0.9, 4), lambda s: 0.1 * 0.9 ** (s / 4)),
    (lambda: nn.ExponentialDecayLR(0.1, 0.9, 4, is_stair=True), lambda s: 0.1 * 0.9 ** (s // 4)),
    (lambda: nn.NaturalExpDecayLR(0.1, 0.9, 4), lambda s: 0.1 * math.exp(-0.9 * s / 4)),
    (lambda: nn.InverseDecayLR(0.1, 0.5, 4, is_stair=True), lambda s: 0.1 / (1 + 0.5 * (s // 4))),
    (lambda: nn.CosineDecayLR(0.01, 0.1, 6),
     lambda s: 0.01 + 0.045 * (1 + math.cos(math.pi * min(s, 6) / 6))),
    (lambda: nn.PolynomialDecayLR(0.1, 0.01, 6, 2.0), lambda s: 0.09 * (1 - min(s, 6) / 6) ** 2 + 0.01),
    (lambda: nn.PolynomialDecayLR(0.1, 0.01, 4, 1.0, update_decay_steps=True),
     lambda s: 0.09 * (1 - s / (4 * max(math.ceil(s / 4), 1))) + 0.01),
    (lambda: nn.WarmUpLR(0.1, 5), lambda s: 0.1 * min(s, 5) / 5),
]


@pytest.mark.parametrize("make, formula", SCHEDULES, ids=lambda v: "" if callable(v) else str(v))
def test_schedules_follow_their_formula(device, make, formula):
    schedule = make()
    for step in (0, 1, 3, 4, 6, 9):
        lr = schedule(Tensor(np.array([step], np.int32), device=device))
        assert lr.dtype == ms.float32 and lr.device == device
        assert float(lr.asnumpy()) == pytest.approx(formula(step), rel=1e-5), step


def test_schedule_argument_errors():
    with pytest.raises(ValueError, match="For 'ExponentialDecayLR', the 'learning_rate' must be > 0"):
        nn.ExponentialDecayLR(0.0, 0.9, 4)
    with pytest.raises(TypeError, match="For 'WarmUpLR', the 'warmup_steps' must be an int"):
        nn.WarmUpLR(0.1, 2.5)
    with pytest.raises(ValueError, match="For 'CosineDecayLR', the 'min_lr' must be less than 'max_lr'"):
        nn.CosineDecayLR(0.2, 0.1, 4)
    with pytest.raises(NotImplementedError, match="must define construct"):
        nn.LearningRateSchedule()(Tensor([0], ms.int32))


# -- optimizers follow the rate step by step -------------------------------------------------------
def one_param(device, value=1.0):
    return Parameter(Tensor(np.full(3, value, np.float32), device=device), name="w")


def deltas(opt, w, steps, device):
    """The learning rate each step applied, read off a plain SGD update with gradient 1."""
    out = []
    for _ in range(steps):
        before = w.asnumpy().copy()
        opt((Tensor(np.ones(3, np.float32), device=device),))
        out.append(float((before - w.asnumpy())[0]))
    return out


def test_a_list_learning_rate_is_used_step_by_step_and_the_last_holds(device):
    w = one_param(device)
    rates = [0.1, 0.05, 0.025]
    opt = nn.SGD([w], learning_rate=rates)
    assert isinstance(opt.learning_rate, nn.LearningRateSchedule)
    assert opt.learning_rate.learning_rate.name == "learning_rate" and opt.dynamic_lr
    assert deltas(opt, w, 5, device) == pytest.approx([0.1, 0.05, 0.025, 0.025, 0.025], rel=1e-5)
    assert opt.global_step.asnumpy().tolist() == [5]


def test_a_schedule_learning_rate_is_computed_from_the_global_step(device):
    w = one_param(device)
    opt = nn.SGD([w], learning_rate=nn.WarmUpLR(0.1, 4))
    assert deltas(opt, w, 6, device) == pytest.approx([0.0, 0.025, 0.05, 0.075, 0.1, 0.1], rel=1e-5)
    assert float(opt.get_lr().asnumpy()) == pytest.approx(0.1)


def test_a_one_dimensional_tensor_is_a_dynamic_learning_rate():
    w = one_param("CPU")
    opt = nn.Momentum([w], Tensor(np.array([0.2, 0.1], np.float32)), momentum=0.0)
    assert deltas(opt, w, 3, "CPU") == pytest.approx([0.2, 0.1, 0.1], rel=1e-5)


def test_group_learning_rates_mix_fixed_and_scheduled():
    a, b = one_param("CPU"), Parameter(Tensor(np.ones(3, np.float32)), name="b")
    opt = nn.SGD([{"params": [a], "lr": [0.3, 0.2]}, {"params": [b]}], learning_rate=0.01)
    g = (Tensor(np.ones(3, np.float32)), Tensor(np.ones(3, np.float32)))
    opt(g)
    opt(g)
    np.testing.assert_allclose(a.asnumpy(), 1 - 0.3 - 0.2, rtol=1e-6)
    np.testing.assert_allclose(b.asnumpy(), 1 - 0.02, rtol=1e-6)
    names = set(opt.parameters_dict())
    assert {"learning_rate_group_0", "learning_rate_group_1", "global_step"} <= names


def test_bad_learning_rates_are_refused():
    w = one_param("CPU")
    with pytest.raises(ValueError, match=r"a dynamic learning_rate must be a non-empty 1-D list"):
        nn.SGD([w], [[0.1, 0.2]])
    with pytest.raises(TypeError, match="the learning_rate must be a float, a list of floats"):
        nn.SGD([w], "0.1")
    with pytest.raises(ValueError, match="every learning_rate must be >= 0"):
        nn.SGD([w], [0.1, -0.1])


# -- inside a jit plan: the rate lives on the device, so replays follow it -------------------------
def _train_setup(lr, optimizer=nn.SGD, **kwargs):
    net = nn.Dense(4, 3)
    rng = np.random.default_rng(0)
    for p in net.trainable_params():
        p.set_data(Tensor(rng.standard_normal(p.shape).astype(np.float32)))
    opt = optimizer(net.trainable_params(), lr, **kwargs)
    grad_fn = ms.value_and_grad(lambda x, y: ((net(x) - y) ** 2).mean(), None, opt.parameters)

    def step(x, y):
        loss, grads = grad_fn(x, y)
        opt(grads)
        return loss

    return net, opt, step


@pytest.mark.parametrize("optimizer, lr, kwargs", [
    (nn.SGD, [0.1, 0.05, 0.02, 0.01], {"momentum": 0.9}),
    (nn.Adam, nn.CosineDecayLR(0.001, 0.05, 3), {}),
    (nn.AdamW, 0.01, {}),
], ids=["SGD-list", "Adam-cosine", "AdamW"])
def test_a_jitted_step_follows_the_schedule_like_the_eager_one(optimizer, lr, kwargs):
    clear_cache()
    x = Tensor(np.random.default_rng(1).standard_normal((8, 4)).astype(np.float32))
    y = Tensor(np.zeros((8, 3), np.float32))
    eager_net, _, eager = _train_setup(lr, optimizer, **kwargs)
    jit_net, jit_opt, step = _train_setup(lr, optimizer, **kwargs)
    jitted = ms.jit(step)
    for _ in range(5):
        assert float(eager(x, y).asnumpy()) == pytest.approx(float(jitted(x, y).asnumpy()), rel=1e-6)
    for p, q in zip(eager_net.trainable_params(), jit_net.trainable_params()):
        np.testing.assert_allclose(p.asnumpy(), q.asnumpy(), rtol=1e-6, atol=1e-7)
    assert jit_opt.global_step.asnumpy().tolist() == [5]
    info = cache_info()
    assert info.misses == 1 and info.hits == 4  # traced once, replayed with the live rate


def test_assigning_the_learning_rate_changes_a_compiled_step_without_retracing():
    clear_cache()
    x = Tensor(np.ones((2, 4), np.float32))
    y = Tensor(np.zeros((2, 3), np.float32))
    net, opt, step = _train_setup(0.1)
    jitted = ms.jit(step)
    jitted(x, y)
    jitted(x, y)
    ops.assign(opt.learning_rate, Tensor(0.0, ms.float32))
    frozen = [p.asnumpy().copy() for p in net.trainable_params()]
    jitted(x, y)
    for p, f in zip(net.trainable_params(), frozen):
        np.testing.assert_array_equal(p.asnumpy(), f)  # lr 0: the replay read the new value
    assert cache_info().misses == 1
