"""RMSProp, Adagrad, Adadelta, Lamb, LARS, FTRL and ParameterUpdate: trajectories against float64
references of MindSpore's formulas (ApplyRMSProp, ApplyCenteredRMSProp, ApplyAdagrad, ApplyAdadelta,
the Lamb kernel, LARSUpdate, ApplyFtrl), state names, argument errors, training cells and jit."""

from __future__ import annotations

import numpy as np
import pytest
from test_optim import assert_params, assert_refuses_bad_gradients, grad_steps, host_steps, make_params, run, start

import gpucell as ms
from gpucell import Parameter, Tensor, nn
from gpucell.jit import cache_info, clear_cache


# -- float64 references ----------------------------------------------------------------------------
def _decayed(ws, grads, wd, scale, mask):
    return [g / scale + (wd * w if m else 0.0) for w, g, m in zip(ws, grads, mask)]


def ref_rmsprop(ws, steps, lr, decay=0.9, momentum=0.0, epsilon=1e-10, centered=False, wd=0.0, scale=1.0,
                mask=None):
    ws = [w.copy() for w in ws]
    mask = mask or [True] * len(ws)
    ms_ = [np.ones_like(w) for w in ws]
    mg = [np.zeros_like(w) for w in ws]
    mom = [np.zeros_like(w) for w in ws]
    for grads in steps:
        for i, g in enumerate(_decayed(ws, grads, wd, scale, mask)):
            ms_[i] = decay * ms_[i] + (1 - decay) * g * g
            denom = ms_[i] + epsilon
            if centered:
                mg[i] = decay * mg[i] + (1 - decay) * g
                denom = ms_[i] - mg[i] ** 2 + epsilon
            mom[i] = momentum * mom[i] + lr * g / np.sqrt(denom)
            ws[i] = ws[i] - mom[i]
    return ws


def ref_adagrad(ws, steps, lr, accum=0.1, update_slots=True, wd=0.0, scale=1.0):
    ws = [w.copy() for w in ws]
    h = [np.full_like(w, accum) for w in ws]
    for grads in steps:
        for i, g in enumerate(_decayed(ws, grads, wd, scale, [True] * len(ws))):
            if update_slots:
                h[i] = h[i] + g * g
            ws[i] = ws[i] - lr * g / np.sqrt(h[i])
    return ws


def ref_adadelta(ws, steps, lr=1.0, rho=0.9, eps=1e-6, wd=0.0, scale=1.0):
    ws = [w.copy() for w in ws]
    a = [np.zeros_like(w) for w in ws]
    d = [np.zeros_like(w) for w in ws]
    for grads in steps:
        for i, g in enumerate(_decayed(ws, grads, wd, scale, [True] * len(ws))):
            a[i] = rho * a[i] + (1 - rho) * g * g
            u = np.sqrt(d[i] + eps) / np.sqrt(a[i] + eps) * g
            d[i] = rho * d[i] + (1 - rho) * u * u
            ws[i] = ws[i] - lr * u
    return ws


def ref_ftrl(ws, steps, lr, initial_accum=0.1, lr_power=-0.5, l1=0.0, l2=0.0, wd=0.0, scale=1.0):
    ws = [w.copy() for w in ws]
    m = [np.full_like(w, initial_accum) for w in ws]
    u = [np.zeros_like(w) for w in ws]
    for grads in steps:
        for i, g in enumerate(_decayed(ws, grads, wd, scale, [True] * len(ws))):
            new = m[i] + g * g
            u[i] = u[i] + g - (new ** -lr_power - m[i] ** -lr_power) / lr * ws[i]
            quadratic = new ** -lr_power / lr + 2 * l2
            ws[i] = np.where(np.abs(u[i]) > l1, (np.sign(u[i]) * l1 - u[i]) / quadratic, 0.0)
            m[i] = new
    return ws


def ref_lamb(ws, steps, lr, b1=0.9, b2=0.999, eps=1e-6, wd=0.0, mask=None):
    ws = [w.copy() for w in ws]
    mask = mask or [True] * len(ws)
    m = [np.zeros_like(w) for w in ws]
    v = [np.zeros_like(w) for w in ws]
    for t, grads in enumerate(steps, start=1):
        for i, g in enumerate(grads):
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            m_hat, v_hat = m[i] / (1 - b1 ** t), v[i] / (1 - b2 ** t)
            r = m_hat / (np.sqrt(v_hat) + eps)
            g_hat = m_hat / np.sqrt(v_hat + eps)  # the kernel's trust-ratio norm: eps inside the root
            if mask[i]:
                r = r + wd * ws[i]
                g_hat = g_hat + wd * ws[i]
            w_norm, g_hat_norm = np.linalg.norm(ws[i]), np.linalg.norm(g_hat)
            trust = w_norm / g_hat_norm if w_norm > 0 and g_hat_norm > 0 else 1.0
            ws[i] = ws[i] - lr * min(trust, 10.0) * r
    return ws


def ref_lars(ws, steps, lr, coefficient=0.001, eps=1e-5, use_clip=False, wd=0.0, scale=1.0, flags=None,
             momentum=0.0, decay_mask=None):
    """LARS's gradients, then SGD (``momentum`` 0) or Momentum with neither decay nor scaling."""
    ws = [w.copy() for w in ws]
    flags = flags or [True] * len(ws)
    decay_mask = decay_mask or [True] * len(ws)
    bufs = [np.zeros_like(w) for w in ws]
    for grads in steps:
        for i, g in enumerate(grads):
            g = g / scale
            if flags[i]:
                d = wd if decay_mask[i] else 0.0
                w_norm, g_norm = np.linalg.norm(ws[i]), np.linalg.norm(g)
                coeff = coefficient * w_norm / (g_norm + d * w_norm + eps)
                if use_clip:
                    coeff = min(max(coeff / lr, 0.0), 1.0)
                g = coeff * (g + d * ws[i])
            bufs[i] = momentum * bufs[i] + g
            ws[i] = ws[i] - lr * bufs[i]
    return ws


def _case_id(case: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in case.items()) or "defaults"


# -- RMSProp ---------------------------------------------------------------------------------------
RMSPROP_CASES = [dict(), dict(momentum=0.9), dict(centered=True), dict(centered=True, momentum=0.5),
                 dict(weight_decay=0.1, loss_scale=64.0, decay=0.8, epsilon=1e-6)]


@pytest.mark.parametrize("case", RMSPROP_CASES, ids=_case_id)
def test_rmsprop_matches_mindspore_formula(device, case):
    params = make_params(device)
    steps = grad_steps(device, steps=4)
    expected = ref_rmsprop(start(params), host_steps(steps), 0.01, case.get("decay", 0.9), case.get("momentum", 0.0),
                           case.get("epsilon", 1e-10), case.get("centered", False), case.get("weight_decay", 0.0),
                           case.get("loss_scale", 1.0))
    run(nn.RMSProp(params, learning_rate=0.01, **case), steps)
    assert_params(params, expected)


def test_rmsprop_epsilon_sits_inside_the_root():
    """MindSpore divides by sqrt(ms + eps); PyTorch by sqrt(ms) + eps. With ms tiny the two differ."""
    w = Parameter(Tensor(np.zeros(1, np.float32)), name="w")
    opt = nn.RMSProp([w], learning_rate=1.0, decay=1.0, epsilon=0.25)  # decay 1: ms stays at its 1.0 start
    opt((Tensor(np.array([1.0], np.float32)),))
    np.testing.assert_allclose(w.asnumpy(), [-1.0 / np.sqrt(1.25)], rtol=1e-6)
    assert not np.isclose(w.asnumpy()[0], -1.0 / (1.0 + 0.25))


def test_rmsprop_state_names_and_shapes():
    params = make_params("CPU")
    opt = nn.RMSProp(params, centered=True)
    assert [p.name for p in opt.ms] == ["mean_square.w", "mean_square.b", "mean_square.s"]
    assert [p.name for p in opt.moment] == ["moment.w", "moment.b", "moment.s"]
    assert [p.name for p in opt.mg] == ["mean_grad.w", "mean_grad.b", "mean_grad.s"]
    assert [p.shape for p in opt.ms] == [p.shape for p in params]
    assert all((p.asnumpy() == 1).all() for p in opt.ms)  # MindSpore starts mean_square at one
    assert not hasattr(nn.RMSProp(make_params("CPU", 1)), "mg")


def test_rmsprop_argument_errors():
    params = make_params("CPU")
    with pytest.raises(ValueError, match="For 'RMSProp', the 'epsilon' must be > 0.0, but got 0.0"):
        nn.RMSProp(params, epsilon=0.0)
    with pytest.raises(ValueError, match="For 'RMSProp', the 'decay' must be >= 0.0, but got -0.1"):
        nn.RMSProp(params, decay=-0.1)
    with pytest.raises(ValueError, match="For 'RMSProp', the 'momentum' must be >= 0.0"):
        nn.RMSProp(params, momentum=-1.0)
    with pytest.raises(TypeError, match="For 'RMSProp', the 'centered' must be a bool"):
        nn.RMSProp(params, centered=1)
    with pytest.raises(TypeError, match="For 'RMSProp', the 'decay' must be a float"):
        nn.RMSProp(params, decay="0.9")
    with pytest.raises(ValueError, match="For 'RMSProp', the learning_rate must be >= 0"):
        nn.RMSProp(params, learning_rate=-0.1)


# -- Adagrad ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", [dict(), dict(accum=1.0, update_slots=False), dict(weight_decay=0.2, loss_scale=8.0)],
                         ids=_case_id)
def test_adagrad_matches_mindspore_formula(device, case):
    params = make_params(device)
    steps = grad_steps(device, steps=4)
    expected = ref_adagrad(start(params), host_steps(steps), 0.1, case.get("accum", 0.1),
                           case.get("update_slots", True), case.get("weight_decay", 0.0), case.get("loss_scale", 1.0))
    opt = nn.Adagrad(params, learning_rate=0.1, **case)
    run(opt, steps)
    assert_params(params, expected)
    if not case.get("update_slots", True):
        assert all((h.asnumpy() == np.float32(case["accum"])).all() for h in opt.accum)


def test_adagrad_state_and_errors():
    params = make_params("CPU")
    opt = nn.Adagrad(params, accum=0.5)
    assert [h.name for h in opt.accum] == ["accum.w", "accum.b", "accum.s"]
    assert all(np.allclose(h.asnumpy(), 0.5) and h.shape == p.shape for h, p in zip(opt.accum, params))
    with pytest.raises(ValueError, match="For 'Adagrad', the 'accum' must be >= 0.0, but got -0.1"):
        nn.Adagrad(params, accum=-0.1)
    with pytest.raises(TypeError, match="For 'Adagrad', the 'update_slots' must be a bool"):
        nn.Adagrad(params, update_slots="yes")
    with pytest.raises(ValueError, match="For 'Adagrad', the 'loss_scale' must be > 0.0"):
        nn.Adagrad(params, loss_scale=0.0)


# -- Adadelta --------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", [dict(), dict(rho=0.5, epsilon=1e-3, learning_rate=0.5),
                                  dict(weight_decay=0.1, loss_scale=4.0)], ids=_case_id)
def test_adadelta_matches_mindspore_formula(device, case):
    params = make_params(device)
    steps = grad_steps(device, steps=4)
    lr = case.pop("learning_rate", 1.0)
    expected = ref_adadelta(start(params), host_steps(steps), lr, case.get("rho", 0.9), case.get("epsilon", 1e-6),
                            case.get("weight_decay", 0.0), case.get("loss_scale", 1.0))
    opt = nn.Adadelta(params, learning_rate=lr, **case)
    run(opt, steps)
    assert_params(params, expected)


def test_adadelta_state_and_errors():
    params = make_params("CPU")
    opt = nn.Adadelta(params)
    assert [a.name for a in opt.accum] == ["accum.w", "accum.b", "accum.s"]
    assert [a.name for a in opt.accum_update] == ["accum_update.w", "accum_update.b", "accum_update.s"]
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match=r"For 'Adadelta', the 'rho' must be (in range \[0.0, 1.0\]|>= 0.0)"):
            nn.Adadelta(params, rho=bad)
    nn.Adadelta(params, rho=1.0, epsilon=0.0)  # both ends of the ranges are allowed, as in MindSpore
    with pytest.raises(ValueError, match="For 'Adadelta', the 'epsilon' must be >= 0.0, but got -1e-06"):
        nn.Adadelta(params, epsilon=-1e-6)


# -- FTRL ------------------------------------------------------------------------------------------
FTRL_CASES = [dict(), dict(l1=0.05, l2=0.1), dict(lr_power=0.0), dict(lr_power=-0.3, initial_accum=0.5),
              dict(weight_decay=0.1, loss_scale=2.0, l1=0.01)]


@pytest.mark.parametrize("case", FTRL_CASES, ids=_case_id)
def test_ftrl_matches_mindspore_formula(device, case):
    params = make_params(device)
    steps = grad_steps(device, steps=4)
    expected = ref_ftrl(start(params), host_steps(steps), 0.1, case.get("initial_accum", 0.1),
                        case.get("lr_power", -0.5), case.get("l1", 0.0), case.get("l2", 0.0),
                        case.get("weight_decay", 0.0), case.get("loss_scale", 1.0))
    run(nn.FTRL(params, learning_rate=0.1, **case), steps)
    assert_params(params, expected, rtol=1e-4, atol=1e-5)  # u - sigma * w cancels: float32 loses digits


def test_ftrl_decays_every_parameter_and_l1_zeroes_small_ones():
    params = make_params("CPU", names=("dense.weight", "bn.gamma", "bn.beta"))
    steps = grad_steps("CPU", steps=2)
    opt = nn.FTRL(params, learning_rate=0.1, l1=1.0, weight_decay=0.5)
    assert opt.group_weight_decay == (0.5, 0.5, 0.5)  # without groups, MindSpore's FTRL decays gamma/beta too
    expected = ref_ftrl(start(params), host_steps(steps), 0.1, l1=1.0, wd=0.5)
    run(opt, steps)
    assert_params(params, expected, rtol=1e-4, atol=1e-5)
    zeros = sum(int((p.asnumpy() == 0).sum()) for p in params)
    assert zeros == sum(int((e == 0).sum()) for e in expected) and zeros > 0
    assert [m.name for m in opt.moments][0] == "moments.dense.weight"
    assert [m.name for m in opt.linear][0] == "linear.dense.weight"


def test_ftrl_argument_errors():
    params = make_params("CPU")
    with pytest.raises(ValueError, match="For 'FTRL', the 'lr_power' must be <= 0.0, but got 0.5"):
        nn.FTRL(params, lr_power=0.5)
    with pytest.raises(ValueError, match="For 'FTRL', the 'learning_rate' must be > 0.0, but got 0.0"):
        nn.FTRL(params, learning_rate=0.0)
    with pytest.raises(ValueError, match="For 'FTRL', dynamic learning rate and group learning rate are not"):
        nn.FTRL(params, learning_rate=[0.1, 0.01])
    with pytest.raises(ValueError, match="For 'FTRL', the 'l1' must be >= 0.0"):
        nn.FTRL(params, l1=-1.0)
    with pytest.raises(ValueError, match="For 'FTRL', the 'initial_accum' must be >= 0.0"):
        nn.FTRL(params, initial_accum=-0.1)
    with pytest.raises(TypeError, match="For 'FTRL', the 'use_locking' must be a bool"):
        nn.FTRL(params, use_locking=None)


# -- Lamb ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", [dict(), dict(weight_decay=0.1), dict(beta1=0.8, beta2=0.99, eps=1e-4)],
                         ids=_case_id)
def test_lamb_matches_mindspore_formula(device, case):
    params = make_params(device, names=("w", "b", "ln.gamma"))
    steps = grad_steps(device, steps=4)
    expected = ref_lamb(start(params), host_steps(steps), 0.05, case.get("beta1", 0.9), case.get("beta2", 0.999),
                        case.get("eps", 1e-6), case.get("weight_decay", 0.0), mask=[True, True, False])
    opt = nn.Lamb(params, 0.05, **case)
    run(opt, steps)
    assert_params(params, expected)
    assert opt.global_step.asnumpy().tolist() == [4]


def test_lamb_trust_ratio_is_one_for_a_zero_parameter():
    w = Parameter(Tensor(np.zeros(3, np.float32)), name="w")
    opt = nn.Lamb([w], learning_rate=0.1)
    opt((Tensor(np.array([1.0, -2.0, 0.0], np.float32)),))
    # ||w|| = 0: the plain Adam direction m_hat / (sqrt(v_hat) + eps) = sign(g) is taken with lr alone
    np.testing.assert_allclose(w.asnumpy(), [-0.1, 0.1, 0.0], rtol=1e-5)


def test_lamb_state_and_errors():
    params = make_params("CPU")
    opt = nn.Lamb(params, 0.1)
    assert [m.name for m in opt.moments1] == ["lamb_m.w", "lamb_m.b", "lamb_m.s"]
    assert [m.name for m in opt.moments2] == ["lamb_v.w", "lamb_v.b", "lamb_v.s"]
    assert "beta1_power" not in opt.parameters_dict()  # the bias correction reads global_step
    with pytest.raises(TypeError, match="learning_rate"):
        nn.Lamb(params)  # no default learning rate, as in MindSpore
    with pytest.raises(ValueError, match=r"For 'Lamb', the 'beta2' must be in range \(0.0, 1.0\)"):
        nn.Lamb(params, 0.1, beta2=1.0)
    with pytest.raises(ValueError, match="For 'Lamb', the 'eps' must be > 0.0"):
        nn.Lamb(params, 0.1, eps=0.0)


# -- LARS ------------------------------------------------------------------------------------------
LARS_CASES = [dict(), dict(coefficient=0.02, epsilon=1e-8), dict(use_clip=True, coefficient=0.5),
              dict(weight_decay=0.1), dict(loss_scale=16.0, weight_decay=0.05), dict(momentum=0.9, coefficient=0.1)]


@pytest.mark.parametrize("case", LARS_CASES, ids=_case_id)
def test_lars_rescales_the_gradients_of_the_wrapped_optimizer(device, case):
    case = dict(case)
    params = make_params(device, names=("dense.weight", "dense.bias", "s"))
    steps = grad_steps(device, steps=3)
    inner = dict(weight_decay=case.pop("weight_decay", 0.0), loss_scale=case.pop("loss_scale", 1.0))
    momentum = case.pop("momentum", 0.0)
    expected = ref_lars(start(params), host_steps(steps), 0.1, case.get("coefficient", 0.001),
                        case.get("epsilon", 1e-5), case.get("use_clip", False), inner["weight_decay"],
                        inner["loss_scale"], flags=[True, False, True], momentum=momentum)
    wrapped = nn.Momentum(params, 0.1, momentum, **inner) if momentum else nn.SGD(params, 0.1, **inner)
    opt = nn.LARS(wrapped, **case)
    assert opt.lars_flag == (True, False, True)
    run(opt, steps)
    assert_params(params, expected)
    assert opt.global_step is wrapped.global_step and opt.global_step.asnumpy().tolist() == [3]


def test_lars_clip_reads_the_scheduled_rate_of_this_step(device):
    params = make_params(device)
    steps = grad_steps(device, steps=3)
    lrs = [0.2, 0.1, 0.05]
    ws = start(params)
    for lr, grads in zip(lrs, host_steps(steps)):
        ws = ref_lars(ws, [grads], lr, coefficient=0.05, use_clip=True)
    run(nn.LARS(nn.SGD(params, lrs), coefficient=0.05, use_clip=True), steps)
    assert_params(params, ws)


def test_lars_state_lives_in_the_wrapped_optimizer():
    params = make_params("CPU")
    inner = nn.Momentum(params, 0.1, 0.9, weight_decay=0.1)
    opt = nn.LARS(inner, lars_filter=lambda p: p.name != "s")
    names = set(opt.parameters_dict())
    assert {"moments.w", "global_step", "learning_rate", "fake_lr"} <= names
    assert opt.parameters == tuple(params) and opt.lars_flag == (True, True, False)
    assert inner.group_weight_decay == (0.0, 0.0, 0.0) and inner.reciprocal_scale == 1.0
    assert float(opt.get_lr().asnumpy()) == pytest.approx(0.1)
    lamb = nn.Lamb(make_params("CPU", 1), 0.1, weight_decay=0.1)
    nn.LARS(lamb)
    assert all(a["weight_decay"] == 0.0 for a in lamb._attrs["per_param"])  # LARS decays instead


def test_lars_refuses_an_optimizer_without_a_fused_update():
    class Plain(nn.Optimizer):
        def construct(self, gradients):
            return gradients

    with pytest.raises(TypeError, match="For 'LARS', the 'optimizer' must be one of gpucell's optimizers"):
        nn.LARS(Plain(0.1, make_params("CPU")))


def test_lars_argument_errors():
    params = make_params("CPU")
    with pytest.raises(TypeError, match="For 'LARS', the 'optimizer' must be a gpucell.nn.Optimizer"):
        nn.LARS(params)
    with pytest.raises(TypeError, match="For 'LARS', the 'use_clip' must be a bool"):
        nn.LARS(nn.SGD(params), use_clip=1)
    with pytest.raises(ValueError, match="For 'LARS', the 'epsilon' must be >= 0.0"):
        nn.LARS(nn.SGD(make_params("CPU", 1)), epsilon=-1.0)
    with pytest.raises(TypeError, match="For 'LARS', the 'lars_filter' must be callable"):
        nn.LARS(nn.SGD(make_params("CPU", 2)), lars_filter=True)
    w, b, s = make_params("CPU", 3)
    grouped = nn.SGD([{"params": [w], "lr": [0.1, 0.2]}, {"params": [b, s]}], 0.1)
    with pytest.raises(ValueError, match="For 'LARS', if the argument 'use_clip' is set to True"):
        nn.LARS(grouped, use_clip=True)


# -- ParameterUpdate -------------------------------------------------------------------------------
def test_parameter_update_writes_in_place_and_returns_the_input(device):
    dense = nn.Dense(3, 4)
    weight = dense.weight
    buffer = id(weight._data)
    update = nn.ParameterUpdate(weight)
    value = Tensor(np.arange(12, dtype=np.float32).reshape(4, 3))
    out = update(value)
    assert out is value and id(weight._data) == buffer
    np.testing.assert_array_equal(weight.asnumpy(), value.asnumpy())
    assert weight.device == device


def test_parameter_update_errors():
    with pytest.raises(TypeError, match="For 'ParameterUpdate', the 'param' must be a Parameter"):
        nn.ParameterUpdate(Tensor(np.zeros(2, np.float32)))
    update = nn.ParameterUpdate(Parameter(Tensor(np.zeros(2, np.float32)), name="p"))
    with pytest.raises(ValueError, match=r"the shape of 'x' must equal the shape of the Parameter 'p' \(2,\)"):
        update(Tensor(np.zeros(3, np.float32)))
    with pytest.raises(TypeError, match="For 'ParameterUpdate', the input 'x' must be a Tensor"):
        update([0.0, 1.0])


# -- what every new optimizer shares ---------------------------------------------------------------
OPTIMIZERS = {
    "RMSProp": lambda ps: nn.RMSProp(ps, 0.01, momentum=0.9, centered=True),
    "Adagrad": lambda ps: nn.Adagrad(ps, learning_rate=0.1),
    "Adadelta": lambda ps: nn.Adadelta(ps, weight_decay=0.01),
    "Lamb": lambda ps: nn.Lamb(ps, 0.05, weight_decay=0.01),
    "LARS": lambda ps: nn.LARS(nn.Momentum(ps, 0.1, 0.9, weight_decay=0.01), coefficient=0.1),
    "FTRL": lambda ps: nn.FTRL(ps, learning_rate=0.1, l1=0.001),
}
OP_NAMES = {"RMSProp": "RMSProp", "Adagrad": "Adagrad", "Adadelta": "Adadelta", "Lamb": "Lamb", "FTRL": "FTRL",
            "LARS": "LARSUpdate"}


@pytest.mark.parametrize("name", OPTIMIZERS)
def assert_in_place_with_one_op(make_optimizer, op_name: str) -> None:
    """One step of ``make_optimizer(params)`` is one ``op_name`` op call for all the Parameters,
    moves every Parameter, and keeps every buffer (Parameters and state) where it was."""
    params = make_params("CPU")
    opt = make_optimizer(params)
    buffers = [id(p._data) for p in opt.get_parameters()]
    before = start(params)
    with ms.profiler.profile() as prof:
        run(opt, grad_steps("CPU", 1))
    calls = {row.name: row.calls for row in prof.key_averages()}
    assert calls[op_name] == 1, calls
    assert [id(p._data) for p in opt.get_parameters()] == buffers
    assert all(not np.allclose(p.asnumpy(), b) for p, b in zip(params, before))


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_updates_are_in_place_and_one_op_per_step(name):
    assert_in_place_with_one_op(OPTIMIZERS[name], OP_NAMES[name])


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_bad_gradients_are_refused_before_anything_changes(name):
    assert_refuses_bad_gradients(OPTIMIZERS[name](make_params("CPU")))


def test_groups_give_their_own_rate_and_decay():
    w, b, s = make_params("CPU")
    steps = grad_steps("CPU", steps=3)
    hs = host_steps(steps)
    ws = start([w, b, s])
    exp_w = ref_rmsprop([ws[0]], [[g[0]] for g in hs], 0.01, wd=0.1)[0]
    exp_bs = ref_rmsprop(ws[1:], [g[1:] for g in hs], 0.05)
    opt = nn.RMSProp([{"params": [w], "lr": 0.01, "weight_decay": 0.1}, {"params": [b, s]}], learning_rate=0.05)
    run(opt, steps)
    assert_params([w, b, s], [exp_w, *exp_bs])


# -- training cells and jit -------------------------------------------------------------------------
def _train_cell(make_optimizer):
    net = nn.Dense(4, 3)
    rng = np.random.default_rng(0)
    for p in net.trainable_params():
        p.set_data(Tensor(rng.standard_normal(p.shape).astype(np.float32)))
    opt = make_optimizer(net.trainable_params())
    return net, opt, nn.TrainOneStepCell(nn.WithLossCell(net, nn.MSELoss()), opt)


def assert_jitted_step_equals_eager(make_optimizer, device: str, recwarn) -> None:
    """Four TrainOneStepCell steps of a Dense(4, 3) with ``make_optimizer``, jitted against eager:
    the same losses and optimizer state, one plan with no graph break (one CUDA graph on the GPU)
    and no capture warning."""
    clear_cache()
    rng = np.random.default_rng(3)
    batches = [(Tensor(rng.standard_normal((8, 4)).astype(np.float32)),
                Tensor(rng.standard_normal((8, 3)).astype(np.float32))) for _ in range(4)]
    eager_net, eager_opt, eager = _train_cell(make_optimizer)
    jit_net, jit_opt, step = _train_cell(make_optimizer)
    jitted = ms.jit(step)
    for x, y in batches:
        np.testing.assert_allclose(jitted(x, y).asnumpy(), eager(x, y).asnumpy(), rtol=1e-6)
    for p, q in zip(jit_opt.get_parameters(), eager_opt.get_parameters()):
        np.testing.assert_allclose(p.asnumpy(), q.asnumpy(), rtol=1e-6, atol=1e-7, err_msg=p.name)
    assert jit_opt.global_step.asnumpy().tolist() == [4]
    info = cache_info()
    assert (info.misses, info.hits, info.graph_breaks) == (1, 3, 0)  # traced once, replayed whole
    assert info.captures == (1 if device == "GPU" else 0)
    assert not [w for w in recwarn if "CUDA-graph" in str(w.message)], [str(w.message) for w in recwarn]


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_a_jitted_train_step_equals_the_eager_one(device, name, recwarn):
    assert_jitted_step_equals_eager(OPTIMIZERS[name], device, recwarn)


def test_model_trains_with_the_new_optimizers():
    from gpucell.train import Model

    net, opt, _ = _train_cell(lambda ps: nn.RMSProp(ps, 0.01))
    model = Model(net, loss_fn=nn.MSELoss(), optimizer=opt)
    x = np.random.default_rng(5).standard_normal((16, 4)).astype(np.float32)
    y = np.zeros((16, 3), np.float32)
    loss = nn.MSELoss()
    before = float(loss(net(Tensor(x)), Tensor(y)).asnumpy())
    data = ms.dataset.NumpySlicesDataset({"x": x, "y": y}, shuffle=False).batch(8)
    model.train(3, data)
    assert float(loss(net(Tensor(x)), Tensor(y)).asnumpy()) < before
    assert opt.global_step.asnumpy().tolist() == [6]
