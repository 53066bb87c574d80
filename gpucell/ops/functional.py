"""MindSpore's ``mindspore.ops.functional`` path (``from gpucell.ops import functional as F``): every
functional op of :mod:`gpucell.ops`, plus ``F.shape`` / ``F.dtype`` of a tensor, ``F.partial`` (for
``HyperMap``) and the ``tensor_add``-style aliases older MindSpore code uses.

>>> import gpucell as ms
>>> from gpucell.ops import functional as F
>>> F.shape(ms.ops.ones((2, 3))), F.dtype(ms.Tensor([1]))
((2, 3), gpucell.int64)
"""

from functools import partial

from gpucell.ops import (  # MindSpore's names: abs, max, min, pow and sum shadow builtins here
    abs,
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    add,
    amax,
    amin,
    arange,
    argmax,
    argmin,
    assign,
    assign_add,
    assign_sub,
    avg_pool1d,
    avg_pool2d,
    batch_norm,
    bias_add,
    binary_cross_entropy_with_logits,
    broadcast_to,
    cast,
    cat,
    clamp,
    clip,
    clip_by_global_norm,
    clip_by_value,
    concat,
    conv1d,
    conv2d,
    copy,
    cross_entropy,
    dense,
    depend,
    div,
    dropout,
    dropout2d,
    embedding,
    equal,
    exp,
    expand_dims,
    fill,
    flatten,
    floor_divide,
    floor_mod,
    full,
    full_like,
    gather,
    ge,
    gelu,
    greater,
    greater_equal,
    group_norm,
    gt,
    interpolate,
    l1_loss,
    layer_norm,
    le,
    less,
    less_equal,
    log,
    log_softmax,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    matmul,
    max,
    max_pool2d,
    maximum,
    mean,
    min,
    minimum,
    mod,
    mse_loss,
    mul,
    neg,
    nonzero,
    normal,
    not_equal,
    one_hot,
    ones,
    ones_like,
    pad,
    permute,
    pow,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    rank,
    relu,
    remainder,
    reshape,
    rsqrt,
    select,
    sigmoid,
    sign,
    silu,
    size,
    softmax,
    split,
    sqrt,
    square,
    squeeze,
    stack,
    standard_normal,
    std,
    stop_gradient,
    sub,
    sum,
    tanh,
    tile,
    transpose,
    uniform,
    unsqueeze,
    var,
    where,
    zeros,
    zeros_like,
)
from gpucell.ops.activation_extra import elu, hardsigmoid, hardswish, leaky_relu, mish, prelu, softplus, softsign
from gpucell.ops.array import shape
from gpucell.ops.array_extra import chunk
from gpucell.ops.attention import bmm, masked_fill, swapaxes, tril, triu
from gpucell.ops.bernoulli import bernoulli
from gpucell.ops.complex_parts import conj, imag, real
from gpucell.ops.conv3d import conv3d
from gpucell.ops.creation_extra import eye, linspace
from gpucell.ops.cumulative import cumsum
from gpucell.ops.loss_extra import (
    binary_cross_entropy,
    huber_loss,
    kl_div,
    margin_ranking_loss,
    nll_loss,
    smooth_l1_loss,
)
from gpucell.ops.math_extra import ceil, cos, erf, floor, isinf, isnan, log1p, reciprocal, round, sin
from gpucell.ops.pooling3d import avg_pool3d, max_pool3d
from gpucell.ops.reduction_extra import logsumexp, norm, prod
from gpucell.ops.sorting import argsort, gather_elements, sort, topk

__all__ = [
    "abs", "add", "amax", "amin", "arange", "argmax", "argmin", "assign", "assign_add", "assign_sub", "avg_pool2d",
    "batch_norm", "bias_add", "binary_cross_entropy_with_logits", "broadcast_to", "cast", "cat", "clamp", "clip",
    "clip_by_global_norm", "clip_by_value", "concat", "conv2d", "copy", "cross_entropy", "dense", "depend", "div",
    "dropout", "dropout2d", "embedding", "equal", "exp", "expand_dims", "fill", "flatten", "floor_divide",
    "floor_mod", "full", "full_like", "gather", "ge", "gelu", "greater", "greater_equal", "gt", "l1_loss",
    "layer_norm", "le", "less", "less_equal", "log", "log_softmax", "logical_and", "logical_not", "logical_or",
    "logical_xor", "lt", "matmul", "max", "max_pool2d", "maximum", "mean", "min", "minimum", "mod", "mse_loss",
    "mul", "neg", "nonzero", "normal", "not_equal", "one_hot", "ones", "ones_like", "permute", "pow", "rand",
    "rand_like", "randint", "randn", "randn_like", "rank", "relu", "remainder", "reshape", "rsqrt", "select",
    "sigmoid", "sign", "silu", "size", "softmax", "split", "sqrt", "square", "squeeze", "stack", "standard_normal",
    "std", "stop_gradient", "sub", "sum", "tanh", "tile", "transpose", "uniform", "unsqueeze", "var", "where",
    "zeros", "zeros_like", "shape", "dtype", "partial", "tensor_add", "tensor_sub", "tensor_mul", "tensor_div",
    "tensor_pow",
    "conv1d", "pad", "avg_pool1d", "adaptive_avg_pool2d", "interpolate", "group_norm",
    "adaptive_avg_pool1d", "adaptive_max_pool1d", "adaptive_max_pool2d",
    "leaky_relu", "prelu", "elu", "mish", "hardswish", "hardsigmoid", "softplus", "softsign",
    "binary_cross_entropy", "nll_loss", "smooth_l1_loss", "huber_loss", "kl_div", "margin_ranking_loss",
    "bmm", "masked_fill", "swapaxes", "tril", "triu",
    "real", "imag", "conj",
    "conv3d", "max_pool3d", "avg_pool3d",
    "grad", "value_and_grad",  # noqa: F822 - resolved by __getattr__ below (gpucell.autograd)
    "sin", "cos", "floor", "ceil", "round", "reciprocal", "log1p", "erf", "isnan", "isinf", "prod", "cumsum",
    "topk", "sort", "argsort", "logsumexp", "norm", "gather_elements", "eye", "linspace", "chunk", "bernoulli",
]

tensor_add, tensor_sub, tensor_mul, tensor_div, tensor_pow = add, sub, mul, div, pow


def dtype(input_x):
    """The dtype of ``input_x`` (``F.dtype(x)``, MindSpore's spelling of ``x.dtype``)."""
    from gpucell.ops._util import check_tensor

    return check_tensor("DType", "input_x", input_x).dtype


def __getattr__(name: str):
    # F.grad / F.value_and_grad: gpucell.autograd sits a layer below ops, so resolved on first use.
    if name in ("grad", "value_and_grad"):
        from gpucell import autograd

        return getattr(autograd, name)
    raise AttributeError(f"module 'gpucell.ops.functional' has no attribute {name!r}")
