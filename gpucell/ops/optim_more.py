"""Fused, in-place updates of AdaMax, ProximalAdagrad, ASGD and Rprop, as MindSpore computes them.

AdaMax and ProximalAdagrad are MindSpore's ApplyAdaMax and ApplyProximalAdagrad kernels; ASGD and
Rprop are the Python bodies of MindSpore's ``nn.ASGD`` and ``nn.Rprop``, whose branches on the step
count (``global_step == 1``) become ``where`` on the device, so a captured step replays them without a
host read. Each update is written once over the arrays' own module (NumPy or the GPU's) and runs for
every Parameter of an optimizer in one op call (see gpucell.ops.optim). Inputs per Parameter:
``(param, grad, lr, *state)``; ASGD and Rprop also read the optimizer's ``global_step`` last.
"""

from __future__ import annotations

import numpy as np

from gpucell.backend import array_module
from gpucell.ops._dispatch import Op
from gpucell.ops.optim import _grad, _update_op
from gpucell.ops.optim_adaptive import _decay_into

__all__ = ["ADAMAX_UPDATE", "PROXIMAL_ADAGRAD_UPDATE", "ASGD_UPDATE", "RPROP_UPDATE", "POWER_STEP",
           "BIAS_CORRECTED_RATE"]


def _adamax(param, grad, rate, m, v, *, beta1: float, beta2: float, eps: float, weight_decay: float,
            scale: float):
    # ApplyAdaMax: m = beta1 m + (1 - beta1) g; v = max(beta2 v, |g|);
    # param -= lr / (1 - beta1^t) * m / (v + eps). ``rate`` holds lr / (1 - beta1^t), once per step.
    xp = array_module(param)
    g = _grad(param, grad, weight_decay, scale)
    _decay_into(xp, m, g, beta1)
    xp.multiply(v, beta2, out=v)
    xp.maximum(v, xp.abs(g), out=v)
    xp.subtract(param, rate[0] * m / (v + eps), out=param)
    return param


def _proximal_adagrad(param, grad, lr, accum, *, l1: float, l2: float, weight_decay: float, scale: float):
    # ApplyProximalAdagrad as MindSpore's CPU kernel computes it: accum += g^2; r = lr / sqrt(accum);
    # v = param - r g; param = sign(v) max(|v| - r l1, 0) / (1 + r l2) (just v / (1 + r l2) when
    # l1 is 0). The shrinkage uses the adaptive rate r, not lr as the documentation's formula reads.
    xp = array_module(param)
    g = _grad(param, grad, weight_decay, scale)
    xp.add(accum, g * g, out=accum)
    rate = lr / xp.sqrt(accum)
    prox = param - g * rate
    if l1 > 0:
        prox = xp.sign(prox) * xp.maximum(xp.abs(prox) - rate * l1, 0.0)
    xp.divide(prox, 1.0 + rate * l2, out=param)
    return param


def _asgd(param, grad, lr, eta, mu, ax, step, *, lambd: float, alpha: float, t0: float, weight_decay: float,
          scale: float):
    # MindSpore's nn.ASGD, with t = global_step (this step included): eta = lr on the first step;
    # param = param (1 - lambd eta) - eta g; ax = param where mu is 1, else ax + (param - ax) mu;
    # then eta = lr / (1 + lambd lr t)^alpha and mu = 1 / max(1, t - t0) for the next step.
    xp = array_module(param)
    g = _grad(param, grad, weight_decay, scale)
    t = step.reshape(()).astype(eta.dtype)
    lr = lr.reshape(())
    eta[...] = xp.where(t == 1, lr, eta)
    xp.multiply(param, 1.0 - lambd * eta, out=param)
    xp.subtract(param, eta * g, out=param)
    ax[...] = xp.where(mu != 1, ax + (param - ax) * mu, param)
    eta[...] = lr / xp.power(1.0 + lambd * lr * t, alpha)
    mu[...] = 1.0 / xp.maximum(t - t0, 1.0)
    return param


def _rprop(param, grad, lr, prev, step_size, step, *, etaminus: float, etaplus: float, min_step: float,
           max_step: float, weight_decay: float, scale: float):
    # MindSpore's nn.Rprop: the step size starts at lr (global_step 1) and is multiplied by etaplus
    # where g * prev > 0, by etaminus where < 0, then clipped to [min_step, max_step]. Where the sign
    # flipped, g counts as zero (no move, and prev = 0, so the next step keeps the size).
    # param -= sign(g) * size. Products by Python floats keep the arrays' dtype (no float64 on GPUs).
    xp = array_module(param)
    g = _grad(param, grad, weight_decay, scale)
    size = xp.where(step.reshape(()) == 1, lr.reshape(()), step_size)
    product = g * prev
    size = xp.where(product > 0, size * etaplus, xp.where(product < 0, size * etaminus, size))
    size = xp.clip(size, min_step, max_step)
    g = xp.where(product < 0, 0.0, g)
    xp.subtract(param, xp.sign(g) * size, out=param)
    prev[...] = g
    step_size[...] = size
    return param


def _power_step(power, *, base: float):
    """``power *= base`` in place: ``beta^t`` advanced on the device."""
    xp = array_module(power)
    xp.multiply(power, base, out=power)
    return power


def _bias_corrected_rate(lr, power):
    """``lr / (1 - power)``, a 1-element array (no host read)."""
    return lr.reshape(1).astype(np.float32, copy=False) / (1.0 - power.reshape(1))


ADAMAX_UPDATE = _update_op("AdaMax", _adamax)
PROXIMAL_ADAGRAD_UPDATE = _update_op("ProximalAdagrad", _proximal_adagrad)
ASGD_UPDATE = _update_op("ASGD", _asgd)
RPROP_UPDATE = _update_op("Rprop", _rprop)
POWER_STEP = Op("PowerStep", _power_step, inplace=True, differentiable=False)
BIAS_CORRECTED_RATE = Op("BiasCorrectedRate", _bias_corrected_rate, differentiable=False)
