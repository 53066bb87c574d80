"""fill, select, the comparisons and the fused threshold: kernels/elementwise.cu and references.

Every function takes NumPy or CuPy arrays: NumPy runs the reference below it (the CPU backend),
CuPy launches the kernel. Outputs are fresh C-contiguous arrays. Inputs may broadcast and may be
non-contiguous: the kernels read them through strides, without copying.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from gpucell import backend
from gpucell.backend import kernels
from gpucell.backend.kernel_ops._checks import (
    ALL_DTYPES,
    FLOAT_DTYPES,
    broadcast_shape,
    check_array,
    check_arrays,
    check_real,
    check_same_device,
)
from gpucell.backend.kernel_ops._strides import broadcast_index

__all__ = ["fill", "fill_value", "select", "compare", "threshold", "COMPARISONS"]

_FILE = "elementwise.cu"
# name -> (kernels/elementwise.cu CompareOp code, MindSpore op name, NumPy ufunc)
COMPARISONS = {
    "gt": (0, "Greater", np.greater), "ge": (1, "GreaterEqual", np.greater_equal),
    "lt": (2, "Less", np.less), "le": (3, "LessEqual", np.less_equal),
    "eq": (4, "Equal", np.equal), "ne": (5, "NotEqual", np.not_equal),
}
for _dtype in ALL_DTYPES:
    _c = kernels.ctype(_dtype)
    kernels.register(_FILE, f"fill<{_c}>", f"where<{_c}>", f"compare<{_c}>")
for _dtype in FLOAT_DTYPES:
    kernels.register(_FILE, f"threshold<{kernels.ctype(_dtype)}>")


def _check_shape(op: str, shape) -> tuple[int, ...]:
    if type(shape) is tuple and all(type(s) is int and s >= 0 for s in shape):
        return shape  # an array's own .shape, the common case
    if isinstance(shape, numbers.Integral):
        shape = (shape,)
    try:
        shape = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise TypeError(f"For '{op}', the 'shape' must be a tuple of ints, but got {shape!r}.") from None
    if any(s < 0 for s in shape):
        raise ValueError(f"For '{op}', the 'shape' must not have negative dims, but got {shape}.")
    return shape


# np.finfo / np.iinfo cost microseconds a call; fill runs on every backward (the loss's sens).
_LIMITS = {np.dtype(t): (np.iinfo(t).min, np.iinfo(t).max) for t in (np.int8, np.uint8, np.int16,
                                                                     np.int32, np.int64)}
_LIMITS[np.dtype(np.bool_)] = (0, 1)
_FLOAT_MAX = {np.dtype(t): float(np.finfo(t).max) for t in (np.float16, np.float32, np.float64)}


def fill_value(value, dtype: np.dtype):
    """The value converted to ``dtype``; refuses a conversion that would change it."""
    if not isinstance(value, (numbers.Real, np.bool_)):
        raise TypeError(f"For 'Fill', the 'value' must be a bool, int or float, but got {value!r} "
                        f"with type '{type(value).__name__}'.")
    if dtype.kind in "biu":
        if not (math.isfinite(value) and float(value).is_integer()):
            raise ValueError(f"For 'Fill', the 'value' {value!r} cannot be stored in {dtype} without loss.")
        limits = _LIMITS[dtype]
        if not limits[0] <= int(value) <= limits[1]:
            raise ValueError(f"For 'Fill', the 'value' {value!r} is out of range [{limits[0]}, {limits[1]}] "
                             f"of {dtype}.")
    elif math.isfinite(value) and abs(value) > _FLOAT_MAX[dtype]:
        raise ValueError(f"For 'Fill', the 'value' {value!r} overflows {dtype}.")
    return dtype.type(value)


def fill(shape, value, dtype, like=None):
    """A new array of ``shape`` filled with ``value``, on the device of ``like`` (NumPy if None).

    >>> fill((2, 3), 1.5, np.float32)
    array([[1.5, 1.5, 1.5],
           [1.5, 1.5, 1.5]], dtype=float32)
    """
    shape = _check_shape("Fill", shape)
    dtype = np.dtype(dtype)
    if dtype not in ALL_DTYPES:
        raise TypeError(f"For 'Fill', the 'dtype' must be one of [{', '.join(map(str, ALL_DTYPES))}], "
                        f"but got {dtype}.")
    value = fill_value(value, dtype)
    if like is not None:
        check_array("Fill", "like", like)
    launcher = None if like is None else kernels.launcher_for(like)
    if launcher is None:
        return np.full(shape, value, dtype)
    out = kernels.empty(backend.array_module(like), shape, dtype)
    if out.size:
        grid, block = kernels.grid_1d(launcher, out.size)
        launcher(_FILE, f"fill<{kernels.ctype(dtype)}>", grid, block,
                 (out, np.int64(out.size), kernels.scalar(value, dtype)))
    return out


def _launch_elementwise(launcher, name: str, out, inputs: list, extra: tuple = ()):
    """Launches ``name(inputs..., out, n, index, extra...)`` over the broadcast output ``out``;
    the index's operand order is the order of ``inputs``."""
    if out.size:
        index, inputs = broadcast_index(backend.array_module(out), out.shape, inputs)
        grid, block = kernels.grid_1d(launcher, out.size)
        launcher(_FILE, name, grid, block, (*inputs, out, np.int64(out.size), index, *extra))
    return out


def select(cond, x, y):
    """``cond ? x : y`` elementwise with NumPy broadcasting; ``x`` and ``y`` share a dtype.

    >>> select(np.array([True, False]), np.array([1, 2]), np.array([9]))
    array([1, 9])
    """
    check_array("Select", "cond", cond)
    if cond.dtype != np.bool_:
        raise TypeError(f"For 'Select', the dtype of 'cond' must be bool, but got {cond.dtype}.")
    check_arrays("Select", ALL_DTYPES, x=x, y=y)
    check_same_device("Select", cond=cond, x=x)
    shape = broadcast_shape("Select", cond=cond, x=x, y=y)
    launcher = kernels.launcher_for(x)
    if launcher is None:
        return np.where(cond, x, y)
    out = kernels.empty(backend.array_module(x), shape, x.dtype)
    return _launch_elementwise(launcher, f"where<{kernels.ctype(x.dtype)}>", out, [cond, x, y])


def compare(name: str, x, y):
    """``x <name> y`` elementwise to bool, ``name`` one of gt ge lt le eq ne; same dtypes, broadcast.

    >>> compare("gt", np.array([1.0, 3.0]), np.array(2.0))
    array([False,  True])
    """
    if name not in COMPARISONS:
        raise ValueError(f"For 'compare', the 'name' must be one of {list(COMPARISONS)}, but got {name!r}.")
    code, op, ufunc = COMPARISONS[name]
    check_arrays(op, ALL_DTYPES, x=x, y=y)
    shape = broadcast_shape(op, x=x, y=y)
    launcher = kernels.launcher_for(x)
    if launcher is None:
        return np.asarray(ufunc(x, y))
    out = kernels.empty(backend.array_module(x), shape, np.bool_)
    return _launch_elementwise(launcher, f"compare<{kernels.ctype(x.dtype)}>", out, [x, y],
                               (np.int32(code),))


def threshold(x, t, v):
    """``x > t ? x : v`` in one pass (the Threshold cell); ``t`` and ``v`` are cast to x's dtype.

    >>> threshold(np.array([-1.0, 0.5, 2.0]), 0.0, -9.0)
    array([-9. ,  0.5,  2. ])
    """
    check_arrays("Threshold", FLOAT_DTYPES, x=x)
    check_real("Threshold", "threshold", t)
    check_real("Threshold", "value", v)
    t, v = x.dtype.type(t), x.dtype.type(v)
    launcher = kernels.launcher_for(x)
    if launcher is None:
        return np.where(x > t, x, v)
    out = kernels.empty(backend.array_module(x), x.shape, x.dtype)
    return _launch_elementwise(launcher, f"threshold<{kernels.ctype(x.dtype)}>", out, [x],
                               (kernels.scalar(t, x.dtype), kernels.scalar(v, x.dtype)))
