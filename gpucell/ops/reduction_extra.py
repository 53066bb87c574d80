"""More reductions: prod, logsumexp and norm (axes and keep-dims as MindSpore names them).

``prod`` is the array library's product; its gradient is the product of the *other* elements,
formed from running products from both ends, so inputs holding zeros get exact gradients (``out /
x`` would divide by zero). Under an enclosing transform those running products are formed with
slices, concatenations and products instead (a log-step scan), so prod differentiates to any order
too. ``logsumexp`` and ``norm`` are written with existing ops, so they run on both backends, under
jit, and differentiate to any order.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from gpucell import dtype as _dt
from gpucell.backend import array_module
from gpucell.ops._dispatch import Op, apply, hooks
from gpucell.ops._util import check_axes, check_bool, check_tensor, no_higher_order, type_name
from gpucell.ops.reduction import _expand

__all__ = ["prod", "logsumexp", "norm"]


def _prod(a, axes, keepdims):
    # dtype=a.dtype: NumPy would widen Int32 products to Int64; MindSpore keeps the input's dtype.
    return array_module(a).prod(a, axis=axes, keepdims=keepdims, dtype=a.dtype)


def _others_product(a, g, axes):
    """``g`` times, for each element of ``a``, the product of the other elements it was reduced with."""
    xp = array_module(a)
    if a.size == 0:
        return xp.zeros_like(a)
    reduced = tuple(range(a.ndim)) if axes is None else axes
    kept = [d for d in range(a.ndim) if d not in reduced]
    moved = xp.moveaxis(a, reduced, tuple(range(len(kept), a.ndim)))
    block = moved.shape
    rows = moved.reshape(block[:len(kept)] + (-1,))
    ones = xp.ones(rows.shape[:-1] + (1,), a.dtype)
    left = xp.concatenate([ones, xp.cumprod(rows[..., :-1], axis=-1, dtype=a.dtype)], axis=-1)
    right = xp.flip(xp.cumprod(xp.flip(rows[..., 1:], -1), axis=-1, dtype=a.dtype), -1)
    right = xp.concatenate([right, ones], axis=-1)
    others = xp.moveaxis((left * right).reshape(block), tuple(range(len(kept), a.ndim)), reduced)
    return xp.ascontiguousarray(g * others)


def _exclusive_products(rows, reverse: bool):
    """For each element along the last axis of ``rows``, the product of the elements before it (after
    it, when ``reverse``), 1 at the end: a Hillis-Steele scan of slices, concatenations and products,
    log2(n) steps of ops that an enclosing transform differentiates again."""
    from gpucell.ops.creation import ones_like
    from gpucell.ops.shape import concat

    n, last = rows.shape[-1], rows.ndim - 1
    lead = (slice(None),) * last

    def shifted(t, step):  # t moved ``step`` places towards the end (the start when reverse), ones in
        if reverse:
            return concat((t[lead + (slice(step, None),)], ones_like(t[lead + (slice(0, step),)])), last)
        return concat((ones_like(t[lead + (slice(0, step),)]), t[lead + (slice(0, n - step),)]), last)

    out, step = shifted(rows, 1), 1
    while step < n:
        out = out * shifted(out, step)
        step *= 2
    return out


def _others_product_ops(x, axes):
    """:func:`_others_product` (without ``g``) written with ops: differentiable again."""
    from gpucell.ops.shape import reshape, transpose

    reduced = tuple(range(x.ndim)) if axes is None else axes
    kept = [d for d in range(x.ndim) if d not in reduced]
    order = tuple(kept) + tuple(reduced)
    moved = transpose(x, order) if order != tuple(range(x.ndim)) else x
    n = int(np.prod([x.shape[d] for d in reduced], dtype=np.int64))
    rows = reshape(moved, moved.shape[:len(kept)] + (n,))
    if n <= 1:  # the empty product: 1 for a lone element, nothing for none
        from gpucell.ops.creation import ones_like

        others = ones_like(rows)
    else:
        others = _exclusive_products(rows, False) * _exclusive_products(rows, True)
    others = reshape(others, moved.shape)
    return transpose(others, tuple(int(d) for d in np.argsort(order))) if moved is not x else others


def _prod_backward(ctx, g):
    axes = ctx.attrs["axes"]
    g = _expand(g, ctx.shape(0), axes, ctx.attrs["keepdims"])
    if hooks.recording:  # an enclosing transform differentiates this backward: ops it can follow
        return g * _others_product_ops(ctx.input(0), axes)
    return apply(PROD_GRAD, ctx.input(0), g, axes=axes)


PROD = Op("ReduceProd", _prod, backward=_prod_backward)
PROD_GRAD = Op("ReduceProdGrad", _others_product, backward=no_higher_order("ReduceProd"))


def prod(input, axis=None, keep_dims=False):
    """The product over ``axis`` (an int, a tuple of ints, or None / ``()`` for all), in ``input``'s dtype.

    >>> import gpucell as ms
    >>> ms.ops.prod(ms.Tensor([[1.0, 2.0], [3.0, 4.0]]), 1).asnumpy()
    array([ 2., 12.], dtype=float32)
    """
    check_tensor("ReduceProd", "input", input)
    if input.dtype.kind not in (_dt._INT, _dt._FLOAT):
        raise TypeError(f"For 'ReduceProd', the dtype of 'input' must be an int or float type, but got "
                        f"{input.dtype}.")
    axes = check_axes("ReduceProd", axis, input.ndim)
    axes = axes if input.ndim else None  # a 0-d input: its one element
    keep_dims = check_bool("ReduceProd", "keep_dims", keep_dims)
    return apply(PROD, input, axes=axes, keepdims=keep_dims)


def _drop_axes(x, axes):
    """``x`` (reduced with keep-dims over ``axes``, None: all) without those axes."""
    from gpucell.ops.shape import reshape

    return reshape(x, () if axes is None else tuple(n for d, n in enumerate(x.shape) if d not in axes))


def logsumexp(input, axis, keep_dims=False):
    """``log(sum(exp(input)))`` over ``axis`` (an int or a tuple of ints), computed without overflow.

    >>> import gpucell as ms
    >>> ms.ops.logsumexp(ms.Tensor([[1000.0, 1000.0]]), 1).asnumpy()
    array([1000.6932], dtype=float32)
    """
    from gpucell.ops import conversion, elementwise, reduction, selection
    from gpucell.ops.math_extra import isinf

    check_tensor("LogSumExp", "input", input)
    if axis is None:
        raise TypeError("For 'LogSumExp', the 'axis' must be an int or a tuple of ints, but got None.")
    axes = check_axes("LogSumExp", axis, input.ndim)
    axes = axes if input.ndim else None  # a 0-d input: its one element
    keep_dims = check_bool("LogSumExp", "keep_dims", keep_dims)
    if input.dtype.kind != _dt._FLOAT:
        input = conversion.cast(input, _dt.float32)
    # Shift by the (constant) maximum: exp cannot overflow, and the gradient is softmax's. An
    # infinite maximum is not subtracted (inf - inf would be NaN); the sum then gives +-inf itself.
    shift = conversion.stop_gradient(reduction.amax(input, axes, True))
    shift = selection.select(isinf(shift), 0.0, shift)
    out = elementwise.log(reduction.sum(elementwise.exp(input - shift), axes, True)) + shift
    return out if keep_dims else _drop_axes(out, axes)


def _norm_dims(A, ord, dim) -> tuple:
    """The axes of the norm and whether it is a matrix norm, by MindSpore's (and PyTorch's) rules."""
    if dim is None:
        if ord is None:
            return tuple(range(A.ndim)), False
        if A.ndim not in (1, 2):
            raise ValueError(f"For 'norm', 'A' must be 1-D or 2-D when 'dim' is None and 'ord' is given, but got "
                             f"shape {A.shape}.")
        return tuple(range(A.ndim)), A.ndim == 2
    dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    if len(dims) not in (1, 2):
        raise ValueError(f"For 'norm', the 'dim' must be an int or a tuple of 1 or 2 ints, but got {dim!r}.")
    axes = check_axes("norm", dims, A.ndim, "dim")
    return tuple(d % max(A.ndim, 1) for d in dims) if len(dims) == 2 else axes, len(dims) == 2


def _vector_norm(A, ord, axes):
    from gpucell.ops import arithmetic, comparison, conversion, elementwise, reduction

    if ord is None or ord == 2:
        return elementwise.sqrt(reduction.sum(A * A, axes, True))
    if ord == math.inf:
        return reduction.amax(arithmetic.abs(A), axes, True)
    if ord == -math.inf:
        return reduction.amin(arithmetic.abs(A), axes, True)
    if ord == 0:
        return conversion.cast(reduction.sum(comparison.not_equal(A, 0), axes, True), A.dtype)
    if ord == 1:
        return reduction.sum(arithmetic.abs(A), axes, True)
    return arithmetic.pow(reduction.sum(arithmetic.pow(arithmetic.abs(A), ord), axes, True), 1.0 / ord)


def _matrix_norm(A, ord, rows: int, cols: int):
    from gpucell.ops import arithmetic, elementwise, reduction

    if ord is None or ord == "fro":
        return elementwise.sqrt(reduction.sum(A * A, (rows, cols), True))
    if ord in (math.inf, -math.inf, 1, -1):
        # inf: the largest absolute row sum; 1: the largest absolute column sum (min for the negatives).
        summed = reduction.sum(arithmetic.abs(A), cols if ord in (math.inf, -math.inf) else rows, True)
        pick = reduction.amax if ord > 0 else reduction.amin
        return pick(summed, rows if ord in (math.inf, -math.inf) else cols, True)
    if ord in ("nuc", 2, -2):
        raise ValueError(f"For 'norm', the matrix norm ord={ord!r} needs singular values, which gpucell does not "
                         f"compute; supported matrix norms: None, 'fro', inf, -inf, 1, -1.")
    raise ValueError(f"For 'norm', the 'ord' of a matrix norm must be one of None, 'fro', 'nuc', inf, -inf, 1, -1, "
                     f"2, -2, but got {ord!r}.")


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """The vector norm (``dim`` an int) or matrix norm (``dim`` a 2-tuple) of ``A``.

    With ``dim`` None: the 2-norm of the flattened ``A`` when ``ord`` is None, else ``A`` must be 1-D
    (vector norm) or 2-D (matrix norm). Vector ``ord``: None / 2, inf, -inf, 0 (count of non-zeros)
    or any other number p (``sum(|x|**p)**(1/p)``); matrix ``ord``: None / 'fro', inf, -inf, 1, -1
    ('nuc', 2 and -2 raise ValueError). ``dtype`` casts ``A`` first.

    >>> import gpucell as ms
    >>> ms.ops.norm(ms.Tensor([[3.0, -4.0], [0.0, 0.0]]), dim=1).asnumpy()
    array([5., 0.], dtype=float32)
    """
    check_tensor("norm", "A", A)
    if dtype is not None:
        from gpucell.ops.conversion import cast

        A = cast(A, _dt.to_dtype(dtype, "norm"))
    if A.dtype.kind != _dt._FLOAT:
        raise TypeError(f"For 'norm', the dtype of 'A' must be a float type, but got {A.dtype}.")
    if ord is not None and not (ord in ("fro", "nuc") if isinstance(ord, str) else
                                isinstance(ord, numbers.Real) and not isinstance(ord, (bool, np.bool_))):
        raise TypeError(f"For 'norm', the 'ord' must be None, a number, 'fro' or 'nuc', but got {ord!r} with type "
                        f"'{type_name(ord)}'.")
    if dim is not None and not isinstance(dim, (int, np.integer, tuple, list)):
        raise TypeError(f"For 'norm', the 'dim' must be an int or a tuple of ints, but got {type_name(dim)}.")
    keepdim = check_bool("norm", "keepdim", keepdim)
    axes, matrix = _norm_dims(A, ord, dim)
    if matrix:
        out = _matrix_norm(A, ord, axes[0], axes[1])
    else:
        if isinstance(ord, str):
            raise ValueError(f"For 'norm', ord={ord!r} is a matrix norm, but a vector norm was asked for "
                             f"(dim={dim!r}, A of shape {A.shape}).")
        out = _vector_norm(A, ord, axes if A.ndim else None)
    return out if keepdim else _drop_axes(out, axes)
