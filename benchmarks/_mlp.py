"""The MLP training step the step benchmarks time, written three ways over the same weights.

- ``gpucell_step``: the canonical MindSpore loop (``value_and_grad`` + optimizer) on gpucell;
- ``numpy_step``: the same model, loss and SGD update written by hand in NumPy (float32);
- ``torch_step``: the same in PyTorch, when it is installed.

Model: Dense+ReLU layers, then a Dense to 10 classes; loss: softmax cross-entropy with sparse
labels, mean over the batch; update: plain SGD, lr 0.01.
"""

from __future__ import annotations

import numpy as np

import gpucell as ms
from gpucell import nn

LR = 0.01
SIZES = {"large": ((784, 512, 512, 10), 64), "small": ((64, 128, 128, 10), 32)}


def batch(sizes, batch_size: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch_size, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], batch_size).astype(np.int32)
    return x, y


def gpucell_model(sizes):
    """(net, train_step) with train_step(x, y) -> loss, MindSpore's canonical eager loop."""
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Dense(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    net = nn.SequentialCell(layers)
    return net, gpucell_train_step(net)


def gpucell_train_step(net):
    """train_step(x, y) -> loss for ``net``: softmax cross-entropy, SGD, ``value_and_grad``."""
    loss_fn = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
    optimizer = nn.SGD(net.trainable_params(), learning_rate=LR)

    def forward_fn(x, y):
        return loss_fn(net(x), y)

    grad_fn = ms.value_and_grad(forward_fn, None, optimizer.parameters)

    def train_step(x, y):
        loss, grads = grad_fn(x, y)
        optimizer(grads)
        return loss

    return train_step


def weights_of(net) -> list[np.ndarray]:
    """Host copies of (w, b) per Dense layer, in order."""
    return [p.asnumpy().copy() for p in net.trainable_params()]


def loss_and_grad(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean softmax cross-entropy of ``logits`` against class ids ``y`` and its gradient, by hand."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=1, keepdims=True)
    rows = np.arange(len(y))
    loss = float(np.log(total[:, 0]).mean() - shifted[rows, y].mean())
    g = exp / total
    g[rows, y] -= 1
    g /= len(y)
    return loss, g


def numpy_step(weights: list[np.ndarray]):
    """A hand-written NumPy train step over ``weights`` (updated in place), as a careful user
    would write it: fused where NumPy allows, no copies it does not need."""
    pairs = list(zip(weights[0::2], weights[1::2]))

    def step(x, y):
        acts, pre = [x], []
        for i, (w, b) in enumerate(pairs):
            h = acts[-1] @ w.T
            h += b
            if i < len(pairs) - 1:
                pre.append(h)
                h = np.maximum(h, 0)
            acts.append(h)
        loss, g = loss_and_grad(acts[-1], y)
        for i in range(len(pairs) - 1, -1, -1):
            w, b = pairs[i]
            grad_w = g.T @ acts[i]
            grad_b = g.sum(axis=0)
            if i:
                g = g @ w
                g *= pre[i - 1] > 0
            w -= LR * grad_w
            b -= LR * grad_b
        return loss

    return step


def _torch_loss(torch, pairs, x, y):
    """The model and loss in PyTorch: Linear+ReLU layers, then cross-entropy."""
    h = x
    for i, (w, b) in enumerate(pairs):
        h = torch.nn.functional.linear(h, w, b)
        if i < len(pairs) - 1:
            h = torch.relu(h)
    return torch.nn.functional.cross_entropy(h, y)


def torch_sgd(weights: list[np.ndarray], cuda: bool = False):
    """(torch, params, SGD optimizer) over tensors made from ``weights``, or None where torch is
    missing (or, for ``cuda``, has no CUDA: a CPU build beside the simulated GPU); on the CPU
    PyTorch runs on one thread, as the NumPy baselines (see the step benchmarks' headers)."""
    try:
        import torch
    except ImportError:
        return None
    if cuda and not torch.cuda.is_available():
        return None
    if not cuda:
        torch.set_num_threads(1)
    device = "cuda" if cuda else "cpu"
    params = [torch.tensor(w, device=device, requires_grad=True) for w in weights]
    return torch, params, torch.optim.SGD(params, lr=LR)


def torch_step(weights: list[np.ndarray], cuda: bool = False):
    """The same step in PyTorch (None where torch is missing)."""
    made = torch_sgd(weights, cuda)
    if made is None:
        return None
    torch, params, opt = made
    pairs = list(zip(params[0::2], params[1::2]))

    def step(x, y):
        loss = _torch_loss(torch, pairs, x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    return step, torch


def torch_graphed_step(weights: list[np.ndarray], x_host, y_host):
    """The PyTorch step captured whole into one CUDA graph (PyTorch's documented recipe), or None
    where torch or CUDA is missing. Returns a function that replays it."""
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    params = [torch.tensor(w, device="cuda", requires_grad=True) for w in weights]
    pairs = list(zip(params[0::2], params[1::2]))
    opt = torch.optim.SGD(params, lr=LR)
    static_x = torch.from_numpy(x_host).cuda()
    static_y = torch.from_numpy(y_host).long().cuda()

    def body():
        loss = _torch_loss(torch, pairs, static_x, static_y)
        loss.backward()
        opt.step()
        return loss

    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            opt.zero_grad(set_to_none=True)
            body()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    opt.zero_grad(set_to_none=True)
    with torch.cuda.graph(graph):
        static_loss = body()
    return lambda: (graph.replay(), static_loss)[1]
