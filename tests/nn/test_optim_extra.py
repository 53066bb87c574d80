"""AdaMax, ProximalAdagrad, ASGD, Rprop and LazyAdam: trajectories against float64 references of
MindSpore's formulas (ApplyAdaMax, ApplyProximalAdagrad's kernel, the bodies of nn.ASGD and nn.Rprop,
Adam's kernel for LazyAdam on dense gradients), state names, argument errors and jitted train steps."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from test_optim import (
    assert_params,
    assert_refuses_bad_gradients,
    grad_steps,
    host_steps,
    make_params,
    ref_adam,
    run,
    start,
)
from test_optim_more import assert_in_place_with_one_op, assert_jitted_step_equals_eager

import gpucell as ms
from gpucell import Parameter, Tensor, nn


def _case_id(case: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in case.items()) or "defaults"


def _rate(lr, t: int) -> float:
    """The learning rate of step ``t`` (1-based): a float, or a per-step list whose last entry holds."""
    return lr[min(t, len(lr)) - 1] if isinstance(lr, list) else lr


def _grads(ws, grads, wd, scale, mask):
    return [g / scale + (wd * w if m else 0.0) for w, g, m in zip(ws, grads, mask)]


# -- float64 references ----------------------------------------------------------------------------
def ref_adamax(ws, steps, lr, b1=0.9, b2=0.999, eps=1e-8, wd=0.0, scale=1.0, mask=None):
    ws = [w.copy() for w in ws]
    mask = mask or [True] * len(ws)
    m = [np.zeros_like(w) for w in ws]
    v = [np.zeros_like(w) for w in ws]
    for t, grads in enumerate(steps, start=1):
        for i, g in enumerate(_grads(ws, grads, wd, scale, mask)):
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = np.maximum(b2 * v[i], np.abs(g))
            ws[i] = ws[i] - _rate(lr, t) / (1 - b1 ** t) * m[i] / (v[i] + eps)
    return ws


def ref_proximal_adagrad(ws, steps, lr, accum=0.1, l1=0.0, l2=0.0, wd=0.0, scale=1.0):
    """MindSpore's kernel: the shrinkage uses the adaptive rate lr / sqrt(accum)."""
    ws = [w.copy() for w in ws]
    h = [np.full_like(w, accum) for w in ws]
    for grads in steps:
        for i, g in enumerate(_grads(ws, grads, wd, scale, [True] * len(ws))):
            h[i] = h[i] + g * g
            r = lr / np.sqrt(h[i])
            v = ws[i] - r * g
            ws[i] = np.sign(v) * np.maximum(np.abs(v) - r * l1, 0.0) / (1 + r * l2)
    return ws


def ref_asgd(ws, steps, lr, lambd=1e-4, alpha=0.75, t0=1e6, wd=0.0, mask=None):
    """Returns the Parameters, their averages ``ax`` and the last ``eta`` and ``mu``."""
    ws = [w.copy() for w in ws]
    mask = mask or [True] * len(ws)
    ax = [np.zeros_like(w) for w in ws]
    eta, mu = [0.0] * len(ws), [1.0] * len(ws)
    for t, grads in enumerate(steps, start=1):
        rate = _rate(lr, t)
        for i, g in enumerate(_grads(ws, grads, wd, 1.0, mask)):
            if t == 1:
                eta[i] = rate
            ws[i] = ws[i] * (1 - lambd * eta[i]) - eta[i] * g
            ax[i] = ws[i].copy() if mu[i] == 1 else ax[i] + (ws[i] - ax[i]) * mu[i]
            eta[i] = rate / (1 + lambd * rate * t) ** alpha
            mu[i] = 1 / max(1.0, t - t0)
    return ws, ax, eta, mu


def ref_rprop(ws, steps, lr, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0), wd=0.0, mask=None):
    ws = [w.copy() for w in ws]
    mask = mask or [True] * len(ws)
    prev = [np.zeros_like(w) for w in ws]
    size = [np.zeros_like(w) for w in ws]
    for t, grads in enumerate(steps, start=1):
        for i, g in enumerate(_grads(ws, grads, wd, 1.0, mask)):
            s = np.full_like(ws[i], _rate(lr, t)) if t == 1 else size[i]
            product = g * prev[i]
            s = np.where(product > 0, s * etas[1], np.where(product < 0, s * etas[0], s))
            s = np.clip(s, *step_sizes)
            g = np.where(product < 0, 0.0, g)
            ws[i] = ws[i] - np.sign(g) * s
            prev[i], size[i] = g, s
    return ws


# -- AdaMax ----------------------------------------------------------------------------------------
ADAMAX_CASES = [dict(), dict(beta1=0.8, beta2=0.9, eps=1e-3), dict(weight_decay=0.1, loss_scale=16.0),
                dict(learning_rate=[0.1, 0.05, 0.02])]


@pytest.mark.parametrize("case", ADAMAX_CASES, ids=_case_id)
def test_adamax_matches_mindspore_formula(device, case):
    case = dict(case)
    lr = case.pop("learning_rate", 0.05)
    params = make_params(device, names=("w", "b", "bn.gamma"))
    steps = grad_steps(device, steps=5)
    expected = ref_adamax(start(params), host_steps(steps), lr, case.get("beta1", 0.9), case.get("beta2", 0.999),
                          case.get("eps", 1e-8), case.get("weight_decay", 0.0), case.get("loss_scale", 1.0),
                          mask=[True, True, False])
    opt = nn.AdaMax(params, learning_rate=lr, **case)
    run(opt, steps)
    assert_params(params, expected)
    np.testing.assert_allclose(opt.beta1_power.asnumpy(), [case.get("beta1", 0.9) ** 5], rtol=1e-6)


def test_adamax_state_and_errors():
    params = make_params("CPU")
    opt = nn.AdaMax(params)
    assert [m.name for m in opt.moment1] == ["moment1.w", "moment1.b", "moment1.s"]
    assert [v.name for v in opt.moment2] == ["moment2.w", "moment2.b", "moment2.s"]
    assert opt.beta1_power.name == "beta1_power" and "beta2_power" not in opt.parameters_dict()
    assert all(m.shape == p.shape and not m.asnumpy().any() for m, p in zip(opt.moment1, params))
    for bad in (0.0, 1.0):
        with pytest.raises(ValueError, match=r"For 'AdaMax', the 'beta1' must be in range \(0.0, 1.0\)"):
            nn.AdaMax(params, beta1=bad)
    with pytest.raises(TypeError, match="For 'AdaMax', the 'beta2' must be a float"):
        nn.AdaMax(params, beta2="0.9")
    with pytest.raises(ValueError, match="For 'AdaMax', the 'eps' must be > 0.0, but got 0.0"):
        nn.AdaMax(params, eps=0.0)
    with pytest.raises(ValueError, match="For 'AdaMax', the 'loss_scale' must be > 0.0"):
        nn.AdaMax(params, loss_scale=0.0)
    with pytest.raises(ValueError, match="For 'AdaMax', the 'weight_decay' must be >= 0.0"):
        nn.AdaMax(params, weight_decay=-0.1)


# -- ProximalAdagrad -------------------------------------------------------------------------------
PROXIMAL_CASES = [dict(), dict(l1=0.05), dict(l2=0.5), dict(accum=1.0, l1=0.02, l2=0.1),
                  dict(weight_decay=0.1, loss_scale=8.0, l1=0.01)]


@pytest.mark.parametrize("case", PROXIMAL_CASES, ids=_case_id)
def test_proximal_adagrad_matches_mindspore_kernel(device, case):
    params = make_params(device)
    steps = grad_steps(device, steps=4)
    expected = ref_proximal_adagrad(start(params), host_steps(steps), 0.1, case.get("accum", 0.1), case.get("l1", 0.0),
                                    case.get("l2", 0.0), case.get("weight_decay", 0.0), case.get("loss_scale", 1.0))
    run(nn.ProximalAdagrad(params, learning_rate=0.1, **case), steps)
    assert_params(params, expected)


def test_proximal_adagrad_shrinks_with_the_adaptive_rate():
    """MindSpore's kernels divide by 1 + l2 * lr / sqrt(accum); the documented formula reads 1 + l2 * lr."""
    w = Parameter(Tensor(np.ones(1, np.float32)), name="w")
    opt = nn.ProximalAdagrad([w], accum=3.0, learning_rate=0.5, l2=1.0)
    opt((Tensor(np.ones(1, np.float32)),))
    # accum = 4, r = 0.25, v = 1 - 0.25 = 0.75, w = 0.75 / 1.25 (the documented formula gives 0.75 / 1.5)
    np.testing.assert_allclose(w.asnumpy(), [0.6], rtol=1e-6)


def test_proximal_adagrad_l1_zeroes_small_weights(device):
    params = make_params(device)
    steps = grad_steps(device, steps=2)
    expected = ref_proximal_adagrad(start(params), host_steps(steps), 0.5, l1=1.5)
    run(nn.ProximalAdagrad(params, learning_rate=0.5, l1=1.5), steps)
    assert_params(params, expected)
    zeros = sum(int((p.asnumpy() == 0).sum()) for p in params)
    assert zeros == sum(int((e == 0).sum()) for e in expected) and zeros > 0


def test_proximal_adagrad_state_and_errors():
    params = make_params("CPU")
    opt = nn.ProximalAdagrad(params, accum=0.5)
    assert [h.name for h in opt.accum] == ["accum.w", "accum.b", "accum.s"]
    assert all(np.allclose(h.asnumpy(), 0.5) and h.shape == p.shape for h, p in zip(opt.accum, params))
    for arg in ("accum", "l1", "l2"):
        with pytest.raises(ValueError, match=f"For 'ProximalAdagrad', the '{arg}' must be >= 0.0, but got -0.1"):
            nn.ProximalAdagrad(params, **{arg: -0.1})
    with pytest.raises(TypeError, match="For 'ProximalAdagrad', the 'l1' must be a float"):
        nn.ProximalAdagrad(params, l1=None)
    with pytest.raises(TypeError, match="For 'ProximalAdagrad', the 'use_locking' must be a bool"):
        nn.ProximalAdagrad(params, use_locking=1)


# -- ASGD ------------------------------------------------------------------------------------------
ASGD_CASES = [dict(), dict(lambd=0.05, alpha=0.5, t0=2.0), dict(weight_decay=0.1, lambd=0.01, t0=3.0),
              dict(learning_rate=[0.1, 0.05, 0.02], lambd=0.1, t0=1.0)]


@pytest.mark.parametrize("case", ASGD_CASES, ids=_case_id)
def test_asgd_matches_mindspore_formula(device, case):
    case = dict(case)
    lr = case.pop("learning_rate", 0.05)
    params = make_params(device, names=("w", "b", "bn.beta"))
    steps = grad_steps(device, steps=6)
    ws, ax, eta, mu = ref_asgd(start(params), host_steps(steps), lr, case.get("lambd", 1e-4), case.get("alpha", 0.75),
                               case.get("t0", 1e6), case.get("weight_decay", 0.0), mask=[True, True, False])
    opt = nn.ASGD(params, learning_rate=lr, **case)
    run(opt, steps)
    assert_params(params, ws)
    assert_params(opt.ax, ax)
    np.testing.assert_allclose([e.asnumpy() for e in opt.eta], eta, rtol=1e-6)
    np.testing.assert_allclose([m.asnumpy() for m in opt.mu], mu, rtol=1e-6)


def test_asgd_averages_once_past_t0():
    """Up to t0 + 1 steps ``ax`` is the Parameter itself; afterwards a running mean of the iterates."""
    w = Parameter(Tensor(np.zeros(1, np.float32)), name="w")
    opt = nn.ASGD([w], learning_rate=1.0, lambd=0.0, t0=1.0)
    iterates = []
    for _ in range(4):
        opt((Tensor(np.ones(1, np.float32)),))
        iterates.append(float(w.asnumpy()[0]))
    assert iterates == [-1.0, -2.0, -3.0, -4.0]
    # mu = 1 / max(1, t - 1): steps 1-3 read mu = 1 (copy), step 4 reads mu = 1/2 (set after step 3)
    np.testing.assert_allclose(opt.ax[0].asnumpy(), [-3.5])
    np.testing.assert_allclose(opt.mu[0].asnumpy(), 1 / 3)


def test_asgd_state_and_errors():
    params = make_params("CPU")
    opt = nn.ASGD(params)
    assert [e.name for e in opt.eta] == ["eta_w", "eta_b", "eta_s"]
    assert [m.name for m in opt.mu] == ["mu_w", "mu_b", "mu_s"]
    assert [a.name for a in opt.ax] == ["ax_.w", "ax_.b", "ax_.s"]
    assert all(e.shape == () and e.dtype == ms.float32 for e in (*opt.eta, *opt.mu))
    assert [float(m.asnumpy()) for m in opt.mu] == [1.0] * 3 and [float(e.asnumpy()) for e in opt.eta] == [0.0] * 3
    for arg in ("lambd", "alpha", "t0"):
        with pytest.raises(TypeError, match=f"For 'ASGD', the '{arg}' must be a float"):
            nn.ASGD(params, **{arg: "1"})
    with pytest.raises(ValueError, match="For 'ASGD', the 'weight_decay' must be >= 0.0"):
        nn.ASGD(params, weight_decay=-1.0)
    with pytest.raises(TypeError, match="loss_scale"):
        nn.ASGD(params, loss_scale=2.0)  # no loss_scale, as in MindSpore


# -- Rprop -----------------------------------------------------------------------------------------
RPROP_CASES = [dict(), dict(etas=(0.3, 1.5)), dict(step_sizes=(0.05, 0.12)), dict(weight_decay=0.2),
               dict(learning_rate=[0.2, 0.01])]


@pytest.mark.parametrize("case", RPROP_CASES, ids=_case_id)
def test_rprop_matches_mindspore_formula(device, case):
    case = dict(case)
    lr = case.pop("learning_rate", 0.1)
    params = make_params(device, names=("w", "b", "ln.gamma"))
    steps = grad_steps(device, steps=6)
    expected = ref_rprop(start(params), host_steps(steps), lr, case.get("etas", (0.5, 1.2)),
                         case.get("step_sizes", (1e-6, 50.0)), case.get("weight_decay", 0.0), mask=[True, True, False])
    opt = nn.Rprop(params, learning_rate=lr, **case)
    run(opt, steps)
    assert_params(params, expected)


def test_rprop_matches_torch():
    """torch.optim.Rprop has the same rule (the size starts at lr; a flipped sign freezes that step)."""
    torch = pytest.importorskip("torch")
    params = make_params("CPU")
    twins = [torch.tensor(p.asnumpy(), requires_grad=True) for p in params]
    steps = grad_steps("CPU", steps=6)
    opt = torch.optim.Rprop(twins, lr=0.1, etas=(0.4, 1.3), step_sizes=(0.01, 0.2))
    for grads in steps:
        for t, g in zip(twins, grads):
            t.grad = torch.tensor(g.asnumpy())
        opt.step()
    run(nn.Rprop(params, learning_rate=0.1, etas=(0.4, 1.3), step_sizes=(0.01, 0.2)), steps)
    assert_params(params, [t.detach().numpy() for t in twins])


def test_rprop_state_and_errors():
    params = make_params("CPU")
    opt = nn.Rprop(params)
    assert [p.name for p in opt.prev] == ["prev.w", "prev.b", "prev.s"]
    assert [p.name for p in opt.step_size] == ["step_size.w", "step_size.b", "step_size.s"]
    run(opt, grad_steps("CPU", steps=1))
    assert all(np.allclose(s.asnumpy(), 0.1) for s in opt.step_size)  # the first step starts at lr
    with pytest.raises(TypeError, match="For 'Rprop', the 'etas' must be a tuple, but got list"):
        nn.Rprop(params, etas=[0.5, 1.2])
    with pytest.raises(ValueError, match="For 'Rprop', the 'step_sizes' must be a tuple of 2 floats, but got 3"):
        nn.Rprop(params, step_sizes=(1e-6, 1.0, 50.0))
    with pytest.raises(ValueError, match="For 'Rprop', the maximal step size must not be less than the minimal"):
        nn.Rprop(params, step_sizes=(1.0, 0.5))
    for bad in (0.0, 1.0):
        with pytest.raises(ValueError, match=r"For 'Rprop', the 'etaminus' must be in range \(0.0, 1.0\)"):
            nn.Rprop(params, etas=(bad, 1.2))
    with pytest.raises(ValueError, match="For 'Rprop', the 'etaplus' must be greater than 1.0, but got 1.0"):
        nn.Rprop(params, etas=(0.5, 1.0))
    with pytest.raises(TypeError, match="For 'Rprop', the 'etaplus' must be a float"):
        nn.Rprop(params, etas=(0.5, "2"))
    with pytest.raises(TypeError, match="For 'Rprop', the 'min_step_sizes' must be a float"):
        nn.Rprop(params, step_sizes=(None, 1.0))


# -- LazyAdam --------------------------------------------------------------------------------------
def _lazy_adam(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return nn.LazyAdam(*args, **kwargs)


@pytest.mark.parametrize("case", [dict(), dict(use_nesterov=True), dict(weight_decay=0.1, loss_scale=4.0)],
                         ids=_case_id)
def test_lazy_adam_on_dense_gradients_is_adam(device, case):
    params = make_params(device)
    twins = make_params(device)
    steps = grad_steps(device, steps=4)
    scale = case.get("loss_scale", 1.0)
    expected = ref_adam(start(params), [[g / scale for g in grads] for grads in host_steps(steps)], 0.01,
                        wd=case.get("weight_decay", 0.0), nesterov=case.get("use_nesterov", False))
    opt = _lazy_adam(params, learning_rate=0.01, **case)
    run(opt, steps)
    run(nn.Adam(twins, learning_rate=0.01, **case), steps)
    assert_params(params, expected)
    for p, q in zip(params, twins):
        np.testing.assert_array_equal(p.asnumpy(), q.asnumpy())


def test_lazy_adam_warns_and_keeps_mindspore_state_and_errors():
    params = make_params("CPU")
    with pytest.warns(DeprecationWarning, match="'LazyAdam' is deprecated from version 2.0"):
        opt = nn.LazyAdam(params)
    names = set(opt.parameters_dict())
    assert {"moment1.w", "moment2.s", "beta1_power", "beta2_power"} <= names and "vhat.w" not in names
    with pytest.raises(TypeError, match="use_amsgrad"):
        _lazy_adam(params, use_amsgrad=True)  # not a LazyAdam argument in MindSpore
    with pytest.raises(ValueError, match=r"For 'LazyAdam', the 'beta1' must be in range \(0.0, 1.0\)"):
        _lazy_adam(params, beta1=1.0)
    with pytest.raises(TypeError, match="For 'LazyAdam', the 'use_nesterov' must be a bool"):
        _lazy_adam(params, use_nesterov=1)


# -- what every new optimizer shares ---------------------------------------------------------------
OPTIMIZERS = {
    "AdaMax": lambda ps: nn.AdaMax(ps, 0.05, weight_decay=0.01),
    "ProximalAdagrad": lambda ps: nn.ProximalAdagrad(ps, learning_rate=0.1, l1=0.001, l2=0.01),
    "ASGD": lambda ps: nn.ASGD(ps, 0.05, lambd=0.01, t0=1.0),
    "Rprop": lambda ps: nn.Rprop(ps, 0.01, weight_decay=0.01),
    "LazyAdam": lambda ps: _lazy_adam(ps, 0.01, use_nesterov=True),
}
OP_NAMES = {"AdaMax": "AdaMax", "ProximalAdagrad": "ProximalAdagrad", "ASGD": "ASGD", "Rprop": "Rprop",
            "LazyAdam": "Adam"}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_updates_are_in_place_and_one_op_per_step(name):
    assert_in_place_with_one_op(OPTIMIZERS[name], OP_NAMES[name])


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_bad_gradients_are_refused_before_anything_changes(name):
    assert_refuses_bad_gradients(OPTIMIZERS[name](make_params("CPU")))


def test_groups_give_their_own_rate_and_decay():
    w, b, s = make_params("CPU")
    steps = grad_steps("CPU", steps=4)
    hs = host_steps(steps)
    ws = start([w, b, s])
    opt = nn.AdaMax([{"params": [w], "lr": 0.01, "weight_decay": 0.1}, {"params": [b, s]}], learning_rate=0.05)
    run(opt, steps)
    exp_w = ref_adamax([ws[0]], [[g[0]] for g in hs], 0.01, wd=0.1)[0]
    assert_params([w, b, s], [exp_w, *ref_adamax(ws[1:], [g[1:] for g in hs], 0.05)])
    w, b, s = make_params("CPU")
    opt = nn.ASGD([{"params": [w, b], "lr": [0.1, 0.02]}, {"params": [s]}], learning_rate=0.05, lambd=0.1, t0=1.0)
    run(opt, steps)
    exp_wb = ref_asgd(ws[:2], [g[:2] for g in hs], [0.1, 0.02], lambd=0.1, t0=1.0)
    exp_s = ref_asgd(ws[2:], [g[2:] for g in hs], 0.05, lambd=0.1, t0=1.0)
    assert_params([w, b, s], [*exp_wb[0], *exp_s[0]])
    assert_params(opt.ax, [*exp_wb[1], *exp_s[1]])


# -- jit ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_a_jitted_train_step_equals_the_eager_one(device, name, recwarn):
    """ASGD's t0=1 starts averaging at step 4, read on the device."""
    assert_jitted_step_equals_eager(OPTIMIZERS[name], device, recwarn)
