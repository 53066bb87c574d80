"""gpucell.ops: MindSpore's functional ops and Primitives. Every call goes through
``ops._dispatch.apply``; each op states its forward per backend and its backward rule together."""

from gpucell.ops.activation import gelu, log_softmax, relu, sigmoid, silu, softmax, tanh
from gpucell.ops.arithmetic import abs, add, div, floor_divide, mod, mul, neg, pow, sub
from gpucell.ops.assign import assign, assign_add, assign_sub
from gpucell.ops.batch_norm import batch_norm
from gpucell.ops.clip import clip_by_global_norm
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
from gpucell.ops.conv import conv2d
from gpucell.ops.conversion import cast, copy, stop_gradient
from gpucell.ops.creation import arange, fill, full, full_like, ones, ones_like, zeros, zeros_like
from gpucell.ops.dense import dense
from gpucell.ops.dropout import dropout, dropout2d
from gpucell.ops.elementwise import clamp, clip, exp, log, maximum, minimum, rsqrt, sign, sqrt, square
from gpucell.ops.embedding import embedding
from gpucell.ops.layer_norm import layer_norm
from gpucell.ops.linalg import bias_add, matmul
from gpucell.ops.loss import binary_cross_entropy_with_logits, cross_entropy, l1_loss, mse_loss
from gpucell.ops.pooling import avg_pool2d, max_pool2d
from gpucell.ops.primitives import (
    Add,
    Assign,
    BatchMatMul,
    BiasAdd,
    Cast,
    Concat,
    Div,
    Dropout,
    Dropout2D,
    Equal,
    Exp,
    ExpandDims,
    Fill,
    Gather,
    Greater,
    Less,
    Log,
    LogSoftmax,
    MatMul,
    Mul,
    Neg,
    Primitive,
    RealDiv,
    ReduceMax,
    ReduceMean,
    ReduceSum,
    ReLU,
    Reshape,
    Select,
    Sigmoid,
    Softmax,
    Sqrt,
    Square,
    Squeeze,
    Stack,
    StopGradient,
    Sub,
    Tanh,
    Tile,
    Transpose,
)
from gpucell.ops.reduction import amax, amin, argmax, argmin, max, mean, min, sum
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
)

__all__ = [
    "abs", "add", "div", "floor_divide", "mod", "mul", "neg", "pow", "sub",
    "exp", "log", "sqrt", "rsqrt", "square", "sign", "maximum", "minimum", "clamp", "clip",
    "relu", "sigmoid", "tanh", "gelu", "silu", "softmax", "log_softmax",
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
    "cross_entropy", "binary_cross_entropy_with_logits", "mse_loss", "l1_loss", "clip_by_global_norm",
]


def __getattr__(name: str):
    # GradOperation lives in gpucell.autograd, a layer below ops; resolved on first use.
    if name == "GradOperation":
        from gpucell.autograd import GradOperation

        return GradOperation
    raise AttributeError(f"module 'gpucell.ops' has no attribute {name!r}")
