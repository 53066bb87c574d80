"""The ops attention is written with: masked_fill, tril, triu, bmm and swapaxes (MindSpore 2.x names).

masked_fill, bmm and swapaxes compose existing ops (select, the matmul kernel, transpose), so they
run on both backends, differentiate to any order and stay inside a captured jit plan. tril and
triu are one op each on the array library's own ``tril`` / ``triu`` (elementwise kernels on the
GPU: capturable); the gradient of each is the same op on the gradient.
"""

from __future__ import annotations

import numpy as np

from gpucell import dtype as _dt
from gpucell.backend import array_module
from gpucell.ops._dispatch import Op, apply
from gpucell.ops._util import check_axis, check_int, check_tensor, type_name
from gpucell.ops.linalg import MATMUL, check_matmul_shapes
from gpucell.ops.selection import select
from gpucell.ops.shape import transpose
from gpucell.tensor import Tensor

__all__ = ["masked_fill", "tril", "triu", "bmm", "swapaxes"]


def _tril(a, diagonal):
    return array_module(a).tril(a, diagonal)


def _triu(a, diagonal):
    return array_module(a).triu(a, diagonal)


def _tril_backward(ctx, g):
    return apply(TRIL, g, diagonal=ctx.attrs["diagonal"])


def _triu_backward(ctx, g):
    return apply(TRIU, g, diagonal=ctx.attrs["diagonal"])


TRIL = Op("Tril", _tril, backward=_tril_backward, saves="none")
TRIU = Op("Triu", _triu, backward=_triu_backward, saves="none")


def masked_fill(input_x, mask, value):
    """``input_x`` with ``value`` where ``mask`` (Bool, broadcast against ``input_x``) is True.

    ``value``: a Python number or a 0-d Tensor (cast to the dtype of ``input_x``; it receives the
    gradient of the filled positions); a float value for an integer ``input_x`` is refused. The
    result has the broadcast shape of ``input_x`` and ``mask``.

    >>> import gpucell as ms
    >>> x = ms.Tensor([1.0, 2.0, 3.0])
    >>> ms.ops.masked_fill(x, ms.Tensor([True, False, True]), 0.5).asnumpy()
    array([0.5, 2. , 0.5], dtype=float32)
    """
    check_tensor("MaskedFill", "input_x", input_x)
    check_tensor("MaskedFill", "mask", mask)
    if mask.dtype is not _dt.bool_:
        raise TypeError(f"For 'MaskedFill', the dtype of 'mask' must be Bool, but got {mask.dtype}.")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ValueError(f"For 'MaskedFill', a Tensor 'value' must be 0-D, but got shape {value.shape}.")
        if value.dtype.kind == _dt._FLOAT and input_x.dtype.kind != _dt._FLOAT:
            raise TypeError(f"For 'MaskedFill', a {value.dtype} 'value' cannot fill a {input_x.dtype} 'input_x' "
                            f"without losing data.")
        if value.dtype is not input_x.dtype:
            value = value.astype(input_x.dtype)
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"For 'MaskedFill', the 'value' must be a number or a 0-D Tensor, but got "
                        f"{type_name(value)}.")
    elif isinstance(value, float) and input_x.dtype.kind != _dt._FLOAT:
        raise TypeError(f"For 'MaskedFill', a float 'value' ({value!r}) cannot fill a {input_x.dtype} "
                        f"'input_x' without losing data.")
    try:
        np.broadcast_shapes(input_x.shape, mask.shape)
    except ValueError:
        raise ValueError(f"For 'MaskedFill', the shape of 'mask' {mask.shape} must broadcast with the shape "
                         f"of 'input_x' {input_x.shape}.") from None
    return select(mask, value, input_x)


def _triangle(where: str, op: Op, input, diagonal):
    check_tensor(where, "input", input)
    diagonal = check_int(where, "diagonal", diagonal)
    if input.ndim < 2:
        raise ValueError(f"For '{where}', the dimension of 'input' must be at least 2, but got {input.ndim} "
                         f"(shape {input.shape}).")
    return apply(op, input, diagonal=diagonal)


def tril(input, diagonal=0):
    """The lower triangle of the last two dims of ``input`` (on and below ``diagonal``), zeros above.

    >>> import gpucell as ms
    >>> ms.ops.tril(ms.ops.ones((2, 2))).asnumpy()
    array([[1., 0.],
           [1., 1.]], dtype=float32)
    """
    return _triangle("Tril", TRIL, input, diagonal)


def triu(input, diagonal=0):
    """The upper triangle of the last two dims of ``input`` (on and above ``diagonal``), zeros below.

    >>> import gpucell as ms
    >>> ms.ops.triu(ms.ops.ones((2, 2)), 1).asnumpy()
    array([[0., 1.],
           [0., 0.]], dtype=float32)
    """
    return _triangle("Triu", TRIU, input, diagonal)


def bmm(input_x, mat2):
    """Batched matrix product: ``input_x`` (..., N, C) times ``mat2`` (..., C, M), both at least 3-D,
    batch dims broadcast.

    >>> import gpucell as ms
    >>> ms.ops.bmm(ms.ops.ones((2, 1, 3)), ms.ops.ones((2, 3, 4))).shape
    (2, 1, 4)
    """
    for name, value in (("input_x", input_x), ("mat2", mat2)):
        check_tensor("BatchMatMul", name, value)
        if value.ndim < 3:
            raise ValueError(f"For 'BatchMatMul', the dimension of '{name}' must be at least 3, but got "
                             f"{value.ndim} (shape {value.shape}).")
        if value.dtype is _dt.bool_:
            raise TypeError(f"For 'BatchMatMul', the '{name}' must not be Bool.")
    check_matmul_shapes(input_x.shape, mat2.shape, "BatchMatMul")
    return apply(MATMUL, input_x, mat2)


def swapaxes(input, axis0, axis1):
    """``input`` with dims ``axis0`` and ``axis1`` exchanged.

    >>> import gpucell as ms
    >>> ms.ops.swapaxes(ms.ops.ones((2, 3, 4)), 0, 2).shape
    (4, 3, 2)
    """
    check_tensor("swapaxes", "input", input)
    a = check_axis("swapaxes", axis0, input.ndim, "axis0")
    b = check_axis("swapaxes", axis1, input.ndim, "axis1")
    perm = list(range(input.ndim))
    perm[a], perm[b] = perm[b], perm[a]
    return transpose(input, perm)
