"""The second batch of issue 17's ops under gpucell.jit: a jitted training step through them equals the
eager one; on the GPU the capturable ones are one CUDA graph with no break, and sort / topk /
gather_elements (documented as not capturable) run between captured segments."""

from __future__ import annotations

import numpy as np
from op_testing import host, tensor

import gpucell as ms
from gpucell import nn, ops
from gpucell.jit import clear_cache, function
from gpucell.ops._dispatch import is_capturable


class _Capturable(nn.Cell):
    """A Dense layer followed by every capturable op of the batch, forward and backward."""

    def __init__(self):
        super().__init__()
        self.dense = nn.Dense(5, 6)
        self.out = nn.Dense(6, 3)

    def construct(self, x):
        h = self.dense(x)
        h = ops.sin(h) + ops.cos(h) * ops.erf(h) + ops.log1p(ops.reciprocal(1 + h * h))
        h = ops.cumsum(h, 1) / 6 + ops.floor(h) * 0.0 + ops.round(ops.ceil(h)) * 0.0
        h = h * ops.prod(1 + 0.1 * h, 1, keep_dims=True) + 0.1 * ops.logsumexp(h, 1, keep_dims=True)
        h = h / (1 + ops.norm(h, dim=1, keepdim=True)) + 0.01 * ops.norm(h, 1, (0, 1))
        h = ops.concat(ops.chunk(h, 2, 1), 1) + h.repeat(2, 0).reshape(2, -1, 6)[0]
        return self.out(h * ops.bernoulli(h, 1.0) + ops.eye(6)[0] + ops.linspace(0.0, 1.0, 6))


class _Sorting(nn.Cell):
    def __init__(self):
        super().__init__()
        self.dense = nn.Dense(5, 6)
        self.out = nn.Dense(3, 3)
        self.index = ms.Tensor(np.array([[2, 0, 5], [1, 1, 3], [0, 4, 4], [5, 2, 1]], np.int64))

    def construct(self, x):
        h = self.dense(x)
        top, _ = ops.topk(h, 3)
        ordered, _ = ops.sort(h, descending=True)
        return self.out(top + ordered[:, :3] + ops.gather_elements(h, 1, self.index.move_to(h.device)))


def _losses(build, device, jitted: bool) -> list:
    ms.set_seed(1)
    net = build()
    for p in net.get_parameters():
        p.move_to(device)
    if hasattr(net, "index"):
        net.index = net.index.move_to(device)
    step = nn.TrainOneStepCell(nn.WithLossCell(net, nn.MSELoss()), nn.SGD(net.trainable_params(), learning_rate=0.05))
    run = ms.jit(lambda x, y: step(x, y)) if jitted else step
    rng = np.random.default_rng(2)
    batches = [(tensor(rng.standard_normal((4, 5)).astype(np.float32), device),
                tensor(rng.standard_normal((4, 3)).astype(np.float32), device)) for _ in range(3)]
    return [float(host(run(x, y))) for x, y in batches]


def _plan():
    (plan,) = function.PLANS._plans.values()
    return plan


def test_capturable_ops_in_a_jitted_training_step(device):
    eager = _losses(_Capturable, device, jitted=False)
    clear_cache()
    jitted = _losses(_Capturable, device, jitted=True)
    np.testing.assert_allclose(jitted, eager, rtol=1e-5)
    assert eager[-1] != eager[0]
    plan = _plan()
    assert all(is_capturable(s.op, s.attrs) for s in plan.steps), \
        [s.op.name for s in plan.steps if not is_capturable(s.op, s.attrs)]
    if device == "GPU":
        assert plan.executor.kind == "cuda-graph" and not plan.executor.failed
        assert plan.executor.graph_breaks == 0


def test_sorting_ops_run_between_captured_segments(device):
    eager = _losses(_Sorting, device, jitted=False)
    clear_cache()
    jitted = _losses(_Sorting, device, jitted=True)
    np.testing.assert_allclose(jitted, eager, rtol=1e-5)
    plan = _plan()
    names = {s.op.name for s in plan.steps if not is_capturable(s.op, s.attrs)}
    assert {"TopK", "Sort", "GatherElements", "GatherElementsGrad"} <= names, names
    if device == "GPU":
        assert plan.executor.graph_breaks > 0 and not plan.executor.failed


def test_jitted_bernoulli_draws_fresh_numbers_as_eager_does(device):
    x = tensor(np.zeros((8, 16), np.float32), device)
    draw = lambda t: ops.bernoulli(t, 0.5)  # noqa: E731
    ms.set_seed(5)
    eager = [host(draw(x)) for _ in range(3)]
    ms.set_seed(5)
    clear_cache()
    jitted = ms.jit(draw)
    replays = [host(jitted(x)) for _ in range(3)]
    for e, r in zip(eager, replays):
        np.testing.assert_array_equal(r, e)
    assert not np.array_equal(replays[1], replays[2])
