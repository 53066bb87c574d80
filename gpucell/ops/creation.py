"""Creation ops: fill, full, zeros, ones, zeros_like, ones_like, arange (the fill kernel where it fits).

Without a Tensor input the result goes to the current device (``gpucell.set_context``).
"""

from __future__ import annotations

import numbers

import numpy as np

from gpucell import backend
from gpucell import dtype as _dt
from gpucell.backend import kernel_ops
from gpucell.ops._dispatch import Op, apply
from gpucell.ops._util import check_tensor, type_name
from gpucell.tensor import Tensor

__all__ = ["fill", "full", "zeros", "ones", "zeros_like", "ones_like", "full_like", "arange"]

_gpu_like = None


def _fill_gpu(shape, value, dtype):
    global _gpu_like
    if _gpu_like is None:
        _gpu_like = backend.cupy.empty(0, np.float32)  # names the device for the fill kernel
    return kernel_ops.fill(shape, value, dtype, like=_gpu_like)


def _fill_cpu(shape, value, dtype):
    return kernel_ops.fill(shape, value, dtype)


def _fill_like(a, value, dtype=None):
    dtype = a.dtype if dtype is None else dtype
    if type(a) is np.ndarray:
        # The fill kernel's NumPy reference without re-checking a shape and dtype that an array
        # already has: this runs on every backward (the loss's sens of ones, most often 0-d).
        value = kernel_ops.fill_value(value, dtype)
        return np.array(value, dtype) if a.ndim == 0 else np.full(a.shape, value, dtype)
    return kernel_ops.fill(a.shape, value, dtype, like=a)


def _arange(start, end, step, dtype):
    return np.arange(start, end, step, dtype=dtype)


def _arange_gpu(start, end, step, dtype):
    return backend.cupy.arange(start, end, step, dtype=dtype)


FILL = Op("Fill", _fill_cpu, _fill_gpu)
FILL_LIKE = Op("FillLike", _fill_like)
ARANGE = Op("Arange", _arange, _arange_gpu)


def _shape(where: str, shape) -> tuple:
    if isinstance(shape, Tensor):
        shape = shape.asnumpy().tolist()
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)) or not all(
            isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in shape):
        raise TypeError(f"For '{where}', the 'shape' must be an int or a tuple of ints, but got {shape!r}.")
    if any(s < 0 for s in shape):
        raise ValueError(f"For '{where}', the 'shape' must not have negative dims, but got {tuple(shape)}.")
    return tuple(int(s) for s in shape)


def _value(where: str, value):
    if isinstance(value, Tensor):
        if value.size != 1:
            raise ValueError(f"For '{where}', a Tensor 'value' must hold one element, but has shape "
                             f"{value.shape}.")
        value = value.item()
    if not isinstance(value, (bool, int, float, np.number, np.bool_)):
        raise TypeError(f"For '{where}', the 'value' must be a number or a bool, but got {type_name(value)}.")
    return value


def fill(type, shape, value):
    """A tensor of ``shape`` and dtype ``type`` filled with ``value`` (MindSpore's argument order).

    >>> import gpucell as ms
    >>> ms.ops.fill(ms.float32, (2,), 20)
    Tensor(shape=[2], dtype=Float32, value= [ 2.00000000e+01,  2.00000000e+01])
    """
    dtype = _dt.to_dtype(type)
    return apply(FILL, shape=_shape("Fill", shape), value=_value("Fill", value), dtype=dtype.numpy)


def full(size, fill_value, *, dtype=None):
    """A tensor of shape ``size`` filled with ``fill_value``; the dtype is inferred from it unless given."""
    value = _value("full", fill_value)
    target = _dt.infer_dtype(value, "full") if dtype is None else _dt.to_dtype(dtype)
    return apply(FILL, shape=_shape("full", size), value=value, dtype=target.numpy)


def zeros(size, dtype=None):
    """Zeros of shape ``size`` (Float32 unless ``dtype``)."""
    target = _dt.float32 if dtype is None else _dt.to_dtype(dtype)
    return apply(FILL, shape=_shape("zeros", size), value=0, dtype=target.numpy)


def ones(shape, dtype=None):
    """Ones of ``shape`` (Float32 unless ``dtype``)."""
    target = _dt.float32 if dtype is None else _dt.to_dtype(dtype)
    return apply(FILL, shape=_shape("ones", shape), value=1, dtype=target.numpy)


def full_like(input, fill_value, *, dtype=None):
    check_tensor("full_like", "input", input)
    target = None if dtype is None else _dt.to_dtype(dtype).numpy
    return apply(FILL_LIKE, input, value=_value("full_like", fill_value), dtype=target)


def zeros_like(input, *, dtype=None):
    """Zeros with ``input``'s shape, dtype (unless ``dtype``) and device."""
    return full_like(input, 0, dtype=dtype)


def ones_like(input, *, dtype=None):
    """Ones with ``input``'s shape, dtype (unless ``dtype``) and device."""
    return full_like(input, 1, dtype=dtype)


def arange(start=0, end=None, step=1, *, dtype=None):
    """``start, start + step, ...`` below ``end``; ints give Int64, any float Float32.

    >>> import gpucell as ms
    >>> ms.ops.arange(3)
    Tensor(shape=[3], dtype=Int64, value= [0, 1, 2])
    """
    if end is None:
        start, end = 0, start
    values = [_value("arange", v) for v in (start, end, step)]
    if values[2] == 0:
        raise ValueError("For 'arange', the 'step' must not be 0.")
    target = _dt.infer_dtype(values, "arange") if dtype is None else _dt.to_dtype(dtype)
    return apply(ARANGE, start=values[0], end=values[1], step=values[2], dtype=target.numpy)
