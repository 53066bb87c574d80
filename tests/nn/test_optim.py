"""Optimizers: steps against hand-computed float64 updates, state names, groups, in-place updates."""

from __future__ import annotations

import numpy as np
import pytest

import gpucell as ms
from gpucell import Parameter, Tensor, nn

SHAPES = [(3, 4), (4,), ()]


def make_params(device, seed=0, names=("w", "b", "s")):
    rng = np.random.default_rng(seed)
    return [Parameter(Tensor(rng.standard_normal(s).astype(np.float32), device=device), name=n)
            for s, n in zip(SHAPES, names)]


def grad_steps(device, steps=3, seed=1):
    rng = np.random.default_rng(seed)
    return [tuple(Tensor(rng.standard_normal(s).astype(np.float32), device=device) for s in SHAPES)
            for _ in range(steps)]


def run(opt, steps):
    for grads in steps:
        assert opt(grads) == (True,) * len(grads)


def start(params):
    return [p.asnumpy().astype(np.float64) for p in params]


def host_steps(steps):
    return [[g.asnumpy().astype(np.float64) for g in grads] for grads in steps]


def assert_params(params, expected, rtol=2e-5, atol=2e-6):
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p.asnumpy(), e, rtol=rtol, atol=atol, err_msg=p.name)


def assert_refuses_bad_gradients(opt) -> None:
    """A step with too few gradients, one of the wrong shape, or not a tuple raises before anything
    changes: every Parameter of ``opt`` (the network's, the state, ``global_step``) keeps its value."""
    state = {p.name: p.asnumpy().copy() for p in opt.get_parameters()}
    good = grad_steps("CPU", 1)[0]
    with pytest.raises(ValueError, match="got 2 gradients for 3 Parameters"):
        opt(good[:2])
    with pytest.raises(ValueError, match=rf"For '{type(opt).__name__}', the gradient of 's' must be a Tensor of "
                                         r"shape \(\), but got shape \(1,\)"):
        opt(good[:2] + (Tensor(np.ones(1, np.float32)),))
    with pytest.raises(TypeError, match="must be a tuple of Tensors"):
        opt(good[0])
    for p in opt.get_parameters():
        np.testing.assert_array_equal(p.asnumpy(), state[p.name], err_msg=p.name)
    assert opt.global_step.asnumpy().tolist() == [0]


# -- float64 references, written from the formulas in the MindSpore documentation ------------------
def ref_sgd(ws, steps, lr, momentum=0.0, dampening=0.0, wd=0.0, nesterov=False, scale=1.0, decay=None):
    ws = [w.copy() for w in ws]
    bufs = [None] * len(ws)
    decay = decay or [True] * len(ws)
    for grads in steps:
        for i, g in enumerate(grads):
            g = g / scale + (wd * ws[i] if decay[i] else 0.0)
            if momentum:
                bufs[i] = g if bufs[i] is None else momentum * bufs[i] + (1 - dampening) * g
                g = g + momentum * bufs[i] if nesterov else bufs[i]
            ws[i] = ws[i] - lr * g
    return ws


def ref_momentum(ws, steps, lr, momentum, wd=0.0, nesterov=False, decay=None):
    ws = [w.copy() for w in ws]
    bufs = [np.zeros_like(w) for w in ws]
    decay = decay or [True] * len(ws)
    for grads in steps:
        for i, g in enumerate(grads):
            g = g + (wd * ws[i] if decay[i] else 0.0)
            bufs[i] = momentum * bufs[i] + g
            ws[i] = ws[i] - (lr * (g + momentum * bufs[i]) if nesterov else lr * bufs[i])
    return ws


def ref_adam(ws, steps, lr, b1=0.9, b2=0.999, eps=1e-8, wd=0.0, nesterov=False, kind="adam",
             amsgrad=False):
    ws = [w.copy() for w in ws]
    m = [np.zeros_like(w) for w in ws]
    v = [np.zeros_like(w) for w in ws]
    vhat = [np.zeros_like(w) for w in ws]
    for t, grads in enumerate(steps, start=1):
        for i, g in enumerate(grads):
            if kind == "adam":
                g = g + wd * ws[i]
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            if kind == "adam":
                lr_t = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
                num = b1 * m[i] + (1 - b1) * g if nesterov else m[i]
                vhat[i] = np.maximum(vhat[i], v[i])
                ws[i] = ws[i] - lr_t * num / (np.sqrt(vhat[i] if amsgrad else v[i]) + eps)
            elif kind == "adam_weight_decay":
                ws[i] = ws[i] - lr * (m[i] / (np.sqrt(v[i]) + eps) + wd * ws[i])
            else:  # adamw, decoupled
                ws[i] = ws[i] * (1 - lr * wd)
                m_hat, v_hat = m[i] / (1 - b1 ** t), v[i] / (1 - b2 ** t)
                ws[i] = ws[i] - lr * m_hat / (np.sqrt(v_hat) + eps)
    return ws


# -- SGD -------------------------------------------------------------------------------------------
SGD_CASES = [
    dict(),
    dict(momentum=0.9),
    dict(momentum=0.9, dampening=0.3),
    dict(momentum=0.8, nesterov=True),
    dict(weight_decay=0.1),
    dict(momentum=0.9, dampening=0.5, weight_decay=0.05),
    dict(momentum=0.9, nesterov=True, weight_decay=0.05, loss_scale=128.0),
]


@pytest.mark.parametrize("case", SGD_CASES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "plain")
def test_sgd_matches_hand_computed_updates(device, case):
    params = make_params(device)
    steps = grad_steps(device)
    lr = 0.05
    expected = ref_sgd(start(params), host_steps(steps), lr, case.get("momentum", 0.0),
                       case.get("dampening", 0.0), case.get("weight_decay", 0.0), case.get("nesterov", False),
                       case.get("loss_scale", 1.0))
    run(nn.SGD(params, learning_rate=lr, **case), steps)
    assert_params(params, expected)


@pytest.mark.parametrize("case", SGD_CASES[:6], ids=str)
def test_sgd_matches_torch(case):
    torch = pytest.importorskip("torch")
    params = make_params("CPU")
    twins = [torch.tensor(p.asnumpy(), requires_grad=True) for p in params]
    steps = grad_steps("CPU", steps=4)
    opt = torch.optim.SGD(twins, lr=0.05, momentum=case.get("momentum", 0.0),
                          dampening=case.get("dampening", 0.0), weight_decay=case.get("weight_decay", 0.0),
                          nesterov=case.get("nesterov", False))
    for grads in steps:
        for t, g in zip(twins, grads):
            t.grad = torch.tensor(g.asnumpy())
        opt.step()
    run(nn.SGD(params, learning_rate=0.05, **case), steps)
    assert_params(params, [t.detach().numpy() for t in twins])


def test_sgd_state_names_and_first_step_stat():
    params = make_params("CPU")
    opt = nn.SGD(params, 0.1, momentum=0.9, dampening=0.5)
    assert [p.name for p in opt.accum] == ["accum.w", "accum.b", "accum.s"]
    assert [p.name for p in opt.stat] == ["stat.w", "stat.b", "stat.s"]
    assert all((s.asnumpy() == 1).all() for s in opt.stat)
    grads = grad_steps("CPU", 1)[0]
    opt(grads)
    # first step: accum = g exactly (no dampening), then stat is cleared
    np.testing.assert_allclose(opt.accum[0].asnumpy(), grads[0].asnumpy())
    assert all((s.asnumpy() == 0).all() for s in opt.stat)


def test_sgd_argument_errors():
    params = make_params("CPU")
    with pytest.raises(ValueError, match="nesterov needs momentum > 0 and dampening 0"):
        nn.SGD(params, 0.1, nesterov=True)
    with pytest.raises(ValueError, match="'momentum' must be >= 0"):
        nn.SGD(params, 0.1, momentum=-0.1)
    with pytest.raises(TypeError, match="'nesterov' must be a bool"):
        nn.SGD(params, 0.1, momentum=0.9, nesterov=1)
    with pytest.raises(ValueError, match="'loss_scale' must be > 0"):
        nn.SGD(params, 0.1, loss_scale=0.0)
    with pytest.raises(ValueError, match="learning_rate must be >= 0"):
        nn.SGD(params, -0.1)
    with pytest.raises(TypeError, match="'params' must be a list"):
        nn.SGD(None, 0.1)
    with pytest.raises(ValueError, match="must not be empty"):
        nn.SGD([], 0.1)


# -- Momentum --------------------------------------------------------------------------------------
@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_matches_hand_computed_updates(device, nesterov):
    params = make_params(device)
    steps = grad_steps(device)
    expected = ref_momentum(start(params), host_steps(steps), 0.1, 0.9, 0.01, nesterov)
    run(nn.Momentum(params, 0.1, 0.9, weight_decay=0.01, use_nesterov=nesterov), steps)
    assert_params(params, expected)


def test_momentum_state_is_named_moments_and_checkpointed_with_the_optimizer():
    params = make_params("CPU")
    opt = nn.Momentum(params, learning_rate=0.1, momentum=0.9)
    assert [m.name for m in opt.moments] == ["moments.w", "moments.b", "moments.s"]
    names = list(opt.parameters_dict())
    assert names[:3] == ["w", "b", "s"]
    assert {"learning_rate", "global_step", "moments.w", "moments.b", "moments.s"} <= set(names)
    assert opt.parameters == tuple(params)


def test_weight_decay_skips_beta_and_gamma_parameters():
    params = make_params("CPU", names=("dense.weight", "bn.gamma", "bn.beta"))
    steps = grad_steps("CPU")
    expected = ref_momentum(start(params), host_steps(steps), 0.1, 0.9, wd=0.5, decay=[True, False, False])
    opt = nn.Momentum(params, 0.1, 0.9, weight_decay=0.5)
    assert opt.decay_flags == (True, False, False)
    run(opt, steps)
    assert_params(params, expected)


# -- Adam family -----------------------------------------------------------------------------------
@pytest.mark.parametrize("case", [dict(), dict(use_nesterov=True), dict(weight_decay=0.1)], ids=str)
def test_adam_matches_mindspore_formula(device, case):
    params = make_params(device)
    steps = grad_steps(device, steps=4)
    expected = ref_adam(start(params), host_steps(steps), 0.01, wd=case.get("weight_decay", 0.0),
                        nesterov=case.get("use_nesterov", False))
    opt = nn.Adam(params, learning_rate=0.01, **case)
    run(opt, steps)
    assert_params(params, expected)
    np.testing.assert_allclose(opt.beta1_power.asnumpy(), [0.9 ** 4], rtol=1e-6)
    np.testing.assert_allclose(opt.beta2_power.asnumpy(), [0.999 ** 4], rtol=1e-6)
    assert opt.global_step.asnumpy().tolist() == [4]


def test_adam_state_names():
    params = make_params("CPU")
    opt = nn.Adam(params)
    assert [m.name for m in opt.moment1] == ["moment1.w", "moment1.b", "moment1.s"]
    assert [m.name for m in opt.moment2] == ["moment2.w", "moment2.b", "moment2.s"]
    assert {"beta1_power", "beta2_power", "global_step", "learning_rate"} <= set(opt.parameters_dict())
    weight_decay = nn.AdamWeightDecay(make_params("CPU", 1))
    assert [m.name for m in weight_decay.moments1] == ["adam_m.w", "adam_m.b", "adam_m.s"]
    assert [m.name for m in weight_decay.moments2] == ["adam_v.w", "adam_v.b", "adam_v.s"]


def test_adam_weight_decay_matches_formula(device):
    params = make_params(device)
    steps = grad_steps(device, steps=4)
    expected = ref_adam(start(params), host_steps(steps), 0.01, eps=1e-6, wd=0.1, kind="adam_weight_decay")
    run(nn.AdamWeightDecay(params, learning_rate=0.01, weight_decay=0.1), steps)
    assert_params(params, expected)


def test_adamw_matches_formula_and_torch(device):
    params = make_params(device)
    steps = grad_steps(device, steps=4)
    expected = ref_adam(start(params), host_steps(steps), 0.01, wd=0.1, kind="adamw")
    run(nn.AdamW(params, learning_rate=0.01, weight_decay=0.1), steps)
    assert_params(params, expected)
    torch = pytest.importorskip("torch")
    twins = [torch.tensor(w, requires_grad=True) for w in start(make_params(device))]
    opt = torch.optim.AdamW(twins, lr=0.01, weight_decay=0.1, eps=1e-8)
    for grads in host_steps(steps):
        for t, g in zip(twins, grads):
            t.grad = torch.tensor(g)
        opt.step()
    assert_params(params, [t.detach().numpy() for t in twins])


def test_adam_argument_errors():
    params = make_params("CPU")
    with pytest.raises(ValueError, match=r"'beta1' must be in range \(0.0, 1.0\)"):
        nn.Adam(params, beta1=1.0)
    with pytest.raises(ValueError, match="'eps' must be > 0"):
        nn.Adam(params, eps=0.0)
    with pytest.raises(TypeError, match="'Adam'.*'use_amsgrad'"):
        nn.Adam(params, use_amsgrad=1)


@pytest.mark.parametrize("case", [dict(), dict(weight_decay=0.1), dict(use_nesterov=True)], ids=str)
def test_adam_amsgrad_matches_mindspore_formula(device, case):
    params = make_params(device)
    # Gradients that shrink after the first step, so that vhat = max(vhat, v) differs from v.
    steps = [tuple(g * scale for g in grads) for grads, scale in zip(grad_steps(device, steps=4),
                                                                      (3.0, 0.2, 0.1, 1.0))]
    expected = ref_adam(start(params), host_steps(steps), 0.01, wd=case.get("weight_decay", 0.0),
                        amsgrad=True)  # Nesterov does not apply with amsgrad, as in MindSpore
    opt = nn.Adam(params, learning_rate=0.01, use_amsgrad=True, **case)
    run(opt, steps)
    assert_params(params, expected)
    assert [h.name for h in opt.vhat] == ["vhat.w", "vhat.b", "vhat.s"]
    plain = ref_adam(start(make_params(device)), host_steps(steps), 0.01, wd=case.get("weight_decay", 0.0))
    assert not np.allclose(plain[0], expected[0])  # the test would notice amsgrad being ignored


# -- what every optimizer shares -------------------------------------------------------------------
OPTIMIZERS = {
    "SGD": lambda ps: nn.SGD(ps, 0.1, momentum=0.9, dampening=0.1),
    "Momentum": lambda ps: nn.Momentum(ps, 0.1, 0.9),
    "Adam": lambda ps: nn.Adam(ps, 0.1),
    "AdamWeightDecay": lambda ps: nn.AdamWeightDecay(ps, 0.1, weight_decay=0.1),
    "AdamW": lambda ps: nn.AdamW(ps, 0.1),
    "Adam amsgrad": lambda ps: nn.Adam(ps, 0.1, use_amsgrad=True),
}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_updates_are_in_place(device, name):
    params = make_params(device)
    opt = OPTIMIZERS[name](params)
    own = {id(p) for p in params}
    state = [p for p in opt.get_parameters() if id(p) not in own]
    buffers = [id(p._data) for p in params] + [id(s._data) for s in state]
    before = start(params)
    run(opt, grad_steps(device, 2))
    assert [id(p._data) for p in params] + [id(s._data) for s in state] == buffers
    assert all(not np.allclose(p.asnumpy(), b) for p, b in zip(params, before))
    assert all(p.device == device for p in opt.get_parameters())


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_bad_gradients_are_refused_before_anything_changes(name):
    assert_refuses_bad_gradients(OPTIMIZERS[name](make_params("CPU")))


def test_duplicate_parameters_are_refused():
    w = make_params("CPU")[0]
    with pytest.raises(ValueError, match="'w' appears more than once"):
        nn.SGD([w, w], 0.1)


# -- parameter groups ------------------------------------------------------------------------------
def test_groups_have_their_own_lr_and_weight_decay_and_order_params_orders(device):
    w, b, s = make_params(device)
    steps = grad_steps(device)
    hs = host_steps(steps)
    ws = start([w, b, s])
    exp_w = ref_momentum([ws[0]], [[g[0]] for g in hs], 0.01, 0.9, wd=0.1)[0]
    exp_bs = ref_momentum(ws[1:], [g[1:] for g in hs], 0.1, 0.9, wd=0.0)
    groups = [{"params": [b, s], "weight_decay": 0.0}, {"params": [w], "lr": 0.01, "weight_decay": 0.1},
              {"order_params": [w, b, s]}]
    opt = nn.Momentum(groups, learning_rate=0.1, momentum=0.9)
    assert opt.is_group and opt.is_group_lr and opt.is_group_params_ordered
    assert [p.name for p in opt.parameters] == ["w", "b", "s"]
    assert [p.name for p in opt.learning_rate] == ["learning_rate_group_0", "learning_rate_group_1"]
    lrs = opt.get_lr()
    assert [float(lr.asnumpy()) for lr in lrs] == pytest.approx([0.01, 0.1, 0.1])
    assert opt.get_lr_parameter(w) is opt.learning_rate[1]
    run(opt, steps)
    assert_params([w, b, s], [exp_w, *exp_bs])


def test_group_errors():
    w, b, s = make_params("CPU")
    with pytest.raises(ValueError, match="unknown key"):
        nn.SGD([{"params": [w], "learning_rate": 0.1}])
    with pytest.raises(ValueError, match=r"\['s'\] of 'order_params' are in no group"):
        nn.SGD([{"params": [w, b]}, {"order_params": [w, b, s]}])
    with pytest.raises(ValueError, match="appears more than once"):
        nn.SGD([{"params": [w, b]}, {"params": [b]}])
    with pytest.raises(TypeError, match="only Parameters or only dicts"):
        nn.SGD([w, {"params": [b]}])


def test_get_lr_and_assigning_the_learning_rate_takes_effect():
    w = make_params("CPU")[0]
    opt = nn.SGD([w], 0.1)
    assert isinstance(opt.learning_rate, Parameter) and opt.learning_rate.name == "learning_rate"
    assert float(opt.get_lr().asnumpy()) == pytest.approx(0.1)
    ms.ops.assign(opt.learning_rate, Tensor(0.5, ms.float32))
    before = w.asnumpy().copy()
    g = np.ones(w.shape, np.float32)
    opt((Tensor(g),))
    np.testing.assert_allclose(w.asnumpy(), before - 0.5 * g, rtol=1e-6)


@pytest.mark.parametrize("name", ["SGD", "Momentum", "Adam", "AdamW", "AdamWeightDecay"])
def test_one_update_op_per_step_for_all_parameters(name):
    params = make_params("CPU")
    kwargs = {"momentum": 0.9} if name == "Momentum" else {}
    opt = getattr(nn, name)(params, learning_rate=0.1, **kwargs)
    with ms.profiler.profile() as prof:
        opt(grad_steps("CPU", steps=1)[0])
    calls = {row.name: row.calls for row in prof.key_averages()}
    assert calls[name] == 1, calls


@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_update_of_any_saved_parameter_inside_a_gradient_transform_is_refused(name):
    params = make_params("CPU")
    opt = getattr(nn, name)(params, learning_rate=0.1)
    grads = grad_steps("CPU", steps=1)[0]
    before = [p.asnumpy().copy() for p in params]

    def loss(x):
        out = x * params[2]  # saves the buffer of the last Parameter for the backward
        opt(grads)                       # which the update would then overwrite
        return out

    with pytest.raises(RuntimeError, match=f"For '{name}', the tensor written in place"):
        ms.grad(loss)(Tensor(1.0))
    assert all(np.array_equal(b, p.asnumpy()) for b, p in zip(before, params))
