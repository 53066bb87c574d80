"""gpucell.jit: trace once per key, replay equal to eager, guards, cache counters, threads."""

from __future__ import annotations

import gc
import threading

import numpy as np
import pytest
from jit_testing import assert_same

import gpucell as ms
from gpucell import Parameter, Tensor, nn, ops
from gpucell.jit import TraceError, cache_info, clear_cache


@pytest.fixture(autouse=True)
def fresh_cache():
    clear_cache()
    yield
    clear_cache()


def _tensor(values, device, dtype=ms.float32):
    return Tensor(np.asarray(values), dtype, device=device)


class Affine(nn.Cell):
    def __init__(self, device):
        super().__init__()
        self.w = Parameter(_tensor([[1.0, -2.0], [0.5, 3.0]], device), name="w")
        self.b = Parameter(_tensor([0.25, -1.0], device), name="b")

    def construct(self, x):
        y = ops.matmul(x, self.w) + self.b
        return y * 2 if self.training else y


def test_seed_modify_parameter_returns_true_and_writes_every_call(device):
    b = Parameter(_tensor([1.0, 2.0, 3.0], device), name="b")

    @ms.jit
    def modify_parameter():
        ops.assign(b, ms.Tensor([7, 8, 9], device=device))
        return True

    assert modify_parameter() is True
    np.testing.assert_array_equal(b.asnumpy(), [7, 8, 9])
    b.set_data(Tensor([3, 4, 5], device=device))
    assert modify_parameter() is True  # replayed: MindSpore 2.10 skips this write, we must not
    np.testing.assert_array_equal(b.asnumpy(), [7, 8, 9])
    assert cache_info().hits == 1


def test_replay_equals_eager_bit_for_bit(device):
    rng = np.random.default_rng(0)

    def f(x, y):
        z = (x * y - 1.5) / (abs(y) + 1)
        return z @ y.T, z > 0.25, -z

    jitted = ms.jit(f)
    for _ in range(4):
        x = _tensor(rng.standard_normal((3, 4)), device)
        y = _tensor(rng.standard_normal((3, 4)), device)
        expected = f(x, y)
        got = jitted(x, y)
        for e, g in zip(expected, got):
            assert e.dtype == g.dtype
            np.testing.assert_array_equal(e.asnumpy(), g.asnumpy())
    info = cache_info()
    assert (info.misses, info.hits, info.plans) == (1, 3, 1)


def test_non_tensor_results_are_returned_as_traced(device):
    @ms.jit
    def f(x):
        return {"y": x + 1, "tag": "done", "n": 3}

    for _ in range(2):
        out = f(_tensor([1.0], device))
        assert out["tag"] == "done" and out["n"] == 3
        np.testing.assert_array_equal(out["y"].asnumpy(), [2.0])


@pytest.mark.parametrize("change", ["shape", "dtype", "scalar"])
def test_each_argument_component_selects_its_own_plan(device, change):
    @ms.jit
    def f(x, k):
        return x * k

    f(_tensor([1.0, 2.0], device), 2.0)
    if change == "shape":
        out = f(_tensor([1.0, 2.0, 3.0], device), 2.0)
        expected = [2.0, 4.0, 6.0]
    elif change == "dtype":
        out = f(_tensor([1.0, 2.0], device, ms.float64), 2.0)
        expected = [2.0, 4.0]
        assert out.dtype == ms.float64
    else:
        out = f(_tensor([1.0, 2.0], device), 3.0)
        expected = [3.0, 6.0]
    np.testing.assert_array_equal(out.asnumpy(), expected)
    assert cache_info().misses == 2


def test_cell_phase_change_selects_another_plan(device):
    net = Affine(device)
    step = ms.jit(lambda x: net(x))
    x = _tensor([[1.0, 1.0]], device)
    net.set_train(False)
    predict = step(x).asnumpy()
    net.set_train(True)
    train = step(x).asnumpy()
    np.testing.assert_allclose(train, 2 * predict)
    net.set_train(False)
    np.testing.assert_array_equal(step(x).asnumpy(), predict)


def test_phase_changes_after_many_replays_are_seen(device):
    """Replays skip re-checking the guards while nothing they watch changed anywhere; a phase
    change of any kind (set_train on a parent, the phase setter) must still be seen."""
    net = Affine(device)
    outer = nn.SequentialCell([net])
    unrelated = Affine(device)
    step = ms.jit(lambda x: net(x))
    x = _tensor([[1.0, 1.0]], device)
    outer.set_train(True)
    for _ in range(3):
        train = step(x).asnumpy()
    outer.set_train(False)
    predict = step(x).asnumpy()
    np.testing.assert_allclose(train, 2 * predict)
    net.training = True
    net.phase = "train"
    np.testing.assert_array_equal(step(x).asnumpy(), train)
    misses = cache_info().misses
    unrelated.set_train(False)  # moves the shared counter: the plan re-checks, and still matches
    np.testing.assert_array_equal(step(x).asnumpy(), train)
    assert cache_info().misses == misses == 3


def test_replaced_parameter_is_never_stale(device):
    net = Affine(device)
    step = ms.jit(lambda x: net(x))
    x = _tensor([[1.0, 1.0]], device)
    step(x)
    net.b = Parameter(_tensor([100.0, 100.0], device), name="b")
    expected = net.construct(x).asnumpy()
    np.testing.assert_array_equal(step(x).asnumpy(), expected)
    assert cache_info().invalidations == 1


def test_parameter_passed_as_argument_is_keyed_by_identity(device):
    @ms.jit
    def bump(p):
        ops.assign_add(p, ms.Tensor([1.0], device=device))
        return p

    p = Parameter(_tensor([0.0], device), name="p")
    q = Parameter(_tensor([10.0], device), name="q")
    for _ in range(3):
        assert bump(p) is p
    bump(q)
    np.testing.assert_array_equal(p.asnumpy(), [3.0])
    np.testing.assert_array_equal(q.asnumpy(), [11.0])


def test_outputs_of_call_k_survive_call_k_plus_1(device):
    @ms.jit
    def f(x):
        return x * 2

    first = f(_tensor([1.0], device))
    second = f(_tensor([5.0], device))
    third = f(_tensor([7.0], device))
    np.testing.assert_array_equal(first.asnumpy(), [2.0])
    np.testing.assert_array_equal(second.asnumpy(), [10.0])
    np.testing.assert_array_equal(third.asnumpy(), [14.0])


def test_plan_survives_garbage_collection(device):
    net = Affine(device)
    step = ms.jit(net.construct)
    x = _tensor([[2.0, -1.0]], device)
    expected = step(x).asnumpy()
    gc.collect()
    np.testing.assert_array_equal(step(x).asnumpy(), expected)


def test_threads_calling_one_jitted_function_get_their_own_results(device):
    @ms.jit
    def f(x):
        return (x * 3 + 1) * x

    f(_tensor(np.zeros(64), device))
    errors = []

    def worker(seed):
        rng = np.random.default_rng(seed)
        for _ in range(50):
            v = rng.standard_normal(64).astype(np.float32)
            got = f(_tensor(v, device)).asnumpy()
            want = (v * 3 + 1) * v
            if not np.allclose(got, want, rtol=1e-6):
                errors.append(seed)

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_python_branch_on_a_traced_value_names_the_line(device):
    @ms.jit
    def f(x):
        if x > 0:  # the line the error must name
            return x
        return -x

    with pytest.raises(TraceError, match=r"test_jit\.py:\d+") as info:
        f(_tensor([1.0], device))
    assert "bool()" in str(info.value) and "'test_python_branch" in str(info.value)


def test_host_read_of_a_traced_value_is_refused(device):
    @ms.jit
    def f(x):
        return (x + 1).asnumpy()

    with pytest.raises(TraceError, match="asnumpy"):
        f(_tensor([1.0], device))


def test_cache_is_bounded_and_counts():
    from gpucell.jit.cache import PlanCache
    from gpucell.jit.function import JitFunction

    cache = PlanCache(maxsize=2)
    f = JitFunction(lambda x: x + 1, cache)
    for n in (1, 2, 3, 1):
        f(Tensor(np.zeros(n, np.float32), device="CPU"))
    info = cache.info()
    assert info.plans == 2 and info.misses == 4 and info.hits == 0
    with pytest.raises(ValueError, match="maxsize"):
        PlanCache(maxsize=0)


def test_unhashable_argument_is_refused_with_the_type():
    @ms.jit
    def f(x, extra):
        return x

    with pytest.raises(TypeError, match="set"):
        f(Tensor([1.0]), {1, 2})


def test_graph_mode_runs_top_level_cell_calls_through_plans(device):
    net = Affine(device)
    x = _tensor([[1.0, 2.0]], device)
    eager = net(x).asnumpy()
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        outs = [net(x).asnumpy() for _ in range(3)]
        info = cache_info()
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)
    for out in outs:
        np.testing.assert_array_equal(out, eager)
    assert (info.misses, info.hits) == (1, 2)
    net(x)
    assert cache_info().hits == 2  # PYNATIVE again: no plan involved


def test_creation_ops_inside_a_jitted_function_are_traced(device):
    previous = ms.get_context("device_target")
    ms.set_context(device_target=device)  # creation ops make their tensors on the current device
    try:
        @ms.jit
        def f(x):
            return x + ops.zeros((3,), ms.float32) + ops.arange(0, 3).astype(ms.float32)

        for k in range(3):
            out = f(_tensor([1.0, 2.0, 3.0], device) * k)
            np.testing.assert_array_equal(out.asnumpy(), np.array([1.0, 2.0, 3.0]) * k + [0, 1, 2])
        assert cache_info().hits == 2
    finally:
        ms.set_context(device_target=previous)


def test_graph_mode_cell_inside_value_and_grad_still_gets_gradients(device):
    net = Affine(device)
    x = _tensor([[1.0, -1.0]], device)
    forward = lambda x: net(x).sum()  # noqa: E731
    eager_loss, eager_grads = ms.value_and_grad(forward, None, net.trainable_params())(x)
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        for _ in range(2):
            loss, grads = ms.value_and_grad(forward, None, net.trainable_params())(x)
            np.testing.assert_array_equal(loss.asnumpy(), eager_loss.asnumpy())
            for g, e in zip(grads, eager_grads):
                np.testing.assert_array_equal(g.asnumpy(), e.asnumpy())
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)


def test_whole_training_step_replays_like_eager(device):
    def make():
        ms.set_seed(3)
        net = Affine(device)
        opt = nn.Momentum(net.trainable_params(), learning_rate=0.05, momentum=0.9)
        grad_fn = ms.value_and_grad(lambda x, y: ((net(x) - y) ** 2).mean(), None, opt.parameters)

        def step(x, y):
            loss, grads = grad_fn(x, y)
            opt(grads)
            return loss
        return net, step

    rng = np.random.default_rng(7)
    batches = [(_tensor(rng.standard_normal((4, 2)), device), _tensor(rng.standard_normal((4, 2)), device))
               for _ in range(100)]
    eager_net, eager_step = make()
    jit_net, jit_step = make()
    jit_step = ms.jit(jit_step)
    eager_net.set_train(False)
    jit_net.set_train(False)
    for x, y in batches:
        eager_loss = eager_step(x, y).asnumpy()
        assert_same(jit_step(x, y).asnumpy(), eager_loss, device)
    for a, b in zip(jit_net.trainable_params(), eager_net.trainable_params()):
        assert_same(a.asnumpy(), b.asnumpy(), device)
    assert cache_info().hits == 99


def test_dropout_draws_fresh_masks_on_replay_and_matches_eager(device):
    def run(compiled):
        ms.set_seed(11)
        f = lambda x: ops.dropout(x, p=0.5)  # noqa: E731
        f = ms.jit(f) if compiled else f
        x = _tensor(np.ones((4, 64)), device)
        return [f(x).asnumpy() for _ in range(4)]

    eager, replayed = run(False), run(True)
    for e, r in zip(eager, replayed):
        np.testing.assert_array_equal(e, r)
    assert not np.array_equal(replayed[1], replayed[2])


def test_dense_relu_chains_are_fused_and_replay_bit_for_bit(device):
    from gpucell.jit.function import PLANS

    def make():
        ms.set_seed(5)
        net = nn.SequentialCell([nn.Dense(6, 8), nn.ReLU(), nn.Dense(8, 8), nn.ReLU(), nn.Dense(8, 3)])
        loss_fn = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
        opt = nn.SGD(net.trainable_params(), learning_rate=0.1)
        grad_fn = ms.value_and_grad(lambda x, y: loss_fn(net(x), y), None, opt.parameters)

        def step(x, y):
            loss, grads = grad_fn(x, y)
            opt(grads)
            return loss
        return net, step

    rng = np.random.default_rng(2)
    x = _tensor(rng.standard_normal((5, 6)), device)
    y = Tensor(np.array([0, 2, 1, 2, 0], np.int32), device=device)
    eager_net, eager_step = make()
    jit_net, jit_step = make()
    jit_step = ms.jit(jit_step)
    for _ in range(5):
        np.testing.assert_array_equal(jit_step(x, y).asnumpy(), eager_step(x, y).asnumpy())
    for a, b in zip(jit_net.trainable_params(), eager_net.trainable_params()):
        np.testing.assert_array_equal(a.asnumpy(), b.asnumpy())
    (plan,) = PLANS._plans.values()
    names = [s.op.name for s in plan.steps]
    assert names.count("DenseReLU") == 2 and "ReLU" not in names and "ReluGrad" not in names
    assert "SoftmaxCrossEntropyAndGrad" in names and "FillLike" not in names


def test_fusion_keeps_an_intermediate_that_is_returned(device):
    from gpucell.jit.function import PLANS

    dense = nn.Dense(3, 3)
    relu = nn.ReLU()

    @ms.jit
    def f(x):
        h = dense(x)
        return h, relu(h)

    x = _tensor([[1.0, -2.0, 0.5]], device)
    for _ in range(2):
        h, r = f(x)
        np.testing.assert_array_equal(r.asnumpy(), np.maximum(h.asnumpy(), 0))
    (plan,) = PLANS._plans.values()
    assert [s.op.name for s in plan.steps] == ["Dense", "ReLU"]


def test_jit_on_a_cell_and_on_a_cell_method(device):
    class Scaled(nn.Cell):
        def __init__(self):
            super().__init__()
            self.w = Parameter(_tensor([2.0, 3.0], device), name="w")

        @ms.jit
        def construct(self, x):
            return x * self.w

    a, b = Scaled(), Scaled()
    b.w.set_data(_tensor([10.0, 10.0], device))
    x = _tensor([1.0, 1.0], device)
    for _ in range(2):
        np.testing.assert_array_equal(a(x).asnumpy(), [2.0, 3.0])
        np.testing.assert_array_equal(b(x).asnumpy(), [10.0, 10.0])  # another instance: its own plan
    compiled = ms.jit(a)
    for _ in range(2):
        np.testing.assert_array_equal(compiled(x).asnumpy(), [2.0, 3.0])
    assert cache_info().plans == 3


@pytest.mark.parametrize("loss_fn", [
    lambda: nn.CrossEntropyLoss(label_smoothing=0.1),
    lambda: nn.CrossEntropyLoss(weight=Tensor(np.array([1.0, 2.0, 0.5], np.float32)), reduction="sum"),
    lambda: nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean"),
])
def test_fused_loss_and_gradient_equal_the_unfused_ones(device, loss_fn):
    from gpucell.jit.function import PLANS

    loss_cell = loss_fn()
    if device == "GPU" and getattr(loss_cell, "weight", None) is not None:
        loss_cell.weight = loss_cell.weight.move_to("GPU")
    logits = _tensor(np.random.default_rng(4).standard_normal((6, 3)), device)
    labels = Tensor(np.array([0, 1, 2, 2, 1, 0], np.int32), device=device)
    step = ms.value_and_grad(lambda x: loss_cell(x, labels), 0)
    eager = step(logits)
    jitted = ms.jit(step)
    for _ in range(2):
        got = jitted(logits)
        for g, e in zip(got, eager):
            np.testing.assert_array_equal(g.asnumpy(), e.asnumpy())
    (plan,) = PLANS._plans.values()
    assert "SoftmaxCrossEntropyAndGrad" in [s.op.name for s in plan.steps]
