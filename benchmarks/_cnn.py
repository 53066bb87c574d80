"""The CNN training step ``cnn_step`` times: the demo's digits CNN, on gpucell and in PyTorch.

Conv(1->16, 3x3, same) + ReLU + MaxPool 2, Conv(16->32, 3x3, same) + ReLU + MaxPool 2, Flatten,
Dense(128->10); softmax cross-entropy, plain SGD (``_mlp.LR``), batch 32 of 1x8x8 images. The
PyTorch twin starts from the same weights.
"""

from __future__ import annotations

import numpy as np

from benchmarks import _mlp
from gpucell.demo import cnn

BATCH = 32
SHAPE = (1, 8, 8)


def batch(seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, *SHAPE)).astype(np.float32)
    y = rng.integers(0, 10, BATCH).astype(np.int32)
    return x, y


def gpucell_model():
    """(net, train_step) on gpucell: the demo's CNN in the canonical MindSpore loop."""
    net = cnn()
    return net, _mlp.gpucell_train_step(net)


def torch_step(net, cuda: bool = False):
    """The same step in PyTorch from ``net``'s weights, or None where torch is missing."""
    names = [p.name for p in net.trainable_params()]
    made = _mlp.torch_sgd([p.asnumpy() for p in net.trainable_params()], cuda)
    if made is None:
        return None
    torch, params, opt = made
    f = torch.nn.functional
    w = dict(zip(names, params))

    def step(x, y):
        h = f.max_pool2d(f.relu(f.conv2d(x, w["0.weight"], w["0.bias"], padding=1)), 2)
        h = f.max_pool2d(f.relu(f.conv2d(h, w["3.weight"], w["3.bias"], padding=1)), 2)
        loss = f.cross_entropy(f.linear(h.flatten(1), w["7.weight"], w["7.bias"]), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    return step, torch
