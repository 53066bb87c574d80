"""Primitive classes, constructed with their attributes and then called, as MindSpore tutorials use
them (``ops.Dropout2D(0.8)(x)``). Each calls the functional op, so it runs through ``apply``."""

from __future__ import annotations

import inspect

import numpy as np

from gpucell import dtype as _dt
from gpucell.ops import (
    activation,
    arithmetic,
    array,
    comparison,
    conversion,
    creation,
    elementwise,
    linalg,
    random_ops,
    reduction,
    selection,
    shape,
)
from gpucell.ops._dispatch import apply
from gpucell.ops._util import check_axes, check_bool, check_int, check_tensor
from gpucell.ops.assign import assign as _assign
from gpucell.ops.dropout import DROPOUT, DROPOUT2D, check_keep_prob, run_dropout
from gpucell.ops.one_hot import one_hot as _one_hot
from gpucell.ops.reduction_extra import prod as _prod

__all__ = ["Primitive", "MatMul", "BatchMatMul", "Dropout", "Dropout2D", "Greater", "Select", "Fill",
           "Assign", "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "Softmax", "LogSoftmax", "ReLU",
           "Sigmoid", "Tanh", "Cast", "Add", "Sub", "Mul", "Div", "RealDiv", "Neg", "Exp", "Log", "Sqrt",
           "Square", "Transpose", "Reshape", "ExpandDims", "Squeeze", "Concat", "Stack", "Tile", "Gather",
           "Less", "Equal", "StopGradient", "BiasAdd", "GreaterEqual", "LessEqual", "NotEqual", "Maximum",
           "Minimum", "Abs", "Pow", "Sign", "Rsqrt", "LogicalAnd", "LogicalOr", "LogicalNot", "ZerosLike",
           "OnesLike", "Flatten", "Shape", "Rank", "Size", "Depend", "Identity", "OneHot", "StandardNormal",
           "UniformReal", "Argmax", "ReduceProd"]


class Primitive:
    """Base of the Primitive classes: ``name`` and the attributes given at construction."""

    def __init__(self, name: str | None = None):
        self.name = name or type(self).__name__

    def __repr__(self) -> str:
        attrs = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if k != "name")
        return f"Prim[{self.name}]" + (f"<{attrs}>" if attrs else "")


def _simple(name: str, fn, doc: str):
    """A Primitive with no attributes whose call is ``fn`` (and has ``fn``'s signature)."""
    def __call__(self, *args):
        return fn(*args)
    sig = inspect.signature(fn)
    __call__.__signature__ = sig.replace(parameters=[inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY),
                                                     *sig.parameters.values()])
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
def _true_div(x, y):
    return arithmetic.div(x, y)


Div = _simple("Div", _true_div, "``x / y``.")
RealDiv = _simple("RealDiv", _true_div, "``x / y``.")
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
GreaterEqual = _simple("GreaterEqual", comparison.ge, "``x >= y`` elementwise (Bool).")
LessEqual = _simple("LessEqual", comparison.le, "``x <= y`` elementwise (Bool).")
NotEqual = _simple("NotEqual", comparison.not_equal, "``x != y`` elementwise (Bool).")
LogicalAnd = _simple("LogicalAnd", comparison.logical_and, "``x and y`` elementwise.")
LogicalOr = _simple("LogicalOr", comparison.logical_or, "``x or y`` elementwise.")
LogicalNot = _simple("LogicalNot", comparison.logical_not, "``not x`` elementwise.")
Maximum = _simple("Maximum", elementwise.maximum, "Elementwise maximum.")
Minimum = _simple("Minimum", elementwise.minimum, "Elementwise minimum.")
Abs = _simple("Abs", arithmetic.abs, "``|x|``.")
Pow = _simple("Pow", arithmetic.pow, "``x ** y``.")
Sign = _simple("Sign", elementwise.sign, "-1, 0 or 1 by the sign of each element.")
Rsqrt = _simple("Rsqrt", elementwise.rsqrt, "``1 / sqrt(x)``.")
ZerosLike = _simple("ZerosLike", creation.zeros_like, "Zeros with the shape and dtype of ``x``.")
OnesLike = _simple("OnesLike", creation.ones_like, "Ones with the shape and dtype of ``x``.")
Shape = _simple("Shape", array.shape, "``Shape()(x)``: the shape of ``x`` as a tuple.")
Rank = _simple("Rank", array.rank, "``Rank()(x)``: the number of dims of ``x``.")
Size = _simple("Size", array.size, "``Size()(x)``: the number of elements of ``x``.")
Depend = _simple("Depend", array.depend, "``Depend()(value, expr)``: ``value`` (eager ops run in order).")
Identity = _simple("Identity", array.identity, "``Identity()(x)``: a new Tensor equal to ``x``.")


class BiasAdd(Primitive):
    """``BiasAdd(data_format='NCHW')(input_x, bias)``: ``input_x + bias`` along the channels (dim 1)."""

    def __init__(self, data_format: str = "NCHW"):
        super().__init__()
        if data_format not in ("NCHW", "NCDHW"):
            raise ValueError(f"For 'BiasAdd', only channels-first data ('NCHW', 'NCDHW') is supported, but "
                             f"got data_format={data_format!r}.")
        self.data_format = data_format

    def __call__(self, input_x, bias):
        return linalg.bias_add(input_x, bias)


class Flatten(Primitive):
    """``Flatten()(input_x)``: ``(N, ...)`` to ``(N, X)``, keeping dim 0 (a 1-D input gives ``(N, 1)``)."""

    def __call__(self, input_x):
        check_tensor("Flatten", "input_x", input_x)
        if input_x.ndim == 0:
            raise ValueError("For 'Flatten', the dimension of 'input_x' must be at least 1, but got 0.")
        return shape.reshape(input_x, (input_x.shape[0], int(np.prod(input_x.shape[1:], dtype=np.int64))))


class OneHot(Primitive):
    """``OneHot(axis=-1)(indices, depth, on_value, off_value)``: see :func:`gpucell.ops.one_hot`."""

    def __init__(self, axis: int = -1):
        super().__init__()
        self.axis = check_int("OneHot", "axis", axis)

    def __call__(self, indices, depth, on_value, off_value):
        return _one_hot(indices, depth, on_value, off_value, self.axis)


class _Random(Primitive):
    """``(seed=0, seed2=0)``: MindSpore's per-op seeds, checked; samples come from gpucell's one
    generator (``gpucell.set_seed``)."""

    def __init__(self, seed: int = 0, seed2: int = 0):
        super().__init__()
        for name, value in (("seed", seed), ("seed2", seed2)):
            random_ops.check_seed(self.name, check_int(self.name, name, value))
        self.seed, self.seed2 = seed, seed2

    def __call__(self, shape):
        return apply(self._op, shape=random_ops.sample_shape(self.name, shape), dtype=np.float32)


class StandardNormal(_Random):
    """``StandardNormal(seed=0, seed2=0)(shape)``: Float32 standard normal samples."""

    _op = random_ops.STANDARD_NORMAL


class UniformReal(_Random):
    """``UniformReal(seed=0, seed2=0)(shape)``: Float32 uniform samples in [0, 1)."""

    _op = random_ops.UNIFORM_REAL


class Fill(Primitive):
    """``Fill()(type, shape, value)``: a tensor of ``shape`` filled with ``value``."""

    def __call__(self, type, shape, value):
        return creation.fill(type, shape, value)


class Cast(Primitive):
    """``Cast()(x, dtype)``."""

    def __call__(self, input_x, type_):
        return conversion.cast(input_x, type_)


class Gather(Primitive):
    """``Gather(batch_dims=0)(input_params, input_indices, axis)``."""

    def __init__(self, batch_dims: int = 0):
        super().__init__()
        self.batch_dims = check_int("Gather", "batch_dims", batch_dims)

    def __call__(self, input_params, input_indices, axis):
        return shape.gather(input_params, input_indices, axis, self.batch_dims)


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


def _reduce_min(x, axis, keep_dims):
    return reduction.amin(x, axis if axis != () else None, keep_dims)


class ReduceMin(_Reduce):
    """``ReduceMin(keep_dims=False)(x, axis=())``."""

    _fn = staticmethod(_reduce_min)


class ReduceProd(_Reduce):
    """``ReduceProd(keep_dims=False)(x, axis=())``: the product over ``axis`` (``()``: all axes)."""

    _fn = staticmethod(_prod)


class Argmax(Primitive):
    """``Argmax(axis=-1, output_type=mstype.int32)(input_x)``: indices of the maxima along ``axis``."""

    def __init__(self, axis: int = -1, output_type=_dt.int32):
        super().__init__()
        self.axis = check_int("Argmax", "axis", axis)
        self.output_type = _dt.to_dtype(output_type, "Argmax")
        if self.output_type not in (_dt.int32, _dt.int64):
            raise TypeError(f"For 'Argmax', the 'output_type' must be Int32 or Int64, but got {self.output_type}.")

    def __call__(self, input_x):
        indices = reduction.argmax(input_x, self.axis)
        return indices if self.output_type is _dt.int64 else conversion.cast(indices, self.output_type)


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
