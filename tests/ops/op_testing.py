"""Helpers for op tests: tensors on a device, float64 references, central finite differences."""

from __future__ import annotations

import numpy as np

import gpucell as ms

RNG = np.random.default_rng(1234)


def tensor(array, device: str, contiguous: bool = True) -> ms.Tensor:
    """A Tensor of ``array`` on ``device``; with ``contiguous=False`` its data is a strided view."""
    array = np.asarray(array)
    if contiguous:
        return ms.Tensor(array, device=device)
    wide = np.repeat(array, 2, axis=-1) if array.ndim else array
    t = ms.Tensor(wide, device=device)
    if array.ndim:
        t._data = t._data[..., ::2]  # a non-contiguous view holding the same values
        assert not t._data.flags.c_contiguous or array.shape[-1] <= 1 or array.size == 0
    return t


def host(t) -> np.ndarray:
    return t.asnumpy()


def randn(*shape, positive: bool = False) -> np.ndarray:
    a = RNG.standard_normal(shape)
    return np.abs(a) + 0.5 if positive else a


def numeric_grads(fn, arrays, device: str, weights, eps: float = 1e-6) -> list:
    """Central differences of ``sum(w * fn(*inputs))`` with respect to each float64 input."""
    def objective(values):
        out = fn(*(ms.Tensor(v, device=device) for v in values))
        outs = out if isinstance(out, tuple) else (out,)
        return float(sum((host(o).astype(np.float64) * w).sum() for o, w in zip(outs, weights)
                         if o.dtype.is_floating_point))
    grads = []
    for i, a in enumerate(arrays):
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            plus = [v.copy() for v in arrays]
            minus = [v.copy() for v in arrays]
            plus[i][idx] += eps
            minus[i][idx] -= eps
            g[idx] = (objective(plus) - objective(minus)) / (2 * eps)
        grads.append(g)
    return grads


def check_gradients(fn, arrays, device: str, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    """gpucell's gradients of ``sum(w * fn(*inputs))`` equal finite differences (float64)."""
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    probe = fn(*(ms.Tensor(a, device=device) for a in arrays))
    outs = probe if isinstance(probe, tuple) else (probe,)
    weights = [RNG.uniform(0.5, 1.5, o.shape) for o in outs]

    def objective(*xs):
        out = fn(*xs)
        outs = out if isinstance(out, tuple) else (out,)
        total = None
        for o, w in zip(outs, weights):
            if not o.dtype.is_floating_point:
                continue
            term = (o * ms.Tensor(w, device=device)).sum()
            total = term if total is None else total + term
        return total

    got = ms.grad(objective, grad_position=tuple(range(len(arrays))))(
        *(ms.Tensor(a, device=device) for a in arrays))
    expected = numeric_grads(fn, arrays, device, weights)
    for i, (g, e) in enumerate(zip(got, expected)):
        assert g.shape == arrays[i].shape, f"gradient {i}: shape {g.shape} != {arrays[i].shape}"
        assert g.dtype == ms.float64
        np.testing.assert_allclose(host(g), e, rtol=rtol, atol=atol, err_msg=f"gradient of input {i}")
