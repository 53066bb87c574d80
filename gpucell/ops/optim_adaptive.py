"""Fused, in-place updates of the per-coordinate adaptive optimizers: RMSProp, Adagrad, Adadelta, FTRL.

Each is MindSpore's Apply* kernel (ApplyRMSProp, ApplyCenteredRMSProp, ApplyAdagrad, ApplyAdadelta,
ApplyFtrl) written once over the arrays' own module, so the same code runs on NumPy and on the GPU,
and run for every Parameter of an optimizer in one op call (see gpucell.ops.optim: the learning rate
comes in as a device array, state buffers are written in place, so a captured step replays them).
Inputs per Parameter: ``(param, grad, lr, *state)``.
"""

from __future__ import annotations

from gpucell.backend import array_module
from gpucell.ops.optim import _grad, _update_op

__all__ = ["RMSPROP_UPDATE", "ADAGRAD_UPDATE", "ADADELTA_UPDATE", "FTRL_UPDATE"]


def _decay_into(xp, buffer, value, rho: float) -> None:
    """``buffer = rho * buffer + (1 - rho) * value``, in place (also for 0-d buffers)."""
    xp.multiply(buffer, rho, out=buffer)
    xp.add(buffer, value * (1.0 - rho), out=buffer)


def _rmsprop(param, grad, lr, *state, decay: float, momentum: float, epsilon: float, centered: bool,
             weight_decay: float, scale: float):
    # ApplyRMSProp: ms = decay ms + (1 - decay) g^2; mom = momentum mom + lr g / sqrt(ms + eps);
    # param -= mom. Epsilon sits inside the root (PyTorch adds it outside). ApplyCenteredRMSProp
    # also keeps mg = decay mg + (1 - decay) g and divides by sqrt(ms - mg^2 + eps).
    xp = array_module(param)
    mean_grad, mean_square, moment = state if centered else (None, *state)
    g = _grad(param, grad, weight_decay, scale)
    _decay_into(xp, mean_square, g * g, decay)
    denom = mean_square + epsilon
    if centered:
        _decay_into(xp, mean_grad, g, decay)
        denom = denom - mean_grad * mean_grad
    xp.multiply(moment, momentum, out=moment)
    xp.add(moment, g * lr / xp.sqrt(denom), out=moment)
    xp.subtract(param, moment, out=param)
    return param


def _adagrad(param, grad, lr, accum, *, update_slots: bool, weight_decay: float, scale: float):
    # ApplyAdagrad: accum += g^2 (when update_slots); param -= lr g / sqrt(accum). No epsilon:
    # accum starts at the optimizer's 'accum' (0.1 by default), which keeps the root positive.
    xp = array_module(param)
    g = _grad(param, grad, weight_decay, scale)
    if update_slots:
        xp.add(accum, g * g, out=accum)
    xp.subtract(param, g * lr / xp.sqrt(accum), out=param)
    return param


def _adadelta(param, grad, lr, accum, accum_update, *, rho: float, epsilon: float, weight_decay: float,
              scale: float):
    # ApplyAdadelta: accum = rho accum + (1 - rho) g^2;
    # update = sqrt(accum_update + eps) / sqrt(accum + eps) * g;
    # accum_update = rho accum_update + (1 - rho) update^2; param -= lr * update.
    xp = array_module(param)
    g = _grad(param, grad, weight_decay, scale)
    _decay_into(xp, accum, g * g, rho)
    update = xp.sqrt(accum_update + epsilon) / xp.sqrt(accum + epsilon) * g
    _decay_into(xp, accum_update, update * update, rho)
    xp.subtract(param, update * lr, out=param)
    return param


def _ftrl(param, grad, lr, accum, linear, *, l1: float, l2: float, lr_power: float, weight_decay: float,
          scale: float):
    # ApplyFtrl: accum_new = accum + g^2; linear += g - (accum_new^-p - accum^-p) / lr * param;
    # param = (sign(linear) l1 - linear) / (accum_new^-p / lr + 2 l2) where |linear| > l1, else 0.
    xp = array_module(param)
    g = _grad(param, grad, weight_decay, scale)

    def root(a):  # a^(-lr_power); the default lr_power -0.5 is a square root
        return xp.sqrt(a) if lr_power == -0.5 else xp.power(a, -lr_power)

    before = root(accum)
    xp.add(accum, g * g, out=accum)
    after = root(accum)
    xp.add(linear, g - (after - before) / lr * param, out=linear)
    quadratic = after / lr + 2.0 * l2
    shrunk = (xp.sign(linear) * l1 - linear) / quadratic
    param[...] = xp.where(xp.abs(linear) > l1, shrunk, 0.0)
    return param


RMSPROP_UPDATE = _update_op("RMSProp", _rmsprop)
ADAGRAD_UPDATE = _update_op("Adagrad", _adagrad)
ADADELTA_UPDATE = _update_op("Adadelta", _adadelta)
FTRL_UPDATE = _update_op("FTRL", _ftrl)
