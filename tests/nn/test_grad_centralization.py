"""Gradient centralization (a parameter group's ``grad_centralization``) against float64 references
of MindSpore's order in its optimizers' construct (nn/optim/optimizer.py and each optimizer):

* most optimizers: ``decay_weight`` (``g + wd * loss_scale * p``), ``gradients_centralization``
  (for a Parameter of >= 2 dims whose dim 1 is a multiple of 16: minus the mean over dims 1..n),
  ``scale_grad`` (``/ loss_scale``), then the update;
* SGD: centralization, ``scale_grad``, then the SGD kernel adds ``wd * p`` itself;
* AdamWeightDecay: never centralizes.

Each trajectory runs several steps with weight decay and a loss scale, a group with and one
without ``grad_centralization``, Parameters that qualify and some that do not, eagerly and jitted,
on the CPU and the (simulated) GPU.
"""

from __future__ import annotations

import numpy as np
import pytest

import gpucell as ms
from gpucell import Parameter, Tensor, nn
from gpucell.jit import cache_info, clear_cache

# (name, shape, centralizes when its group asks): dim 1 a multiple of 16 and >= 2 dims.
SHAPES = [("conv.weight", (4, 16, 2, 2), True), ("dense.weight", (3, 32), True),
          ("odd.weight", (5, 10), False), ("dense.bias", (16,), False),
          ("head.weight", (2, 16), True), ("head.bias", (2,), False)]
GC_GROUP = 4  # the first four Parameters form the group with grad_centralization; the rest do not
WD_GC, WD_DEFAULT, LR, STEPS = 0.05, 0.01, 0.05, 4


def _params(device, seed=0):
    rng = np.random.default_rng(seed)
    return [Parameter(Tensor(rng.standard_normal(s).astype(np.float32), device=device), name=n)
            for n, s, _ in SHAPES]


def _grad_steps(device, seed=1, scale=1.0):
    rng = np.random.default_rng(seed)
    # Gradients with a clear per-row mean, so centralization changes them visibly.
    return [tuple(Tensor((scale * (rng.standard_normal(s) + rng.standard_normal(s[:1] + (1,) * (len(s) - 1))))
                         .astype(np.float32), device=device) for _, s, _ in SHAPES)
            for _ in range(STEPS)]


def _groups(params, gc=True):
    return [{"params": params[:GC_GROUP], "weight_decay": WD_GC, "grad_centralization": gc},
            {"params": params[GC_GROUP:]}]


def _centralize(g):
    return g - g.mean(axis=tuple(range(1, g.ndim)), keepdims=True)


# -- float64 references of the updates (MindSpore's kernels) ------------------------------------------
def _sgd(momentum):
    def update(state, i, w, g, t):
        v = g if t == 1 else momentum * state.setdefault(i, 0.0) + g  # dampening 0: stat only on step 1
        state[i] = v
        return w - LR * v
    return update


def _momentum(momentum):
    def update(state, i, w, g, t):
        state[i] = momentum * state.get(i, 0.0) + g
        return w - LR * state[i]
    return update


def _adam(b1=0.9, b2=0.999, eps=1e-8):
    def update(state, i, w, g, t):
        m, v = state.get(i, (0.0, 0.0))
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        state[i] = m, v
        return w - LR * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (np.sqrt(v) + eps)
    return update


def _rmsprop(decay=0.9, momentum=0.5, eps=1e-10):
    def update(state, i, w, g, t):
        s, mom = state.get(i, (1.0, 0.0))  # mean_square starts at one, as in MindSpore
        s = decay * s + (1 - decay) * g * g
        mom = momentum * mom + LR * g / np.sqrt(s + eps)
        state[i] = s, mom
        return w - mom
    return update


def _adamax(b1=0.9, b2=0.999, eps=1e-8):
    def update(state, i, w, g, t):
        m, v = state.get(i, (0.0, 0.0))
        m, v = b1 * m + (1 - b1) * g, np.maximum(b2 * v, np.abs(g))
        state[i] = m, v
        return w - LR / (1 - b1 ** t) * m / (v + eps)
    return update


def reference(update, ws, steps, scale, gc, decay_in_kernel=False):
    """MindSpore's construct over ``steps``: per Parameter, decay (with its group's weight decay,
    times the loss scale), centralize where the group asks and the shape qualifies, unscale, update.
    ``decay_in_kernel``: SGD's order (centralize, unscale, then the kernel adds ``wd * p``)."""
    ws = [w.copy() for w in ws]
    state: dict = {}
    for t, grads in enumerate(steps, start=1):
        for i, g in enumerate(grads):
            wd = WD_GC if i < GC_GROUP else WD_DEFAULT
            centralize = gc and i < GC_GROUP and SHAPES[i][2]
            if decay_in_kernel:
                g = (_centralize(g) if centralize else g) / scale + wd * ws[i]
            else:
                g = g + wd * scale * ws[i]
                g = (_centralize(g) if centralize else g) / scale
            ws[i] = update(state, i, ws[i], g, t)
    return ws


CASES = {
    "SGD": (lambda ps, ls: nn.SGD(ps, LR, momentum=0.9, weight_decay=WD_DEFAULT, loss_scale=ls), _sgd(0.9), True),
    "Momentum": (lambda ps, ls: nn.Momentum(ps, LR, 0.9, weight_decay=WD_DEFAULT, loss_scale=ls), _momentum(0.9),
                 False),
    "Adam": (lambda ps, ls: nn.Adam(ps, LR, weight_decay=WD_DEFAULT, loss_scale=ls), _adam(), False),
    "RMSProp": (lambda ps, ls: nn.RMSProp(ps, LR, momentum=0.5, weight_decay=WD_DEFAULT, loss_scale=ls),
                _rmsprop(), False),
    "AdaMax": (lambda ps, ls: nn.AdaMax(ps, LR, weight_decay=WD_DEFAULT, loss_scale=ls), _adamax(), False),
}


def _host(steps):
    return [[g.asnumpy().astype(np.float64) for g in grads] for grads in steps]


def _assert_params(params, expected, rtol=2e-5, atol=2e-6):
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p.asnumpy(), e, rtol=rtol, atol=atol, err_msg=p.name)


@pytest.mark.parametrize("gc", [True, False], ids=["gc", "no-gc"])
@pytest.mark.parametrize("name", CASES)
def test_steps_match_mindspores_order(device, name, gc):
    make, update, decay_in_kernel = CASES[name]
    scale = 8.0
    params = _params(device)
    steps = _grad_steps(device, scale=scale)
    expected = reference(update, [p.asnumpy().astype(np.float64) for p in params], _host(steps), scale, gc,
                         decay_in_kernel)
    opt = make(_groups(params, gc), scale)
    for grads in steps:
        assert opt(grads) == (True,) * len(params)
    _assert_params(params, expected)


@pytest.mark.parametrize("name", CASES)
def test_jitted_steps_equal_the_eager_ones_in_one_captured_graph(device, name, recwarn):
    make, update, decay_in_kernel = CASES[name]
    clear_cache()
    scale = 4.0
    eager_params, jit_params = _params(device), _params(device)
    eager, jitted_opt = make(_groups(eager_params), scale), make(_groups(jit_params), scale)
    steps = _grad_steps(device, seed=2, scale=scale)
    jitted = ms.jit(lambda *grads: jitted_opt(grads))
    for grads in steps:
        eager(grads)
        jitted(*grads)
    expected = reference(update, [p.asnumpy().astype(np.float64) for p in _params(device)], _host(steps), scale,
                         True, decay_in_kernel)
    _assert_params(jit_params, expected)
    for p, q in zip(jit_params, eager_params):
        np.testing.assert_allclose(p.asnumpy(), q.asnumpy(), rtol=1e-6, atol=1e-7, err_msg=p.name)
    info = cache_info()
    assert (info.misses, info.hits, info.graph_breaks) == (1, STEPS - 1, 0)
    assert info.captures == (1 if device == "GPU" else 0)
    assert not [w for w in recwarn if "CUDA-graph" in str(w.message)], [str(w.message) for w in recwarn]


def test_only_the_qualifying_parameters_leave_the_fused_path():
    params = _params("CPU")
    opt = nn.Momentum(_groups(params), LR, 0.9, weight_decay=WD_DEFAULT, loss_scale=2.0)
    assert opt.grad_centralization_flags == (True,) * GC_GROUP + (False,) * (len(SHAPES) - GC_GROUP)
    # conv.weight and dense.weight; odd.weight (dim 1 = 10) and the bias do not qualify, and
    # head.weight qualifies by shape but its group did not ask.
    assert opt._centralized == ((0, (1, 2, 3)), (1, (1,)))
    # Their decay moved before the centralization; the fused op still divides by the loss scale.
    per_param = opt._attrs["per_param"]
    assert [a["weight_decay"] for a in per_param] == [0.0, 0.0, WD_GC, WD_GC, WD_DEFAULT, WD_DEFAULT]
    assert {a["scale"] for a in per_param} == {0.5}
    plain = nn.Momentum(_params("CPU"), LR, 0.9, weight_decay=WD_DEFAULT)
    assert plain._centralized == () and plain.grad_centralization_flags == (False,) * len(SHAPES)


def test_a_jit_plan_holds_one_mean_per_centralized_gradient():
    clear_cache()
    params = _params("CPU")
    opt = nn.Adam(_groups(params), LR, weight_decay=WD_DEFAULT)
    jitted = ms.jit(lambda *grads: opt(grads))
    steps = _grad_steps("CPU")
    jitted(*steps[0])
    jitted(*steps[1])
    from gpucell.jit import function

    (plan,) = function.PLANS._plans.values()
    names = [step.op.name for step in plan.steps]
    assert names.count("ReduceMean") == 2 and names.count("Adam") == 1


def test_lamb_and_adamw_centralize_the_gradient_alone_and_adam_weight_decay_never(device):
    steps = _grad_steps(device)
    # Centralizing the gradients by hand and leaving the flag off gives the same trajectory.
    for make in (lambda ps, gc: nn.Lamb(_groups(ps, gc), LR, weight_decay=WD_DEFAULT),
                 lambda ps, gc: nn.AdamW(_groups(ps, gc), LR, weight_decay=WD_DEFAULT)):
        params, twins = _params(device), _params(device)
        opt, twin = make(params, True), make(twins, False)
        for grads in steps:
            opt(grads)
            twin(tuple(Tensor(_centralize(g.asnumpy()), device=device) if i < GC_GROUP and SHAPES[i][2] else g
                       for i, g in enumerate(grads)))
        for p, q in zip(params, twins):
            np.testing.assert_allclose(p.asnumpy(), q.asnumpy(), rtol=1e-5, atol=1e-6, err_msg=p.name)
    params, twins = _params(device), _params(device)
    opt = nn.AdamWeightDecay(_groups(params, True), LR, weight_decay=WD_DEFAULT)
    twin = nn.AdamWeightDecay(_groups(twins, False), LR, weight_decay=WD_DEFAULT)
    assert opt._centralized == ()
    for grads in steps:
        opt(grads)
        twin(grads)
    for p, q in zip(params, twins):
        np.testing.assert_array_equal(p.asnumpy(), q.asnumpy())


def test_lars_hands_its_output_to_the_wrapped_optimizers_centralization(device):
    # MindSpore's LARS takes the decay and the loss scale; the wrapped optimizer still centralizes
    # what LARS hands it (its decay_weight is off, scale_grad multiplies by 1).
    params = _params(device)
    steps = _grad_steps(device)
    lars = nn.LARS(nn.Momentum(_groups(params), LR, 0.9, weight_decay=WD_DEFAULT, loss_scale=2.0),
                   coefficient=0.1)
    ws = [p.asnumpy().astype(np.float64) for p in params]
    velocity = [0.0] * len(ws)
    for grads in steps:
        handed = _lars_gradients(lars, grads)  # LARS's own formula is tested in test_optim_more
        lars(grads)
        for i, g in enumerate(handed):
            g = _centralize(g) if i < GC_GROUP and SHAPES[i][2] else g
            velocity[i] = 0.9 * velocity[i] + g
            ws[i] = ws[i] - LR * velocity[i]
    _assert_params(params, ws, rtol=1e-4, atol=1e-5)


def _lars_gradients(lars, grads):
    from gpucell.ops._dispatch import apply
    from gpucell.ops.optim_layerwise import LARS_UPDATE

    out = [g.asnumpy().astype(np.float64) for g in grads]
    inputs = []
    for i in lars._changed:
        inputs += (lars._param_list[i], grads[i])
    for i, g in zip(lars._changed, apply(LARS_UPDATE, *inputs, **lars._attrs)):
        out[i] = g.asnumpy().astype(np.float64)
    return out


def test_grad_centralization_must_be_a_bool():
    dense = Parameter(Tensor(np.zeros((4, 16), np.float32)), name="dense.weight")
    with pytest.raises(TypeError, match="the 'grad_centralization' of group 0 must be a bool, but got 1"):
        nn.RMSProp([{"params": [dense], "grad_centralization": 1}])
    with pytest.raises(TypeError, match="the 'grad_centralization' of group 1 must be a bool"):
        nn.SGD([{"params": [dense]}, {"params": [Parameter(Tensor(np.zeros(2, np.float32)), name="b")],
                                      "grad_centralization": "yes"}])
