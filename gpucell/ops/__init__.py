"""gpucell.ops: MindSpore's functional ops and Primitives. Every call goes through
``ops._dispatch.apply``; each op states its forward per backend and its backward rule together."""

import sys as _sys
import types as _types

from gpucell.ops import array as _array
from gpucell.ops.activation import gelu, log_softmax, relu, sigmoid, silu, softmax, tanh
from gpucell.ops.activation_extra import (
    elu,
    hardsigmoid,
    hardswish,
    leaky_relu,
    mish,
    prelu,
    softplus,
    softsign,
)
from gpucell.ops.adaptive_pooling import adaptive_avg_pool1d, adaptive_max_pool1d, adaptive_max_pool2d
from gpucell.ops.arithmetic import abs, add, div, floor_divide, mod, mul, neg, pow, sub
from gpucell.ops.array import depend, nonzero, rank, size
from gpucell.ops.array_extra import chunk
from gpucell.ops.assign import assign, assign_add, assign_sub
from gpucell.ops.attention import bmm, masked_fill, swapaxes, tril, triu
from gpucell.ops.batch_norm import batch_norm
from gpucell.ops.bernoulli import bernoulli
from gpucell.ops.clip import clip_by_global_norm, clip_by_value
from gpucell.ops.comparison import (
    equal,
    ge,
    greater,
    greater_equal,
    gt,
    le,
    less,
    less_equal,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    not_equal,
)
from gpucell.ops.complex_parts import conj, imag, real
from gpucell.ops.conv import conv1d, conv2d
from gpucell.ops.conv3d import conv3d
from gpucell.ops.conversion import cast, copy, stop_gradient
from gpucell.ops.creation import arange, fill, full, full_like, ones, ones_like, zeros, zeros_like
from gpucell.ops.creation_extra import eye, linspace
from gpucell.ops.cumulative import cumsum
from gpucell.ops.dense import dense
from gpucell.ops.dropout import dropout, dropout2d
from gpucell.ops.elementwise import clamp, clip, exp, log, maximum, minimum, rsqrt, sign, sqrt, square
from gpucell.ops.embedding import embedding
from gpucell.ops.group_instance_norm import group_norm
from gpucell.ops.layer_norm import layer_norm
from gpucell.ops.linalg import bias_add, matmul
from gpucell.ops.loss import binary_cross_entropy_with_logits, cross_entropy, l1_loss, mse_loss
from gpucell.ops.loss_extra import (
    binary_cross_entropy,
    huber_loss,
    kl_div,
    margin_ranking_loss,
    nll_loss,
    smooth_l1_loss,
)
from gpucell.ops.math_extra import ceil, cos, erf, floor, isinf, isnan, log1p, reciprocal, round, sin
from gpucell.ops.one_hot import one_hot
from gpucell.ops.padding import pad
from gpucell.ops.pooling import avg_pool1d, avg_pool2d, max_pool2d
from gpucell.ops.pooling3d import avg_pool3d, max_pool3d
from gpucell.ops.primitives import (
    Abs,
    Add,
    Argmax,
    Assign,
    BatchMatMul,
    BiasAdd,
    Cast,
    Concat,
    Depend,
    Div,
    Dropout,
    Dropout2D,
    Equal,
    Exp,
    ExpandDims,
    Fill,
    Flatten,
    Gather,
    Greater,
    GreaterEqual,
    Identity,
    Less,
    LessEqual,
    Log,
    LogicalAnd,
    LogicalNot,
    LogicalOr,
    LogSoftmax,
    MatMul,
    Maximum,
    Minimum,
    Mul,
    Neg,
    NotEqual,
    OneHot,
    OnesLike,
    Pow,
    Primitive,
    Rank,
    RealDiv,
    ReduceMax,
    ReduceMean,
    ReduceMin,
    ReduceProd,
    ReduceSum,
    ReLU,
    Reshape,
    Rsqrt,
    Select,
    Shape,
    Sigmoid,
    Sign,
    Size,
    Softmax,
    Sqrt,
    Square,
    Squeeze,
    Stack,
    StandardNormal,
    StopGradient,
    Sub,
    Tanh,
    Tile,
    Transpose,
    UniformReal,
    ZerosLike,
)
from gpucell.ops.random_ops import normal, rand, rand_like, randint, randn, randn_like, standard_normal, uniform
from gpucell.ops.reduction import amax, amin, argmax, argmin, max, mean, min, sum
from gpucell.ops.reduction_extra import logsumexp, norm, prod
from gpucell.ops.resample import adaptive_avg_pool2d, interpolate
from gpucell.ops.selection import select, where
from gpucell.ops.shape import (
    broadcast_to,
    cat,
    concat,
    expand_dims,
    flatten,
    gather,
    permute,
    reshape,
    split,
    squeeze,
    stack,
    tile,
    transpose,
    unsqueeze,
)
from gpucell.ops.sorting import argsort, gather_elements, sort, topk
from gpucell.ops.statistics import std, var

# MindSpore's names for the floored remainder (NumPy's: the sign of the divisor).
floor_mod = remainder = mod


class _ShapeModule(_types.ModuleType):
    """gpucell.ops.shape is both the module of the shape ops (imported by name all over gpucell) and
    MindSpore's ``ops.shape(input_x)``: the module is callable."""

    def __call__(self, input_x) -> tuple:
        return _array.shape(input_x)


_sys.modules[__name__ + ".shape"].__class__ = _ShapeModule

__all__ = [
    "abs", "add", "div", "floor_divide", "mod", "mul", "neg", "pow", "sub",
    "exp", "log", "sqrt", "rsqrt", "square", "sign", "maximum", "minimum", "clamp", "clip",
    "relu", "sigmoid", "tanh", "gelu", "silu", "softmax", "log_softmax",
    "leaky_relu", "prelu", "elu", "mish", "hardswish", "hardsigmoid", "softplus", "softsign",
    "binary_cross_entropy", "nll_loss", "smooth_l1_loss", "huber_loss", "kl_div", "margin_ranking_loss",
    "sum", "mean", "max", "min", "amax", "amin", "argmax", "argmin",
    "reshape", "transpose", "permute", "expand_dims", "squeeze", "flatten", "broadcast_to", "tile",
    "concat", "cat", "stack", "split", "gather",
    "equal", "ge", "greater", "greater_equal", "gt", "le", "less", "less_equal", "logical_and",
    "logical_not", "logical_or", "logical_xor", "lt", "not_equal",
    "fill", "full", "full_like", "zeros", "ones", "zeros_like", "ones_like", "arange",
    "select", "where", "cast", "copy", "matmul", "bias_add", "assign", "assign_add", "assign_sub",
    "stop_gradient", "dropout", "dropout2d",
    "Primitive", "MatMul", "BatchMatMul", "Dropout", "Dropout2D", "Greater", "Less", "Equal", "Select",
    "Fill", "Assign", "ReduceSum", "ReduceMean", "ReduceMax", "Softmax", "LogSoftmax", "ReLU",
    "Sigmoid", "Tanh", "Cast", "Add", "Sub", "Mul", "Div", "RealDiv", "Neg", "Exp", "Log", "Sqrt",
    "Square", "Transpose", "Reshape", "ExpandDims", "Squeeze", "Concat", "Stack", "Tile", "Gather",
    "StopGradient", "BiasAdd", "GradOperation",
    "dense", "conv2d", "max_pool2d", "avg_pool2d", "batch_norm", "layer_norm", "embedding",
    "conv1d", "pad", "avg_pool1d", "adaptive_avg_pool2d", "interpolate", "group_norm",
    "adaptive_avg_pool1d", "adaptive_max_pool1d", "adaptive_max_pool2d",
    "cross_entropy", "binary_cross_entropy_with_logits", "mse_loss", "l1_loss", "clip_by_global_norm",
    "clip_by_value", "one_hot", "randn", "rand", "uniform", "standard_normal", "normal", "shape", "rank",
    "size", "depend", "nonzero", "var", "std", "floor_mod", "remainder", "unsqueeze", "rand_like", "randn_like",
    "randint",
    "GreaterEqual", "LessEqual", "NotEqual", "LogicalAnd", "LogicalOr", "LogicalNot", "Maximum", "Minimum",
    "Abs", "Pow", "Sign", "Rsqrt", "ZerosLike", "OnesLike", "ReduceMin", "Flatten", "Shape", "Rank", "Size",
    "Depend", "Identity", "OneHot", "StandardNormal", "UniformReal",
    "masked_fill", "bmm", "swapaxes", "tril", "triu",
    "real", "imag", "conj", "grad", "value_and_grad",
    "sin", "cos", "floor", "ceil", "round", "reciprocal", "log1p", "erf", "isnan", "isinf", "prod", "cumsum",
    "topk", "sort", "argsort", "logsumexp", "norm", "gather_elements", "eye", "linspace", "chunk", "bernoulli",
    "Argmax", "ReduceProd",
    "conv3d", "max_pool3d", "avg_pool3d",
]


def __getattr__(name: str):
    # GradOperation, grad and value_and_grad live in gpucell.autograd, a layer below ops; resolved on
    # first use (ops.grad is ms.grad, as in MindSpore 2.x).
    if name in ("GradOperation", "grad", "value_and_grad"):
        from gpucell import autograd

        return getattr(autograd, name)
    raise AttributeError(f"module 'gpucell.ops' has no attribute {name!r}")
