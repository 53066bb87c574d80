"""The Tensor methods MindSpore's Tensor has for common ops; each calls the functional op.

Bound onto Tensor by gpucell/tensor.py (``install``), after the ops exist.
"""

from __future__ import annotations

from gpucell import dtype as _dt
from gpucell.backend import array_module
from gpucell.ops import (
    activation,
    arithmetic,
    array,
    comparison,
    complex_parts,
    conversion,
    elementwise,
    linalg,
    reduction,
    selection,
    statistics,
    tensor_methods_extra,
)
from gpucell.ops import shape as shape_ops
from gpucell.ops._dispatch import Op, apply
from gpucell.ops._util import check_tensor, type_name
from gpucell.tensor import Tensor

__all__ = ["install", "METHODS"]


def _shape_args(shape) -> tuple:
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else tuple(shape)


def sum(self, axis=None, dtype=None, keepdims=False, initial=None):
    out = reduction.sum(self, axis, keepdims, dtype=dtype)
    return out if initial is None else out + initial


def mean(self, axis=None, keep_dims=False):
    return reduction.mean(self, axis, keep_dims)


def _extremum(op: str, self, axis, keepdims, initial, where, return_indices):
    if initial is not None or where is not None:
        raise ValueError(f"For 'Tensor.{op}', 'initial' and 'where' are not supported.")
    if isinstance(axis, (tuple, list)):  # several axes: values only, as MindSpore
        if return_indices:
            raise ValueError(f"For 'Tensor.{op}', 'return_indices' must be False when 'axis' is a tuple or list, "
                             f"but got axis={axis!r}.")
        return (reduction.amax if op == "max" else reduction.amin)(self, axis, keepdims)
    values, indices = (reduction.max if op == "max" else reduction.min)(self, axis, keepdims)
    return (values, indices) if return_indices else values


def max(self, axis=None, keepdims=False, *, initial=None, where=None, return_indices=False):
    return _extremum("max", self, axis, keepdims, initial, where, return_indices)


def min(self, axis=None, keepdims=False, *, initial=None, where=None, return_indices=False):
    return _extremum("min", self, axis, keepdims, initial, where, return_indices)


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
    return shape_ops.flatten(self, order, start_dim=start_dim, end_dim=end_dim)


def unsqueeze(self, dim):
    return shape_ops.unsqueeze(self, dim)


def dim(self):
    return self.ndim


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


def clip(self, min=None, max=None):
    return elementwise.clamp(self, min, max)


def div(self, value, *, rounding_mode=None):
    return arithmetic.div(self, value, rounding_mode=rounding_mode)


def softmax(self, axis, dtype=None):
    return activation.softmax(self, axis, dtype=dtype)


def select(self, condition, y):
    """``self`` where ``condition`` is True, else ``y`` (MindSpore's Tensor.select: self is the
    first choice, not the condition)."""
    if not isinstance(condition, Tensor):
        raise TypeError(f"For 'Tensor.select', the argument 'condition' should be Tensor, but got "
                        f"{type_name(condition)}.")
    return selection.select(condition, self, y)


def var(self, axis=None, ddof=0, keepdims=False):
    return statistics.variance(self, axis, ddof, keepdims, "Tensor.var")


def std(self, axis=None, ddof=0, keepdims=False):
    return elementwise.sqrt(statistics.variance(self, axis, ddof, keepdims, "Tensor.std"))


def nonzero(self, as_tuple=False):
    return array.nonzero(self, as_tuple)


def _caster(dtype):
    def cast(self):
        return conversion.cast(self, dtype)
    cast.__doc__ = f"A copy of the tensor cast to {dtype}."
    return cast


def init_data(self, slice_index=None, shape=None, opt_shard_group=None):
    """The tensor itself: MindSpore creates data lazily for tensors made with ``init`` and fills it
    here; a gpucell tensor (``Tensor(shape=..., dtype=..., init=...)`` or ``initializer(...)``) holds
    its data from the start."""
    check_tensor("Tensor.init_data", "self", self)
    if shape is not None and tuple(shape) != self.shape:
        raise ValueError(f"For 'Tensor.init_data', the 'shape' {tuple(shape)} must be the tensor's shape "
                         f"{self.shape} (slices of a parameter are not supported).")
    return self


METHODS = {
    "sum": sum, "mean": mean, "max": max, "min": min, "argmax": argmax, "argmin": argmin,
    "reshape": reshape, "view": view, "transpose": transpose, "permute": permute,
    "swapaxes": swapaxes, "expand_dims": expand_dims, "squeeze": squeeze, "flatten": flatten,
    "ravel": ravel, "broadcast_to": broadcast_to, "tile": tile, "all": all, "any": any,
    "clip": clip, "clamp": clip, "unsqueeze": unsqueeze, "dim": dim, "var": var, "std": std,
    "nonzero": nonzero, "float": _caster(_dt.float32), "half": _caster(_dt.float16),
    "int": _caster(_dt.int32), "long": _caster(_dt.int64), "bool": _caster(_dt.bool_), "init_data": init_data,
    "abs": arithmetic.abs, "neg": arithmetic.neg, "add": arithmetic.add, "sub": arithmetic.sub,
    "mul": arithmetic.mul, "div": div, "pow": arithmetic.pow,
    "exp": elementwise.exp, "log": elementwise.log, "sqrt": elementwise.sqrt,
    "rsqrt": elementwise.rsqrt, "square": elementwise.square, "sign": elementwise.sign,
    "maximum": elementwise.maximum, "minimum": elementwise.minimum,
    "sigmoid": activation.sigmoid, "tanh": activation.tanh, "relu": activation.relu,
    "softmax": softmax, "log_softmax": activation.log_softmax,
    "matmul": linalg.matmul, "gt": comparison.gt, "ge": comparison.ge, "lt": comparison.lt,
    "le": comparison.le, "equal": comparison.equal, "not_equal": comparison.not_equal,
    "select": select,
    "stop_gradient": conversion.stop_gradient,
    **tensor_methods_extra.METHODS,
    "real": complex_parts.real, "imag": complex_parts.imag, "conj": complex_parts.conj,
}


def install(cls) -> None:
    """Binds every method in METHODS onto ``cls`` (Tensor) unless ``cls`` defines it already."""
    for name, fn in METHODS.items():
        if name not in cls.__dict__:
            setattr(cls, name, fn)
