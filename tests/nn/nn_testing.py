"""Helpers for the layer and loss tests: tensors on a device and a finite-difference gradcheck."""

from __future__ import annotations

import numpy as np

import gpucell as ms
from gpucell import Tensor, ops


def on(device: str, array, dtype=None) -> Tensor:
    """A Tensor of ``array`` (dtype kept unless given) on ``device``."""
    array = np.asarray(array) if dtype is None else np.asarray(array, dtype=dtype)
    return Tensor(array, device=device)


def host(value) -> np.ndarray:
    return value.asnumpy() if isinstance(value, Tensor) else np.asarray(value)


def cell_on(device: str, cell):
    """``cell`` with its Parameters moved to ``device`` (returned, to build and move in one line)."""
    if device != "CPU":
        for p in cell.get_parameters():
            p.move_to(device)
    return cell


def check_forward_and_gradients(fn, expected, *arrays, device: str, rtol: float = 1e-10,
                                atol: float = 1e-10) -> None:
    """``fn`` of ``arrays`` (float64) on ``device`` gives ``expected``, a reference computed on the
    host, and :func:`gradcheck` passes for every one of them."""
    np.testing.assert_allclose(host(fn(*(on(device, a) for a in arrays))), expected, rtol=rtol, atol=atol)
    gradcheck(fn, *arrays, positions=tuple(range(len(arrays))), device=device)


def gradcheck(fn, *arrays, positions=(0,), device: str = "CPU", eps: float = 1e-6, rtol: float = 1e-6,
              atol: float = 1e-6, seed: int = 0) -> None:
    """Checks ``ms.grad`` of ``sum(fn(*tensors) * w)`` (fixed random ``w``) with respect to the
    inputs at ``positions`` against central differences; ``arrays`` are float64 except labels."""
    rng = np.random.default_rng(seed)
    weights = {}

    def scalar(*tensors):
        out = fn(*tensors)
        if out.shape not in weights:
            weights[out.shape] = rng.standard_normal(out.shape)
        return ops.sum(out * on(device, weights[out.shape], np.float64))

    def value(values) -> float:
        return float(host(scalar(*(on(device, v) for v in values))))

    tensors = [on(device, a) for a in arrays]
    value(arrays)  # fixes the weights
    grads = ms.grad(scalar, grad_position=tuple(positions))(*tensors)
    grads = grads if isinstance(grads, tuple) else (grads,)
    for position, grad in zip(positions, grads):
        base = [np.array(a, copy=True) for a in arrays]
        numeric = np.zeros_like(base[position], dtype=np.float64)
        flat = base[position].reshape(-1)
        for k in range(flat.size):
            keep = flat[k]
            flat[k] = keep + eps
            plus = value(base)
            flat[k] = keep - eps
            minus = value(base)
            flat[k] = keep
            numeric.reshape(-1)[k] = (plus - minus) / (2 * eps)
        np.testing.assert_allclose(host(grad), numeric, rtol=rtol, atol=atol,
                                   err_msg=f"gradient of input {position}")


def check_jitted_training(make_net, batches, device: str, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    """A TrainOneStepCell (sparse softmax cross-entropy, SGD 0.1) over ``make_net()`` (a fresh,
    seeded net on ``device``), jitted, gives the eager losses and weights over ``batches`` ((x, y)
    arrays); on the GPU the jitted step is one CUDA graph with no graph break."""
    from gpucell import nn
    from gpucell.jit import clear_cache, function

    def make():
        net = make_net()
        loss = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
        step = nn.TrainOneStepCell(nn.WithLossCell(net, loss), nn.SGD(net.trainable_params(), 0.1))
        step.set_train()
        return step

    clear_cache()
    try:
        eager, jitted = make(), make()
        step = ms.jit(jitted)
        for x, y in batches:
            x, y = on(device, x), on(device, y)
            np.testing.assert_allclose(host(step(x, y)), host(eager(x, y)), rtol=rtol, atol=atol)
        for a, b in zip(jitted.network.trainable_params(), eager.network.trainable_params()):
            np.testing.assert_allclose(host(a), host(b), rtol=rtol, atol=atol, err_msg=a.name)
        (plan,) = function.PLANS._plans.values()
        if device == "GPU":
            assert plan.executor.kind == "cuda-graph" and not plan.executor.failed
            assert plan.executor.graph_breaks == 0
    finally:
        clear_cache()
