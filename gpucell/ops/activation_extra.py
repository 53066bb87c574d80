"""More activations: leaky_relu, prelu, elu, mish, hardswish, hardsigmoid, softplus, softsign.

Each elementwise one is a single op: its forward is one NumPy/CuPy expression (so one pass on either
backend, capturable), and its backward multiplies the incoming gradient by the derivative written
in ops, so an enclosing transform differentiates it again (higher-order gradients, as gelu's).
prelu composes ops (its weight broadcasts over the channel axis and needs a summed gradient).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from gpucell.backend import array_module
from gpucell.ops._dispatch import Op, apply
from gpucell.ops._util import check_float, check_tensor, type_name
from gpucell.ops.activation import sigmoid, tanh
from gpucell.ops.comparison import logical_and
from gpucell.ops.elementwise import exp, minimum
from gpucell.ops.selection import select
from gpucell.ops.shape import reshape

__all__ = ["elu", "hardsigmoid", "hardswish", "leaky_relu", "mish", "prelu", "softplus", "softsign"]


def _same_dtype(out, a):
    return out.astype(a.dtype, copy=False)


def _elementwise(name: str, forward, grad) -> Op:
    """An activation op: ``forward(a, **attrs)`` on arrays; backward ``grad(x, g, **attrs)`` in ops."""
    return Op(name, forward, backward=lambda ctx, g: grad(ctx.input(0), g, **ctx.attrs))


# -- forwards on arrays -------------------------------------------------------------------------
def _leaky_relu(a, *, alpha):
    return _same_dtype(array_module(a).where(a > 0, a, a * alpha), a)


def _elu(a, *, alpha):
    xp = array_module(a)
    # expm1 of the clipped input: no overflow warning from the branch where() drops.
    return _same_dtype(xp.where(a > 0, a, alpha * xp.expm1(xp.minimum(a, 0))), a)


def _softplus_array(a, beta, threshold):
    xp = array_module(a)
    z = a * beta
    smooth = (xp.log1p(xp.exp(-xp.abs(z))) + xp.maximum(z, 0)) / beta  # log(1 + e^z) / beta, stable
    return _same_dtype(xp.where(z > threshold, a, smooth), a)


def _softplus(a, *, beta, threshold):
    return _softplus_array(a, beta, threshold)


def _mish(a):
    return _same_dtype(a * array_module(a).tanh(_softplus_array(a, 1.0, math.inf)), a)


def _hardswish(a):
    return _same_dtype(a * array_module(a).clip(a + 3, 0, 6) / 6, a)


def _hardsigmoid(a):
    return _same_dtype(array_module(a).clip(a + 3, 0, 6) / 6, a)


def _softsign(a):
    return _same_dtype(a / (1 + array_module(a).abs(a)), a)


# -- gradients in ops ---------------------------------------------------------------------------
def _leaky_relu_grad(x, g, *, alpha):
    return select(x > 0, g, g * alpha)


def _elu_grad(x, g, *, alpha):
    # exp of min(x, 0): the branch select drops stays finite, so a second order gets no 0 * inf.
    return select(x > 0, g, g * exp(minimum(x, 0.0)) * alpha)


def _softplus_grad(x, g, *, beta, threshold):
    z = x * beta
    return select(z > threshold, g, g * sigmoid(z))


def _mish_grad(x, g):
    t = tanh(apply(SOFTPLUS, x, beta=1.0, threshold=math.inf))
    return g * (t + x * sigmoid(x) * (1 - t * t))


def _hardswish_grad(x, g):
    # MindSpore's HSwishGrad: 0 up to -3, 1 from 3, (2x + 3) / 6 between.
    return select(x <= -3, 0.0, select(x >= 3, g, g * (x * 2 + 3) / 6))


def _hardsigmoid_grad(x, g):
    return select(logical_and(x > -3, x < 3), g / 6, 0.0)


def _softsign_grad(x, g):
    d = abs(x) + 1
    return g / (d * d)


LEAKY_RELU = _elementwise("LeakyReLU", _leaky_relu, _leaky_relu_grad)
ELU = _elementwise("Elu", _elu, _elu_grad)
SOFTPLUS = _elementwise("Softplus", _softplus, _softplus_grad)
MISH = _elementwise("Mish", _mish, _mish_grad)
HSWISH = _elementwise("HSwish", _hardswish, _hardswish_grad)
HSIGMOID = _elementwise("HSigmoid", _hardsigmoid, _hardsigmoid_grad)
SOFTSIGN = _elementwise("Softsign", _softsign, _softsign_grad)


# -- argument checks ----------------------------------------------------------------------------
def _float_input(op: str, name: str, x):
    check_tensor(op, name, x)
    check_float(op, name, x)
    return x


def _number(op: str, name: str, value) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"For '{op}', the '{name}' must be a float or an int, but got {value!r} with type "
                        f"'{type_name(value)}'.")
    return float(value)


# -- functional API -----------------------------------------------------------------------------
def leaky_relu(input, alpha=0.2):
    """``input`` where positive, else ``alpha * input``.

    >>> import gpucell as ms
    >>> ms.ops.leaky_relu(ms.Tensor([-1.0, 2.0])).asnumpy()
    array([-0.2,  2. ], dtype=float32)
    """
    _float_input("LeakyReLU", "input", input)
    return apply(LEAKY_RELU, input, alpha=_number("LeakyReLU", "alpha", alpha))


def elu(input_x, alpha=1.0):
    """``input_x`` where positive, else ``alpha * (exp(input_x) - 1)``."""
    _float_input("Elu", "input_x", input_x)
    alpha = _number("Elu", "alpha", alpha)
    if alpha <= 0:
        raise ValueError(f"For 'Elu', the 'alpha' must be > 0, but got {alpha}.")
    return apply(ELU, input_x, alpha=alpha)


def softplus(input, beta=1, threshold=20):
    """``log(1 + exp(beta * input)) / beta``, computed stably; linear where ``beta * input > threshold``.

    >>> import gpucell as ms
    >>> round(float(ms.ops.softplus(ms.Tensor(0.0))), 6)
    0.693147
    """
    _float_input("Softplus", "input", input)
    beta = _number("Softplus", "beta", beta)
    if beta == 0:
        raise ValueError("For 'Softplus', the 'beta' must not be 0, but got 0.")
    return apply(SOFTPLUS, input, beta=beta, threshold=_number("Softplus", "threshold", threshold))


def mish(x):
    """``x * tanh(softplus(x))``."""
    return apply(MISH, _float_input("Mish", "x", x))


def hardswish(x):
    """``x * relu6(x + 3) / 6``."""
    return apply(HSWISH, _float_input("HSwish", "x", x))


def hardsigmoid(input):
    """``relu6(input + 3) / 6``."""
    return apply(HSIGMOID, _float_input("HSigmoid", "input", input))


def softsign(x):
    """``x / (1 + |x|)``."""
    return apply(SOFTSIGN, _float_input("Softsign", "x", x))


def prelu(x, weight):
    """``x`` where positive, else ``weight * x``, with one weight per channel (dim 1 of ``x``, a
    single channel for a 0-d or 1-d ``x``); ``weight`` is 1-d of that length, or of length 1.

    >>> import gpucell as ms
    >>> ms.ops.prelu(ms.Tensor([[-1.0, 2.0]]), ms.Tensor([0.25])).asnumpy()
    array([[-0.25,  2.  ]], dtype=float32)
    """
    where = "PReLU"
    _float_input(where, "x", x)
    _float_input(where, "weight", weight)
    if weight.dtype is not x.dtype:
        raise TypeError(f"For '{where}', the dtype of 'weight' ({weight.dtype}) must equal the dtype of 'x' "
                        f"({x.dtype}).")
    channels = x.shape[1] if x.ndim >= 2 else 1
    if weight.ndim != 1 or weight.shape[0] not in (1, channels):
        raise ValueError(f"For '{where}', the 'weight' must be 1-D of length 1 or {channels} (the channels of "
                         f"'x' with shape {x.shape}), but got shape {weight.shape}.")
    if x.ndim >= 2:
        weight = reshape(weight, (1, weight.shape[0]) + (1,) * (x.ndim - 2))
    elif x.ndim == 0:
        weight = reshape(weight, ())
    return select(x > 0, x, x * weight)
