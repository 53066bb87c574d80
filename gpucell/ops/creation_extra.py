"""More creation ops: eye and linspace (NumPy's / CuPy's own, on the current device).

Without a Tensor input the result goes to the current device (``gpucell.set_context``), as
``ops.zeros`` does; ``linspace`` with a Tensor ``start`` or ``end`` goes to that tensor's device.
"""

from __future__ import annotations

import numbers

import numpy as np

from gpucell import backend
from gpucell import dtype as _dt
from gpucell.ops._dispatch import Op, apply
from gpucell.ops._util import type_name
from gpucell.tensor import Tensor

__all__ = ["eye", "linspace"]


def _eye_gpu(n, m, dtype):
    return backend.cupy.eye(n, m, dtype=dtype)


def _linspace_gpu(start, end, steps, dtype):
    return backend.cupy.linspace(start, end, steps, dtype=dtype)


EYE = Op("Eye", lambda n, m, dtype: np.eye(n, m, dtype=dtype), _eye_gpu)
LINSPACE = Op("LinSpace", lambda start, end, steps, dtype: np.linspace(start, end, steps, dtype=dtype),
              _linspace_gpu)


def _size(where: str, name: str, value) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"For '{where}', the '{name}' must be an int, but got {value!r} with type "
                        f"'{type_name(value)}'.")
    if value < 0:
        raise ValueError(f"For '{where}', the '{name}' must be a non-negative int, but got {value}.")
    return int(value)


def eye(n, m=None, dtype=None):
    """An ``n x m`` tensor (``m`` defaults to ``n``) with ones on the diagonal, Float32 unless ``dtype``.

    >>> import gpucell as ms
    >>> ms.ops.eye(2, 3, ms.int32).asnumpy()
    array([[1, 0, 0],
           [0, 1, 0]], dtype=int32)
    """
    n = _size("Eye", "n", n)
    m = n if m is None else _size("Eye", "m", m)
    target = _dt.float32 if dtype is None else _dt.to_dtype(dtype, "Eye")
    return apply(EYE, n=n, m=m, dtype=target.numpy)


def _scalar(name: str, value, integral: bool):
    """A Python number from a number (an int if ``integral``) or a 0-d Tensor of that kind, and the
    Tensor (or None)."""
    kind, expected = (_dt._INT, "an int") if integral else (_dt._FLOAT, "a number")
    if isinstance(value, Tensor):
        if value.ndim != 0 or value.dtype.kind != kind:
            raise TypeError(f"For 'LinSpace', a Tensor '{name}' must be 0-D with {'an int' if integral else 'a float'}"
                            f" dtype, but got shape {value.shape} and dtype {value.dtype}.")
        return value.item(), value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral if integral else numbers.Real):
        raise TypeError(f"For 'LinSpace', the '{name}' must be {expected} or a 0-D Tensor, but got {value!r} with "
                        f"type '{type_name(value)}'.")
    return value, None


def linspace(start, end, steps):
    """``steps`` evenly spaced values from ``start`` to ``end``, both included.

    ``start`` and ``end``: numbers or 0-D float Tensors (the result takes a Tensor's dtype and device,
    else it is Float32 on the current device); ``steps``: a positive int or a 0-D int Tensor.

    >>> import gpucell as ms
    >>> ms.ops.linspace(1, 10, 4).asnumpy()
    array([ 1.,  4.,  7., 10.], dtype=float32)
    """
    start, start_t = _scalar("start", start, False)
    end, end_t = _scalar("end", end, False)
    steps, _ = _scalar("steps", steps, True)
    if steps < 1:
        raise ValueError(f"For 'LinSpace', the 'steps' must be a positive int, but got {steps}.")
    like = start_t if start_t is not None else end_t
    dtype = _dt.float32 if like is None else like.dtype
    out = apply(LINSPACE, start=float(start), end=float(end), steps=int(steps), dtype=dtype.numpy)
    return out if like is None or out.device == like.device else out.move_to(like.device)
