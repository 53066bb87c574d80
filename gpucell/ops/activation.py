"""Activations: relu, sigmoid, tanh, gelu, silu, softmax and log_softmax (the softmax kernel)."""

from __future__ import annotations

import math

import numpy as np

from gpucell.backend import array_module, kernel_ops
from gpucell.ops._dispatch import Op, apply, gpu_ufunc
from gpucell.ops._util import check_axis, check_float, check_tensor

__all__ = ["relu", "sigmoid", "tanh", "gelu", "silu", "softmax", "log_softmax"]

_SQRT_HALF = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TANH_C = math.sqrt(2.0 / math.pi)


def _erf_scaled(a):
    """erf(a / sqrt(2)) in a's dtype: the Erf kernel on the GPU, its NumPy reference on the CPU."""
    # asarray: for a 0-d array the product is a NumPy scalar, which kernel_ops refuses.
    return kernel_ops.erf(array_module(a).asarray(a * a.dtype.type(_SQRT_HALF)))


def _relu(a):
    return array_module(a).maximum(a, a.dtype.type(0))


def _sigmoid(a):
    xp = array_module(a)
    return (1 / (1 + xp.exp(-a))).astype(a.dtype, copy=False)


def _gelu(a, approximate):
    xp = array_module(a)
    if approximate == "tanh":
        return (0.5 * a * (1 + xp.tanh(_TANH_C * (a + 0.044715 * a ** 3)))).astype(a.dtype, copy=False)
    return (0.5 * a * (1 + _erf_scaled(a))).astype(a.dtype, copy=False)


def _gelu_grad(g, a, approximate):
    xp = array_module(a)
    if approximate == "tanh":
        inner = _TANH_C * (a + 0.044715 * a ** 3)
        t = xp.tanh(inner)
        d = 0.5 * (1 + t) + 0.5 * a * (1 - t * t) * _TANH_C * (1 + 3 * 0.044715 * a * a)
    else:
        d = 0.5 * (1 + _erf_scaled(a)) + a * xp.exp(-0.5 * a * a) * _INV_SQRT_2PI
    return (g * d).astype(a.dtype, copy=False)


def _silu(a):
    return (a * _sigmoid(a)).astype(a.dtype, copy=False)


def _softmax(a, axis, log):
    return kernel_ops.softmax(a, axis, log)


def _relu_grad(g, out):
    # One pass, no bool temporary: g where the output is positive, else 0 (out is 0 or positive).
    return array_module(g).multiply(g, out > 0, dtype=g.dtype)


def _relu_backward(ctx, g):
    return apply(RELU_GRAD, g, ctx.output)


def _relu_grad_backward(ctx, gg):
    # Linear in g; the mask (output > 0) is piecewise constant, so the output gets no gradient.
    return apply(RELU_GRAD, gg, ctx.input(1)), None


def _gelu_second(x, approximate):
    """GeLU's second derivative, in ops (so a higher order differentiates it too)."""
    from gpucell.ops.elementwise import exp

    if approximate == "tanh":
        # u = c (x + k x^3), t = tanh(u): d' = (1 - t^2) (u' + x (u'' - 2 t u'^2) / 2)
        k = 0.044715
        du = (x * x * (3 * k) + 1) * _TANH_C
        t = tanh((x * x * x * k + x) * _TANH_C)
        return (1 - t * t) * (du + x * 0.5 * (x * (6 * k * _TANH_C) - t * du * du * 2))
    return exp(x * x * -0.5) * _INV_SQRT_2PI * (2 - x * x)  # pdf(x) (2 - x^2)


def _gelu_grad_backward(ctx, gg):
    g, x = ctx.input(0), ctx.input(1)
    approximate = ctx.attrs["approximate"]
    return (apply(GELU_GRAD, gg, x, approximate=approximate) if ctx.needs(0) else None,
            gg * g * _gelu_second(x, approximate) if ctx.needs(1) else None)


def _silu_backward(ctx, g):
    x = ctx.input(0)
    s = sigmoid(x)
    return g * (s + x * s * (1 - s))


def _softmax_backward(ctx, g):
    from gpucell.ops.reduction import sum as reduce_sum

    out = ctx.output
    axis = ctx.attrs["axis"]
    if ctx.attrs["log"]:
        from gpucell.ops.elementwise import exp

        return g - exp(out) * reduce_sum(g, axis, keepdim=True)
    return out * (g - reduce_sum(g * out, axis, keepdim=True))


RELU = Op("ReLU", _relu, backward=_relu_backward, saves="output")
RELU_GRAD = Op("ReluGrad", _relu_grad, backward=_relu_grad_backward)
SIGMOID = Op("Sigmoid", _sigmoid, backward=lambda ctx, g: g * ctx.output * (1 - ctx.output),
             saves="output")
TANH = Op("Tanh", np.tanh, gpu_ufunc("tanh"), backward=lambda ctx, g: g * (1 - ctx.output * ctx.output),
          saves="output")
GELU = Op("GeLU", _gelu, backward=lambda ctx, g: apply(GELU_GRAD, g, ctx.input(0),
                                                         approximate=ctx.attrs["approximate"]))
GELU_GRAD = Op("GeLUGrad", _gelu_grad, backward=_gelu_grad_backward)
SILU = Op("SiLU", _silu, backward=_silu_backward)
SOFTMAX = Op("Softmax", _softmax, backward=_softmax_backward, saves="output")


def relu(input):
    """``max(input, 0)`` elementwise."""
    check_tensor("ReLU", "input", input)
    return apply(RELU, input)


def sigmoid(input):
    """``1 / (1 + exp(-input))``."""
    check_tensor("Sigmoid", "input", input)
    check_float("Sigmoid", "input", input)
    return apply(SIGMOID, input)


def tanh(input):
    check_tensor("Tanh", "input", input)
    check_float("Tanh", "input", input)
    return apply(TANH, input)


def gelu(input_x, approximate="none"):
    """GeLU, exact (``approximate='none'``, with erf) or with the tanh approximation."""
    check_tensor("GeLU", "input_x", input_x)
    check_float("GeLU", "input_x", input_x)
    if approximate not in ("none", "tanh"):
        raise ValueError(f"For 'GeLU', the 'approximate' must be 'none' or 'tanh', but got {approximate!r}.")
    return apply(GELU, input_x, approximate=approximate)


def silu(x):
    """``x * sigmoid(x)``."""
    check_tensor("SiLU", "x", x)
    check_float("SiLU", "x", x)
    return apply(SILU, x)


def softmax(input, axis=-1, *, dtype=None):
    """``exp(input) / sum(exp(input))`` along ``axis``, computed stably.

    >>> import gpucell as ms
    >>> ms.ops.softmax(ms.Tensor([0.0, 0.0])).asnumpy()
    array([0.5, 0.5], dtype=float32)
    """
    check_tensor("Softmax", "input", input)
    if dtype is not None:
        input = input.astype(dtype)
    check_float("Softmax", "input", input)
    axis = check_axis("Softmax", axis, input.ndim)
    return apply(SOFTMAX, input, axis=axis, log=False)


def log_softmax(logits, axis=-1):
    """``log(softmax(logits))`` along ``axis``, computed stably."""
    check_tensor("LogSoftmax", "logits", logits)
    check_float("LogSoftmax", "logits", logits)
    axis = check_axis("LogSoftmax", axis, logits.ndim)
    return apply(SOFTMAX, logits, axis=axis, log=True)
