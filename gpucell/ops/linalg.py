"""matmul (NumPy's semantics: batched, 1-D operands promoted) and bias_add.

Float operands run the matmul kernel (kernels/matmul.cu, capturable, unlike cuBLAS, which CuPy
refuses inside CUDA-graph capture): a 1-D operand becomes a one-row (or one-column) matrix and
batch dims that differ are broadcast first, so every float matmul stays inside a captured plan.
Integer operands use the array library's matmul. ``transpose_a`` / ``transpose_b`` (the MatMul
Primitive) swap the last two dims of an operand without a copy.
"""

from __future__ import annotations

import numpy as np

from gpucell import dtype as _dt
from gpucell.backend import array_module, kernel_ops
from gpucell.ops._dispatch import Op, apply
from gpucell.ops._util import check_tensor, sum_to, type_name
from gpucell.tensor import Tensor

__all__ = ["matmul", "bias_add", "MATMUL", "BIAS_ADD", "check_matmul_shapes"]


def _kernel_matmul(a, b, transpose_a: bool, transpose_b: bool):
    """NumPy's matmul through the kernel: 1-D operands as matrices, differing batch dims broadcast."""
    xp = array_module(a)
    a_vec, b_vec = a.ndim == 1, b.ndim == 1
    if a_vec:
        a = a.reshape(1, -1)
    if b_vec:
        b = b.reshape(-1, 1)
    if a.ndim > 2 and b.ndim > 2 and a.shape[:-2] != b.shape[:-2]:
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        a = xp.broadcast_to(a, batch + a.shape[-2:])
        b = xp.broadcast_to(b, batch + b.shape[-2:])
    out = kernel_ops.matmul_bias(a, b, transpose_a=transpose_a, transpose_b=transpose_b)
    if a_vec:
        out = out[..., 0, :]
    if b_vec:
        out = out[..., 0]
    return out


_BF16 = _dt.BF16_NUMPY


def _floating(a) -> bool:
    return a.dtype.kind == "f" or a.dtype == _BF16


def _matmul(a, b, transpose_a=False, transpose_b=False):
    if _floating(a) and _floating(b):
        return _kernel_matmul(a, b, transpose_a, transpose_b)
    xp = array_module(a)
    if transpose_a:
        a = xp.swapaxes(a, -1, -2)
    if transpose_b:
        b = xp.swapaxes(b, -1, -2)
    return xp.matmul(a, b)


def _matmul_backward(ctx, g):
    a, b = ctx.input(0), ctx.input(1)
    ta, tb = ctx.attrs.get("transpose_a", False), ctx.attrs.get("transpose_b", False)
    # NumPy semantics: a 1-D left operand is a row, a 1-D right operand a column.
    a_vec, b_vec = a.ndim == 1, b.ndim == 1
    if a_vec:
        a = a.reshape((1, -1))
        g = g.reshape(g.shape[:-1] + (1, g.shape[-1])) if not b_vec else g.reshape(g.shape + (1,))
    if b_vec:
        b = b.reshape((-1, 1))
        g = g.reshape(g.shape + (1,)) if not a_vec else g.reshape((1, 1))
    ga = gb = None
    if ctx.needs(0):
        ga = _mm(b, g, tb, True) if ta else _mm(g, b, False, not tb)
        ga = sum_to(ga, a.shape).reshape(ctx.shape(0))
    if ctx.needs(1):
        gb = _mm(g, a, True, ta) if tb else _mm(a, g, not ta, False)
        gb = sum_to(gb, b.shape).reshape(ctx.shape(1))
    return ga, gb


def _mm(a, b, ta, tb):
    return apply(MATMUL, a, b, transpose_a=ta, transpose_b=tb)


def _bias_shape(x_ndim: int, channels: int) -> tuple:
    return (1, channels) + (1,) * (x_ndim - 2)


def _bias_add(x, bias):
    return x + bias.reshape(_bias_shape(x.ndim, bias.shape[0]))


def _bias_add_backward(ctx, g):
    from gpucell.ops.reduction import sum as reduce_sum

    axes = tuple(d for d in range(g.ndim) if d != 1)
    return g, (reduce_sum(g, axes) if ctx.needs(1) else None)


# bfloat16_native: on the GPU the matmul kernel reads bfloat16 itself (tensor cores, float32 sums).
MATMUL = Op("MatMul", _matmul, backward=_matmul_backward, promote=True, bfloat16_native=True)
BIAS_ADD = Op("BiasAdd", _bias_add, backward=_bias_add_backward, promote=True, saves="none")


def check_matmul_shapes(x_shape: tuple, w_shape: tuple, where: str = "MatMul") -> None:
    """Raises ValueError in MindSpore's wording when ``x @ w`` is undefined."""
    if len(x_shape) == 0 or len(w_shape) == 0:
        raise ValueError(f"For '{where}', the inputs must have at least 1 dimension, but got shapes "
                         f"{x_shape} and {w_shape}.")
    k_x = x_shape[-1]
    k_w = w_shape[0] if len(w_shape) == 1 else w_shape[-2]
    if k_x != k_w:
        raise ValueError(f"For '{where}', the input dimensions must be equal, but got x1_col: {k_x} and "
                         f"x2_row: {k_w} (shapes {x_shape} and {w_shape}).")
    batch_x, batch_w = x_shape[:-2], w_shape[:-2]
    try:
        np.broadcast_shapes(batch_x, batch_w)
    except ValueError:
        raise ValueError(f"For '{where}', the batch dims {batch_x} and {batch_w} do not broadcast; "
                         f"got shapes {x_shape} and {w_shape}.") from None


def _check_operands(where: str, input, other) -> None:
    for name, value in (("input", input), ("other", other)):
        if not isinstance(value, Tensor):
            raise TypeError(f"For '{where}', '{name}' must be a Tensor, but got {type_name(value)}.")
        if value.dtype.kind == 0:  # gpucell.dtype._BOOL
            raise TypeError(f"For '{where}', '{name}' must not be Bool.")


def matmul(input, other):
    """Matrix product of two tensors, batched over leading dims.

    >>> import gpucell as ms
    >>> ms.ops.matmul(ms.Tensor([[1.0, 2.0]]), ms.Tensor([[3.0], [4.0]]))
    Tensor(shape=[1, 1], dtype=Float32, value=
    [[ 1.10000000e+01]])
    """
    _check_operands("MatMul", input, other)
    check_matmul_shapes(input.shape, other.shape)
    return apply(MATMUL, input, other)


def matmul_transposed(x1, x2, transpose_a: bool, transpose_b: bool):
    """``op(x1) @ op(x2)`` for 2-D or batched operands (the MatMul Primitive)."""
    _check_operands("MatMul", x1, x2)
    for name, value in (("x1", x1), ("x2", x2)):
        if value.ndim < 2:
            raise ValueError(f"For 'MatMul', the '{name}' must have at least 2 dims, but got shape "
                             f"{value.shape}.")
    shape_a = x1.shape[:-2] + (x1.shape[-1], x1.shape[-2]) if transpose_a else x1.shape
    shape_b = x2.shape[:-2] + (x2.shape[-1], x2.shape[-2]) if transpose_b else x2.shape
    check_matmul_shapes(shape_a, shape_b)
    return apply(MATMUL, x1, x2, transpose_a=transpose_a, transpose_b=transpose_b)


def bias_add(input_x, bias, data_format=None):
    """``input_x + bias`` with ``bias`` (1-D) along dim 1 (the channels of NC... data)."""
    check_tensor("BiasAdd", "input_x", input_x)
    check_tensor("BiasAdd", "bias", bias)
    if data_format not in (None, "NCHW", "NCDHW"):
        raise ValueError(f"For 'BiasAdd', only channels-first data is supported, but got "
                         f"data_format={data_format!r}.")
    if input_x.ndim < 2:
        raise ValueError(f"For 'BiasAdd', the dimension of 'input_x' must be at least 2, but got "
                         f"{input_x.ndim}.")
    if bias.ndim != 1 or bias.shape[0] != input_x.shape[1]:
        raise ValueError(f"For 'BiasAdd', 'bias' must be 1-D with {input_x.shape[1]} elements (dim 1 of "
                         f"'input_x' {input_x.shape}), but got shape {bias.shape}.")
    return apply(BIAS_ADD, input_x, bias)
