"""The conv / pool / resample / pad / norm layers of issue 17 inside one jitted training step: the
replayed plan gives eager's numbers on both backends, and on the GPU the whole step is one CUDA graph
with no graph break (the simulated device refuses what capture refuses)."""

from __future__ import annotations

import warnings

import numpy as np

import gpucell as ms
from gpucell import nn, ops
from gpucell.jit import clear_cache, function
from gpucell.ops._dispatch import is_capturable


class Net(nn.Cell):
    def __init__(self):
        super().__init__()
        self.conv1d = nn.Conv1d(2, 4, 3, has_bias=True)
        self.pool1d = nn.MaxPool1d(2, 2)
        self.avg1d = nn.AvgPool1d(3, 1, "pad", 1)
        self.deconv1d = nn.Conv1dTranspose(4, 2, 3, stride=2, has_bias=True)
        self.up = nn.Upsample(scale_factor=2.0, mode="bilinear")
        self.pad = nn.Pad(((0, 0), (0, 0), (1, 1), (1, 1)), "REFLECT")
        self.deconv = nn.Conv2dTranspose(2, 3, 3, stride=2, pad_mode="pad", padding=1, output_padding=1)
        self.gn = nn.GroupNorm(1, 3)
        self.inorm = nn.InstanceNorm2d(3)
        self.adaptive = nn.AdaptiveAvgPool2d((2, 3))
        self.table = ms.Parameter(ms.Tensor(np.linspace(-1, 1, 12).reshape(4, 3), ms.float32), name="table")
        self.head = nn.Dense(2 * 2 * 3 + 3, 5)

    def construct(self, x, image, ids):
        h = self.avg1d(self.pool1d(ops.relu(self.conv1d(x))))          # (N, 4, 4)
        h = self.deconv1d(h)                                            # (N, 2, 8)
        img = self.pad(self.up(image))                                  # (N, 2, 10, 10)
        img = self.inorm(self.gn(self.deconv(img)))                     # (N, 3, 20, 20)
        img = self.adaptive(img)[:, :2]                                 # (N, 2, 2, 3)
        img = img + ops.interpolate(h[:, :, None, :3], size=(2, 3), mode="nearest")
        e = ops.embedding(ids, self.table, padding_idx=0).mean(axis=1)  # (N, 3)
        return self.head(ops.cat((img.reshape(img.shape[0], -1), e), 1))


def _run(device: str, jitted: bool):
    ms.set_seed(3)
    net = Net()
    for p in net.get_parameters():
        p.move_to(device)
    loss_fn = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
    opt = nn.Momentum(net.trainable_params(), learning_rate=0.05, momentum=0.9)
    grad_fn = ms.value_and_grad(lambda x, im, i, y: loss_fn(net(x, im, i), y), None, opt.parameters)

    def step(x, im, i, y):
        loss, grads = grad_fn(x, im, i, y)
        opt(grads)
        return loss

    step = ms.jit(step) if jitted else step
    rng = np.random.default_rng(0)
    net.set_train(True)
    losses = []
    for _ in range(3):
        x = ms.Tensor(rng.standard_normal((4, 2, 8)), ms.float32, device=device)
        image = ms.Tensor(rng.standard_normal((4, 2, 4, 4)), ms.float32, device=device)
        ids = ms.Tensor(rng.integers(0, 4, (4, 3)), ms.int32, device=device)
        y = ms.Tensor(rng.integers(0, 5, 4), ms.int32, device=device)
        losses.append(float(step(x, image, ids, y).asnumpy()))
    return losses, {p.name: p.asnumpy() for p in net.get_parameters()}


def test_jitted_step_replays_eager(device):
    clear_cache()  # the plan count below is this test's
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a failed capture warns and falls back: make it fail here
        jit_losses, jit_params = _run(device, True)
    eager_losses, eager_params = _run(device, False)
    np.testing.assert_allclose(jit_losses, eager_losses, rtol=1e-5)
    for name, value in eager_params.items():
        np.testing.assert_allclose(jit_params[name], value, rtol=1e-4, atol=1e-5, err_msg=name)
    if device == "GPU":
        (plan,) = function.PLANS._plans.values()
        assert plan.executor.kind == "cuda-graph" and not plan.executor.failed
        assert plan.executor.graph_breaks == 0, [s.op.name for s in plan.steps if not is_capturable(s.op, s.attrs)]
