"""Fused, in-place optimizer updates: one op call per step for all the Parameters.

Each update writes into its first input (the Parameter) and into the state buffers it is given
(moments), through ufuncs with ``out=``, so a jit plan replays the writes into the same buffers
and a CUDA graph captures them. Everything that changes between steps (learning rate, step count,
Adam's beta powers) comes in as a device array, never as an attribute, so a captured step keeps
reading the current value (DESIGN.md invariant 5). Attributes hold only fixed hyperparameters.

The NumPy forward is also the GPU forward: the ufuncs come from the arrays' own module.
"""

from __future__ import annotations

import math

import numpy as np

from gpucell.backend import array_module
from gpucell.ops._dispatch import Op

__all__ = ["SGD_UPDATE", "ADAM_UPDATE", "ADAM_WEIGHT_DECAY_UPDATE", "ADAMW_UPDATE", "BETA_POWERS",
           "ADAM_COEFFICIENTS", "LR_AT", "LR_SCHEDULE", "STEP_INCREMENT"]


def _grad(param, grad, weight_decay: float, scale: float):
    """``grad * scale + weight_decay * param``; ``grad`` itself when there is nothing to add."""
    if scale != 1.0:
        grad = grad * scale
        if weight_decay:
            grad += param * weight_decay
        return grad
    if weight_decay:
        out = param * weight_decay
        out += grad
        return out
    return grad


# The in-place operators below (``a -= b``) write into the array's own buffer on NumPy and CuPy
# alike, without asking for the array module on the hot path.
def _sgd(param, grad, lr, accum=None, stat=None, *, momentum: float, dampening: float,
         weight_decay: float, nesterov: bool, scale: float, donated: bool = False):
    # MindSpore's SGD kernel: accum = momentum * accum + (1 - dampening) * g, except on the first
    # step (stat == 1) where accum = g; param -= lr * (nesterov ? g + momentum * accum : accum).
    # Momentum's ApplyMomentum is the same with dampening 0 and no stat.
    # ``donated``: ``grad`` is a temporary of a jit plan that nothing reads afterwards
    # (gpucell.jit.donation), so it may serve as the scratch buffer; a fresh g always may.
    g = _grad(param, grad, weight_decay, scale)
    # (0-d Parameters give NumPy scalars here, which cannot be written into.)
    scratch = g if (donated or g is not grad) and not isinstance(g, np.generic) else None
    if accum is None:
        if scratch is None:
            param -= g * lr
        else:
            scratch *= lr  # the same products as g * lr, without a new array
            param -= scratch
        return param
    accum *= momentum
    if dampening and stat is not None:
        # accum was zero before the first step, so (1 - d + d * stat) * g gives accum = g there.
        coef = stat * dampening
        coef += 1.0 - dampening
        coef *= g
        accum += coef
        stat.fill(0)
    elif dampening:
        accum += g * (1.0 - dampening)
    else:
        accum += g
    if nesterov:
        step = accum * momentum
        step += g
        step *= lr
        param -= step
    elif scratch is not None:
        array_module(param).multiply(accum, lr, out=scratch)
        param -= scratch
    else:
        param -= accum * lr
    return param


def _moments(xp, g, m, v, beta1: float, beta2: float):
    """m = beta1 m + (1 - beta1) g and v = beta2 v + (1 - beta2) g^2, in place; returns a scratch."""
    xp.multiply(m, beta1, out=m)
    scratch = xp.empty_like(m)  # an array even for 0-d Parameters, where ufuncs return scalars
    xp.multiply(g, 1.0 - beta1, out=scratch)
    m += scratch
    xp.multiply(v, beta2, out=v)
    xp.multiply(g, g, out=scratch)
    scratch *= 1.0 - beta2
    v += scratch
    return scratch


def _adam(param, grad, m, v, coef, vhat=None, *, beta1: float, beta2: float, eps: float,
          weight_decay: float, nesterov: bool, scale: float):
    # MindSpore's ApplyAdam: lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t) (coef[0], computed once
    # per step), param -= lr_t * m / (sqrt(v) + eps); with nesterov the numerator is
    # beta1 * m + (1 - beta1) * g. With ``vhat`` (amsgrad, MindSpore's ApplyAdamWithAmsgrad):
    # vhat = max(vhat, v), and sqrt(vhat) replaces sqrt(v).
    xp = array_module(param)
    g = _grad(param, grad, weight_decay, scale)
    scratch = _moments(xp, g, m, v, beta1, beta2)
    if vhat is not None:
        xp.maximum(vhat, v, out=vhat)
        v = vhat
    xp.sqrt(v, out=scratch)
    scratch += eps
    if nesterov:
        num = xp.multiply(m, beta1)
        num += xp.multiply(g, 1.0 - beta1)
        xp.divide(num, scratch, out=scratch)
    else:
        xp.divide(m, scratch, out=scratch)
    scratch *= coef[0]
    xp.subtract(param, scratch, out=param)
    return param


def _adam_weight_decay(param, grad, m, v, lr, *, beta1: float, beta2: float, eps: float,
                       weight_decay: float, scale: float):
    # MindSpore's AdamWeightDecay: no bias correction; update = m / (sqrt(v) + eps)
    # + weight_decay * param; param -= lr * update.
    xp = array_module(param)
    g = _grad(param, grad, 0.0, scale)
    scratch = _moments(xp, g, m, v, beta1, beta2)
    xp.sqrt(v, out=scratch)
    scratch += eps
    xp.divide(m, scratch, out=scratch)
    if weight_decay:
        scratch += xp.multiply(param, weight_decay)
    scratch *= lr
    xp.subtract(param, scratch, out=param)
    return param


def _adamw(param, grad, m, v, coef, *, beta1: float, beta2: float, eps: float, weight_decay: float,
           scale: float):
    # Decoupled weight decay (Loshchilov & Hutter): param *= 1 - lr * wd, then the bias-corrected
    # Adam step param -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps).
    # coef = [lr, lr / (1 - beta1^t), 1 / sqrt(1 - beta2^t)], computed once per step.
    xp = array_module(param)
    g = _grad(param, grad, 0.0, scale)
    scratch = _moments(xp, g, m, v, beta1, beta2)
    if weight_decay:
        decay = xp.multiply(coef[0], -weight_decay)
        decay += 1.0
        xp.multiply(param, decay, out=param)
    xp.sqrt(v, out=scratch)
    scratch *= coef[2]
    scratch += eps
    xp.divide(m, scratch, out=scratch)
    scratch *= coef[1]
    xp.subtract(param, scratch, out=param)
    return param


def _beta_powers(beta1_power, beta2_power, *, beta1: float, beta2: float):
    xp = array_module(beta1_power)
    xp.multiply(beta1_power, beta1, out=beta1_power)
    xp.multiply(beta2_power, beta2, out=beta2_power)
    return beta1_power


def _adam_coefficients(lr, beta1_power, beta2_power, *, kind: str):
    """Per-step scalars of the Adam updates, from device values (no host read)."""
    xp = array_module(lr)
    lr = lr.reshape(1).astype(np.float32, copy=False)
    bias1 = 1.0 - beta1_power.reshape(1)
    root2 = xp.sqrt(1.0 - beta2_power.reshape(1))
    if kind == "adam":
        return lr * root2 / bias1
    return xp.concatenate([lr, lr / bias1, 1.0 / root2])


def _lr_at(table, step):
    """``table[step]``, the last entry once the step runs past the end (no host read)."""
    xp = array_module(table)
    index = xp.minimum(step.reshape(()), table.shape[0] - 1)
    return table[index]


# Learning-rate schedules as functions of the step (a float array): one rule per kind.
def _exponential(xp, p, learning_rate, decay_rate):
    return learning_rate * xp.power(decay_rate, p)


def _natural_exp(xp, p, learning_rate, decay_rate):
    return learning_rate * xp.exp(-decay_rate * p)


def _inverse(xp, p, learning_rate, decay_rate):
    return learning_rate / (1.0 + decay_rate * p)


def _cosine(xp, p, min_lr, max_lr):
    return min_lr + 0.5 * (max_lr - min_lr) * (1.0 + xp.cos(math.pi * p))


def _polynomial(xp, p, learning_rate, end_learning_rate, power):
    return (learning_rate - end_learning_rate) * xp.power(1.0 - p, power) + end_learning_rate


def _warmup(xp, p, learning_rate):
    return learning_rate * p


_SCHEDULES = {"exponential": _exponential, "natural_exp": _natural_exp, "inverse": _inverse,
              "cosine": _cosine, "polynomial": _polynomial, "warmup": _warmup}


def _lr_schedule(step, *, kind: str, decay_steps: int, stair: bool, clamp: bool, grow: bool,
                 params: tuple):
    """The learning rate at ``step``: p = step / decay_steps (floored when ``stair``, capped at 1
    when ``clamp``; with ``grow`` the horizon extends to the next multiple of decay_steps)."""
    xp = array_module(step)
    s = step.reshape(()).astype(np.float32)
    if grow:
        steps = xp.maximum(xp.ceil(s / decay_steps), 1.0) * decay_steps
        p = xp.minimum(s, steps) / steps
    else:
        p = (xp.minimum(s, decay_steps) if clamp else s) / decay_steps
    if stair:
        p = xp.floor(p)
    return xp.asarray(_SCHEDULES[kind](xp, p, *params), dtype=np.float32).reshape(())


def _step_increment(step):
    step += 1
    return step


def _for_each(update):
    """``update`` over every Parameter of an optimizer in one op call (the multi-tensor apply of
    apex and ``torch._foreach``): the inputs are the per-Parameter argument lists laid end to end,
    ``width`` each, and ``per_param`` holds each call's attributes. One dispatch per step instead
    of one per Parameter; a jit plan records one step."""
    def run(*arrays, width: int, per_param: tuple):
        for i, attrs in enumerate(per_param):
            update(*arrays[i * width:(i + 1) * width], **attrs)
        return arrays[0]
    run.__name__ = f"{update.__name__}_for_each"
    return run


def _each_param(n_inputs: int, attrs: dict) -> range:
    """The inputs a for-each update writes: each Parameter (its state buffers are the optimizer's)."""
    return range(0, n_inputs, attrs["width"])


def _update_op(name: str, update) -> Op:
    return Op(name, _for_each(update), inplace=True, writes=_each_param, differentiable=False)


# Inputs per Parameter: SGD (param, grad, lr, *state); the Adams (param, grad, m, v, lr or coef),
# and Adam with amsgrad vhat after them.
SGD_UPDATE = _update_op("SGD", _sgd)
ADAM_UPDATE = _update_op("Adam", _adam)
ADAM_WEIGHT_DECAY_UPDATE = _update_op("AdamWeightDecay", _adam_weight_decay)
ADAMW_UPDATE = _update_op("AdamW", _adamw)
BETA_POWERS = Op("BetaPowers", _beta_powers, inplace=True, differentiable=False)
ADAM_COEFFICIENTS = Op("AdamCoefficients", _adam_coefficients, differentiable=False)
LR_AT = Op("DynamicLR", _lr_at, differentiable=False)
LR_SCHEDULE = Op("LearningRateSchedule", _lr_schedule, differentiable=False)
STEP_INCREMENT = Op("GlobalStepIncrement", _step_increment, inplace=True, differentiable=False)
