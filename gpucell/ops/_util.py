"""Argument checks shared by the ops (MindSpore's error wording) and gradient helpers."""

from __future__ import annotations

import numpy as np

from gpucell import dtype as _dt
from gpucell.tensor import Tensor

__all__ = ["check_tensor", "check_tensors", "check_bool", "check_int", "check_axis", "check_axes", "check_float",
           "broadcasts_to", "type_name", "sum_to", "scatter_add", "no_higher_order"]


def type_name(value) -> str:
    return type(value).__name__


def check_tensor(op: str, name: str, value) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"For '{op}', the '{name}' must be a Tensor, but got {type_name(value)}.")
    return value


def check_tensors(op: str, name: str, value) -> tuple:
    """A non-empty tuple or list of Tensors, returned as a tuple."""
    if not isinstance(value, (tuple, list)) or not value:
        raise TypeError(f"For '{op}', the '{name}' must be a non-empty tuple or list of Tensors, but got "
                        f"{type_name(value)}.")
    for i, t in enumerate(value):
        if not isinstance(t, Tensor):
            raise TypeError(f"For '{op}', every element of '{name}' must be a Tensor, but element {i} is "
                            f"{type_name(t)}.")
    return tuple(value)


def check_bool(op: str, name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"For '{op}', the '{name}' must be a bool, but got {value!r} with type "
                        f"'{type_name(value)}'.")
    return bool(value)


def check_int(op: str, name: str, value) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"For '{op}', the '{name}' must be an int, but got {value!r} with type "
                        f"'{type_name(value)}'.")
    return int(value)


def check_axis(op: str, axis, ndim: int, name: str = "axis") -> int:
    """``axis`` as a non-negative int; a 0-d tensor accepts -1 and 0, as MindSpore does."""
    axis = check_int(op, name, axis)
    rank = max(ndim, 1)
    if not -rank <= axis < rank:
        raise ValueError(f"For '{op}', the '{name}' must be in range [{-rank}, {rank}), but got {axis}.")
    return axis % rank


def check_axes(op: str, axis, ndim: int, name: str = "axis") -> tuple | None:
    """None (all axes), or a sorted tuple of distinct non-negative axes from an int, list or tuple."""
    if axis is None:
        return None
    if isinstance(axis, (list, tuple)):
        axes = tuple(check_axis(op, a, ndim, name) for a in axis)
        if len(set(axes)) != len(axes):
            raise ValueError(f"For '{op}', the '{name}' must not repeat an axis, but got {axis}.")
        return tuple(sorted(axes)) if axes else None  # () means all axes, as in MindSpore
    return (check_axis(op, axis, ndim, name),)


def check_float(op: str, name: str, x: Tensor) -> None:
    if x.dtype.kind != _dt._FLOAT:
        raise TypeError(f"For '{op}', the dtype of '{name}' must be float16, float32 or float64, "
                        f"but got {x.dtype}.")


def broadcasts_to(shape: tuple, target: tuple) -> bool:
    """Whether ``shape`` broadcasts to ``target`` itself (a per-element weight, never growing it)."""
    try:
        return np.broadcast_shapes(shape, target) == tuple(target)
    except ValueError:
        return False


def sum_to(grad: Tensor, shape: tuple, dtype=None) -> Tensor:
    """``grad`` summed over the axes that broadcasting added to ``shape`` (and cast to ``dtype``)."""
    from gpucell.ops import conversion, reduction
    from gpucell.ops import shape as _shape

    if grad.shape != tuple(shape):
        if grad.ndim < len(shape):
            grad = _shape.reshape(grad, (1,) * (len(shape) - grad.ndim) + grad.shape)
        lead = grad.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape)
                                          if n == 1 and grad.shape[lead + i] != 1)
        if axes:
            grad = reduction.sum(grad, axes, keepdim=True)
        if lead or grad.shape != tuple(shape):
            grad = _shape.reshape(grad, shape)
    if dtype is not None and grad._data.dtype != dtype:
        grad = conversion.cast(grad, dtype)
    return grad


def scatter_add(xp, shape: tuple, positions, values):
    """Zeros of ``shape`` with ``values`` added at flat ``positions`` (repeats add up)."""
    size = int(np.prod(shape, dtype=np.int64))
    summed = xp.bincount(positions.reshape(-1), weights=values.reshape(-1), minlength=size)
    return summed.astype(values.dtype, copy=False).reshape(shape)


def no_higher_order(of: str):
    """The backward rule of a gradient op (one that ``of``'s backward runs) with no gradient of its
    own: a higher-order gradient that reaches it raises, naming the op, instead of being zero."""
    def backward(ctx, *grads):
        raise NotImplementedError(
            f"For '{of}', higher-order gradients are not supported: its backward runs '{ctx.op.name}', "
            f"which has no gradient of its own. Differentiate '{of}' only once, or write the function "
            f"with ops whose backward is differentiable.")
    return backward
