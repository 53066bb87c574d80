"""The Tensor methods MindSpore's Tensor has for common ops; each calls the functional op.

Bound onto Tensor by gpucell/tensor.py (``install``), after the ops exist.
"""

from __future__ import annotations

from gpucell.backend import array_module
from gpucell.ops import (
    activation,
    arithmetic,
    comparison,
    conversion,
    elementwise,
    linalg,
    reduction,
    selection,
)
from gpucell.ops import shape as shape_ops
from gpucell.ops._dispatch import Op, apply

__all__ = ["install", "METHODS"]


def _shape_args(shape) -> tuple:
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else tuple(shape)


def sum(self, axis=None, dtype=None, keepdims=False, initial=None):
    out = reduction.sum(self, axis, keepdims, dtype=dtype)
    return out if initial is None else out + initial


def mean(self, axis=None, keep_dims=False):
    return reduction.mean(self, axis, keep_dims)


def max(self, axis=None, keepdims=False, *, initial=None, where=None, return_indices=False):
    if initial is not None or where is not None:
        raise ValueError("For 'Tensor.max', 'initial' and 'where' are not supported.")
    values, indices = reduction.max(self, axis, keepdims)
    return (values, indices) if return_indices else values


def min(self, axis=None, keepdims=False, *, initial=None, where=None, return_indices=False):
    if initial is not None or where is not None:
        raise ValueError("For 'Tensor.min', 'initial' and 'where' are not supported.")
    values, indices = reduction.min(self, axis, keepdims)
    return (values, indices) if return_indices else values


def argmax(self, axis=None, keepdims=False):
    return reduction.argmax(self, axis, keepdims)


def argmin(self, axis=None, keepdims=False):
    return reduction.argmin(self, axis, keepdims)


def reshape(self, *shape):
    return shape_ops.reshape(self, _shape_args(shape))


def view(self, *shape):
    return shape_ops.reshape(self, _shape_args(shape))


def transpose(self, *axes):
    axes = _shape_args(axes)
    return shape_ops.transpose(self, axes if axes else tuple(range(self.ndim - 1, -1, -1)))


def permute(self, *axis):
    return shape_ops.permute(self, _shape_args(axis))


def swapaxes(self, axis0, axis1):
    perm = list(range(self.ndim))
    perm[axis0], perm[axis1] = perm[axis1], perm[axis0]
    return shape_ops.transpose(self, perm)


def expand_dims(self, axis):
    return shape_ops.expand_dims(self, axis)


def squeeze(self, axis=None):
    return shape_ops.squeeze(self, axis)


def flatten(self, order="C", *, start_dim=0, end_dim=-1):
    return shape_ops.flatten(self, start_dim, end_dim)


def ravel(self):
    return shape_ops.reshape(self, (-1,))


def broadcast_to(self, shape):
    return shape_ops.broadcast_to(self, shape)


def tile(self, reps):
    return shape_ops.tile(self, reps)


def _all(a, axis, keepdims):
    return array_module(a).all(a, axis=axis, keepdims=keepdims)


def _any(a, axis, keepdims):
    return array_module(a).any(a, axis=axis, keepdims=keepdims)


_ALL = Op("ReduceAll", _all)
_ANY = Op("ReduceAny", _any)


def all(self, axis=None, keep_dims=False):
    return apply(_ALL, self, axis=reduction.check_axes("ReduceAll", axis, self.ndim), keepdims=keep_dims)


def any(self, axis=None, keep_dims=False):
    return apply(_ANY, self, axis=reduction.check_axes("ReduceAny", axis, self.ndim), keepdims=keep_dims)


def clip(self, xmin=None, xmax=None):
    return elementwise.clamp(self, xmin, xmax)


METHODS = {
    "sum": sum, "mean": mean, "max": max, "min": min, "argmax": argmax, "argmin": argmin,
    "reshape": reshape, "view": view, "transpose": transpose, "permute": permute,
    "swapaxes": swapaxes, "expand_dims": expand_dims, "squeeze": squeeze, "flatten": flatten,
    "ravel": ravel, "broadcast_to": broadcast_to, "tile": tile, "all": all, "any": any,
    "clip": clip, "clamp": clip,
    "abs": arithmetic.abs, "neg": arithmetic.neg, "add": arithmetic.add, "sub": arithmetic.sub,
    "mul": arithmetic.mul, "div": arithmetic.div, "pow": arithmetic.pow,
    "exp": elementwise.exp, "log": elementwise.log, "sqrt": elementwise.sqrt,
    "rsqrt": elementwise.rsqrt, "square": elementwise.square, "sign": elementwise.sign,
    "maximum": elementwise.maximum, "minimum": elementwise.minimum,
    "sigmoid": activation.sigmoid, "tanh": activation.tanh, "relu": activation.relu,
    "softmax": activation.softmax, "log_softmax": activation.log_softmax,
    "matmul": linalg.matmul, "gt": comparison.gt, "ge": comparison.ge, "lt": comparison.lt,
    "le": comparison.le, "equal": comparison.equal, "not_equal": comparison.not_equal,
    "select": lambda self, x, y: selection.select(self, x, y),
    "stop_gradient": conversion.stop_gradient,
}


def install(cls) -> None:
    """Binds every method in METHODS onto ``cls`` (Tensor) unless ``cls`` defines it already."""
    for name, fn in METHODS.items():
        if name not in cls.__dict__:
            setattr(cls, name, fn)
