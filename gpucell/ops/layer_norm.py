"""layer_norm: normalisation over the trailing dims from ``begin_norm_axis``, fused, with backward.

``gamma`` and ``beta`` have the input's shape from ``begin_params_axis`` on. The backward recomputes
the statistics (one pass) rather than keeping them alive between the passes.
"""

from __future__ import annotations

import numbers

import numpy as np

from gpucell.backend import array_module, kernel_ops
from gpucell.ops._dispatch import Op, apply, hooks
from gpucell.ops._layer_util import needs, spread
from gpucell.ops._util import check_axis, check_float, check_tensor, no_higher_order, type_name

__all__ = ["LAYER_NORM", "layer_norm", "layer_norm_axes"]


def _normalized(x, begin_norm_axis, eps):
    """(x_hat as (rows, cols), 1 / std per row as (rows, 1))."""
    x2 = x.reshape(int(np.prod(x.shape[:begin_norm_axis], dtype=np.int64)), -1)
    d = x2 - kernel_ops.reduce("mean", x2, axis=1, keepdims=True)
    var = kernel_ops.reduce("mean", d * d, axis=1, keepdims=True)
    inv_std = 1 / array_module(x).sqrt(var + var.dtype.type(eps))
    d *= inv_std
    return d, inv_std


def _layer_norm(x, gamma, beta, *, begin_norm_axis, eps):
    y = _normalized(x, begin_norm_axis, eps)[0].reshape(x.shape)
    y *= gamma
    y += beta
    return y


def _layer_norm_grad(gy, x, gamma, *, begin_norm_axis, eps, wanted):
    x_hat, inv_std = _normalized(x, begin_norm_axis, eps)
    grads = []
    if wanted[0]:
        g_hat = (gy * gamma).reshape(x_hat.shape)
        mean_g = kernel_ops.reduce("mean", g_hat, axis=1, keepdims=True)
        mean_gx = kernel_ops.reduce("mean", g_hat * x_hat, axis=1, keepdims=True)
        g_hat -= mean_g
        g_hat -= x_hat * mean_gx
        g_hat *= inv_std
        grads.append(g_hat.reshape(x.shape))
    params = gamma.size
    if wanted[1]:
        product = gy.reshape(x_hat.shape) * x_hat
        grads.append(kernel_ops.reduce("sum", product.reshape(-1, params), axis=0).reshape(gamma.shape))
    if wanted[2]:
        grads.append(kernel_ops.reduce("sum", gy.reshape(-1, params), axis=0).reshape(gamma.shape))
    return tuple(grads)


def _backward(ctx, gy):
    wanted = needs(ctx, 3)
    if hooks.recording:  # an enclosing transform differentiates this backward: ops it can follow
        return _backward_in_ops(ctx, gy, wanted)
    return spread(wanted, apply(LAYER_NORM_GRAD, gy, ctx.input(0), ctx.input(1), wanted=wanted,
                                **ctx.attrs))


def _backward_in_ops(ctx, gy, wanted):
    """LayerNormGrad's arithmetic as differentiable ops (the statistics recomputed from x)."""
    from gpucell.ops.elementwise import rsqrt
    from gpucell.ops.reduction import mean
    from gpucell.ops.reduction import sum as sum_op
    from gpucell.ops.shape import reshape

    x, gamma = ctx.input(0), ctx.input(1)
    axis = ctx.attrs["begin_norm_axis"]
    x2 = reshape(x, (int(np.prod(x.shape[:axis], dtype=np.int64)), -1))
    d = x2 - mean(x2, 1, True)
    inv_std = rsqrt(mean(d * d, 1, True) + ctx.attrs["eps"])
    x_hat = d * inv_std
    gx = gg = gb = None
    if wanted[0]:
        g_hat = reshape(gy * gamma, x_hat.shape)
        gx = reshape((g_hat - mean(g_hat, 1, True) - x_hat * mean(g_hat * x_hat, 1, True)) * inv_std,
                     x.shape)
    params = (-1, gamma.size)
    if wanted[1]:
        gg = reshape(sum_op(reshape(gy * reshape(x_hat, x.shape), params), 0), gamma.shape)
    if wanted[2]:
        gb = reshape(sum_op(reshape(gy, params), 0), gamma.shape)
    return gx, gg, gb


LAYER_NORM = Op("LayerNorm", _layer_norm, backward=_backward)
# Under an enclosing transform LayerNorm's backward runs as ops instead (``_backward_in_ops``).
LAYER_NORM_GRAD = Op("LayerNormGrad", _layer_norm_grad, multi_output=True,
                     backward=no_higher_order("LayerNorm"))


def layer_norm_axes(x, gamma, beta, begin_norm_axis: int, begin_params_axis: int, epsilon: float,
                    where: str = "LayerNorm"):
    """layer_norm with MindSpore's axes: normalise dims ``begin_norm_axis..``; ``gamma`` and ``beta``
    have the shape of dims ``begin_params_axis..``."""
    check_tensor(where, "input_x", x)
    check_float(where, "input_x", x)
    norm_axis = check_axis(where, begin_norm_axis, x.ndim, "begin_norm_axis")
    params_axis = check_axis(where, begin_params_axis, x.ndim, "begin_params_axis")
    if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real):
        raise TypeError(f"For '{where}', the 'epsilon' must be a float, but got {epsilon!r} with type "
                        f"'{type_name(epsilon)}'.")
    for name, value in (("gamma", gamma), ("beta", beta)):
        check_tensor(where, name, value)
        if value.shape != x.shape[params_axis:]:
            raise ValueError(f"For '{where}', the '{name}' must have shape {x.shape[params_axis:]} (dims "
                             f"{params_axis}.. of 'input_x' {x.shape}), but got {value.shape}.")
        if value.dtype is not x.dtype:
            raise TypeError(f"For '{where}', the dtype of '{name}' ({value.dtype}) must equal the dtype of "
                            f"'input_x' ({x.dtype}).")
    return apply(LAYER_NORM, x, gamma, beta, begin_norm_axis=norm_axis, eps=float(epsilon))


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalises the trailing dims ``normalized_shape`` of ``input``, then scales and shifts.

    >>> import gpucell as ms
    >>> ms.ops.layer_norm(ms.Tensor([[1.0, 3.0]]), (2,)).asnumpy()
    array([[-0.999995,  0.999995]], dtype=float32)
    """
    from gpucell.ops import creation

    check_tensor("LayerNorm", "input", input)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if not shape or input.shape[input.ndim - len(shape):] != shape or len(shape) > input.ndim:
        raise ValueError(f"For 'LayerNorm', the 'normalized_shape' {shape} must be the trailing dims of "
                         f"'input' {input.shape}.")
    axis = input.ndim - len(shape)
    if weight is None:
        weight = creation.ones_like(input[(0,) * axis]) if axis else creation.ones_like(input)
    if bias is None:
        bias = creation.zeros_like(weight)
    return layer_norm_axes(input, weight, bias, axis, axis, eps)
