"""Every op a training step needs captures into CUDA graphs with no graph break and no failed
capture (on the simulated GPU, which refuses what CUDA and CuPy refuse inside a capture: cuBLAS,
host copies, synchronisation). An op marked capturable that is not would fall back silently."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gpucell as ms
from gpucell import nn, ops
from gpucell.jit import clear_cache, function
from gpucell.ops._dispatch import is_capturable

pytestmark = pytest.mark.gpu


@pytest.fixture(autouse=True)
def fresh_cache():
    clear_cache()
    yield
    clear_cache()


class Net(nn.Cell):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, pad_mode="same", has_bias=True)
        self.bn = nn.BatchNorm2d(4)
        self.pool = nn.MaxPool2d(2, 2)
        self.flatten = nn.Flatten()
        self.body = nn.SequentialCell([nn.Dense(4 * 4 * 4, 16, activation="relu"), nn.LayerNorm((16,)),
                                       nn.GELU(), nn.Dropout(p=0.2), nn.Dense(16, 5)])
        self.embed = nn.Embedding(7, 16)
        self.scale = ms.Parameter(ms.Tensor(np.linspace(0.5, 1.5, 16), ms.float32), name="scale")
        self.mix = ms.Parameter(ms.Tensor(np.eye(16) * 0.5, ms.float32), name="mix")

    def construct(self, image, ids):
        h = self.flatten(self.pool(ops.relu(self.bn(self.conv(image)))))
        h = h[:, :64] if h.shape[1] > 64 else h
        e = self.embed(ids).mean(axis=1)                              # (N, 16)
        z = self.body[:4](h) + e
        z = z + ops.matmul(z, self.scale)[:, None] * 0.01            # 1-D right operand
        batched = ops.matmul(z.reshape(-1, 1, 1, 16), self.mix.reshape(1, 1, 16, 16))  # broadcast batch dims
        z = z + batched.reshape(z.shape) * ops.tanh(z) * ops.sigmoid(z)
        return self.body[4](z)


def test_a_whole_training_step_captures_without_a_graph_break():
    ms.set_seed(0)
    net = Net()
    for p in net.get_parameters():
        p.move_to("GPU")
    loss_fn = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
    opt = nn.Adam(net.trainable_params(), learning_rate=1e-3)
    grad_fn = ms.value_and_grad(lambda x, i, y: loss_fn(net(x, i), y), None, opt.parameters)

    @ms.jit
    def step(x, i, y):
        loss, grads = grad_fn(x, i, y)
        opt(grads)
        return loss

    rng = np.random.default_rng(0)
    net.set_train(True)
    losses = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a failed capture warns and falls back: make it fail here
        for _ in range(4):
            x = ms.Tensor(rng.standard_normal((6, 1, 8, 8)), ms.float32, device="GPU")
            ids = ms.Tensor(rng.integers(0, 7, (6, 3)), ms.int32, device="GPU")
            y = ms.Tensor(rng.integers(0, 5, 6), ms.int32, device="GPU")
            losses.append(float(step(x, ids, y).asnumpy()))
    (plan,) = function.PLANS._plans.values()
    executor = plan.executor
    assert executor.kind == "cuda-graph" and not executor.failed
    assert executor.graph_breaks == 0, [s.op.name for s in plan.steps if not is_capturable(s.op, s.attrs)]
    assert all(np.isfinite(losses))
