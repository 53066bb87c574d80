"""Primitive classes, constructed with their attributes and then called, as MindSpore tutorials use
them (``ops.Dropout2D(0.8)(x)``). Each calls the functional op, so it runs through ``apply``."""

from __future__ import annotations

from gpucell import dtype as _dt
from gpucell.ops import (
    activation,
    arithmetic,
    comparison,
    conversion,
    creation,
    elementwise,
    linalg,
    reduction,
    selection,
    shape,
)
from gpucell.ops._util import check_axes, check_bool, check_int
from gpucell.ops.assign import assign as _assign
from gpucell.ops.dropout import DROPOUT, DROPOUT2D, check_keep_prob, run_dropout

__all__ = ["Primitive", "MatMul", "BatchMatMul", "Dropout", "Dropout2D", "Greater", "Select", "Fill",
           "Assign", "ReduceSum", "ReduceMean", "ReduceMax", "Softmax", "LogSoftmax", "ReLU", "Sigmoid",
           "Tanh", "Cast", "Add", "Sub", "Mul", "Div", "RealDiv", "Neg", "Exp", "Log", "Sqrt", "Square",
           "Transpose", "Reshape", "ExpandDims", "Squeeze", "Concat", "Stack", "Tile", "Gather",
           "Less", "Equal", "StopGradient", "BiasAdd"]


class Primitive:
    """Base of the Primitive classes: ``name`` and the attributes given at construction."""

    def __init__(self, name: str | None = None):
        self.name = name or type(self).__name__

    def __repr__(self) -> str:
        attrs = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if k != "name")
        return f"Prim[{self.name}]" + (f"<{attrs}>" if attrs else "")


def _simple(name: str, fn, doc: str):
    """A Primitive with no attributes whose call is ``fn``."""
    def __call__(self, *args):
        return fn(*args)
    return type(name, (Primitive,), {"__call__": __call__, "__doc__": doc})


Greater = _simple("Greater", comparison.gt, "``x > y`` elementwise (Bool).")
Less = _simple("Less", comparison.lt, "``x < y`` elementwise (Bool).")
Equal = _simple("Equal", comparison.equal, "``x == y`` elementwise (Bool).")
Select = _simple("Select", selection.select, "``cond ? x : y`` elementwise.")
Assign = _simple("Assign", _assign, "Writes ``value`` into the Parameter ``variable``.")
ReLU = _simple("ReLU", activation.relu, "``max(x, 0)``.")
Sigmoid = _simple("Sigmoid", activation.sigmoid, "The logistic function.")
Tanh = _simple("Tanh", activation.tanh, "Hyperbolic tangent.")
Add = _simple("Add", arithmetic.add, "``x + y``.")
Sub = _simple("Sub", arithmetic.sub, "``x - y``.")
Mul = _simple("Mul", arithmetic.mul, "``x * y``.")
Div = _simple("Div", arithmetic.div, "``x / y``.")
RealDiv = _simple("RealDiv", arithmetic.div, "``x / y``.")
Neg = _simple("Neg", arithmetic.neg, "``-x``.")
Exp = _simple("Exp", elementwise.exp, "``e ** x``.")
Log = _simple("Log", elementwise.log, "Natural logarithm.")
Sqrt = _simple("Sqrt", elementwise.sqrt, "Square root.")
Square = _simple("Square", elementwise.square, "``x * x``.")
Transpose = _simple("Transpose", shape.transpose, "Permutes dims: ``Transpose()(x, perm)``.")
Reshape = _simple("Reshape", shape.reshape, "``Reshape()(x, shape)``.")
ExpandDims = _simple("ExpandDims", shape.expand_dims, "``ExpandDims()(x, axis)``.")
Tile = _simple("Tile", shape.tile, "``Tile()(x, multiples)``.")
StopGradient = _simple("StopGradient", conversion.stop_gradient, "Blocks the gradient.")
BiasAdd = _simple("BiasAdd", linalg.bias_add, "``x + bias`` along dim 1.")


class Fill(Primitive):
    """``Fill()(type, shape, value)``: a tensor of ``shape`` filled with ``value``."""

    def __call__(self, type, shape, value):
        return creation.fill(type, shape, value)


class Cast(Primitive):
    """``Cast()(x, dtype)``."""

    def __call__(self, input_x, type_):
        return conversion.cast(input_x, type_)


def _gather(params, indices, axis, batch_dims=0):
    return shape.gather(params, indices, axis, batch_dims)


Gather = _simple("Gather", _gather, "``Gather()(params, indices, axis)``.")


class MatMul(Primitive):
    """``MatMul(transpose_a=False, transpose_b=False)(x, y)``: ``op(x) @ op(y)``."""

    def __init__(self, transpose_a: bool = False, transpose_b: bool = False):
        super().__init__()
        self.transpose_a = check_bool("MatMul", "transpose_a", transpose_a)
        self.transpose_b = check_bool("MatMul", "transpose_b", transpose_b)

    def __call__(self, x, y):
        return linalg.matmul_transposed(x, y, self.transpose_a, self.transpose_b)


class BatchMatMul(MatMul):
    """Like MatMul, over batches of matrices."""


class Dropout2D(Primitive):
    """``Dropout2D(keep_prob=0.5)(x)``: ``(output, mask)`` for an ``(N, C, H, W)`` input; the Bool
    mask has x's shape, whole channels are zeroed and kept values scaled by ``1 / keep_prob``.

    >>> import gpucell as ms
    >>> out, mask = ms.ops.Dropout2D(1.0)(ms.ops.ones((1, 2, 1, 1)))
    >>> out.shape, mask.dtype
    ((1, 2, 1, 1), gpucell.bool_)
    """

    def __init__(self, keep_prob: float = 0.5):
        super().__init__()
        self.keep_prob = check_keep_prob("Dropout2D", keep_prob)

    def __call__(self, x):
        return run_dropout(DROPOUT2D, x, self.keep_prob)


class Dropout(Primitive):
    """``Dropout(keep_prob=0.5)(x)``: ``(output, mask)``, the mask Float32 (1 kept, 0 dropped)."""

    def __init__(self, keep_prob: float = 0.5, Seed0: int = 0, Seed1: int = 0):
        super().__init__()
        self.keep_prob = check_keep_prob("Dropout", keep_prob)
        self.seed0, self.seed1 = check_int("Dropout", "Seed0", Seed0), check_int("Dropout", "Seed1", Seed1)

    def __call__(self, x):
        out, mask = run_dropout(DROPOUT, x, self.keep_prob)
        return out, mask.astype(_dt.float32)


class _Reduce(Primitive):
    _fn = None

    def __init__(self, keep_dims: bool = False):
        super().__init__()
        self.keep_dims = check_bool(type(self).__name__, "keep_dims", keep_dims)

    def __call__(self, x, axis=()):
        return type(self)._fn(x, axis, self.keep_dims)


class ReduceSum(_Reduce):
    """``ReduceSum(keep_dims=False)(x, axis=())``; ``()`` reduces every axis."""

    _fn = staticmethod(reduction.sum)


class ReduceMean(_Reduce):
    """``ReduceMean(keep_dims=False)(x, axis=())``."""

    _fn = staticmethod(reduction.mean)


def _reduce_max(x, axis, keep_dims):
    axes = check_axes("ReduceMax", axis, x.ndim)
    out = x
    for a in sorted(axes or range(x.ndim), reverse=True):
        out = reduction.amax(out, a, keep_dims)
    return out if out is not x else x.copy()


class ReduceMax(_Reduce):
    """``ReduceMax(keep_dims=False)(x, axis=())``."""

    _fn = staticmethod(_reduce_max)


class Softmax(Primitive):
    """``Softmax(axis=-1)(x)``."""

    def __init__(self, axis=-1):
        super().__init__()
        self.axis = axis

    def __call__(self, x):
        axes = self.axis if isinstance(self.axis, (tuple, list)) else (self.axis,)
        if len(axes) != 1:
            raise ValueError(f"For 'Softmax', only one 'axis' is supported, but got {self.axis}.")
        return activation.softmax(x, axes[0])


class LogSoftmax(Softmax):
    """``LogSoftmax(axis=-1)(x)``."""

    def __call__(self, x):
        return activation.log_softmax(x, self.axis)


class Squeeze(Primitive):
    """``Squeeze(axis=())(x)``."""

    def __init__(self, axis=()):
        super().__init__()
        self.axis = axis

    def __call__(self, x):
        return shape.squeeze(x, self.axis if self.axis != () else None)


class Concat(Primitive):
    """``Concat(axis=0)(tensors)``."""

    def __init__(self, axis: int = 0):
        super().__init__()
        self.axis = check_int("Concat", "axis", axis)

    def __call__(self, tensors):
        return shape.concat(tensors, self.axis)


class Stack(Concat):
    """``Stack(axis=0)(tensors)``."""

    def __call__(self, tensors):
        return shape.stack(tensors, self.axis)
