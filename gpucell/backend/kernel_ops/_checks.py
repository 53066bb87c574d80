"""Input checks shared by the kernel wrappers: they run before any launch, on both backends, and
raise TypeError / ValueError naming the op, the argument, what was expected and what came."""

from __future__ import annotations

import numbers

import numpy as np

from gpucell import backend

FLOAT_DTYPES = tuple(np.dtype(t) for t in (np.float16, np.float32, np.float64))
ALL_DTYPES = tuple(np.dtype(t) for t in (np.bool_, np.int8, np.uint8, np.int16, np.int32, np.int64)) \
    + FLOAT_DTYPES


def acc_dtype(dtype) -> np.dtype:
    """The dtype arithmetic on ``dtype`` is done in: float32 for float16, else ``dtype`` itself."""
    dtype = np.dtype(dtype)
    return np.dtype(np.float32) if dtype == np.float16 else dtype


def _kind(value) -> str:
    return type(value).__name__


def check_array(op: str, name: str, value) -> None:
    if not (isinstance(value, np.ndarray) or backend.is_gpu_array(value)):
        raise TypeError(f"For '{op}', '{name}' must be a NumPy or CuPy array, but got {_kind(value)}.")


def check_dtype(op: str, name: str, array, allowed) -> None:
    if array.dtype not in allowed:
        names = ", ".join(str(d) for d in allowed)
        raise TypeError(f"For '{op}', the dtype of '{name}' must be one of [{names}], but got {array.dtype}.")


def check_arrays(op: str, allowed, **arrays) -> None:
    """Every array is an array of an allowed dtype, all on one device, all of one dtype."""
    for name, array in arrays.items():
        check_array(op, name, array)
        check_dtype(op, name, array, allowed)
    check_same_device(op, **arrays)
    names = list(arrays)
    first = arrays[names[0]]
    for name in names[1:]:
        if arrays[name].dtype != first.dtype:
            raise TypeError(f"For '{op}', '{names[0]}' and '{name}' must have the same dtype, "
                            f"but got {first.dtype} and {arrays[name].dtype}.")


def check_same_device(op: str, **arrays) -> None:
    devices = {name: backend.device_of(array) for name, array in arrays.items()}
    if len(set(devices.values())) > 1:
        where = ", ".join(f"'{name}' on {device}" for name, device in devices.items())
        raise TypeError(f"For '{op}', all inputs must be on one device, but got {where}.")


def broadcast_shape(op: str, **arrays) -> tuple[int, ...]:
    try:
        return tuple(np.broadcast_shapes(*(a.shape for a in arrays.values())))
    except ValueError:
        shapes = ", ".join(f"'{name}' {tuple(a.shape)}" for name, a in arrays.items())
        raise ValueError(f"For '{op}', the shapes {shapes} cannot be broadcast together.") from None


def check_real(op: str, name: str, value) -> None:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"For '{op}', the '{name}' must be a real number, but got {value!r} "
                        f"with type '{_kind(value)}'.")


def check_axis(op: str, axis, ndim: int) -> int:
    """``axis`` as a non-negative int in ``range(ndim)``."""
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"For '{op}', the 'axis' must be an int, but got {axis!r} with type '{_kind(axis)}'.")
    if not -ndim <= axis < ndim:
        raise ValueError(f"For '{op}', the 'axis' must be in range [{-ndim}, {ndim}), but got {axis}.")
    return int(axis) % ndim
