"""A Transformer-encoder training step: gpucell eager and jit against PyTorch, from the same weights.

Two nn.TransformerEncoderLayer (d_model 64, 4 heads, feedforward 128, batch_first, no dropout so
the two frameworks compute the same function), a key-padding mask, mean pooling and a Dense head to
10 classes; softmax cross-entropy and plain SGD (``_mlp.LR``) over batch 16 of 32 tokens, in the
canonical MindSpore loop (``value_and_grad`` + optimizer), eagerly and under ``gpucell.jit``. The
PyTorch twin (torch.nn.TransformerEncoder, when torch is installed) starts from the same weights;
it runs on the GPU where torch has CUDA and gpucell a real GPU, else on the CPU (said in the
output). The first losses are checked equal before anything is timed, and all ratios come from
this one process. No goal: it tracks the attention path (PyTorch's CPU threads are pinned to one,
as in the other step benchmarks).

    python benchmarks/transformer_step.py [--quick] [--json PATH]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # as the other step benchmarks (see mlp_step.py)

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

import gpucell as ms  # noqa: E402
from benchmarks import _harness as h  # noqa: E402
from benchmarks import _mlp  # noqa: E402
from benchmarks.mlp_step import STEP_BATCH_S  # noqa: E402
from gpucell import nn, ops  # noqa: E402

D_MODEL, HEADS, FEEDFORWARD, LAYERS = 64, 4, 128, 2
BATCH, LENGTH, CLASSES = 16, 32, 10


class Classifier(nn.Cell):
    def __init__(self):
        super().__init__()
        layer = nn.TransformerEncoderLayer(D_MODEL, HEADS, FEEDFORWARD, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, LAYERS)
        self.head = nn.Dense(D_MODEL, CLASSES)

    def construct(self, x, padding_mask):
        return self.head(ops.mean(self.encoder(x, src_key_padding_mask=padding_mask), 1))


def batch(seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, LENGTH, D_MODEL)).astype(np.float32)
    mask = np.zeros((BATCH, LENGTH), bool)
    mask[:, LENGTH * 3 // 4:] = rng.random((BATCH, LENGTH - LENGTH * 3 // 4)) < 0.5  # padded tails
    y = rng.integers(0, CLASSES, BATCH).astype(np.int32)
    return x, mask, y


def gpucell_model():
    """(net, train_step(x, mask, y) -> loss) in the canonical MindSpore loop."""
    ms.set_seed(0)
    net = Classifier()
    loss_fn = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
    optimizer = nn.SGD(net.trainable_params(), learning_rate=_mlp.LR)
    grad_fn = ms.value_and_grad(lambda x, m, y: loss_fn(net(x, m), y), None, optimizer.parameters)

    def train_step(x, m, y):
        loss, grads = grad_fn(x, m, y)
        optimizer(grads)
        return loss

    return net.set_train(), train_step


def torch_step(net, cuda: bool = False):
    """The same step in PyTorch from ``net``'s weights, or None where torch is missing."""
    try:
        import torch
    except ImportError:
        return None
    if not cuda:
        torch.set_num_threads(1)  # as _mlp.torch_sgd: one thread, like the NumPy baselines
    layer = torch.nn.TransformerEncoderLayer(D_MODEL, HEADS, FEEDFORWARD, dropout=0.0, batch_first=True)
    model = torch.nn.ModuleDict({"encoder": torch.nn.TransformerEncoder(layer, LAYERS, enable_nested_tensor=False),
                                 "head": torch.nn.Linear(D_MODEL, CLASSES)})
    renames = (("dense1", "linear1"), ("dense2", "linear2"), ("gamma", "weight"), ("beta", "bias"))
    state = {}
    for p in net.trainable_params():
        name = p.name
        for a, b in renames:
            name = name.replace(a, b)
        state[name] = torch.from_numpy(p.asnumpy().copy())
    model.load_state_dict(state)
    model.to("cuda" if cuda else "cpu").train()
    opt = torch.optim.SGD(model.parameters(), lr=_mlp.LR)
    f = torch.nn.functional

    def step(x, m, y):
        logits = model["head"](model["encoder"](x, src_key_padding_mask=m).mean(1))
        loss = f.cross_entropy(logits, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    return step, torch


def _torch_has_cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def measure(quick: bool) -> dict:
    on_gpu = h.device() == "GPU"
    x_host, m_host, y_host = batch()
    x, m, y = ms.Tensor(x_host), ms.Tensor(m_host), ms.Tensor(y_host)
    eager_net, eager_step = gpucell_model()
    _, jit_step = gpucell_model()  # the same seed: the same weights
    jitted = ms.jit(jit_step)
    candidates = {"gpucell eager transformer": lambda: eager_step(x, m, y),
                  "gpucell jit transformer": lambda: jitted(x, m, y)}
    torch_cuda = on_gpu and not h.simulated() and _torch_has_cuda()
    made = torch_step(eager_net, cuda=torch_cuda)
    note = None
    if made is None:
        note = "torch is not installed: no PyTorch row (pip install torch to compare)"
        print(f"  skipped the PyTorch step: {note}")
    else:
        step, torch = made
        if on_gpu and not torch_cuda:
            note = "PyTorch ran on the CPU (no CUDA PyTorch here, or the GPU is the simulated device)"
            print(f"  {note}")
        tx = torch.from_numpy(x_host).to("cuda" if torch_cuda else "cpu")
        tm, ty = torch.from_numpy(m_host).to(tx.device), torch.from_numpy(y_host).long().to(tx.device)
        # Same weights, same batch: the first losses agree before anything is timed.
        first = float(step(tx, tm, ty).detach())
        np.testing.assert_allclose(first, float(eager_step(x, m, y).asnumpy()), rtol=1e-4)
        np.testing.assert_allclose(first, float(jitted(x, m, y).asnumpy()), rtol=1e-4)
        candidates["torch eager transformer"] = lambda: step(tx, tm, ty)
    for name in ("gpucell eager transformer", "gpucell jit transformer"):
        for _ in range(2):  # the jit traces, then (on the GPU) warms up and captures: steady state after
            candidates[name]()
    timings = h.compare(candidates, quick=quick, min_batch_s=STEP_BATCH_S[quick])
    baseline = "torch eager transformer" if made is not None else "gpucell eager transformer"
    result = {"benchmark": "transformer_step", "device": h.device(), "quick": quick,
              "rows": h.rows_for(timings, baseline)}
    if note:
        result["note"] = note
    return result


def main(argv=None) -> int:
    return h.run_cli(__doc__, measure, lambda result: f"Transformer-encoder train step, on {result['device']}", argv)


if __name__ == "__main__":
    sys.exit(main())
