"""Layer-wise trust ratios: LAMB's fused update and LARS's gradient rescaling.

Both scale each Parameter's step by a ratio of norms of that whole Parameter, so unlike the
elementwise updates they reduce; the reductions stay on the device (``xp.sum``, ``xp.where``: no
host read), which keeps a jitted step capturable. As in gpucell.ops.optim, one op call covers every
Parameter of the optimizer.
"""

from __future__ import annotations

import numpy as np

from gpucell.backend import array_module
from gpucell.ops._dispatch import Op
from gpucell.ops.optim import _grad, _moments, _update_op

__all__ = ["LAMB_COEFFICIENTS", "LAMB_UPDATE", "LARS_UPDATE"]

# MindSpore clips Lamb's trust ratio to [0, 10] (lamb_gpu_kernel.h; the Ascend graph in nn/optim/lamb.py too).
_LAMB_MAX_TRUST = 10.0


def _norm(xp, a):
    return xp.sqrt(xp.sum(a * a))


def _lamb_coefficients(lr, step, *, beta1: float, beta2: float):
    """``[lr, 1 / (1 - beta1^t), 1 / sqrt(1 - beta2^t)]`` with ``t`` the global step after this
    step's increment (MindSpore's Lamb kernel reads the step, it keeps no beta powers)."""
    xp = array_module(lr)
    t = step.reshape(1).astype(np.float32)
    bias1 = 1.0 - xp.power(xp.full_like(t, beta1), t)
    bias2 = 1.0 - xp.power(xp.full_like(t, beta2), t)
    lr = lr.reshape(1).astype(np.float32, copy=False)
    return xp.concatenate([lr, 1.0 / bias1, 1.0 / xp.sqrt(bias2)]).astype(np.float32, copy=False)


def _lamb(param, grad, m, v, coef, *, beta1: float, beta2: float, eps: float, weight_decay: float,
          scale: float):
    # MindSpore's Lamb kernel (ApplyLambEraly / CalcTrustRatio in lamb_impl.cu, lamb_gpu_kernel.h):
    # m, v as Adam; the step r = m_hat / (sqrt(v_hat) + eps) + weight_decay * param, but the trust
    # ratio's denominator is the norm of m_hat / sqrt(v_hat + eps) + weight_decay * param (eps
    # inside the root there); trust = ||param|| / that norm (1 when either norm is zero), clipped to
    # [0, 10] (NaN gives 0); param -= lr * trust * r.
    xp = array_module(param)
    g = _grad(param, grad, 0.0, scale)
    scratch = _moments(xp, g, m, v, beta1, beta2)
    m_hat = m * coef[1]
    xp.multiply(v, coef[2] * coef[2], out=scratch)  # v_hat
    r = m_hat / (xp.sqrt(scratch) + eps)
    scratch += eps
    g_hat = m_hat / xp.sqrt(scratch, out=scratch)
    if weight_decay:
        decay = param * weight_decay
        r += decay
        g_hat += decay
    w_norm = _norm(xp, param)
    g_hat_norm = _norm(xp, g_hat)
    both = (w_norm > 0) & (g_hat_norm > 0)
    trust = xp.where(both, w_norm / xp.where(both, g_hat_norm, 1.0), 1.0)
    trust = xp.clip(xp.where(xp.isnan(trust), 0.0, trust), 0.0, _LAMB_MAX_TRUST)
    xp.subtract(param, r * (trust * coef[0]), out=param)
    return param


def _lars(param, grad, lr=None, *, weight_decay: float, coefficient: float, epsilon: float, use_clip: bool,
          scale: float, lars: bool):
    # MindSpore's LARSUpdate on the unscaled gradient g:
    # coeff = coefficient ||w|| / (||g|| + weight_decay ||w|| + epsilon), with use_clip
    # clip(coeff / lr, 0, 1); the new gradient is coeff * (g + weight_decay * w). A Parameter that
    # LARS filters out passes on g unchanged (no decay either, as in MindSpore).
    xp = array_module(param)
    g = grad * scale
    if not lars:
        return g
    w_norm = _norm(xp, param)
    coeff = w_norm * coefficient / (_norm(xp, g) + w_norm * weight_decay + epsilon)
    if use_clip:
        coeff = xp.clip(coeff / lr, 0.0, 1.0)
    if weight_decay:
        g = g + param * weight_decay
    return g * coeff


def _lars_for_each(*arrays, width: int, per_param: tuple):
    """``_lars`` for each Parameter given, the inputs laid end to end ``width`` at a time; one new
    gradient each."""
    return tuple(_lars(*arrays[i * width:(i + 1) * width], **attrs) for i, attrs in enumerate(per_param))


# Inputs: LAMB per Parameter (param, grad, m, v, coef); LARS per Parameter (param, grad[, lr]).
LAMB_COEFFICIENTS = Op("LambCoefficients", _lamb_coefficients, differentiable=False)
LAMB_UPDATE = _update_op("Lamb", _lamb)
LARS_UPDATE = Op("LARSUpdate", _lars_for_each, multi_output=True, differentiable=False)
