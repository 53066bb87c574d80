"""batch_norm: training (batch statistics) and inference (moving statistics), fused, with backward.

Training normalises with the batch's biased variance and returns the batch mean and variance; the
moving statistics are then updated in place by ``MovingAverage`` (an in-place op, so a jit plan
replays the update) with MindSpore's convention ``moving = (1 - momentum) * moving +
momentum * stat``, the variance made unbiased (times n / (n - 1)) first.

The fused backward writes the input gradient as ``k * dy + (x - mean) * B + C`` with per-channel
``k``, ``B``, ``C``: two per-channel sums and one elementwise pass over the batch.
"""

from __future__ import annotations

import numbers

from gpucell.backend import array_module
from gpucell.ops._dispatch import Op, apply, hooks
from gpucell.ops._layer_util import channel_sum, needs, spread
from gpucell.ops._util import check_bool, check_float, check_tensor, no_higher_order, type_name
from gpucell.parameter import Parameter

__all__ = ["BATCH_NORM", "BATCH_NORM_INFER", "MOVING_AVERAGE", "batch_norm"]


def _as3(a):
    return a.reshape(a.shape[0], a.shape[1], -1)


def _col(v):
    return v.reshape(1, -1, 1)


def _inv_std(var, eps):
    return 1 / array_module(var).sqrt(var + var.dtype.type(eps))


def _bn_train(x, gamma, beta, *, eps):
    x3 = _as3(x)
    count = x3.shape[0] * x3.shape[2]
    mean = channel_sum(x3) / count
    d = x3 - _col(mean)
    var = channel_sum(d * d) / count
    d *= _col(gamma * _inv_std(var, eps))
    d += _col(beta)
    return d.reshape(x.shape), mean, var


def _bn_train_grad(gy, x, gamma, mean, var, gmean, gvar, *, eps, wanted):
    gy3, x3 = _as3(gy), _as3(x)
    count = x3.shape[0] * x3.shape[2]
    inv_std = _inv_std(var, eps)
    d = x3 - _col(mean)
    sum_gy = channel_sum(gy3)
    sum_gy_d = channel_sum(gy3 * d)
    grads = []
    if wanted[0]:
        k = gamma * inv_std
        # Also the paths through the returned batch mean and variance (zero unless used).
        d *= _col(2 * gvar / count - k * inv_std * inv_std * sum_gy_d / count)
        d += _col((gmean - k * sum_gy) / count)
        gx = gy3 * _col(k)
        gx += d
        grads.append(gx.reshape(x.shape))
    if wanted[1]:
        grads.append(sum_gy_d * inv_std)
    if wanted[2]:
        grads.append(sum_gy)
    return tuple(grads)


def _bn_train_backward(ctx, gy, gmean, gvar):
    wanted = needs(ctx, 3)
    if hooks.recording:  # an enclosing transform differentiates this backward: ops it can follow
        return _bn_train_backward_in_ops(ctx, gy, gmean, gvar, wanted)
    mean, var = ctx.outputs[1], ctx.outputs[2]
    return spread(wanted, apply(BATCH_NORM_GRAD, gy, ctx.input(0), ctx.input(1), mean, var, gmean, gvar,
                                eps=ctx.attrs["eps"], wanted=wanted))


def _bn_train_backward_in_ops(ctx, gy, gmean, gvar, wanted):
    """BatchNormGrad's arithmetic as differentiable ops (through the batch mean and variance the
    forward returned, which this node's own backward differentiates)."""
    from gpucell.ops.elementwise import rsqrt
    from gpucell.ops.reduction import sum as sum_op
    from gpucell.ops.shape import reshape

    x, gamma = ctx.input(0), ctx.input(1)
    _, mean, var = ctx.outputs
    n, c = x.shape[:2]
    x3, gy3 = reshape(x, (n, c, -1)), reshape(gy, (n, c, -1))

    def col(v):  # a (C,) tensor broadcast against (N, C, L)
        return reshape(v, (1, c, 1))

    count = x3.shape[0] * x3.shape[2]
    inv_std = rsqrt(var + ctx.attrs["eps"])
    d = x3 - col(mean)
    sum_gy = sum_op(gy3, (0, 2))
    sum_gy_d = sum_op(gy3 * d, (0, 2))
    gx = None
    if wanted[0]:
        k = gamma * inv_std
        gx = gy3 * col(k) + d * col(gvar * (2 / count) - k * inv_std * inv_std * sum_gy_d / count) \
            + col((gmean - k * sum_gy) / count)
        gx = reshape(gx, x.shape)
    return gx, sum_gy_d * inv_std if wanted[1] else None, sum_gy if wanted[2] else None


def _bn_infer_backward_in_ops(ctx, gy, wanted):
    from gpucell.ops.elementwise import rsqrt
    from gpucell.ops.reduction import sum as sum_op
    from gpucell.ops.shape import reshape

    x, gamma, mean, var = ctx.input(0), ctx.input(1), ctx.input(3), ctx.input(4)
    n, c = x.shape[:2]
    x3, gy3 = reshape(x, (n, c, -1)), reshape(gy, (n, c, -1))

    def col(v):
        return reshape(v, (1, c, 1))

    inv_std = rsqrt(var + ctx.attrs["eps"])
    k = gamma * inv_std
    sum_gy = sum_op(gy3, (0, 2)) if (wanted[2] or wanted[3]) else None
    sum_gy_xhat = sum_op(gy3 * (x3 - col(mean)), (0, 2)) * inv_std if (wanted[1] or wanted[4]) else None
    return (reshape(gy3 * col(k), x.shape) if wanted[0] else None,
            sum_gy_xhat if wanted[1] else None,
            sum_gy if wanted[2] else None,
            -k * sum_gy if wanted[3] else None,
            gamma * sum_gy_xhat * inv_std * inv_std * -0.5 if wanted[4] else None)


def _bn_infer(x, gamma, beta, mean, var, *, eps):
    k = gamma * _inv_std(var, eps)
    out = _as3(x) * _col(k)
    out += _col(beta - mean * k)
    return out.reshape(x.shape)


def _bn_infer_grad(gy, x, gamma, mean, var, *, eps, wanted):
    gy3 = _as3(gy)
    inv_std = _inv_std(var, eps)
    k = gamma * inv_std
    sum_gy = channel_sum(gy3) if (wanted[2] or wanted[3]) else None
    sum_gy_xhat = channel_sum(gy3 * (_as3(x) - _col(mean))) * inv_std if (wanted[1] or wanted[4]) else None
    grads = []
    if wanted[0]:
        grads.append((gy3 * _col(k)).reshape(x.shape))
    if wanted[1]:
        grads.append(sum_gy_xhat)
    if wanted[2]:
        grads.append(sum_gy)
    if wanted[3]:
        grads.append(-k * sum_gy)
    if wanted[4]:
        grads.append(-0.5 * gamma * sum_gy_xhat * inv_std * inv_std)
    return tuple(grads)


def _bn_infer_backward(ctx, gy):
    wanted = needs(ctx, 5)
    if hooks.recording:  # an enclosing transform differentiates this backward: ops it can follow
        return _bn_infer_backward_in_ops(ctx, gy, wanted)
    return spread(wanted, apply(BATCH_NORM_INFER_GRAD, gy, ctx.input(0), ctx.input(1), ctx.input(3),
                                ctx.input(4), eps=ctx.attrs["eps"], wanted=wanted))


def _moving_average(moving, stat, *, momentum, factor):
    moving *= moving.dtype.type(1 - momentum)
    moving += stat * (momentum * factor)
    return moving


BATCH_NORM = Op("BatchNorm", _bn_train, backward=_bn_train_backward, multi_output=True, saves="both")
# Under an enclosing transform BatchNorm's backward runs as ops instead (``_bn_*_backward_in_ops``).
BATCH_NORM_GRAD = Op("BatchNormGrad", _bn_train_grad, multi_output=True,
                     backward=no_higher_order("BatchNorm"))
BATCH_NORM_INFER = Op("BatchNormInfer", _bn_infer, backward=_bn_infer_backward)
BATCH_NORM_INFER_GRAD = Op("BatchNormInferGrad", _bn_infer_grad, multi_output=True,
                           backward=no_higher_order("BatchNormInfer"))
MOVING_AVERAGE = Op("MovingAverage", _moving_average, inplace=True)


def _check(where: str, x, running_mean, running_var, weight, bias) -> None:
    check_tensor(where, "input_x", x)
    check_float(where, "input_x", x)
    if x.ndim < 2:
        raise ValueError(f"For '{where}', the 'input_x' must have at least 2 dims (N, C, ...), but got "
                         f"shape {x.shape}.")
    channels = x.shape[1]
    for name, value in (("running_mean", running_mean), ("running_var", running_var),
                        ("weight", weight), ("bias", bias)):
        check_tensor(where, name, value)
        if value.shape != (channels,):
            raise ValueError(f"For '{where}', the '{name}' must have shape ({channels},) (the channels of "
                             f"'input_x' {x.shape}), but got {value.shape}.")
        if value.dtype is not x.dtype:
            raise TypeError(f"For '{where}', the dtype of '{name}' ({value.dtype}) must equal the dtype of "
                            f"'input_x' ({x.dtype}).")


def batch_norm(input_x, running_mean, running_var, weight, bias, training=False, momentum=0.1, eps=1e-5):
    """Batch normalisation over dim 1 of ``input_x`` (N, C, ...).

    Training: normalises with the batch statistics and updates ``running_mean`` / ``running_var``
    (Parameters) in place: ``running = (1 - momentum) * running + momentum * batch_stat``, with the
    unbiased batch variance. Otherwise normalises with the running statistics.

    >>> import gpucell as ms, numpy as np
    >>> mean, var = ms.Parameter(ms.Tensor([0.0, 0.0]), "m"), ms.Parameter(ms.Tensor([1.0, 1.0]), "v")
    >>> x = ms.Tensor([[1.0, 2.0], [3.0, 6.0]])
    >>> _ = ms.ops.batch_norm(x, mean, var, ms.Tensor([1.0, 1.0]), ms.Tensor([0.0, 0.0]), True)
    >>> mean.asnumpy(), var.asnumpy()
    (array([0.2, 0.4], dtype=float32), array([1.1, 1.7], dtype=float32))
    """
    _check("BatchNorm", input_x, running_mean, running_var, weight, bias)
    for name, value in (("momentum", momentum), ("eps", eps)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"For 'BatchNorm', the '{name}' must be a float, but got {value!r} with type "
                            f"'{type_name(value)}'.")
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"For 'BatchNorm', the 'momentum' must be in [0, 1], but got {momentum}.")
    if not check_bool("BatchNorm", "training", training):
        return apply(BATCH_NORM_INFER, input_x, weight, bias, running_mean, running_var, eps=float(eps))
    count = input_x.size // input_x.shape[1]
    if count < 2:
        raise ValueError(f"For 'BatchNorm', training needs more than one value per channel to compute a "
                         f"variance, but got 'input_x' of shape {input_x.shape}.")
    for moving in (running_mean, running_var):
        if not isinstance(moving, Parameter):
            raise TypeError(f"For 'BatchNorm', the running statistics must be Parameters (updated in "
                            f"place when training), but got {type_name(moving)}.")
    y, mean, var = apply(BATCH_NORM, input_x, weight, bias, eps=float(eps))
    apply(MOVING_AVERAGE, running_mean, mean, momentum=float(momentum), factor=1.0)
    apply(MOVING_AVERAGE, running_var, var, momentum=float(momentum), factor=count / (count - 1))
    return y
